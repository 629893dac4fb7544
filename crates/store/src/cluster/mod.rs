//! A PostgreSQL primary and its replicas, as one service sees them.
//!
//! Each configured endpoint (the `url`, then each replica) is a [`Node`] with its own
//! connection pool; what the [monitor](crate::monitor) last learnt about it is its
//! [`NodeState`]. The cluster elects the write node from those states and answers where a
//! read may go. The rules, in one place:
//!
//! - **The primary** is the reachable node that is not in recovery. If two claim it (an old
//!   primary restarted after a manual promotion), the higher timeline wins, because a promotion
//!   always starts a new timeline; then the current choice, then the configured order. No node
//!   not in recovery: writes are unavailable and fail at once with `ReadOnly` (503
//!   `primary_unavailable`) until one is.
//! - **A replica may serve a read** when it is reachable, in recovery, its lag is known and at
//!   most `max_replica_lag`, and it has replayed the instance's *floor*: the primary's position
//!   after this instance's migrations and demo data (see [`Cluster::raise_floor`]), so that a
//!   replica a little behind never answers "no such table" or "no such user" for work the
//!   instance has just done. Plain reads go round-robin over those; a read that must see a
//!   given LSN goes to one whose replay position has reached it, else to the primary.
//! - **Lag** in bytes is the primary's `pg_current_wal_lsn()` minus the replica's
//!   `pg_last_wal_replay_lsn()`. Lag in seconds is zero when the replica has replayed all the
//!   primary has written; otherwise the smaller of two upper bounds: the age of the last
//!   replayed commit (`pg_last_xact_replay_timestamp()`, which overstates the lag when the
//!   primary writes WAL without commits) and the time since the primary was last seen at a
//!   position the replica has now replayed (from the monitor's own samples, so no clock skew).
//!   While no primary answers, a replica that replayed everything it received is as fresh as
//!   the cluster can offer: its lag is zero, and reads keep working.

mod probe;
mod route;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::config::DbConfig;
use crate::lsn::Lsn;
use crate::status::NodeStatus;

pub(crate) use probe::{check_all, position_now};

/// What the monitor last learnt about one endpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeState {
    pub up: bool,
    /// `pg_is_in_recovery()`.
    pub standby: Option<bool>,
    pub timeline: Option<u32>,
    /// A primary's `pg_current_wal_lsn()`, a standby's `pg_last_wal_replay_lsn()`.
    pub position: Option<Lsn>,
    /// A standby's `pg_last_wal_receive_lsn()`.
    pub received: Option<Lsn>,
    /// Seconds since the last replayed commit's timestamp.
    pub replay_age: Option<f64>,
    pub lag_bytes: Option<u64>,
    pub lag_seconds: Option<f64>,
    pub error: Option<String>,
    pub checked_at: Option<Instant>,
}

/// One configured endpoint.
#[derive(Debug)]
pub(crate) struct Node {
    /// `host:port`, the metrics label.
    pub name: String,
    /// The URL without its password.
    pub url: String,
    /// Configured as `url` (true) or as a replica.
    pub configured_primary: bool,
    opts: PgConnectOptions,
    pool_opts: PoolSettings,
    pool: RwLock<PgPool>,
    pub state: RwLock<NodeState>,
    pub reads: AtomicU64,
    pub writes: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct PoolSettings {
    max: u32,
    min: u32,
    acquire: Duration,
    idle: Duration,
}

impl PoolSettings {
    fn build(&self, opts: &PgConnectOptions) -> PgPool {
        PgPoolOptions::new()
            .max_connections(self.max.max(1))
            .min_connections(self.min)
            .acquire_timeout(self.acquire)
            .idle_timeout(self.idle)
            .connect_lazy_with(opts.clone())
    }
}

impl Node {
    pub(crate) fn new(
        url: &str,
        opts: PgConnectOptions,
        configured_primary: bool,
        cfg: &DbConfig,
    ) -> Node {
        let pool_opts = PoolSettings {
            max: cfg.max_connections,
            min: cfg.min_connections,
            acquire: cfg.acquire_timeout,
            idle: cfg.idle_timeout,
        };
        Node {
            name: format!("{}:{}", opts.get_host(), opts.get_port()),
            url: crate::db::redact(url),
            configured_primary,
            pool: RwLock::new(pool_opts.build(&opts)),
            opts,
            pool_opts,
            state: RwLock::new(NodeState::default()),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    pub(crate) fn pool(&self) -> PgPool {
        self.pool.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn opts(&self) -> &PgConnectOptions {
        &self.opts
    }

    /// Replaces the pool, so that no connection made before a role change (a demoted primary
    /// behind HAProxy still answers, read-only) is used again.
    pub(crate) fn renew_pool(&self) {
        let fresh = self.pool_opts.build(&self.opts);
        let old = std::mem::replace(
            &mut *self.pool.write().unwrap_or_else(|p| p.into_inner()),
            fresh,
        );
        tokio::spawn(async move { old.close().await });
    }

    pub(crate) fn state(&self) -> NodeState {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn status(&self, elected: bool, eligible: bool) -> NodeStatus {
        let s = self.state();
        NodeStatus {
            name: self.name.clone(),
            url: self.url.clone(),
            configured_as: if self.configured_primary {
                "primary"
            } else {
                "replica"
            },
            up: s.up,
            in_recovery: s.standby,
            primary: elected,
            eligible_for_reads: eligible,
            timeline: s.timeline,
            position: s.position.map(|l| l.to_string()),
            lag_bytes: s.lag_bytes,
            lag_seconds: s.lag_seconds,
            error: s.error,
            checked_ms_ago: s
                .checked_at
                .map(|t| u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)),
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }
}

/// The nodes, the elected primary and the read rotation.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub nodes: Vec<Node>,
    pub max_lag: Duration,
    /// The elected write node.
    primary: watch::Sender<Option<usize>>,
    /// Bumped whenever any node's state changes: waiters for a connection look again.
    generation: watch::Sender<u64>,
    /// Asks the monitor to check now (a connection is slow to come).
    pub poke: Notify,
    /// Set once the monitor has checked every node at least once.
    pub monitored: AtomicBool,
    rr: AtomicUsize,
    /// The primary's recent positions, for the lag in seconds (newest last).
    samples: Mutex<VecDeque<(Instant, Lsn)>>,
    /// No replica serves reads before it has replayed this position (see the module docs).
    floor: AtomicU64,
    /// When the floor was last raised: the monitor checks often until the replicas reach it.
    floor_raised: Mutex<Option<Instant>>,
}

impl Cluster {
    pub(crate) fn new(nodes: Vec<Node>, max_lag: Duration) -> Cluster {
        // Registered at zero (no primary known yet) and counted from zero: an alert on
        // `db_writes_available == 0` must fire even if no probe round ever completes.
        if let Some(first) = nodes.first() {
            crate::metrics::describe();
            metrics::gauge!("db_writes_available", "cluster" => first.name.clone()).set(0.0);
            metrics::counter!("db_primary_changes_total", "cluster" => first.name.clone())
                .increment(0);
        }
        Cluster {
            nodes,
            max_lag,
            primary: watch::channel(None).0,
            generation: watch::channel(0).0,
            poke: Notify::new(),
            monitored: AtomicBool::new(false),
            rr: AtomicUsize::new(0),
            samples: Mutex::new(VecDeque::new()),
            floor: AtomicU64::new(0),
            floor_raised: Mutex::new(None),
        }
    }

    /// No replica serves a read until it has replayed `lsn` (the primary's position after work
    /// this instance did: migrations, demo data). Floors only rise.
    pub(crate) fn raise_floor(&self, lsn: Lsn) {
        let before = self.floor.fetch_max(lsn.0, Ordering::Relaxed);
        if lsn.0 > before {
            *self.floor_raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
    }

    pub(crate) fn floor(&self) -> Lsn {
        Lsn(self.floor.load(Ordering::Relaxed))
    }

    /// How long ago the floor was last raised.
    pub(crate) fn floor_age(&self) -> Option<Duration> {
        self.floor_raised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|t| t.elapsed())
    }

    /// The reachable standbys that have not replayed the floor yet, by name (as last checked).
    pub(crate) fn behind_floor(&self) -> Vec<String> {
        self.behind(self.floor())
    }

    /// Whether replicas are still expected to reach a floor raised a moment ago: the monitor
    /// checks often meanwhile, and readiness waits (at most [`Cluster::replay_wait`]).
    pub(crate) fn awaiting_floor(&self) -> bool {
        self.floor_age().is_some_and(|age| age < self.replay_wait())
            && !self.behind_floor().is_empty()
    }

    /// How long readiness waits for the replicas to replay an instance's start-up work: the lag
    /// bound (at least a second). A replica slower than that stays out of reads until it has.
    pub(crate) fn replay_wait(&self) -> Duration {
        self.max_lag.max(Duration::from_secs(1))
    }

    /// The reachable standbys that have not replayed `lsn`, by name (as last checked).
    pub(crate) fn behind(&self, floor: Lsn) -> Vec<String> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|&(i, n)| {
                let s = n.state();
                Some(i) != self.primary()
                    && s.up
                    && s.standby == Some(true)
                    && s.position.is_none_or(|p| p < floor)
            })
            .map(|(_, n)| n.name.clone())
            .collect()
    }

    pub(crate) fn is_monitored(&self) -> bool {
        self.monitored.load(Ordering::Relaxed)
    }

    /// The elected write node, if any.
    pub(crate) fn primary(&self) -> Option<usize> {
        *self.primary.borrow()
    }

    /// Where writes go: the elected node; before the monitor's first look, the configured
    /// `url` (so that `tis migrate` works without a monitor).
    pub(crate) fn write_target(&self) -> Option<usize> {
        match self.primary() {
            Some(i) => Some(i),
            None if !self.is_monitored() => Some(0),
            None => None,
        }
    }

    pub(crate) fn any_up(&self) -> bool {
        self.nodes.iter().any(|n| n.state().up)
    }

    /// Whether reads can be served while writes cannot.
    pub(crate) fn read_only(&self) -> bool {
        self.is_monitored() && self.primary().is_none() && self.any_up()
    }

    pub(crate) fn eligible(&self, s: &NodeState) -> bool {
        s.up && s.standby == Some(true)
            && s.lag_seconds
                .is_some_and(|l| l <= self.max_lag.as_secs_f64())
            && s.position.is_some_and(|p| p >= self.floor())
    }

    fn bump(&self) {
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    fn next_rr(&self) -> usize {
        self.rr.fetch_add(1, Ordering::Relaxed)
    }

    /// The snapshot for status pages.
    pub(crate) fn node_statuses(&self) -> Vec<NodeStatus> {
        let primary = self.primary();
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let eligible = self.eligible(&n.state());
                n.status(primary == Some(i), eligible)
            })
            .collect()
    }
}

/// The node to elect, from the states just seen: not in recovery, highest timeline, the
/// current choice, the configured order.
pub(crate) fn elect(states: &[NodeState], current: Option<usize>) -> Option<usize> {
    states
        .iter()
        .enumerate()
        .filter(|(_, s)| s.up && s.standby == Some(false))
        .max_by_key(|(i, s)| {
            (
                s.timeline.unwrap_or(0),
                Some(*i) == current,
                std::cmp::Reverse(*i),
            )
        })
        .map(|(i, _)| i)
}

/// Fills in a standby's lag (see the module documentation for the rule).
pub(crate) fn compute_lag(
    s: &mut NodeState,
    primary_position: Option<Lsn>,
    samples: &VecDeque<(Instant, Lsn)>,
    now: Instant,
) {
    let Some(replayed) = s.position else {
        s.lag_bytes = None;
        s.lag_seconds = None;
        return;
    };
    s.lag_bytes = primary_position.map(|p| replayed.bytes_behind(p));
    let caught_up = match primary_position {
        Some(p) => replayed >= p,
        None => s.received.is_none_or(|r| replayed >= r),
    };
    if caught_up {
        s.lag_seconds = Some(0.0);
        return;
    }
    // The newest moment the primary was at or before what this replica has replayed.
    let seen = samples
        .iter()
        .rev()
        .find(|(_, pos)| *pos <= replayed)
        .map(|(at, _)| now.saturating_duration_since(*at).as_secs_f64());
    s.lag_seconds = match (s.replay_age, seen) {
        (Some(a), Some(b)) => Some(a.max(0.0).min(b)),
        (Some(a), None) => Some(a.max(0.0)),
        (None, Some(b)) => Some(b),
        (None, None) => None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(up: bool, standby: bool, timeline: u32) -> NodeState {
        NodeState {
            up,
            standby: Some(standby),
            timeline: Some(timeline),
            ..NodeState::default()
        }
    }

    #[test]
    fn the_primary_is_the_node_not_in_recovery_with_the_highest_timeline() {
        let states = [
            node(false, false, 1),
            node(true, true, 1),
            node(true, true, 1),
        ];
        assert_eq!(elect(&states, Some(0)), None, "no primary while it is down");
        let promoted = [
            node(false, false, 1),
            node(true, false, 2),
            node(true, true, 1),
        ];
        assert_eq!(elect(&promoted, None), Some(1));
        let old_back = [
            node(true, false, 1),
            node(true, false, 2),
            node(true, true, 1),
        ];
        assert_eq!(
            elect(&old_back, Some(1)),
            Some(1),
            "a restarted old primary does not take the writes back"
        );
        let tie = [node(true, false, 3), node(true, false, 3)];
        assert_eq!(elect(&tie, Some(1)), Some(1), "the current choice is kept");
        assert_eq!(elect(&tie, None), Some(0), "else the configured order");
    }

    #[test]
    fn a_replica_that_replayed_everything_has_no_lag() {
        let now = Instant::now();
        let mut s = NodeState {
            up: true,
            standby: Some(true),
            position: Some(Lsn(100)),
            received: Some(Lsn(100)),
            replay_age: Some(3600.0),
            ..NodeState::default()
        };
        compute_lag(&mut s, Some(Lsn(100)), &VecDeque::new(), now);
        assert_eq!((s.lag_bytes, s.lag_seconds), (Some(0), Some(0.0)));
        // The primary is down: what it received is all there is.
        compute_lag(&mut s, None, &VecDeque::new(), now);
        assert_eq!((s.lag_bytes, s.lag_seconds), (None, Some(0.0)));
    }

    #[test]
    fn lag_in_seconds_is_the_smaller_of_the_replay_age_and_the_sampled_age() {
        let now = Instant::now();
        let samples: VecDeque<_> = [
            (now - Duration::from_secs(3), Lsn(50)),
            (now - Duration::from_secs(1), Lsn(90)),
            (now, Lsn(200)),
        ]
        .into();
        let mut s = NodeState {
            up: true,
            standby: Some(true),
            position: Some(Lsn(95)),
            received: Some(Lsn(150)),
            replay_age: Some(600.0),
            ..NodeState::default()
        };
        compute_lag(&mut s, Some(Lsn(200)), &samples, now);
        assert_eq!(s.lag_bytes, Some(105));
        let lag = s.lag_seconds.expect("lag");
        assert!((lag - 1.0).abs() < 0.01, "{lag}");
        s.replay_age = Some(0.4);
        compute_lag(&mut s, Some(Lsn(200)), &samples, now);
        assert_eq!(s.lag_seconds, Some(0.4));
    }
}
