//! One round of checks over every node: reachable, in recovery or not, WAL positions; then
//! the election, the lag, the pools of nodes whose role changed, and the gauges.
//!
//! Each node is checked on a dedicated connection (not from its pool, so a check never waits
//! behind busy requests), all nodes at once, each within `check_timeout`: a frozen server
//! counts as down after that, not after the operating system's TCP timeout.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value as Json;
use sqlx::{Connection, PgConnection};
use tokio::time::Instant;

use super::{Cluster, Node, NodeState, compute_lag, elect};
use crate::exec;
use crate::lsn::Lsn;

const PROBE: &str = "SELECT pg_is_in_recovery() AS standby, \
     pg_last_wal_replay_lsn()::text AS replayed, \
     pg_last_wal_receive_lsn()::text AS received, \
     EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS replay_age";

/// A primary's position and timeline (the first eight hex digits of its WAL file name).
const PRIMARY: &str = "SELECT pg_current_wal_lsn()::text AS position, \
     pg_walfile_name(pg_current_wal_lsn()) AS walfile";

/// What one round found, for the readiness check.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    pub primary: Option<usize>,
    pub any_up: bool,
    /// Sentences for the readiness detail (stable: no numbers that change every round).
    pub problems: Vec<String>,
}

fn lsn_of(row: &serde_json::Map<String, Json>, col: &str) -> Option<Lsn> {
    row.get(col)?.as_str()?.parse().ok()
}

async fn probe(node: &Node, slot: &mut Option<PgConnection>) -> Result<NodeState, String> {
    if slot.is_none() {
        let opts = node.opts().clone().application_name("tis-monitor");
        *slot = Some(
            PgConnection::connect_with(&opts)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let Some(conn) = slot.as_mut() else {
        return Err("no connection".into());
    };
    let rows = exec::pg_fetch(&mut *conn, PROBE.into(), Vec::new())
        .await
        .map_err(|e| e.to_string())?;
    let row = rows.into_iter().next().ok_or("the check returned no row")?;
    let standby = row.get("standby").and_then(Json::as_bool).unwrap_or(true);
    let mut s = NodeState {
        up: true,
        standby: Some(standby),
        received: lsn_of(&row, "received"),
        replay_age: row.get("replay_age").and_then(Json::as_f64),
        ..NodeState::default()
    };
    if standby {
        s.position = lsn_of(&row, "replayed");
    } else {
        let rows = exec::pg_fetch(&mut *conn, PRIMARY.into(), Vec::new())
            .await
            .map_err(|e| e.to_string())?;
        let row = rows.into_iter().next().ok_or("the check returned no row")?;
        s.position = lsn_of(&row, "position");
        s.timeline = row
            .get("walfile")
            .and_then(Json::as_str)
            .and_then(|w| w.get(..8))
            .and_then(|t| u32::from_str_radix(t, 16).ok());
    }
    Ok(s)
}

async fn probe_within(node: &Node, slot: &mut Option<PgConnection>, limit: Duration) -> NodeState {
    let outcome = tokio::time::timeout(limit, probe(node, slot)).await;
    let error = match outcome {
        Ok(Ok(state)) => return state,
        Ok(Err(e)) => e,
        Err(_) => format!("no answer within {limit:?}"),
    };
    // The connection may be half-way through a message: never reuse it.
    *slot = None;
    NodeState {
        up: false,
        error: Some(error),
        ..NodeState::default()
    }
}

/// Checks every node, elects, computes lag, renews pools, publishes (see module docs).
pub(crate) async fn check_all(
    cluster: &Cluster,
    conns: &mut [Option<PgConnection>],
    limit: Duration,
) -> Round {
    let found = futures::future::join_all(
        cluster
            .nodes
            .iter()
            .zip(conns.iter_mut())
            .map(|(node, slot)| probe_within(node, slot, limit)),
    )
    .await;
    let now = Instant::now();
    let mut states: Vec<NodeState> = found
        .into_iter()
        .map(|mut s| {
            s.checked_at = Some(now);
            s
        })
        .collect();
    let before = cluster.primary();
    let primary = elect(&states, before);
    let primary_position = primary.and_then(|p| states[p].position);
    {
        let mut samples = cluster.samples.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pos) = primary_position {
            samples.push_back((now, pos));
        }
        let keep = (cluster.max_lag * 2).max(Duration::from_secs(30));
        while samples
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > keep)
        {
            samples.pop_front();
        }
        let samples: &VecDeque<_> = &samples;
        for s in states.iter_mut().filter(|s| s.standby == Some(true)) {
            compute_lag(s, primary_position, samples, now);
        }
    }
    let mut changed = primary != before;
    let mut problems = Vec::new();
    for (i, (node, new)) in cluster.nodes.iter().zip(states).enumerate() {
        let old = node.state();
        let role_changed = old.up != new.up || old.standby != new.standby;
        if role_changed {
            changed = true;
            if new.up {
                // Back, or changed role: connections made before must not be used again.
                node.renew_pool();
            }
            tracing::info!(db.node = %node.name, db.up = new.up, db.in_recovery = ?new.standby, error.message = new.error.as_deref().unwrap_or(""), "database endpoint changed");
        }
        if !new.up {
            problems.push(format!("{} unreachable", node.name));
        } else if Some(i) != primary && new.standby == Some(true) && !cluster.eligible(&new) {
            let floor = cluster.floor();
            if new.position.is_some_and(|p| p < floor)
                && new
                    .lag_seconds
                    .is_some_and(|l| l <= cluster.max_lag.as_secs_f64())
            {
                problems.push(format!(
                    "replica {} has not replayed this instance's migrations and demo data yet",
                    node.name
                ));
            } else {
                problems.push(format!(
                    "replica {} lags beyond {:?}",
                    node.name, cluster.max_lag
                ));
            }
        }
        publish(cluster, node, &new, primary == Some(i));
        *node.state.write().unwrap_or_else(|p| p.into_inner()) = new;
    }
    if primary != before {
        match primary {
            Some(p) => {
                tracing::warn!(db.primary = %cluster.nodes[p].name, "writes now go to this primary");
                if before.is_some() || cluster.is_monitored() {
                    metrics::counter!("db_primary_changes_total", "cluster" => cluster.nodes[0].name.clone()).increment(1);
                }
            }
            None => tracing::error!("no primary database answers: writes are unavailable"),
        }
        cluster.primary.send_replace(primary);
    }
    cluster.monitored.store(true, Ordering::Relaxed);
    if changed {
        cluster.bump();
    }
    let any_up = cluster.any_up();
    let label = cluster.nodes[0].name.clone();
    metrics::gauge!("db_writes_available", "cluster" => label)
        .set(f64::from(u8::from(primary.is_some())));
    Round {
        primary,
        any_up,
        problems,
    }
}

/// The primary's WAL position now, read on the monitor's own connection to node `primary`
/// (not from a pool: it is bookkeeping, not a statement of the service).
pub(crate) async fn position_now(
    conns: &mut [Option<PgConnection>],
    primary: usize,
) -> Result<Lsn, String> {
    let conn = conns
        .get_mut(primary)
        .and_then(Option::as_mut)
        .ok_or("no connection to the primary")?;
    let rows = exec::pg_fetch(&mut *conn, PRIMARY.into(), Vec::new())
        .await
        .map_err(|e| e.to_string())?;
    rows.first()
        .and_then(|r| lsn_of(r, "position"))
        .ok_or_else(|| "the primary did not say its WAL position".into())
}

fn publish(cluster: &Cluster, node: &Node, s: &NodeState, primary: bool) {
    let name = node.name.clone();
    let flag = |b: bool| f64::from(u8::from(b));
    metrics::gauge!("db_node_up", "node" => name.clone()).set(flag(s.up));
    metrics::gauge!("db_node_in_recovery", "node" => name.clone())
        .set(flag(s.standby == Some(true)));
    metrics::gauge!("db_node_primary", "node" => name.clone()).set(flag(primary));
    metrics::gauge!("db_replica_eligible", "node" => name.clone()).set(flag(cluster.eligible(s)));
    let standby = s.up && s.standby == Some(true);
    if let Some(b) = s.lag_bytes.filter(|_| standby) {
        metrics::gauge!("db_replica_lag_bytes", "node" => name.clone()).set(b as f64);
    }
    if let Some(l) = s.lag_seconds.filter(|_| standby) {
        metrics::gauge!("db_replica_lag_seconds", "node" => name.clone()).set(l);
    }
    let pool = node.pool();
    let (open, idle) = (pool.size(), pool.num_idle());
    metrics::gauge!("db_node_pool_connections", "node" => name.clone(), "state" => "idle")
        .set(idle as f64);
    metrics::gauge!("db_node_pool_connections", "node" => name, "state" => "busy")
        .set((f64::from(open) - idle as f64).max(0.0));
}
