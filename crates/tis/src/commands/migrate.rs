//! `tis migrate <service>`: apply a service's migrations and exit.

use crate::cli::MigrateArgs;
use crate::config::Config;

pub async fn run(args: MigrateArgs, _config: Config) -> anyhow::Result<()> {
    anyhow::bail!(
        "the {} service is not available in this build",
        args.service.name()
    )
}
