//! Logging and tracing set-up: log lines on stdout, ECS JSON for machines and
//! human-readable for a person at a terminal; and distributed traces ([`traces`]) when an
//! OTLP endpoint is configured.
//!
//! JSON is what Filebeat/Logstash ingest; `pretty` is for a person (`--log-format pretty`);
//! `auto`, the default, is `pretty` when both stdout and stderr are terminals (someone typed
//! `tis up`) and JSON otherwise (a container, a pipe, a file, a test). The level filter takes
//! `tracing` directives (`info,sqlx=warn,tis_mesh=debug`); it filters the log lines only, so
//! that spans exported as traces do not depend on the log level.

mod ecs;
pub mod traces;

use std::io::IsTerminal;

use serde::{Deserialize, Serialize};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use ecs::{ECS_OBJECTS, EcsLayer};
pub use traces::TracesConfig;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `pretty` when stdout and stderr are terminals, `json` otherwise.
    #[default]
    Auto,
    /// ECS JSON, one object per line.
    Json,
    /// Human-readable, coloured when stdout is a terminal.
    Pretty,
}

impl LogFormat {
    /// What `auto` means here: `pretty` for a person at a terminal, `json` for anything else.
    pub fn resolve(self, terminal: bool) -> LogFormat {
        match self {
            LogFormat::Auto if terminal => LogFormat::Pretty,
            LogFormat::Auto => LogFormat::Json,
            other => other,
        }
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(LogFormat::Auto),
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!(
                "unknown log format `{other}` (expected auto, json or pretty)"
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
            format: LogFormat::Auto,
            level: "info".into(),
        }
    }
}

/// The `[telemetry]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Distributed traces over OTLP/HTTP; off unless `traces.endpoint` is set.
    pub traces: TracesConfig,
}

impl TelemetryConfig {
    /// Every problem with the section, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        self.traces.problems("telemetry.traces")
    }
}

/// Installs the global subscriber with logs only (see [`init_with`]).
pub fn init(cfg: &LogConfig, service: &str) -> Result<(), String> {
    init_with(cfg, &TelemetryConfig::default(), service)
}

/// Installs the global subscriber: log lines as `cfg` says, and the trace exporter when
/// `telemetry` names an endpoint (call it inside the Tokio runtime: the exporter is a task).
/// Errors when the filter does not parse or the section is invalid; a second call in one
/// process (tests) is ignored.
pub fn init_with(
    cfg: &LogConfig,
    telemetry: &TelemetryConfig,
    service: &str,
) -> Result<(), String> {
    // The metrics recorder too, before anything describes a metric: a description given
    // before the recorder is installed is lost, and the metric has no help text.
    crate::metrics::handle();
    let filter = EnvFilter::try_new(&cfg.level)
        .map_err(|e| format!("invalid log.level `{}`: {e}", cfg.level))?;
    let problems = telemetry.problems();
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let logs = match cfg.format.resolve(terminal) {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .compact()
            .with_target(true)
            .with_ansi(std::io::stdout().is_terminal())
            .with_filter(filter)
            .boxed(),
        _ => EcsLayer::stdout(service).with_filter(filter).boxed(),
    };
    let traces = traces::start(&telemetry.traces, service).map(|layer| {
        layer.with_filter(
            tracing_subscriber::filter::filter_fn(traces::wanted)
                .with_max_level_hint(tracing::level_filters::LevelFilter::DEBUG),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_pretty_for_a_person_at_a_terminal_and_json_for_everything_else() {
        assert_eq!(LogFormat::default(), LogFormat::Auto);
        assert_eq!(LogConfig::default().format, LogFormat::Auto);
        assert_eq!(LogFormat::Auto.resolve(true), LogFormat::Pretty);
        assert_eq!(LogFormat::Auto.resolve(false), LogFormat::Json);
        assert_eq!(LogFormat::Json.resolve(true), LogFormat::Json);
        assert_eq!(LogFormat::Pretty.resolve(false), LogFormat::Pretty);
        assert_eq!("auto".parse::<LogFormat>(), Ok(LogFormat::Auto));
    }
}
