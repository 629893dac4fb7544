//! `tis serve <service>`: one instance of a domain service.

use crate::cli::{ServeArgs, Service, SupervisedArgs};
use crate::config::{Config, InvalidConfig};

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
            cfg.validate().map_err(|e| InvalidConfig(e.to_string()))?;
            let app = tis_profile::App::build(cfg).await?;
            crate::supervised::announce(&supervised, app.local_addr(), &[])?;
            app.run(crate::supervised::shutdown(supervised)).await
        }
        Service::Reference => {
            let mut cfg = config.reference;
            if let Some(listen) = args.listen {
                cfg.listen = listen;
            }
            cfg.validate().map_err(|e| InvalidConfig(e.to_string()))?;
            let app = tis_reference::App::build(cfg).await?;
            crate::supervised::announce(&supervised, app.local_addr(), &[])?;
            app.run(crate::supervised::shutdown(supervised)).await
        }
    }
}
