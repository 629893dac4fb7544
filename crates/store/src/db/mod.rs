//! [`Db`]: one handle over either backend, and the two doors into it.
//!
//! Queries take a [`Sql`](crate::Sql) (text + bound values) and return rows as JSON maps keyed by column
//! name, so a repository writes `SELECT site_code AS "siteCode" …` once and deserialises the
//! map into its DTO on both backends.
//!
//! # Reads and writes
//!
//! - [`Db::read`] (or [`Db::reader`] with an explicit [`Consistency`]) returns a [`Reader`]:
//!   it can only fetch, and on PostgreSQL its statements go to a replica within the lag bound,
//!   or to the primary (see the `cluster` module for the rules). Use it for every statement that
//!   only reads and needs no transaction.
//! - [`Db::write`] returns a [`Writer`], and [`Db::begin`] a transaction: both always run on
//!   the primary. Use them for writes, for `INSERT … RETURNING`, and for any read that must be
//!   checked together with a write.
//! - The older `Db::fetch_*` / `Db::execute` still work and go to the primary, as they always
//!   did: code that has not chosen a door stays correct, it just does not use the replicas.
//!
//! SQLite has one file: both doors lead to it, and nothing else changes.
//!
//! # Failing fast
//!
//! Once the [monitor](crate::monitor) has seen the database unreachable, statements answer
//! [`StoreError::Unavailable`] at once instead of each waiting out the pool's acquire timeout;
//! while replicas answer but no primary does, writes answer [`StoreError::ReadOnly`] at once
//! and reads go on. A request therefore gets its 503 in microseconds, and the instance
//! recovers by itself within one check interval of the database's return or a promotion.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::cluster::{Cluster, Node};
use crate::config::DbConfig;
use crate::error::StoreError;
use crate::lsn::Consistency;
use crate::status::{DbStatus, NodeStatus};

pub use crate::access::{Reader, Writer};

mod busy;
mod statements;

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A row: column name (or alias) → JSON value.
pub type Row = serde_json::Map<String, Json>;

/// A pool to run migrations on.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug)]
pub(crate) enum Engine {
    Sqlite(SqlitePool),
    Postgres(Cluster),
}

/// A database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Backend,
    engine: Engine,
    config: DbConfig,
    /// Set by the monitor once it runs; until then every query is attempted.
    monitored: AtomicBool,
    /// SQLite: whether the last check found the file usable.
    reachable: AtomicBool,
    /// Whether the monitor has seen the database usable (and migrated): requests pass the gate.
    serving: AtomicBool,
}

fn invalid(url: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("invalid database url `{}`: {e}", redact(url)))
}

impl Db {
    /// Creates the pools without connecting: an instance starts even when its database is
    /// down, reports not ready, and recovers when the database returns.
    pub fn connect(cfg: &DbConfig) -> Result<Db, StoreError> {
        let url = cfg.url.trim();
        let engine = if url.starts_with("sqlite:") {
            if !cfg.replicas.is_empty() {
                return Err(StoreError::Other(
                    "database.replicas needs PostgreSQL; SQLite is one file".into(),
                ));
            }
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| invalid(url, e))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(cfg.busy_timeout)
                .pragma("cache_size", format!("-{}", cfg.sqlite_cache_kib.max(64)));
            let busy_timeout = cfg.busy_timeout;
            Engine::Sqlite(
                SqlitePoolOptions::new()
                    // A writer waiting for another's lock retries in short steps (busy.rs).
                    .after_connect(move |conn, _| {
                        Box::pin(async move { busy::install(conn, busy_timeout).await })
                    })
                    .max_connections(cfg.max_connections.max(1))
                    .min_connections(cfg.min_connections)
                    .acquire_timeout(cfg.acquire_timeout)
                    .idle_timeout(cfg.idle_timeout)
                    .connect_lazy_with(opts),
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut nodes = Vec::with_capacity(1 + cfg.replicas.len());
            for (i, u) in std::iter::once(url)
                .chain(cfg.replicas.iter().map(|r| r.trim()))
                .enumerate()
            {
                if !(u.starts_with("postgres:") || u.starts_with("postgresql:")) {
                    return Err(invalid(u, "replicas must be postgres:// URLs"));
                }
                // plan_cache_mode = force_custom_plan: every execution of a prepared
                // statement is planned with its parameters. sqlx prepares and caches every
                // statement, and after five executions PostgreSQL may switch one to a generic
                // plan that ignores the values: a list filtered on a rare value then scanned
                // by a common one (docs/benchmarks.md "Lists through the kit", "TCS people").
                // Planning our statements costs far less than a wrong plan over many rows.
                let mut opts = PgConnectOptions::from_str(u)
                    .map_err(|e| invalid(u, e))?
                    .application_name("tis")
                    .options([("plan_cache_mode", "force_custom_plan")]);
                if !cfg.statement_timeout.is_zero() {
                    let ms = cfg.statement_timeout.as_millis().to_string();
                    opts = opts.options([("statement_timeout", ms.as_str())]);
                }
                nodes.push(Node::new(u, opts, i == 0, cfg));
            }
            Engine::Postgres(Cluster::new(nodes, cfg.max_replica_lag))
        } else {
            return Err(StoreError::Other(format!(
                "unsupported database url `{}`: expected sqlite:// or postgres://",
                redact(url)
            )));
        };
        let backend = match engine {
            Engine::Sqlite(_) => Backend::Sqlite,
            Engine::Postgres(_) => Backend::Postgres,
        };
        Ok(Db {
            inner: Arc::new(Inner {
                backend,
                engine,
                config: cfg.clone(),
                monitored: AtomicBool::new(false),
                reachable: AtomicBool::new(true),
                serving: AtomicBool::new(true),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub fn config(&self) -> &DbConfig {
        &self.inner.config
    }

    pub(crate) fn cluster(&self) -> Option<&Cluster> {
        match &self.inner.engine {
            Engine::Postgres(c) => Some(c),
            Engine::Sqlite(_) => None,
        }
    }

    /// This handle's identity (shared by its clones).
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Reads that may go to a replica, seeing at least what the current request asks
    /// (`TIS-Consistency`, or its own writes).
    pub fn read(&self) -> Reader {
        Reader::new(self.clone(), Consistency::Any)
    }

    /// Reads that must see at least `consistency` (and what the current request asks).
    pub fn reader(&self, consistency: Consistency) -> Reader {
        Reader::new(self.clone(), consistency)
    }

    /// Statements on the primary: writes, and reads that must go with them.
    pub fn write(&self) -> Writer {
        Writer::new(self.clone())
    }

    /// Whether the last check found the database answering (PostgreSQL: any endpoint).
    pub fn is_reachable(&self) -> bool {
        match &self.inner.engine {
            Engine::Postgres(c) if c.is_monitored() => c.any_up(),
            _ => self.inner.reachable.load(Ordering::Relaxed),
        }
    }

    /// Whether writes can be served now: a primary answers (SQLite: the file is usable).
    pub fn writes_available(&self) -> bool {
        match &self.inner.engine {
            Engine::Postgres(c) => c.write_target().is_some(),
            Engine::Sqlite(_) => self.is_reachable(),
        }
    }

    /// Whether reads are served while writes are not (the primary is down, replicas answer).
    pub fn is_read_only(&self) -> bool {
        self.cluster().is_some_and(Cluster::read_only)
    }

    pub(crate) fn is_monitored(&self) -> bool {
        self.inner.monitored.load(Ordering::Relaxed)
    }

    pub(crate) fn set_monitored(&self) {
        self.inner.monitored.store(true, Ordering::Relaxed);
        // Until the monitor's first look, requests are refused (see `crate::http`).
        self.inner.serving.store(false, Ordering::Relaxed);
    }

    pub(crate) fn set_reachable(&self, up: bool) {
        self.inner.reachable.store(up, Ordering::Relaxed);
    }

    /// Whether requests may reach the database (the monitor has seen it usable).
    pub fn is_serving(&self) -> bool {
        self.inner.serving.load(Ordering::Relaxed)
    }

    pub(crate) fn set_serving(&self, serving: bool) {
        self.inner.serving.store(serving, Ordering::Relaxed);
    }

    fn gate(&self) -> Result<(), StoreError> {
        if self.is_monitored() && !self.is_reachable() {
            return Err(StoreError::Unavailable(
                "the database did not answer the last health check".into(),
            ));
        }
        Ok(())
    }

    /// The pool migrations run on: the primary.
    pub(crate) fn migration_pool(&self) -> Result<Pool, StoreError> {
        match &self.inner.engine {
            Engine::Sqlite(p) => Ok(Pool::Sqlite(p.clone())),
            Engine::Postgres(c) => match c.write_target() {
                Some(i) => Ok(Pool::Postgres(c.nodes[i].pool())),
                None => Err(c.no_primary_error()),
            },
        }
    }

    /// Connections in the primary's pool: (open, idle).
    pub fn pool_size(&self) -> (u32, usize) {
        match &self.inner.engine {
            Engine::Sqlite(p) => (p.size(), p.num_idle()),
            Engine::Postgres(c) => {
                let p = c.nodes[c.write_target().unwrap_or(0)].pool();
                (p.size(), p.num_idle())
            }
        }
    }

    /// Closes every connection; later queries fail with `Unavailable`.
    pub async fn close(&self) {
        match &self.inner.engine {
            Engine::Sqlite(p) => p.close().await,
            Engine::Postgres(c) => {
                for n in &c.nodes {
                    n.pool().close().await;
                }
            }
        }
    }

    /// Makes the work this instance has committed so far the replicas' floor, and waits until
    /// every reachable replica has replayed it: the primary's position is read now, no replica
    /// serves a read before it has replayed that position (see the `cluster` module), and the
    /// wait ends when every reachable replica has, or after the replay wait (the lag bound, at
    /// least a second). Returns the replicas still behind then (they stay out of reads until
    /// they catch up). SQLite, or PostgreSQL without replicas: returns at once.
    ///
    /// A service calls it after its start-up writes (demo data), before it reports ready, so
    /// that "ready" means the first request finds that data wherever it reads.
    pub async fn await_replicas(&self) -> Result<Vec<String>, StoreError> {
        let Some(cluster) = self.cluster().filter(|c| c.nodes.len() > 1) else {
            return Ok(Vec::new());
        };
        let Some(lsn) = self.current_lsn().await? else {
            return Ok(Vec::new());
        };
        cluster.raise_floor(lsn);
        cluster.poke.notify_one();
        let deadline = tokio::time::Instant::now() + cluster.replay_wait();
        loop {
            let behind = cluster.behind(lsn);
            if behind.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(behind);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// What the monitor last saw of every endpoint, for status pages. Costs no query.
    pub fn status(&self) -> DbStatus {
        let (nodes, primary, max_lag) = match &self.inner.engine {
            Engine::Postgres(c) => (
                c.node_statuses(),
                c.write_target().map(|i| c.nodes[i].name.clone()),
                c.max_lag.as_secs_f64(),
            ),
            Engine::Sqlite(_) => (
                vec![NodeStatus {
                    name: "sqlite".into(),
                    url: redact(&self.inner.config.url),
                    configured_as: "primary",
                    up: self.is_reachable(),
                    in_recovery: None,
                    primary: true,
                    eligible_for_reads: false,
                    timeline: None,
                    position: None,
                    lag_bytes: None,
                    lag_seconds: None,
                    error: None,
                    checked_ms_ago: None,
                    reads: 0,
                    writes: 0,
                }],
                Some("sqlite".into()),
                0.0,
            ),
        };
        DbStatus {
            backend: self.backend().as_str(),
            monitored: self.is_monitored(),
            writes_available: self.writes_available(),
            reads_available: self.is_reachable(),
            primary,
            max_replica_lag_seconds: max_lag,
            nodes,
        }
    }
}

/// Deserialises a row into `T` (whose field names match the row's column aliases).
pub fn decode<T: DeserializeOwned>(row: Row) -> Result<T, StoreError> {
    serde_json::from_value(Json::Object(row)).map_err(|e| StoreError::Decode(e.to_string()))
}

/// Serde helpers for row fields.
pub mod de {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// A JSON column: an object on PostgreSQL (`JSONB`), a string holding the document on
    /// SQLite (`TEXT`). Use with `#[serde(deserialize_with = "tis_store::db::de::json")]`.
    pub fn json<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        match Value::deserialize(d)? {
            Value::String(text) => serde_json::from_str(&text).map_err(serde::de::Error::custom),
            other => Ok(other),
        }
    }
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://tis:secret@db:5432/reference"),
            "postgres://tis:***@db:5432/reference"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn sqlite_refuses_replicas_and_postgres_makes_a_node_per_endpoint() {
        let err = Db::connect(&DbConfig {
            url: "sqlite://x.db".into(),
            replicas: vec!["postgres://r/db".into()],
            ..DbConfig::default()
        })
        .expect_err("replicas need PostgreSQL");
        assert!(err.to_string().contains("replicas"), "{err}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let _guard = rt.enter();
        let db = Db::connect(&DbConfig {
            url: "postgres://tis:pw@p:5432/db".into(),
            replicas: vec!["postgres://tis:pw@r1:5433/db".into()],
            ..DbConfig::default()
        })
        .expect("postgres");
        let status = db.status();
        let names: Vec<_> = status.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["p:5432", "r1:5433"]);
        assert!(status.nodes.iter().all(|n| !n.url.contains("pw")));
        assert!(!status.monitored);
    }
}
