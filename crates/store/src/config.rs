//! The database section of a service's configuration.
//!
//! ```toml
//! [reference.database]
//! url = "postgres://tis@db-primary:5432/reference"      # the write endpoint
//! replicas = ["postgres://tis@db-replica-1:5432/reference",
//!             "postgres://tis@db-replica-2:5432/reference"]
//! max_replica_lag = "5s"
//! ```
//!
//! Every endpoint, the `url` and each replica, is also a *candidate primary*: the monitor asks
//! each one `pg_is_in_recovery()` and sends writes to the one that is not in recovery (the
//! highest timeline wins if two claim it). So after a manual `pg_ctl promote` of a replica the
//! service finds the new primary by itself, without a configuration change or a restart. With
//! Patroni + HAProxy, `url` is HAProxy's primary port and `replicas` its replica port: HAProxy
//! follows the leader, and the same rule sees the primary port answer as a primary again.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[<service>.database]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DbConfig {
    /// `sqlite://path/to/file.db` (created when missing) or `postgres://user@host:port/db`,
    /// the primary (write) endpoint.
    pub url: String,
    /// PostgreSQL read replicas, `postgres://…` URLs of the same database on standbys (or one
    /// HAProxy replica port). Empty: reads go to the primary. Not allowed with SQLite.
    pub replicas: Vec<String>,
    /// Reads go to a replica only while its replay lag is at most this; else to the primary.
    #[serde(with = "humantime_serde")]
    pub max_replica_lag: Duration,
    /// Run the embedded migrations when the instance starts (else use `tis migrate`).
    pub migrate: bool,
    /// Connections per endpoint (the primary, and each replica).
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
    /// SQLite: the most each connection keeps in its own page cache, in KiB (`PRAGMA
    /// cache_size = -N`). The operating system's page cache holds the file for every
    /// connection anyway; each connection's own copy is process memory (SQLite's default is
    /// 2,000 KiB per connection).
    pub sqlite_cache_kib: u32,
    /// How often the monitor checks every endpoint (reachable, role, replay lag).
    #[serde(with = "humantime_serde")]
    pub health_interval: Duration,
    /// How often it looks again while no primary answers, so that writes resume quickly after
    /// a promotion.
    #[serde(with = "humantime_serde")]
    pub failover_check_interval: Duration,
    /// The longest one endpoint check may take (connect + queries) before the endpoint counts
    /// as down: a frozen or partitioned server is detected within this.
    #[serde(with = "humantime_serde")]
    pub check_timeout: Duration,
    /// How long an `Idempotency-Key` and its stored response are kept.
    #[serde(with = "humantime_serde")]
    pub idempotency_ttl: Duration,
    /// How often expired idempotency keys are deleted (on the primary).
    #[serde(with = "humantime_serde")]
    pub idempotency_cleanup_interval: Duration,
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            url: "sqlite://tis.db".into(),
            replicas: Vec::new(),
            max_replica_lag: Duration::from_secs(5),
            migrate: true,
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(600),
            statement_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
            sqlite_cache_kib: 256,
            health_interval: Duration::from_secs(1),
            failover_check_interval: Duration::from_millis(250),
            check_timeout: Duration::from_secs(1),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            idempotency_cleanup_interval: Duration::from_secs(3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_takes_the_defaults_and_replicas_parse_as_a_list() {
        let cfg: DbConfig = serde_json::from_str("{}").expect("defaults");
        assert_eq!(cfg, DbConfig::default());
        assert_eq!(cfg.max_replica_lag, Duration::from_secs(5));
        let cfg: DbConfig = serde_json::from_str(
            r#"{"url":"postgres://p/db","replicas":["postgres://r1/db"],"max_replica_lag":"2s"}"#,
        )
        .expect("replicas");
        assert_eq!(cfg.replicas, vec!["postgres://r1/db".to_owned()]);
        assert_eq!(cfg.max_replica_lag, Duration::from_secs(2));
    }
}
