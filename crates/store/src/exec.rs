//! Running one statement on one connection of either backend, and decoding its rows.
//!
//! Decoding follows the column's declared type (PostgreSQL) or the value's storage class
//! (SQLite; `BOOLEAN` columns become booleans), so a repository gets the same JSON map from
//! both backends.

use serde_json::Value as Json;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Column, Postgres, Row as _, Sqlite, TypeInfo, ValueRef};
use tracing::Instrument;

use crate::db::Row;
use crate::error::{StoreError, classify};
use crate::sql::{SqlType, Value};

// ---- SQLite ----------------------------------------------------------------------------

type SqliteQuery = sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments>;

fn sqlite_bind(mut q: SqliteQuery, values: Vec<Value>) -> SqliteQuery {
    for v in values {
        q = match v {
            // SQLite's NULL has no type: every column takes it.
            Value::Null | Value::NullOf(_) => q.bind(Option::<String>::None),
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

pub(crate) async fn sqlite_fetch<'e, E>(
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

pub(crate) async fn sqlite_execute<'e, E>(
    ex: E,
    text: String,
    values: Vec<Value>,
) -> Result<u64, StoreError>
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
            // Declared TEXT, as it always was: only text columns take it (see `crate::sql`).
            Value::Null => q.bind(Option::<String>::None),
            Value::NullOf(ty) => pg_bind_null(q, ty),
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

/// A NULL declared as `ty`, the type PostgreSQL then gives the parameter.
fn pg_bind_null(q: PgQuery, ty: SqlType) -> PgQuery {
    match ty {
        SqlType::Bool => q.bind(Option::<bool>::None),
        SqlType::Int => q.bind(Option::<i64>::None),
        SqlType::Float => q.bind(Option::<f64>::None),
        SqlType::Text => q.bind(Option::<String>::None),
        SqlType::Date => q.bind(Option::<time::Date>::None),
        SqlType::Timestamp => q.bind(Option::<time::OffsetDateTime>::None),
        SqlType::Uuid => q.bind(Option::<uuid::Uuid>::None),
        SqlType::Json => q.bind(Option::<sqlx::types::Json<Json>>::None),
    }
}

pub(crate) async fn pg_fetch<'e, E>(
    ex: E,
    text: String,
    values: Vec<Value>,
) -> Result<Vec<Row>, StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let rows = pg_bind(sqlx::query(AssertSqlSafe(text)), values)
        .fetch_all(ex)
        .await
        .map_err(classify)?;
    rows.iter().map(pg_row).collect()
}

pub(crate) async fn pg_execute<'e, E>(
    ex: E,
    text: String,
    values: Vec<Value>,
) -> Result<u64, StoreError>
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

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What a statement is run for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Rows back (`SELECT`, `… RETURNING`).
    Fetch,
    /// The number of rows affected.
    Execute,
}

/// What a statement gave back.
#[derive(Debug)]
pub(crate) enum Outcome {
    Rows(Vec<Row>),
    Count(u64),
}

impl Outcome {
    pub(crate) fn rows(self) -> Vec<Row> {
        match self {
            Outcome::Rows(rows) => rows,
            Outcome::Count(_) => Vec::new(),
        }
    }

    pub(crate) fn count(self) -> u64 {
        match self {
            Outcome::Rows(rows) => rows.len() as u64,
            Outcome::Count(n) => n,
        }
    }
}

/// Runs `text` with `values` on one PostgreSQL connection.
pub(crate) async fn on_pg(
    conn: &mut sqlx::PgConnection,
    kind: Kind,
    text: String,
    values: Vec<Value>,
) -> Result<Outcome, StoreError> {
    let span = statement_span("postgresql", kind, &text);
    match kind {
        Kind::Fetch => pg_fetch(conn, text, values)
            .instrument(span)
            .await
            .map(Outcome::Rows),
        Kind::Execute => pg_execute(conn, text, values)
            .instrument(span)
            .await
            .map(Outcome::Count),
    }
}

/// Runs `text` with `values` on one SQLite connection.
pub(crate) async fn on_sqlite(
    conn: &mut sqlx::SqliteConnection,
    kind: Kind,
    text: String,
    values: Vec<Value>,
) -> Result<Outcome, StoreError> {
    let span = statement_span("sqlite", kind, &text);
    match kind {
        Kind::Fetch => sqlite_fetch(conn, text, values)
            .instrument(span)
            .await
            .map(Outcome::Rows),
        Kind::Execute => sqlite_execute(conn, text, values)
            .instrument(span)
            .await
            .map(Outcome::Count),
    }
}

/// One statement's trace span (exported when the request's trace is sampled; disabled and
/// free otherwise): the statement's text with its placeholders, never its values.
fn statement_span(system: &'static str, kind: Kind, text: &str) -> tracing::Span {
    tracing::debug_span!(
        target: tis_core::telemetry::traces::TARGET,
        "db.query",
        otel.kind = "client",
        "db.system.name" = system,
        "db.operation.name" = match kind {
            Kind::Fetch => "fetch",
            Kind::Execute => "execute",
        },
        "db.query.text" = text,
    )
}
