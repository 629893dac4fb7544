//! The database section of a service's configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[<service>.database]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DbConfig {
    /// `sqlite://path/to/file.db` (created when missing) or `postgres://user@host:port/db`.
    pub url: String,
    /// Run the embedded migrations when the instance starts (else use `tis migrate`).
    pub migrate: bool,
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long a query waits for a free (or new) connection before the request gets 503.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// PostgreSQL `statement_timeout` for every connection; zero leaves the server default.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// SQLite: how long a writer waits for the file lock held by another writer.
    #[serde(with = "humantime_serde")]
    pub busy_timeout: Duration,
    /// How often the monitor checks that the database answers.
    #[serde(with = "humantime_serde")]
    pub health_interval: Duration,
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            url: "sqlite://tis.db".into(),
            migrate: true,
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(600),
            statement_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
            health_interval: Duration::from_secs(1),
        }
    }
}
