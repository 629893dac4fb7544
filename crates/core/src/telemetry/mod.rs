//! Logging set-up: ECS JSON lines on stdout by default, human-readable when asked.
//!
//! JSON is what Filebeat/Logstash ingest; `pretty` is for a person at a terminal
//! (`--log-format pretty`). The level filter takes `tracing` directives
//! (`info,sqlx=warn,tis_mesh=debug`).

mod ecs;

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use ecs::{ECS_OBJECTS, EcsLayer};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// ECS JSON, one object per line.
    #[default]
    Json,
    /// Human-readable, coloured when stdout is a terminal.
    Pretty,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!(
                "unknown log format `{other}` (expected json or pretty)"
            )),
        }
    }
}

/// The `[log]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// `tracing` filter directives.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}

/// Installs the global subscriber. Errors when the filter does not parse; a second call in
/// one process (tests) is ignored.
pub fn init(cfg: &LogConfig, service: &str) -> Result<(), String> {
    // The metrics recorder too, before anything describes a metric: a description given
    // before the recorder is installed is lost, and the metric has no help text.
    crate::metrics::handle();
    let filter = EnvFilter::try_new(&cfg.level)
        .map_err(|e| format!("invalid log.level `{}`: {e}", cfg.level))?;
    let result = match cfg.format {
        LogFormat::Json => tracing_subscriber::registry()
            .with(filter)
            .with(EcsLayer::stdout(service))
            .try_init(),
        LogFormat::Pretty => tracing_subscriber::registry()
            .with(filter)
            .with(tracing_subscriber::fmt::layer().compact().with_target(true))
            .try_init(),
    };
    let _ = result;
    Ok(())
}
