//! One module per command; [`run`] dispatches.

mod chaos;
mod ctl;
mod demo;
mod gateway;
mod idp;
mod migrate;
mod profile;
mod serve;
mod token;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs the command of `cli` with `config`.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    let service = match &cli.command {
        Command::Up(_) => "tis-up",
        Command::Serve(args) => args.service.name,
        Command::Idp(_) => tis_core::service::IDP,
        Command::Gateway(_) => tis_core::service::GATEWAY,
        Command::Token(_) => "tis-token",
        Command::Migrate(_) => "tis-migrate",
        Command::Chaos(_) => "tis-chaos",
        Command::Ctl(_) => "tis-ctl",
        Command::Demo(_) => "tis-demo",
        Command::Profile(_) => "tis-profile",
    };
    // `tis token` prints only the token on stdout, `tis chaos` its report; their own logs
    // would get in the way.
    if !matches!(
        cli.command,
        Command::Token(_) | Command::Chaos(_) | Command::Ctl(_)
    ) {
        tis_core::telemetry::init_with(&config.log, &config.telemetry, service)
            .map_err(crate::config::InvalidConfig)?;
    }
    // Each command's future is boxed: inlined, `run`'s future would be the sum of every
    // command's (the gateway's and `tis up`'s are deep), and computing its layout exceeded
    // the compiler's query depth limit in release builds ("queries overflow the depth limit
    // … layout of commands::run()"). One allocation per process is nothing.
    match cli.command {
        Command::Up(args) => Box::pin(crate::up::run(args, config)).await,
        Command::Serve(args) => Box::pin(serve::run(args, config, cli.supervised)).await,
        Command::Idp(args) => Box::pin(idp::run(args, config, cli.supervised)).await,
        Command::Gateway(args) => Box::pin(gateway::run(args, config, cli.supervised)).await,
        Command::Token(args) => Box::pin(token::run(args, config)).await,
        Command::Migrate(args) => Box::pin(migrate::run(args, config)).await,
        Command::Chaos(args) => Box::pin(chaos::run(args)).await,
        Command::Ctl(args) => Box::pin(ctl::run(args, config)).await,
        Command::Demo(args) => Box::pin(demo::run(args, config)).await,
        Command::Profile(args) => Box::pin(profile::run(args, config)).await,
    }
}
