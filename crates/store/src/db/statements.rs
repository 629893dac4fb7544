//! Running statements: on the primary, on a [`Reader`](crate::Reader)'s choice of node, or in
//! the request's transaction; and the metrics of each.

use std::sync::atomic::Ordering;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use tokio::time::Instant;

use tis_core::Degradation;

use super::{Backend, Db, Engine, Row, decode};
use crate::cluster::Cluster;
use crate::error::{StoreError, classify};
use crate::exec::{self, Kind, Outcome};
use crate::lsn::{Consistency, Lsn};
use crate::scope::RequestScope;
use crate::sql::Sql;
use crate::tx::{RawTx, Tx};

impl Db {
    fn observe<T>(
        &self,
        op: &'static str,
        start: Instant,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let outcome = match &result {
            Ok(_) => "ok",
            Err(StoreError::Unavailable(_)) => {
                if self.backend() == Backend::Sqlite {
                    self.set_reachable(false);
                }
                "unavailable"
            }
            Err(StoreError::ReadOnly(_)) => {
                tis_core::context::mark_degraded(Degradation::DbReadOnly);
                "read_only"
            }
            Err(StoreError::Duplicate { .. } | StoreError::Reference(_) | StoreError::NotFound) => {
                "refused"
            }
            Err(_) => "error",
        };
        let backend = self.backend().as_str();
        metrics::counter!("db_queries_total", "backend" => backend, "op" => op, "outcome" => outcome).increment(1);
        metrics::histogram!("db_query_duration_seconds", "backend" => backend, "op" => op)
            .record(start.elapsed().as_secs_f64());
        result
    }

    /// Maps an error of the write path (PostgreSQL: a lost primary is read-only).
    pub(crate) fn write_error(&self, e: StoreError) -> StoreError {
        match self.cluster() {
            Some(c) => c.write_error(e),
            None => e,
        }
    }

    /// Runs one statement on the primary (or in the request's transaction).
    pub(crate) async fn on_primary(&self, kind: Kind, q: Sql) -> Result<Outcome, StoreError> {
        let start = Instant::now();
        let scope = RequestScope::current();
        if let Some(s) = &scope {
            s.mark_wrote();
        }
        let result = match scope.as_ref().and_then(|s| s.shared_for(self.id())) {
            Some(shared) => shared.run(kind, q).await.map_err(|e| self.write_error(e)),
            None => self.on_primary_pool(kind, q).await,
        };
        self.observe(op_name(kind), start, result)
    }

    async fn on_primary_pool(&self, kind: Kind, q: Sql) -> Result<Outcome, StoreError> {
        match &self.inner.engine {
            Engine::Sqlite(pool) => {
                self.gate()?;
                let mut conn = pool.acquire().await.map_err(classify)?;
                exec::on_sqlite(&mut conn, kind, q.render(Backend::Sqlite), q.into_values()).await
            }
            Engine::Postgres(c) => {
                let (i, mut conn) = c.acquire_write().await?;
                let text = q.render(Backend::Postgres);
                let result = exec::on_pg(&mut conn, kind, text, q.into_values()).await;
                routed(c, i, "write", result.is_ok());
                result.map_err(|e| c.write_error(e))
            }
        }
    }

    /// Runs one read where `consistency` (and the request) allow.
    ///
    /// `expected` is how many rows a read by key should find (0 for other reads): when a
    /// replica returns fewer, the primary is asked before the caller hears "not found", because
    /// a replica within the lag bound may not have replayed a row created a moment ago. If the
    /// primary has more, the rest of the request reads from the primary too, so that it sees
    /// the row's children as well. A hit costs nothing more; a miss costs one primary query.
    pub(crate) async fn on_reader(
        &self,
        consistency: Consistency,
        q: Sql,
        expected: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let start = Instant::now();
        let scope = RequestScope::current();
        let consistency = scope
            .as_ref()
            .map_or(consistency, |s| consistency.max(s.read_consistency()));
        let result = match scope.as_ref().and_then(|s| s.shared_for(self.id())) {
            Some(shared) => shared.run(Kind::Fetch, q).await.map(Outcome::rows),
            None => {
                self.read_confirming_misses(consistency, q, expected, scope.as_deref())
                    .await
            }
        };
        self.observe("fetch", start, result)
    }

    async fn read_confirming_misses(
        &self,
        consistency: Consistency,
        q: Sql,
        expected: usize,
        scope: Option<&RequestScope>,
    ) -> Result<Vec<Row>, StoreError> {
        let again = (expected > 0).then(|| q.clone());
        let (rows, node) = self.on_replica_or_primary(consistency, q, scope).await?;
        let (Some(q), Engine::Postgres(c)) = (again, &self.inner.engine) else {
            return Ok(rows);
        };
        // Only a replica's miss is in doubt, and only while a primary answers.
        if rows.len() >= expected || c.primary().is_none() || node == c.primary() {
            return Ok(rows);
        }
        let (confirmed, _) = self
            .on_replica_or_primary(Consistency::Primary, q, None)
            .await?;
        let found = confirmed.len() > rows.len();
        metrics::counter!("db_read_miss_rechecks_total", "outcome" => if found { "found" } else { "absent" })
            .increment(1);
        if found && let Some(s) = scope {
            s.read_from_primary();
        }
        Ok(confirmed)
    }

    /// Runs one read on a replica the consistency allows (the one this request already reads
    /// from, if it still does), or the primary. The node that served it becomes the request's.
    async fn on_replica_or_primary(
        &self,
        consistency: Consistency,
        q: Sql,
        scope: Option<&RequestScope>,
    ) -> Result<(Vec<Row>, Option<usize>), StoreError> {
        self.gate()?;
        let c = match &self.inner.engine {
            Engine::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(classify)?;
                let text = q.render(Backend::Sqlite);
                return exec::on_sqlite(&mut conn, Kind::Fetch, text, q.into_values())
                    .await
                    .map(|out| (out.rows(), None));
            }
            Engine::Postgres(c) => c,
        };
        if c.read_only() {
            tis_core::context::mark_degraded(Degradation::DbReadOnly);
        }
        let text = q.render(Backend::Postgres);
        let values = q.into_values();
        let pinned = scope.and_then(|s| s.pinned(self.id()));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut route = c.acquire_read(consistency, pinned).await?;
            let result =
                exec::on_pg(&mut route.conn, Kind::Fetch, text.clone(), values.clone()).await;
            match result {
                // The node died under us: the read may go elsewhere, once.
                Err(StoreError::Unavailable(_)) if attempt == 1 => {
                    c.poke.notify_one();
                    continue;
                }
                result => {
                    if route.stale && result.is_ok() {
                        tis_core::context::mark_degraded(Degradation::DbStale);
                    }
                    routed(c, route.node, "read", result.is_ok());
                    if result.is_ok()
                        && let Some(s) = scope
                    {
                        if Some(route.node) == c.primary() {
                            s.read_from_primary();
                        }
                        s.pin(self.id(), route.node);
                    }
                    return result.map(|out| (out.rows(), Some(route.node)));
                }
            }
        }
    }

    /// Runs a query on the primary and returns every row.
    pub async fn fetch_all(&self, q: Sql) -> Result<Vec<Row>, StoreError> {
        self.on_primary(Kind::Fetch, q).await.map(Outcome::rows)
    }

    /// Runs a query on the primary, expected to return at most one row.
    pub async fn fetch_optional(&self, q: Sql) -> Result<Option<Row>, StoreError> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    /// Runs a query on the primary, expected to return exactly one row; none is
    /// [`StoreError::NotFound`].
    pub async fn fetch_one(&self, q: Sql) -> Result<Row, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::NotFound)
    }

    /// Runs a query on the primary and decodes every row into `T`.
    pub async fn fetch_all_as<T: DeserializeOwned>(&self, q: Sql) -> Result<Vec<T>, StoreError> {
        self.fetch_all(q).await?.into_iter().map(decode).collect()
    }

    /// Runs a statement on the primary and returns the number of rows it affected.
    pub async fn execute(&self, q: Sql) -> Result<u64, StoreError> {
        self.on_primary(Kind::Execute, q).await.map(Outcome::count)
    }

    /// Starts a transaction on the primary. It rolls back when dropped without
    /// [`Tx::commit`]. Inside an idempotent request it is a savepoint of the request's
    /// transaction (see [`crate::tx`]).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let start = Instant::now();
        let scope = RequestScope::current();
        if let Some(s) = &scope {
            s.mark_wrote();
        }
        let result = match scope.as_ref().and_then(|s| s.shared_for(self.id())) {
            Some(shared) => Tx::joined(&shared, self.clone()).await,
            None => self.begin_raw().await.map(|raw| Tx::own(raw, self.clone())),
        };
        self.observe("begin", start, result)
    }

    /// A driver transaction on the primary's pool.
    pub(crate) async fn begin_raw(&self) -> Result<RawTx, StoreError> {
        match &self.inner.engine {
            Engine::Sqlite(p) => {
                self.gate()?;
                // IMMEDIATE: the transaction takes SQLite's write lock at BEGIN, waiting up to
                // `busy_timeout` for it. A deferred one that reads first and then writes fails
                // at once with "database is locked" (SQLITE_BUSY_SNAPSHOT, no waiting) when
                // another connection wrote in between: every write transaction here reads
                // before it writes (the record before, a scope check), so under concurrent
                // writes that was a spurious 503.
                p.begin_with("BEGIN IMMEDIATE")
                    .await
                    .map(RawTx::Sqlite)
                    .map_err(classify)
            }
            Engine::Postgres(c) => {
                let (i, conn) = c.acquire_write().await?;
                let tx = sqlx::Transaction::begin(conn, None).await.map_err(classify);
                routed(c, i, "write", tx.is_ok());
                tx.map(RawTx::Postgres).map_err(|e| c.write_error(e))
            }
        }
    }

    /// `SELECT 1` on the primary: whether the database answers now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.on_primary_pool(Kind::Fetch, Sql::new("SELECT 1 AS one"))
            .await
            .map(drop)
    }

    /// The primary's WAL insert position now (PostgreSQL; `None` on SQLite). Read after a
    /// write has committed, it is a read-your-writes token for that write (see [`crate::lsn`]).
    pub async fn current_lsn(&self) -> Result<Option<Lsn>, StoreError> {
        if self.backend() == Backend::Sqlite {
            return Ok(None);
        }
        let rows = self
            .on_primary_pool(
                Kind::Fetch,
                Sql::new("SELECT pg_current_wal_insert_lsn()::text AS lsn"),
            )
            .await?
            .rows();
        Ok(rows
            .first()
            .and_then(|r| r.get("lsn"))
            .and_then(Json::as_str)
            .and_then(|s| s.parse().ok()))
    }
}

fn op_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Fetch => "fetch",
        Kind::Execute => "execute",
    }
}

/// Counts a statement against the node that ran it.
fn routed(c: &Cluster, node: usize, kind: &'static str, ok: bool) {
    if !ok {
        return;
    }
    let n = &c.nodes[node];
    match kind {
        "read" => n.reads.fetch_add(1, Ordering::Relaxed),
        _ => n.writes.fetch_add(1, Ordering::Relaxed),
    };
    metrics::counter!("db_routed_statements_total", "node" => n.name.clone(), "kind" => kind)
        .increment(1);
}
