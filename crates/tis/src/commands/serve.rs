//! `tis serve <service>`: one instance of a domain service, as its entry in the services
//! table (`crate::services`) builds it.

use crate::cli::{ServeArgs, SupervisedArgs};
use crate::config::Config;

pub async fn run(
    args: ServeArgs,
    mut config: Config,
    supervised: SupervisedArgs,
) -> anyhow::Result<()> {
    let service = args.service;
    let mode = config.mode;
    let section = (service.section)(&mut config);
    if let Some(listen) = args.listen {
        *section.base_mut().listen = listen;
    }
    // Production refuses the development shortcuts and closes the API to access tokens
    // unless the section accepts them (tis_service_kit::config::Base).
    *section.base_mut().mode = mode;
    section.validate()?;
    (service.serve)(config, supervised).await
}
