//! [`Db`]: one handle over either backend.
//!
//! Queries take a [`Sql`] (text + bound values) and return rows as JSON maps keyed by column
//! name, so a repository writes `SELECT site_code AS "siteCode" …` once and deserialises the
//! map into its DTO on both backends. Decoding follows the column's declared type
//! (PostgreSQL) or the value's storage class (SQLite; `BOOLEAN` columns become booleans).
//!
//! Failing fast: once the [monitor](crate::monitor) has seen the database unreachable, queries
//! answer [`StoreError::Unavailable`] at once instead of each waiting out the pool's acquire
//! timeout, until the monitor (or a query) sees it answer again. A request therefore gets its
//! 503 in microseconds, and the instance recovers by itself within one health interval.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Column, Postgres, Row as _, Sqlite, TypeInfo, ValueRef};
use tokio::time::Instant;

use crate::config::DbConfig;
use crate::error::{StoreError, classify};
use crate::sql::{Sql, Value};

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

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Backend,
    pool: Pool,
    /// Set by the monitor once it runs; until then every query is attempted.
    monitored: AtomicBool,
    reachable: AtomicBool,
}

impl Db {
    /// Creates the pool without connecting: an instance starts even when its database is
    /// down, reports not ready, and recovers when the database returns.
    pub fn connect(cfg: &DbConfig) -> Result<Db, StoreError> {
        let url = cfg.url.trim();
        let pool = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Other(format!("invalid database url: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(cfg.busy_timeout);
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(cfg.max_connections.max(1))
                    .min_connections(cfg.min_connections)
                    .acquire_timeout(cfg.acquire_timeout)
                    .idle_timeout(cfg.idle_timeout)
                    .connect_lazy_with(opts),
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut opts = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Other(format!("invalid database url: {e}")))?
                .application_name("tis");
            if !cfg.statement_timeout.is_zero() {
                let ms = cfg.statement_timeout.as_millis().to_string();
                opts = opts.options([("statement_timeout", ms.as_str())]);
            }
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(cfg.max_connections.max(1))
                    .min_connections(cfg.min_connections)
                    .acquire_timeout(cfg.acquire_timeout)
                    .idle_timeout(cfg.idle_timeout)
                    .connect_lazy_with(opts),
            )
        } else {
            return Err(StoreError::Other(format!(
                "unsupported database url `{}`: expected sqlite:// or postgres://",
                redact(url)
            )));
        };
        let backend = match pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        };
        Ok(Db {
            inner: Arc::new(Inner {
                backend,
                pool,
                monitored: AtomicBool::new(false),
                reachable: AtomicBool::new(true),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Whether the last check found the database answering.
    pub fn is_reachable(&self) -> bool {
        self.inner.reachable.load(Ordering::Relaxed)
    }

    pub(crate) fn set_monitored(&self) {
        self.inner.monitored.store(true, Ordering::Relaxed);
    }

    pub(crate) fn set_reachable(&self, up: bool) {
        self.inner.reachable.store(up, Ordering::Relaxed);
    }

    fn gate(&self) -> Result<(), StoreError> {
        if self.inner.monitored.load(Ordering::Relaxed) && !self.is_reachable() {
            return Err(StoreError::Unavailable(
                "the database did not answer the last health check".into(),
            ));
        }
        Ok(())
    }

    fn observe<T>(
        &self,
        op: &'static str,
        start: Instant,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let outcome = match &result {
            Ok(_) => "ok",
            Err(StoreError::Unavailable(_)) => {
                self.set_reachable(false);
                "unavailable"
            }
            Err(StoreError::ReadOnly(_)) => "read_only",
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

    /// Runs a query and returns every row.
    pub async fn fetch_all(&self, q: Sql) -> Result<Vec<Row>, StoreError> {
        self.gate()?;
        let start = Instant::now();
        let text = q.render(self.backend());
        let values = q.into_values();
        let result = match self.pool() {
            Pool::Sqlite(p) => sqlite_fetch(p, text, values).await,
            Pool::Postgres(p) => pg_fetch(p, text, values).await,
        };
        self.observe("fetch", start, result)
    }

    /// Runs a query expected to return at most one row.
    pub async fn fetch_optional(&self, q: Sql) -> Result<Option<Row>, StoreError> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    /// Runs a query expected to return exactly one row; none is [`StoreError::NotFound`].
    pub async fn fetch_one(&self, q: Sql) -> Result<Row, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::NotFound)
    }

    /// Runs a query and decodes every row into `T`.
    pub async fn fetch_all_as<T: DeserializeOwned>(&self, q: Sql) -> Result<Vec<T>, StoreError> {
        self.fetch_all(q).await?.into_iter().map(decode).collect()
    }

    /// Runs a statement and returns the number of rows it affected.
    pub async fn execute(&self, q: Sql) -> Result<u64, StoreError> {
        self.gate()?;
        let start = Instant::now();
        let text = q.render(self.backend());
        let values = q.into_values();
        let result = match self.pool() {
            Pool::Sqlite(p) => sqlite_execute(p, text, values).await,
            Pool::Postgres(p) => pg_execute(p, text, values).await,
        };
        self.observe("execute", start, result)
    }

    /// Starts a transaction. It rolls back when dropped without [`Tx::commit`].
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        self.gate()?;
        let start = Instant::now();
        let result = match self.pool() {
            Pool::Sqlite(p) => p.begin().await.map(TxInner::Sqlite).map_err(classify),
            Pool::Postgres(p) => p.begin().await.map(TxInner::Postgres).map_err(classify),
        };
        let inner = self.observe("begin", start, result)?;
        Ok(Tx {
            inner,
            backend: self.backend(),
        })
    }

    /// `SELECT 1`: whether the database answers now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = match self.pool() {
            Pool::Sqlite(p) => sqlite_fetch(p, "SELECT 1".into(), Vec::new())
                .await
                .map(drop),
            Pool::Postgres(p) => pg_fetch(p, "SELECT 1".into(), Vec::new()).await.map(drop),
        };
        self.observe("ping", start, result)
    }

    /// Connections in the pool: (open, idle).
    pub fn pool_size(&self) -> (u32, usize) {
        match self.pool() {
            Pool::Sqlite(p) => (p.size(), p.num_idle()),
            Pool::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    /// Closes every connection; later queries fail with `Unavailable`.
    pub async fn close(&self) {
        match self.pool() {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A database transaction. Rolls back when dropped uncommitted.
#[derive(Debug)]
pub struct Tx {
    inner: TxInner,
    backend: Backend,
}

#[derive(Debug)]
enum TxInner {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn fetch_all(&mut self, q: Sql) -> Result<Vec<Row>, StoreError> {
        let text = q.render(self.backend);
        let values = q.into_values();
        match &mut self.inner {
            TxInner::Sqlite(tx) => sqlite_fetch(&mut **tx, text, values).await,
            TxInner::Postgres(tx) => pg_fetch(&mut **tx, text, values).await,
        }
    }

    pub async fn fetch_optional(&mut self, q: Sql) -> Result<Option<Row>, StoreError> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    pub async fn fetch_one(&mut self, q: Sql) -> Result<Row, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::NotFound)
    }

    pub async fn execute(&mut self, q: Sql) -> Result<u64, StoreError> {
        let text = q.render(self.backend);
        let values = q.into_values();
        match &mut self.inner {
            TxInner::Sqlite(tx) => sqlite_execute(&mut **tx, text, values).await,
            TxInner::Postgres(tx) => pg_execute(&mut **tx, text, values).await,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await.map_err(classify),
            TxInner::Postgres(tx) => tx.commit().await.map_err(classify),
        }
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.rollback().await.map_err(classify),
            TxInner::Postgres(tx) => tx.rollback().await.map_err(classify),
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

// ---- SQLite ----------------------------------------------------------------------------

type SqliteQuery = sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments>;

fn sqlite_bind(mut q: SqliteQuery, values: Vec<Value>) -> SqliteQuery {
    for v in values {
        q = match v {
            Value::Null => q.bind(Option::<String>::None),
            Value::Bool(b) => q.bind(b),
            Value::Int(i) => q.bind(i),
            Value::Float(f) => q.bind(f),
            Value::Text(s) => q.bind(s),
            Value::Date(d) => q.bind(d.to_string()),
            Value::Timestamp(t) => q.bind(rfc3339(t)),
            Value::Uuid(u) => q.bind(u.to_string()),
            Value::Json(j) => q.bind(j.to_string()),
        };
    }
    q
}

async fn sqlite_fetch<'e, E>(
    ex: E,
    text: String,
    values: Vec<Value>,
) -> Result<Vec<Row>, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let rows = sqlite_bind(sqlx::query(AssertSqlSafe(text)), values)
        .fetch_all(ex)
        .await
        .map_err(classify)?;
    rows.iter().map(sqlite_row).collect()
}

async fn sqlite_execute<'e, E>(ex: E, text: String, values: Vec<Value>) -> Result<u64, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let done = sqlite_bind(sqlx::query(AssertSqlSafe(text)), values)
        .execute(ex)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected())
}

fn sqlite_row(row: &SqliteRow) -> Result<Row, StoreError> {
    let mut out = Row::new();
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(classify)?;
        let value = if raw.is_null() {
            Json::Null
        } else {
            let declared = col.type_info().name().to_owned();
            let storage = raw.type_info().name().to_owned();
            match (declared.as_str(), storage.as_str()) {
                ("BOOLEAN", _) => {
                    Json::Bool(row.try_get_unchecked::<i64, _>(i).map_err(classify)? != 0)
                }
                (_, "INTEGER") => Json::from(row.try_get_unchecked::<i64, _>(i).map_err(classify)?),
                (_, "REAL") => Json::from(row.try_get_unchecked::<f64, _>(i).map_err(classify)?),
                (_, "BLOB") => {
                    return Err(StoreError::Decode(format!(
                        "column {} is a BLOB",
                        col.name()
                    )));
                }
                _ => Json::String(row.try_get_unchecked::<String, _>(i).map_err(classify)?),
            }
        };
        out.insert(col.name().to_owned(), value);
    }
    Ok(out)
}

// ---- PostgreSQL ------------------------------------------------------------------------

type PgQuery = sqlx::query::Query<'static, Postgres, sqlx::postgres::PgArguments>;

fn pg_bind(mut q: PgQuery, values: Vec<Value>) -> PgQuery {
    for v in values {
        q = match v {
            // An untyped NULL: PostgreSQL infers the parameter's type from its use.
            Value::Null => q.bind(Option::<String>::None),
            Value::Bool(b) => q.bind(b),
            Value::Int(i) => q.bind(i),
            Value::Float(f) => q.bind(f),
            Value::Text(s) => q.bind(s),
            Value::Date(d) => q.bind(d),
            Value::Timestamp(t) => q.bind(t),
            Value::Uuid(u) => q.bind(u),
            Value::Json(j) => q.bind(sqlx::types::Json(j)),
        };
    }
    q
}

async fn pg_fetch<'e, E>(ex: E, text: String, values: Vec<Value>) -> Result<Vec<Row>, StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let rows = pg_bind(sqlx::query(AssertSqlSafe(text)), values)
        .fetch_all(ex)
        .await
        .map_err(classify)?;
    rows.iter().map(pg_row).collect()
}

async fn pg_execute<'e, E>(ex: E, text: String, values: Vec<Value>) -> Result<u64, StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let done = pg_bind(sqlx::query(AssertSqlSafe(text)), values)
        .execute(ex)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected())
}

fn pg_row(row: &PgRow) -> Result<Row, StoreError> {
    let mut out = Row::new();
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.type_info().name().to_owned();
        let v: Json = match name.as_str() {
            "BOOL" => row
                .try_get::<Option<bool>, _>(i)
                .map_err(classify)?
                .map(Json::Bool)
                .unwrap_or(Json::Null),
            "INT2" => opt(row.try_get::<Option<i16>, _>(i).map_err(classify)?),
            "INT4" => opt(row.try_get::<Option<i32>, _>(i).map_err(classify)?),
            "INT8" => opt(row.try_get::<Option<i64>, _>(i).map_err(classify)?),
            "FLOAT4" => opt(row.try_get::<Option<f32>, _>(i).map_err(classify)?),
            "FLOAT8" => opt(row.try_get::<Option<f64>, _>(i).map_err(classify)?),
            "DATE" => opt(row
                .try_get::<Option<time::Date>, _>(i)
                .map_err(classify)?
                .map(|d| d.to_string())),
            "TIMESTAMPTZ" => opt(row
                .try_get::<Option<time::OffsetDateTime>, _>(i)
                .map_err(classify)?
                .map(rfc3339)),
            "TIMESTAMP" => opt(row
                .try_get::<Option<time::PrimitiveDateTime>, _>(i)
                .map_err(classify)?
                .map(|t| rfc3339(t.assume_utc()))),
            "UUID" => opt(row
                .try_get::<Option<uuid::Uuid>, _>(i)
                .map_err(classify)?
                .map(|u| u.to_string())),
            "JSON" | "JSONB" => row
                .try_get::<Option<Json>, _>(i)
                .map_err(classify)?
                .unwrap_or(Json::Null),
            "TEXT[]" | "VARCHAR[]" => {
                opt(row.try_get::<Option<Vec<String>>, _>(i).map_err(classify)?)
            }
            "INT8[]" => opt(row.try_get::<Option<Vec<i64>>, _>(i).map_err(classify)?),
            "VOID" => Json::Null,
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" => {
                opt(row.try_get::<Option<String>, _>(i).map_err(classify)?)
            }
            other => {
                return Err(StoreError::Decode(format!(
                    "column {} has type {other}, which tis-store does not decode; cast it in the query",
                    col.name()
                )));
            }
        };
        out.insert(col.name().to_owned(), v);
    }
    Ok(out)
}

fn opt<T: Into<Json>>(v: Option<T>) -> Json {
    v.map_or(Json::Null, Into::into)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
}
