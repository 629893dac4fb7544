//! The one middleware a service puts on its data routes:
//!
//! ```text
//! routes.layer(axum::middleware::from_fn_with_state(db.clone(), tis_store::http::middleware))
//! ```
//!
//! For each request it:
//! 1. refuses with 503 `database_unavailable` (fast, with `Retry-After`) while the monitor has
//!    not seen the database usable: never checked yet, migrations pending, or nothing answers;
//! 2. marks the request `TIS-Degraded: db-read-only` while the primary is down and replicas
//!    serve the reads;
//! 3. opens the request's [`RequestScope`] with the consistency the caller sent in
//!    `TIS-Consistency` (an LSN from an earlier write's response, or `primary`), so that every
//!    [`Db::read`](crate::Db::read) of the request sees at least that;
//! 4. after a successful request that wrote (any method but GET/HEAD/OPTIONS that used the
//!    primary for writing), reads the primary's WAL insert position, which is now past the
//!    request's commits, and returns it as `TIS-Consistency` (see [`crate::lsn`] for why this
//!    makes read-your-writes safe). SQLite has no replicas and sends no token.
//!
//! It must sit inside tis-core's request-context middleware (as any route layer does), so
//! that degradations reach the response.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method};
use tis_core::error::code;
use tis_core::{Degradation, HttpError};

use crate::db::Db;
use crate::lsn::Consistency;
use crate::scope::RequestScope;

/// The request and response header carrying a read-your-writes token.
pub const CONSISTENCY: &str = "tis-consistency";

/// See the module documentation.
pub async fn middleware(State(db): State<Db>, req: Request, next: Next) -> Response {
    if !db.is_serving() {
        return HttpError::unavailable(
            code::DATABASE_UNAVAILABLE,
            "the database is unavailable; try again shortly",
        )
        .into_response();
    }
    if db.is_read_only() {
        tis_core::context::mark_degraded(Degradation::DbReadOnly);
    }
    let requested = req
        .headers()
        .get(CONSISTENCY)
        .map_or(Consistency::Any, |v| {
            v.to_str()
                .map_or(Consistency::Primary, Consistency::from_header)
        });
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let scope = RequestScope::new(requested);
    let mut res = scope.clone().run(next.run(req)).await;
    if writes && scope.wrote() && res.status().is_success() {
        match db.current_lsn().await {
            Ok(Some(lsn)) => {
                if let Ok(v) = HeaderValue::from_str(&lsn.to_string()) {
                    res.headers_mut().insert(CONSISTENCY, v);
                }
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error.message = %err, "could not read the WAL position for TIS-Consistency")
            }
        }
    }
    res
}
