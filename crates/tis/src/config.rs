//! The configuration of the `tis` binary: one section per component.
//!
//! ```toml
//! mode = "local"          # or "production": no demo identities, no development shortcuts
//! data_dir = ".tis"       # databases, keys and run files of `tis up`
//! [log]                   # format = "auto" | "json" | "pretty", level = "info"
//! [telemetry.traces]      # distributed traces over OTLP/HTTP: endpoint, sample_ratio…
//! [up]                    # the supervisor
//! [idp]                   # the development identity provider
//! [reference]             # the Reference service (listen, database, principal keys)
//! [profile]               # the Profile service (the same, plus its Reference client)
//! [tcs]                   # the TCS service: trainee records (the same keys as Reference)
//! [web]                   # the admin web application: sign-in client, gateway address
//! [gateway]               # the edge: routes, pools, auth, principal key
//! [token]                 # where `tis token` logs in
//! ```
//!
//! Each domain service's section is a field here (serde must know every section to refuse
//! unknown keys) and an entry in the services table (`crate::services`), which reaches it
//! through that entry's `section`; nothing else in `tis` names it.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tis_core::telemetry::{LogConfig, LogFormat};

use crate::cli::{Cli, LogFormatArg};

/// Where the system runs (`mode`): tis-core's, shared with every section that checks it.
pub use tis_core::config::Mode;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub mode: Mode,
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub telemetry: tis_core::telemetry::TelemetryConfig,
    pub up: UpConfig,
    pub token: TokenConfig,
    pub idp: tis_idp::IdpConfig,
    // The domain services: one field each, reached through `crate::services::SERVICES`.
    pub reference: tis_reference::ReferenceConfig,
    pub profile: tis_profile::ProfileConfig,
    pub tcs: tis_tcs::TcsConfig,
    pub web: tis_web::WebConfig,
    pub gateway: tis_gateway::GatewayConfig,
}

/// `[up]`: the supervisor of `tis up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpConfig {
    /// Instances of each service.
    pub instances: u16,
    /// The first wait before restarting a crashed process; doubles on each crash in a row.
    #[serde(with = "humantime_serde")]
    pub restart_backoff: Duration,
    /// The longest wait before a restart.
    #[serde(with = "humantime_serde")]
    pub restart_backoff_max: Duration,
    /// A process that ran this long is healthy again: its next crash restarts it quickly.
    #[serde(with = "humantime_serde")]
    pub stable_after: Duration,
    /// How long a process may take to listen and report ready.
    #[serde(with = "humantime_serde")]
    pub ready_timeout: Duration,
    /// How long a process may take to drain and exit after SIGTERM before SIGKILL.
    #[serde(with = "humantime_serde")]
    pub stop_timeout: Duration,
    /// The drain delay given to each service (short on one machine: nothing to notice).
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// `[up.postgres]`: run every service on a PostgreSQL primary and its replicas instead
    /// of SQLite files (see `up::postgres`).
    pub postgres: crate::up::UpPostgres,
}

impl Default for UpConfig {
    fn default() -> Self {
        UpConfig {
            instances: 2,
            restart_backoff: Duration::from_millis(250),
            restart_backoff_max: Duration::from_secs(30),
            stable_after: Duration::from_secs(30),
            ready_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(10),
            drain_delay: Duration::from_millis(500),
            postgres: crate::up::UpPostgres::default(),
        }
    }
}

/// `[token]`: where `tis token` gets its tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// The issuer (realm URL); its discovery document names the token endpoint.
    pub issuer: String,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            issuer: "http://127.0.0.1:8180/realms/lin".into(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A configuration that loads but cannot work, found after loading; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct InvalidConfig(pub String);

impl Config {
    /// Defaults → file → environment → flags.
    pub fn load(cli: &Cli) -> Result<Config, tis_core::config::ConfigError> {
        let mut config: Config = tis_core::config::load(cli.config.as_deref())?;
        if config.data_dir.as_os_str().is_empty() {
            config.data_dir = PathBuf::from(".tis");
        }
        if let Some(format) = cli.log_format {
            config.log.format = match format {
                LogFormatArg::Auto => LogFormat::Auto,
                LogFormatArg::Json => LogFormat::Json,
                LogFormatArg::Pretty => LogFormat::Pretty,
            };
        }
        if let Some(level) = &cli.log_level {
            config.log.level = level.clone();
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_file(text: &str) -> Result<Config, tis_core::config::ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tis.toml");
        std::fs::write(&path, text).expect("write tis.toml");
        tis_core::config::load(Some(&path))
    }

    /// The Profile client's default discovery is `{ kind = "registry" }` and the file is merged
    /// onto it: a DNS discovery in the file must replace it, not pick up its keys.
    #[test]
    fn a_dns_discovery_replaces_a_registry_default_and_a_misspelt_key_still_fails() {
        let cfg = load_file(
            "[gateway.profiles.client]\n\
             discovery = { kind = \"dns\", host = \"profile.tis.svc.cluster.local\", port = 8080 }\n",
        )
        .expect("a DNS discovery is accepted");
        assert_eq!(
            cfg.gateway.profiles.client.discovery,
            tis_gateway::DiscoveryConfig::Dns {
                host: "profile.tis.svc.cluster.local".into(),
                port: 8080
            }
        );
        let err = load_file(
            "[gateway.profiles.client]\n\
             discovery = { kind = \"dns\", hots = \"profile.tis.svc.cluster.local\", port = 8080 }\n",
        )
        .expect_err("a misspelt key is refused")
        .to_string();
        assert!(err.contains("hots"), "{err}");
    }
}
