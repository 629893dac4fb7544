//! `tis serve <service>`: one instance of a domain service.

use tis_service_kit::config::ServiceConfig;

use crate::cli::{ServeArgs, Service, SupervisedArgs};
use crate::config::Config;

pub async fn run(
    args: ServeArgs,
    config: Config,
    supervised: SupervisedArgs,
) -> anyhow::Result<()> {
    match args.service {
        Service::Profile => {
            let mut cfg = config.profile;
            if let Some(listen) = args.listen {
                cfg.listen = listen;
            }
            cfg.validate()?;
            let app = tis_profile::build(&cfg).await?;
            crate::supervised::announce(&supervised, app.local_addr(), &[])?;
            app.run(crate::supervised::shutdown(supervised)).await
        }
        Service::Reference => {
            let mut cfg = config.reference;
            if let Some(listen) = args.listen {
                cfg.listen = listen;
            }
            cfg.validate()?;
            let app = tis_reference::build(&cfg).await?;
            crate::supervised::announce(&supervised, app.local_addr(), &[])?;
            app.run(crate::supervised::shutdown(supervised)).await
        }
    }
}
