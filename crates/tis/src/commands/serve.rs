//! `tis serve <service>`: one instance of a domain service.

use crate::cli::{ServeArgs, SupervisedArgs};
use crate::config::Config;

pub async fn run(
    args: ServeArgs,
    _config: Config,
    _supervised: SupervisedArgs,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "the {} service is not available in this build",
        args.service.name()
    )
}
