//! Where one statement goes, and getting a connection there without waiting on a dead node.
//!
//! A pool asked for a connection to a server that has just died keeps retrying the connect
//! until its acquire timeout (sqlx treats "connection refused" as a server still starting).
//! That would make every request wait out the timeout before its 503. So a wait longer than
//! [`POKE_AFTER`] asks the monitor to check now, and the wait ends as soon as the monitor
//! says the node is down (or, for a write, no longer the primary): a failed primary costs a
//! write tens of milliseconds, not seconds.

use std::time::Duration;

use sqlx::Postgres;
use sqlx::pool::PoolConnection;

use super::{Cluster, NodeState};
use crate::error::{StoreError, classify};
use crate::exec;
use crate::lsn::{Consistency, Lsn};
use crate::sql::Value;

/// How long a connection may take before the monitor is asked to look at its node.
pub(crate) const POKE_AFTER: Duration = Duration::from_millis(50);

/// A connection chosen for a read.
#[derive(Debug)]
pub(crate) struct ReadRoute {
    pub node: usize,
    pub conn: PoolConnection<Postgres>,
    /// Served beyond the lag bound or short of the asked LSN, because nothing better answers
    /// (no primary): the response is marked degraded.
    pub stale: bool,
}

impl Cluster {
    /// A connection on the write node, or `ReadOnly` at once when there is none.
    pub(crate) async fn acquire_write(
        &self,
    ) -> Result<(usize, PoolConnection<Postgres>), StoreError> {
        let Some(i) = self.write_target() else {
            return Err(self.no_primary_error());
        };
        match self.acquire_on(i, true).await {
            Ok(conn) => Ok((i, conn)),
            Err(e) => Err(self.write_error(e)),
        }
    }

    /// Writes are impossible now: read-only while some node answers, else unavailable.
    pub(crate) fn no_primary_error(&self) -> StoreError {
        if self.any_up() {
            StoreError::ReadOnly(
                "no primary database answers; writes resume once one is promoted".into(),
            )
        } else {
            StoreError::Unavailable("no database endpoint answers".into())
        }
    }

    /// Maps an error of the write path. A lost primary while replicas still answer is
    /// read-only (503 `primary_unavailable`), not a general outage.
    pub(crate) fn write_error(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Unavailable(msg) => {
                self.poke.notify_one();
                let replica_up = self
                    .nodes
                    .iter()
                    .enumerate()
                    .any(|(i, n)| Some(i) != self.primary() && n.state().up);
                if replica_up {
                    StoreError::ReadOnly(format!("the primary database is unavailable: {msg}"))
                } else {
                    StoreError::Unavailable(msg)
                }
            }
            StoreError::ReadOnly(msg) => {
                // A standby answered on the write endpoint: a failover is under way.
                self.poke.notify_one();
                StoreError::ReadOnly(msg)
            }
            other => other,
        }
    }

    /// A connection from node `i`'s pool, given up as soon as the monitor sees the node down
    /// (or, for a write, no longer elected).
    pub(crate) async fn acquire_on(
        &self,
        i: usize,
        write: bool,
    ) -> Result<PoolConnection<Postgres>, StoreError> {
        let node = &self.nodes[i];
        let pool = node.pool();
        let mut generation = self.generation.subscribe();
        let acquire = pool.acquire();
        tokio::pin!(acquire);
        let poke = tokio::time::sleep(POKE_AFTER);
        tokio::pin!(poke);
        let mut poked = false;
        let mut watching = true;
        loop {
            tokio::select! {
                r = &mut acquire => return r.map_err(classify),
                () = &mut poke, if !poked => {
                    poked = true;
                    self.poke.notify_one();
                }
                changed = generation.changed(), if watching => {
                    if changed.is_err() {
                        watching = false;
                        continue;
                    }
                    if !self.is_monitored() {
                        continue;
                    }
                    if !node.state().up {
                        return Err(StoreError::Unavailable(format!(
                            "{} stopped answering", node.name
                        )));
                    }
                    if write && self.primary() != Some(i) {
                        return Err(self.no_primary_error());
                    }
                }
            }
        }
    }

    /// A connection for a read needing `c` (see the module documentation of the cluster).
    ///
    /// `pinned` is the replica that served the request's earlier reads: it serves this one if
    /// it still may; if not, the primary does, never another replica that might be further
    /// behind (see [`crate::scope`]).
    pub(crate) async fn acquire_read(
        &self,
        c: Consistency,
        pinned: Option<usize>,
    ) -> Result<ReadRoute, StoreError> {
        if !self.is_monitored() || c == Consistency::Primary {
            return self.read_on_primary_or_any(c).await;
        }
        if let Some(p) = pinned.filter(|&p| Some(p) != self.primary() && p < self.nodes.len()) {
            let state = self.nodes[p].state();
            if self.eligible(&state) {
                let route = match c {
                    Consistency::AtLeast(lsn) => self.if_replayed(p, lsn).await,
                    _ => self.acquire_on(p, false).await.ok().map(|conn| ReadRoute {
                        node: p,
                        conn,
                        stale: false,
                    }),
                };
                if let Some(route) = route {
                    return Ok(route);
                }
            }
            return self.read_on_primary_or_any(c).await;
        }
        let states: Vec<NodeState> = self.nodes.iter().map(|n| n.state()).collect();
        let eligible: Vec<usize> = (0..states.len())
            .filter(|&i| self.eligible(&states[i]))
            .collect();
        let position = |i: usize| states[i].position.unwrap_or_default();
        match c {
            Consistency::Any => {
                if let Some(route) = self.round_robin(&eligible).await {
                    return Ok(route);
                }
            }
            Consistency::AtLeast(lsn) => {
                let reached: Vec<usize> = eligible
                    .iter()
                    .copied()
                    .filter(|&i| position(i) >= lsn)
                    .collect();
                if let Some(route) = self.round_robin(&reached).await {
                    return Ok(route);
                }
                // The last check is up to one interval old: ask the freshest replica now.
                if let Some(&i) = eligible.iter().max_by_key(|&&i| position(i))
                    && let Some(route) = self.if_replayed(i, lsn).await
                {
                    return Ok(route);
                }
            }
            Consistency::Primary => {}
        }
        self.read_on_primary_or_any(c).await
    }

    async fn round_robin(&self, candidates: &[usize]) -> Option<ReadRoute> {
        let n = candidates.len();
        if n == 0 {
            return None;
        }
        let start = self.next_rr() % n;
        for k in 0..n {
            let i = candidates[(start + k) % n];
            if let Ok(conn) = self.acquire_on(i, false).await {
                return Some(ReadRoute {
                    node: i,
                    conn,
                    stale: false,
                });
            }
        }
        None
    }

    /// Node `i`, if it has replayed `lsn` now (checked on the very connection the read will
    /// use: behind HAProxy two connections may reach two servers).
    async fn if_replayed(&self, i: usize, lsn: Lsn) -> Option<ReadRoute> {
        let mut conn = self.acquire_on(i, false).await.ok()?;
        let rows = exec::pg_fetch(
            &mut *conn,
            "SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, FALSE) AS ok".into(),
            vec![Value::Text(lsn.to_string())],
        )
        .await
        .ok()?;
        let ok = rows
            .first()
            .and_then(|r| r.get("ok"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        ok.then_some(ReadRoute {
            node: i,
            conn,
            stale: false,
        })
    }

    /// The primary; with none, the freshest reachable standby (marked stale when it is beyond
    /// the lag bound or short of the asked LSN).
    async fn read_on_primary_or_any(&self, c: Consistency) -> Result<ReadRoute, StoreError> {
        let mut last = None;
        if let Some(p) = self.write_target() {
            match self.acquire_on(p, false).await {
                Ok(conn) => {
                    return Ok(ReadRoute {
                        node: p,
                        conn,
                        stale: false,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        if !self.is_monitored() {
            return Err(last.unwrap_or_else(|| StoreError::Unavailable("no primary".into())));
        }
        let mut standbys: Vec<(usize, NodeState)> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (i, n.state()))
            .filter(|(i, s)| s.up && Some(*i) != self.primary())
            .collect();
        standbys.sort_by_key(|(_, s)| std::cmp::Reverse(s.position));
        for (i, s) in standbys {
            if let Ok(conn) = self.acquire_on(i, false).await {
                let stale = match c {
                    Consistency::Any => !self.eligible(&s),
                    Consistency::AtLeast(lsn) => s.position.is_none_or(|p| p < lsn),
                    Consistency::Primary => true,
                };
                return Ok(ReadRoute {
                    node: i,
                    conn,
                    stale,
                });
            }
        }
        Err(last.unwrap_or_else(|| StoreError::Unavailable("no database endpoint answers".into())))
    }
}
