//! What can go wrong with a database, in the terms a service must tell apart.
//!
//! Driver errors are classified once, here: a service never inspects SQLSTATEs. The mapping to
//! HTTP lives in [`StoreError::into_http`], so every service answers the same way:
//! `Unavailable` → 503 `database_unavailable`, `ReadOnly` → 503 `primary_unavailable`,
//! `Duplicate` → 409, `NotFound` → 404, the rest → 500 (a bug, logged).

use http::StatusCode;
use tis_core::error::code;
use tis_core::{Degradation, HttpError};

/// A database operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or did not answer in time. Retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database accepts reads but not writes (no primary, or a read-only standby).
    #[error("the database is read-only: {0}")]
    ReadOnly(String),
    /// A unique constraint refused the write.
    #[error("a record with the same {constraint} already exists")]
    Duplicate { constraint: String },
    /// A foreign key refused the write (the referenced row is missing, or still referenced).
    #[error("the record is referenced by, or refers to, a missing record: {0}")]
    Reference(String),
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A row could not be decoded into the expected shape: a bug in the repository.
    #[error("could not decode a row: {0}")]
    Decode(String),
    /// Anything else the database refused: a bug (bad SQL) or a broken invariant.
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// Whether the condition may pass by itself (the database came back).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::ReadOnly(_))
    }

    /// The standard HTTP answer to this error.
    pub fn into_http(self) -> HttpError {
        match self {
            StoreError::Unavailable(_) => HttpError::unavailable(
                code::DATABASE_UNAVAILABLE,
                "the database is unavailable; try again shortly",
            ),
            StoreError::ReadOnly(_) => {
                // The answer says what every instance would say (they share the database),
                // even when this request found out first, before the monitor did: callers'
                // breakers must not eject the instance for it (tis-mesh `shared_outage`).
                tis_core::context::mark_degraded(Degradation::DbReadOnly);
                HttpError::unavailable(
                    code::PRIMARY_UNAVAILABLE,
                    "writes are unavailable while the primary database is down; reads still work",
                )
            }
            StoreError::Duplicate { constraint } => HttpError::conflict(format!(
                "a record with the same {constraint} already exists"
            )),
            StoreError::Reference(msg) => {
                HttpError::new(StatusCode::CONFLICT, code::REFERENCE_CONFLICT, msg)
            }
            StoreError::NotFound => HttpError::not_found("no such record"),
            StoreError::Decode(msg) | StoreError::Other(msg) => {
                tracing::error!(error.message = %msg, "database error");
                HttpError::internal("an unexpected database error occurred")
            }
        }
    }
}

impl From<StoreError> for HttpError {
    fn from(err: StoreError) -> Self {
        err.into_http()
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        classify(err)
    }
}

/// Sorts a driver error into a [`StoreError`].
pub fn classify(err: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match err {
        E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Io(_) | E::Tls(_) => {
            StoreError::Unavailable(err.to_string())
        }
        E::Protocol(ref msg) => StoreError::Unavailable(msg.clone()),
        E::RowNotFound => StoreError::NotFound,
        E::ColumnDecode { .. }
        | E::Decode(_)
        | E::ColumnNotFound(_)
        | E::ColumnIndexOutOfBounds { .. }
        | E::TypeNotFound { .. } => StoreError::Decode(err.to_string()),
        E::Database(ref db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message().to_owned();
            let constraint = db.constraint().map(str::to_owned);
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => StoreError::Duplicate {
                    constraint: match constraint {
                        Some(c) => describe_constraint(&c),
                        None => sqlite_unique_columns(&message),
                    },
                },
                sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::Reference(message),
                _ => classify_code(&code, message),
            }
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// PostgreSQL SQLSTATEs and SQLite result codes that mean "not now" rather than "never".
fn classify_code(code: &str, message: String) -> StoreError {
    match code {
        // read_only_sql_transaction: we reached a standby (after a failover, before the pool
        // found the new primary).
        "25006" => StoreError::ReadOnly(message),
        // connection_exception class, admin/crash shutdown, cannot_connect_now, too many
        // connections, serialization/deadlock, statement timeout, lock timeout (retry later).
        c if c.starts_with("08") => StoreError::Unavailable(message),
        "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01" | "57014" | "55P03" => {
            StoreError::Unavailable(message)
        }
        // SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_IOERR (10), SQLITE_FULL (13),
        // SQLITE_CANTOPEN (14); extended codes keep the primary code in the low byte.
        c => match c.parse::<i32>().map(|n| n & 0xff) {
            Ok(5 | 6 | 10 | 13 | 14) => StoreError::Unavailable(message),
            Ok(8) => StoreError::ReadOnly(message),
            _ => StoreError::Other(message),
        },
    }
}

/// SQLite names no constraint, only the columns: `UNIQUE constraint failed: grade.code`.
fn sqlite_unique_columns(message: &str) -> String {
    message
        .rsplit_once("failed: ")
        .map(|(_, cols)| {
            cols.split(',')
                .map(|c| c.trim().rsplit_once('.').map_or(c.trim(), |(_, col)| col))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "key".to_owned())
}

/// `grade_code_key` / `ux_grade_code` → `code`: the column a person recognises.
fn describe_constraint(constraint: &str) -> String {
    let c = constraint
        .trim_end_matches("_key")
        .trim_start_matches("ux_");
    c.rsplit_once('_')
        .map_or_else(|| c.to_owned(), |(_, col)| col.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_only_error_marks_its_answer_db_read_only_as_the_middleware_would() {
        use tis_core::context::RequestContext;
        use tis_core::trace_context::TraceContext;
        let ctx = RequestContext::new("r".into(), TraceContext::new_root(), None);
        let http = ctx
            .clone()
            .scope(async { StoreError::ReadOnly("25006".into()).into_http() })
            .await;
        assert_eq!(http.status.as_u16(), 503);
        assert_eq!(ctx.degraded(), vec!["db-read-only"]);
        let ctx = RequestContext::new("r".into(), TraceContext::new_root(), None);
        let _ = ctx
            .clone()
            .scope(async { StoreError::Unavailable("down".into()).into_http() })
            .await;
        assert!(ctx.degraded().is_empty(), "unreachable is not read-only");
    }

    #[test]
    fn standby_writes_are_read_only_and_connection_errors_unavailable() {
        assert!(matches!(
            classify_code("25006", String::new()),
            StoreError::ReadOnly(_)
        ));
        assert!(matches!(
            classify_code("08006", String::new()),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            classify_code("57P01", String::new()),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            classify_code("5", String::new()),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            classify_code("517", String::new()),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            classify_code("42601", String::new()),
            StoreError::Other(_)
        ));
    }

    #[test]
    fn sqlite_unique_messages_name_the_columns() {
        assert_eq!(
            sqlite_unique_columns("UNIQUE constraint failed: grade.code"),
            "code"
        );
        assert_eq!(
            sqlite_unique_columns("UNIQUE constraint failed: a.x, a.y"),
            "x, y"
        );
        assert_eq!(describe_constraint("widget_code_key"), "code");
    }

    #[test]
    fn pool_timeouts_are_unavailable() {
        assert!(matches!(
            classify(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
    }
}
