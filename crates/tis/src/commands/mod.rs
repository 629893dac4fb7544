//! One module per command; [`run`] dispatches.

mod chaos;
mod ctl;
mod gateway;
mod idp;
mod migrate;
mod serve;
mod token;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs the command of `cli` with `config`.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    let service = match &cli.command {
        Command::Up(_) => "tis-up",
        Command::Serve(args) => args.service.name(),
        Command::Idp(_) => "idp",
        Command::Gateway(_) => "gateway",
        Command::Token(_) => "tis-token",
        Command::Migrate(_) => "tis-migrate",
        Command::Chaos(_) => "tis-chaos",
        Command::Ctl(_) => "tis-ctl",
    };
    // `tis token` prints only the token on stdout, `tis chaos` its report; their own logs
    // would get in the way.
    if !matches!(
        cli.command,
        Command::Token(_) | Command::Chaos(_) | Command::Ctl(_)
    ) {
        tis_core::telemetry::init(&config.log, service).map_err(crate::config::InvalidConfig)?;
    }
    match cli.command {
        Command::Up(args) => crate::up::run(args, config).await,
        Command::Serve(args) => serve::run(args, config, cli.supervised).await,
        Command::Idp(args) => idp::run(args, config, cli.supervised).await,
        Command::Gateway(args) => gateway::run(args, config, cli.supervised).await,
        Command::Token(args) => token::run(args, config).await,
        Command::Migrate(args) => migrate::run(args, config).await,
        Command::Chaos(args) => chaos::run(args).await,
        Command::Ctl(args) => ctl::run(args, config).await,
    }
}
