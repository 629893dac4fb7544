//! The database metrics, described once so the exposition carries `# HELP` for each.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `db_queries_total` | counter | `backend`, `op`, `outcome` |
//! | `db_query_duration_seconds` | histogram | `backend`, `op` |
//! | `db_routed_statements_total` | counter | `node`, `kind` (`read`/`write`) |
//! | `db_up` | gauge | `backend` |
//! | `db_pool_connections` | gauge | `backend`, `state` (SQLite) |
//! | `db_node_up`, `db_node_in_recovery`, `db_node_primary` | gauge | `node` |
//! | `db_replica_lag_bytes`, `db_replica_lag_seconds`, `db_replica_eligible` | gauge | `node` |
//! | `db_node_pool_connections` | gauge | `node`, `state` |
//! | `db_writes_available` | gauge | `cluster` (the configured primary endpoint) |
//! | `db_primary_changes_total` | counter | `cluster` |
//!
//! `node` is the endpoint's `host:port`, so a series follows a server through role changes.

use std::sync::Once;

static DESCRIBED: Once = Once::new();

/// Describes every database metric (after installing the process recorder).
pub(crate) fn describe() {
    DESCRIBED.call_once(|| {
        tis_core::metrics::handle();
        use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        describe_counter!("db_queries_total", "Database statements run, by outcome.");
        describe_histogram!(
            "db_query_duration_seconds",
            Unit::Seconds,
            "Time to run a database statement."
        );
        describe_counter!(
            "db_routed_statements_total",
            "Statements served by each database endpoint, reads and writes."
        );
        describe_gauge!(
            "db_up",
            "Whether any database endpoint answers (1) or none (0)."
        );
        describe_gauge!(
            "db_pool_connections",
            "SQLite pool connections, idle and busy."
        );
        describe_gauge!(
            "db_node_up",
            "Whether the endpoint answered its last check."
        );
        describe_gauge!(
            "db_node_in_recovery",
            "Whether the endpoint is a standby (pg_is_in_recovery)."
        );
        describe_gauge!("db_node_primary", "Whether writes go to this endpoint.");
        describe_gauge!(
            "db_replica_lag_bytes",
            Unit::Bytes,
            "WAL bytes the replica has yet to replay, against the primary's current position."
        );
        describe_gauge!(
            "db_replica_lag_seconds",
            Unit::Seconds,
            "How far behind the primary the replica's data is."
        );
        describe_gauge!(
            "db_replica_eligible",
            "Whether the replica may serve plain reads (up, standby, within the lag bound, past the start-up floor)."
        );
        describe_gauge!(
            "db_node_pool_connections",
            "Pool connections per endpoint, idle and busy."
        );
        describe_gauge!(
            "db_writes_available",
            "Whether a primary answers, so writes can be served."
        );
        describe_counter!(
            "db_primary_changes_total",
            "Times writes moved to another endpoint (failovers, promotions)."
        );
        describe_counter!(
            "db_read_miss_rechecks_total",
            "Look-ups by key a replica answered short, asked again on the primary: found there, or absent."
        );
    });
}
