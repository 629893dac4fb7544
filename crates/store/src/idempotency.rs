//! `Idempotency-Key`: a retried write returns the first result and never writes twice.
//!
//! A service calls [`run_scoped`] (or [`run`]) from a middleware on each route that writes
//! (creates, bulk creates, updates), with the caller's identity as the key's scope. With no
//! `Idempotency-Key` header the request runs as usual. With one:
//!
//! 1. The request body is read (up to `max_body`) and fingerprinted: SHA-256 of the method,
//!    the path with its query, and the body.
//! 2. A transaction begins on the primary and inserts the key (`tis_idempotency`, created by
//!    tis-store's own migrations). That insert is the claim:
//!    - no live row for (scope, key): the claim holds; the handler runs **inside this same
//!      transaction** (every statement of the request joins it, see [`crate::tx`]); on a 2xx
//!      the response (status, `Content-Type`, `Location`, body) is written to the key's row
//!      and the transaction commits: the write and its key are one commit, so neither exists
//!      without the other. On any other status, or if storing fails, everything rolls back
//!      and nothing is remembered (the retry runs again, and fails or succeeds on its own).
//!    - a live row: the request was done before. Same fingerprint: the stored response is
//!      returned as it was, with `Idempotent-Replayed: true`. Different fingerprint: 422
//!      `idempotency_key_reused`, nothing runs.
//!    - an expired row (older than `idempotency_ttl`, 24 h by default) counts as absent: the
//!      claim replaces it.
//! 3. **Concurrent requests with the same key: the second waits.** Its insert meets the
//!    first's uncommitted row and the database holds it until the first commits (then it
//!    replays the stored response) or rolls back (then it runs itself). Exactly one executes.
//!    The wait is bounded by the first request's own duration, at worst by PostgreSQL's
//!    `statement_timeout` or SQLite's `busy_timeout`, after which the second gets a 503 and may
//!    retry. We chose waiting over 409 `idempotency_in_progress` because the client then gets
//!    the real answer instead of having to poll for it.
//!
//! A commit that fails (the primary died during `COMMIT`) is answered 503: the client cannot
//! know whether it happened, and retrying with the same key is exactly how it finds out. With
//! a synchronous standby (see `docs/operations-postgresql.md`) a commit that was acknowledged
//! survives the promotion, so the retry on the new primary replays it instead of repeating it.
//!
//! Keys are scoped by caller, so one user can never receive another's stored response.
//! Expired keys are deleted by the monitor every `idempotency_cleanup_interval`.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use tis_core::HttpError;
use tis_core::error::code;

use crate::db::Db;
use crate::error::StoreError;
use crate::exec::{Kind, Outcome};
use crate::lsn::Consistency;
use crate::scope::RequestScope;
use crate::sql::Sql;
use crate::tx::SharedTx;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on a response that was replayed from the store.
pub const REPLAYED: &str = "idempotent-replayed";
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The response headers kept with a stored response.
const KEPT_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::LOCATION];

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A key from the header: 1 to 255 visible ASCII characters.
fn parse_key(value: &HeaderValue) -> Result<String, HttpError> {
    let bad = || {
        HttpError::bad_request(
            code::INVALID_IDEMPOTENCY_KEY,
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text.is_empty() || text.len() > MAX_KEY_LEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(text.to_owned())
}

/// SHA-256 of method, path with query, and body, in hex.
pub fn fingerprint(method: &http::Method, uri: &http::Uri, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b"\n");
    h.update(
        uri.path_and_query()
            .map_or(uri.path(), |p| p.as_str())
            .as_bytes(),
    );
    h.update(b"\n");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `req` under its `Idempotency-Key`, if it has one (see the module documentation).
/// `scope` names the caller; `max_body` bounds the request body read into memory.
pub async fn run(db: &Db, scope: &str, max_body: usize, req: Request, next: Next) -> Response {
    let Some(value) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match parse_key(value) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, max_body).await else {
        return HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {max_body} bytes"),
        )
        .into_response();
    };
    let print = fingerprint(&parts.method, &parts.uri, &bytes);
    let request = RequestScope::current().unwrap_or_else(|| RequestScope::new(Consistency::Any));
    request.mark_wrote();
    let mut parts = Some(parts);
    // Twice at most: a live row seen by the claim may expire before it is read back.
    for _ in 0..2 {
        let raw = match db.begin_raw().await {
            Ok(raw) => raw,
            Err(e) => return e.into_http().into_response(),
        };
        let tx = SharedTx::new(db.id(), db.backend(), raw);
        match claim(&tx, scope, &key, &print, db.config().idempotency_ttl).await {
            Err(e) => {
                let _ = tx.finish(false).await;
                return db.write_error(e).into_http().into_response();
            }
            Ok(true) => {
                let Some(parts) = parts.take() else { break };
                let req = Request::from_parts(parts, Body::from(bytes));
                request.set_shared(Some(tx.clone()));
                let res = request.clone().run(next.run(req)).await;
                request.set_shared(None);
                return store(db, &tx, scope, &key, res).await;
            }
            Ok(false) => {
                let _ = tx.finish(false).await;
                match lookup(db, scope, &key).await {
                    Ok(Some(stored)) if stored.fingerprint == print => return stored.replay(),
                    Ok(Some(_)) => {
                        return HttpError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            code::IDEMPOTENCY_KEY_REUSED,
                            "this Idempotency-Key was used for a different request",
                        )
                        .into_response();
                    }
                    Ok(None) => continue,
                    Err(e) => return e.into_http().into_response(),
                }
            }
        }
    }
    HttpError::new(
        StatusCode::CONFLICT,
        code::IDEMPOTENCY_IN_PROGRESS,
        "a request with this Idempotency-Key is being processed; retry shortly",
    )
    .with_retry_after(1)
    .into_response()
}

/// [`run`] for a middleware that finds the caller in the request head (an authentication
/// extractor): `scope` runs only when the request carries a key (a request without one
/// passes straight through and pays nothing), and an `Err` from it (a 401) is the answer,
/// before any key is claimed.
pub async fn run_scoped<E: IntoResponse>(
    db: &Db,
    max_body: usize,
    req: Request,
    next: Next,
    scope: impl AsyncFnOnce(&mut Parts) -> Result<String, E>,
) -> Response {
    if !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = match scope(&mut parts).await {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    run(
        db,
        &caller,
        max_body,
        Request::from_parts(parts, body),
        next,
    )
    .await
}

/// Inserts the key in `tx`; `false` when a live row holds it already.
async fn claim(
    tx: &SharedTx,
    scope: &str,
    key: &str,
    print: &str,
    ttl: std::time::Duration,
) -> Result<bool, StoreError> {
    let now = now_secs();
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let mut q = Sql::new(
        "INSERT INTO tis_idempotency (scope, idem_key, fingerprint, status, created_at, expires_at) VALUES (",
    );
    q.bind(scope)
        .push(", ")
        .bind(key)
        .push(", ")
        .bind(print)
        .push(", 0, ")
        .bind(now)
        .push(", ")
        .bind(now.saturating_add(ttl))
        .push(
            ") ON CONFLICT (scope, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint, \
             status = 0, headers = NULL, body = NULL, created_at = excluded.created_at, \
             expires_at = excluded.expires_at WHERE tis_idempotency.expires_at <= ",
        )
        .bind(now)
        .push(" RETURNING idem_key");
    Ok(!tx.run(Kind::Fetch, q).await?.rows().is_empty())
}

/// A stored response.
#[derive(Debug)]
struct Stored {
    fingerprint: String,
    status: u16,
    headers: Map<String, Json>,
    body: String,
}

impl Stored {
    fn replay(self) -> Response {
        let mut res = Response::new(Body::from(self.body));
        *res.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        for (name, value) in self.headers {
            if let (Ok(n), Some(Ok(v))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                res.headers_mut().insert(n, v);
            }
        }
        res.headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
        res
    }
}

/// The live stored response of (scope, key), read on the primary.
async fn lookup(db: &Db, scope: &str, key: &str) -> Result<Option<Stored>, StoreError> {
    let mut q =
        Sql::new("SELECT fingerprint, status, headers, body FROM tis_idempotency WHERE scope = ");
    q.bind(scope)
        .push(" AND idem_key = ")
        .bind(key)
        .push(" AND expires_at > ")
        .bind(now_secs());
    let Some(row) = db.write().fetch_optional(q).await? else {
        return Ok(None);
    };
    let text = |c: &str| row.get(c).and_then(Json::as_str).unwrap_or_default();
    Ok(Some(Stored {
        fingerprint: text("fingerprint").to_owned(),
        status: row
            .get("status")
            .and_then(Json::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200),
        headers: serde_json::from_str(text("headers")).unwrap_or_default(),
        body: text("body").to_owned(),
    }))
}

/// Stores a 2xx response with the key and commits; rolls back anything else.
async fn store(db: &Db, tx: &SharedTx, scope: &str, key: &str, res: Response) -> Response {
    if !res.status().is_success() {
        let _ = tx.finish(false).await;
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let _ = tx.finish(false).await;
            return HttpError::internal(format!("the response could not be read: {e}"))
                .into_response();
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        let _ = tx.finish(false).await;
        return HttpError::internal("the response is not text and cannot be stored for replay")
            .into_response();
    };
    let mut q = Sql::new("UPDATE tis_idempotency SET status = ");
    q.bind(i64::from(parts.status.as_u16()))
        .push(", headers = ")
        .bind(kept_headers(&parts.headers))
        .push(", body = ")
        .bind(text)
        .push(" WHERE scope = ")
        .bind(scope)
        .push(" AND idem_key = ")
        .bind(key);
    let stored = match tx.run(Kind::Execute, q).await.map(Outcome::count) {
        Ok(_) => tx.finish(true).await,
        Err(e) => {
            let _ = tx.finish(false).await;
            Err(e)
        }
    };
    match stored {
        Ok(()) => Response::from_parts(parts, Body::from(bytes)),
        Err(e) => db.write_error(e).into_http().into_response(),
    }
}

fn kept_headers(headers: &HeaderMap) -> String {
    let kept: Map<String, Json> = KEPT_HEADERS
        .iter()
        .filter_map(|n| {
            let v = headers.get(n)?.to_str().ok()?;
            Some((n.as_str().to_owned(), Json::String(v.to_owned())))
        })
        .collect();
    Json::Object(kept).to_string()
}

/// Deletes expired keys; returns how many.
pub async fn purge_expired(db: &Db) -> Result<u64, StoreError> {
    let mut q = Sql::new("DELETE FROM tis_idempotency WHERE expires_at <= ");
    q.bind(now_secs());
    db.write().execute(q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert_eq!(
            parse_key(&HeaderValue::from_static(" abc-123 ")).expect("ok"),
            "abc-123"
        );
        for bad in ["", "has space", &"k".repeat(256)] {
            let v = HeaderValue::from_str(bad).expect("header");
            assert_eq!(
                parse_key(&v).expect_err(bad).code,
                "invalid_idempotency_key"
            );
        }
    }

    #[test]
    fn the_fingerprint_covers_method_path_query_and_body() {
        let uri: http::Uri = "/a?x=1".parse().expect("uri");
        let other: http::Uri = "/a?x=2".parse().expect("uri");
        let base = fingerprint(&http::Method::POST, &uri, b"{}");
        assert_eq!(base.len(), 64);
        assert_eq!(base, fingerprint(&http::Method::POST, &uri, b"{}"));
        assert_ne!(base, fingerprint(&http::Method::PUT, &uri, b"{}"));
        assert_ne!(base, fingerprint(&http::Method::POST, &other, b"{}"));
        assert_ne!(base, fingerprint(&http::Method::POST, &uri, b"{ }"));
    }
}
