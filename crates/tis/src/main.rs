//! `tis`: the one binary of TIS in Rust.
//!
//! `main` parses the command line, loads the configuration once (defaults → `tis.toml` or
//! `--config` → `TIS_…` environment → command-line flags), sets up logging and hands over
//! to the command. A configuration error exits with code 2 and names the key; any other
//! failure exits with code 1 and says why.
//!
//! # Layout
//! - `cli`: the clap definitions (every option is documented in `--help`).
//! - `config`: the top-level `Config`, made of each crate's section.
//! - `services`: the services table, the one place that names each domain service.
//! - `commands`: one module per command (`serve`, `idp`, `token`, `migrate`).
//! - `up`: the `tis up` supervisor.
//! - `supervised`: what a child process started by `tis up` does differently.
//! - `progress`: a progress line on a terminal for long commands (`tis demo generate`).

mod cli;
mod commands;
mod config;
mod progress;
mod services;
mod supervised;
mod up;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let config = match config::Config::load(&cli) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("tis: {err}");
            return ExitCode::from(tis_core::config::EXIT_CONFIG as u8);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("tis: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A configuration problem, wherever it surfaced (a section's checks, a key file
            // read while building): exit 2, the message naming every key.
            if let Some(cfg) = err
                .chain()
                .find_map(|e| e.downcast_ref::<config::InvalidConfig>())
            {
                eprintln!("tis: {cfg}");
                return ExitCode::from(tis_core::config::EXIT_CONFIG as u8);
            }
            if let Some(cfg) = tis_core::config::InvalidConfig::find(&err) {
                tracing::error!(error.message = %cfg, "tis refused its configuration");
                eprintln!("tis: {cfg}");
                return ExitCode::from(tis_core::config::EXIT_CONFIG as u8);
            }
            tracing::error!(error.message = %format!("{err:#}"), "tis failed");
            eprintln!("tis: {err:#}");
            ExitCode::FAILURE
        }
    }
}
