//! `tis gateway` without the rest of `tis`: the same `App`, the same configuration section
//! and logging, on the same Tokio runtime settings (multi-thread, one worker per core). For
//! `bench/gateway.sh` (`GATEWAY_BIN=example`) when the full binary cannot be built.
//!
//! `cargo run --release -p tis-gateway --example gateway -- CONFIG.toml ANNOUNCE_FILE`
//! (the configuration file has `[log]` and `[gateway]`, as `tis.toml` does).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tis_core::telemetry::LogConfig;
use tis_gateway::{App, GatewayConfig};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    log: LogConfig,
    gateway: GatewayConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let config_file = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: gateway CONFIG ANNOUNCE"))?;
    let announce = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: gateway CONFIG ANNOUNCE"))?;
    let config: Config = tis_core::config::load(Some(&config_file))?;
    tis_core::telemetry::init(&config.log, "gateway").map_err(anyhow::Error::msg)?;
    let app = App::build(config.gateway).await?;
    let tmp = announce.with_extension("tmp");
    std::fs::write(&tmp, format!("{}\n", app.local_addr()))?;
    std::fs::rename(&tmp, &announce)?;
    app.run(tis_core::shutdown::signal()).await
}
