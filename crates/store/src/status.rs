//! A snapshot of a [`Db`](crate::Db)'s endpoints, for admin and status pages.
//!
//! Read from what the monitor last saw: taking it costs no query. Serialises to JSON as it
//! stands, e.g. for a service's admin route or the gateway's `/api/status`.

use serde::Serialize;

/// The whole database as one service sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DbStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Whether a monitor has checked the endpoints (before that, nothing below is known).
    pub monitored: bool,
    /// Whether writes can be served now (a primary answers).
    pub writes_available: bool,
    /// Whether reads can be served now (some endpoint answers).
    pub reads_available: bool,
    /// The `name` of the node writes go to.
    pub primary: Option<String>,
    /// The lag bound for replica reads, in seconds.
    pub max_replica_lag_seconds: f64,
    /// Every configured endpoint, the `url` first (SQLite: the file, as one node).
    pub nodes: Vec<NodeStatus>,
}

/// One endpoint.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// `host:port`.
    pub name: String,
    /// The URL, without its password.
    pub url: String,
    /// `primary` (the `url`) or `replica`, as configured; the actual role is below.
    pub configured_as: &'static str,
    pub up: bool,
    /// `pg_is_in_recovery()`: a standby.
    pub in_recovery: Option<bool>,
    /// Whether writes go here now.
    pub primary: bool,
    /// Whether plain reads may go here now (a standby within the lag bound).
    pub eligible_for_reads: bool,
    pub timeline: Option<u32>,
    /// The primary's current WAL position, or the standby's replay position.
    pub position: Option<String>,
    pub lag_bytes: Option<u64>,
    pub lag_seconds: Option<f64>,
    /// Why the last check failed.
    pub error: Option<String>,
    pub checked_ms_ago: Option<u64>,
    /// Statements this process has run here, reads and writes.
    pub reads: u64,
    pub writes: u64,
}
