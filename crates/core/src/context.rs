//! The per-request context, and the outermost middleware of every TIS HTTP server.
//!
//! The middleware, in order: takes or makes the request id (`X-Request-Id`); continues the
//! caller's W3C trace or starts one; reads the caller's remaining budget (`TIS-Deadline`,
//! milliseconds) and refuses work whose deadline has already passed; runs the request inside
//! a tracing span carrying the ECS fields and inside a task-local [`RequestContext`], so that
//! deep code can mark the request degraded and errors can quote the request id; then stamps
//! `X-Request-Id` and `TIS-Degraded` on the response and writes the ECS access log line.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::HttpError;
use crate::trace_context::{self, TraceContext};

pub const REQUEST_ID: &str = "x-request-id";
pub const DEGRADED: &str = "tis-degraded";
pub const DEADLINE: &str = "tis-deadline";

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// What a request carries through every layer and handler of one process.
#[derive(Clone, Debug)]
pub struct RequestContext(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    request_id: String,
    trace: TraceContext,
    deadline: Option<Instant>,
    degraded: Mutex<Vec<String>>,
}

impl RequestContext {
    pub fn new(request_id: String, trace: TraceContext, deadline: Option<Instant>) -> Self {
        RequestContext(Arc::new(Inner {
            request_id,
            trace,
            deadline,
            degraded: Mutex::new(Vec::new()),
        }))
    }

    /// The context of the request this task is serving, if any.
    pub fn current() -> Option<RequestContext> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `fut` with `self` as the current context.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }

    pub fn request_id(&self) -> &str {
        &self.0.request_id
    }

    pub fn trace(&self) -> TraceContext {
        self.0.trace
    }

    /// When the caller stops waiting, if it said so.
    pub fn deadline(&self) -> Option<Instant> {
        self.0.deadline
    }

    /// Records that this request was served in a degraded way (`idp`, `retried`,
    /// `profile-stale`, `db-read-only`, …). Each name is recorded once.
    pub fn mark_degraded(&self, what: &str) {
        let mut list = self.0.degraded.lock().unwrap_or_else(|p| p.into_inner());
        if !list.iter().any(|d| d == what) {
            list.push(what.to_owned());
        }
    }

    pub fn degraded(&self) -> Vec<String> {
        self.0
            .degraded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Marks the current request degraded; does nothing outside a request.
pub fn mark_degraded(what: &str) {
    if let Some(ctx) = RequestContext::current() {
        ctx.mark_degraded(what);
    }
}

/// The degradation names in a `TIS-Degraded` value that another process sent: short
/// lowercase words with dashes (`idp`, `db-read-only`, `profile-stale`), at most 16 of them;
/// anything else is dropped, so that a peer cannot put markup or floods into our headers,
/// pages or metrics.
pub fn degradation_names(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .take(16)
        .filter(|name| is_degradation_name(name))
}

fn is_degradation_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A request id from the caller is kept when it is short printable ASCII; otherwise a new one
/// is made, so that logs cannot be forged or flooded through it.
fn request_id_from(value: Option<&HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .filter(|v| v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// The remaining budget the caller gave, in milliseconds. Absurd values are ignored.
fn deadline_from(value: Option<&HeaderValue>, now: Instant) -> Option<Instant> {
    let ms: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(now + Duration::from_millis(ms.min(24 * 3600 * 1000)))
}

/// Paths polled by probes and scrapers, logged at debug level so they do not drown the rest.
fn is_probe(path: &str) -> bool {
    path.starts_with("/health/") || path == "/metrics"
}

/// The outermost middleware of every TIS server (see the module documentation).
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let headers = req.headers();
    let request_id = request_id_from(headers.get(REQUEST_ID));
    let trace = TraceContext::continue_from(
        headers
            .get(trace_context::HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let deadline = deadline_from(headers.get(DEADLINE), start);
    let ctx = RequestContext::new(request_id, trace, deadline);
    req.extensions_mut().insert(ctx.clone());

    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!(
        "request",
        "trace.id" = %trace.trace_id_hex(),
        "span.id" = %trace.span_id_hex(),
        "http.request.id" = %ctx.request_id(),
        "http.request.method" = %method,
        "url.path" = %path,
    );

    let work = async {
        match deadline {
            Some(d) if d <= start => deadline_passed(),
            Some(d) => match tokio::time::timeout_at(d, next.run(req)).await {
                Ok(res) => res,
                Err(_) => deadline_passed(),
            },
            None => next.run(req).await,
        }
    };
    let mut res = ctx.clone().scope(work.instrument(span.clone())).await;

    if let Ok(v) = HeaderValue::from_str(ctx.request_id()) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let degraded = ctx.degraded();
    if !degraded.is_empty()
        && let Ok(v) = HeaderValue::from_str(&degraded.join(", "))
    {
        res.headers_mut().insert(DEGRADED, v);
    }

    let status = res.status().as_u16();
    let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if is_probe(&path) {
            tracing::debug!(
                http.response.status_code = status,
                event.duration = nanos,
                "request completed"
            );
        } else {
            tracing::info!(
                http.response.status_code = status,
                event.duration = nanos,
                "request completed"
            );
        }
    });
    res
}

fn deadline_passed() -> Response {
    HttpError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "deadline_exceeded",
        "the caller's deadline passed before the work could finish",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reasonable_request_id_is_kept_and_a_hostile_one_replaced() {
        let keep = HeaderValue::from_static("abc-123");
        assert_eq!(request_id_from(Some(&keep)), "abc-123");
        let spaces = HeaderValue::from_static("has spaces");
        assert_ne!(request_id_from(Some(&spaces)), "has spaces");
        let long = HeaderValue::from_str(&"x".repeat(500)).expect("ascii");
        assert_eq!(request_id_from(Some(&long)).len(), 32);
        assert_eq!(request_id_from(None).len(), 32);
    }

    #[tokio::test]
    async fn degradations_are_recorded_once_each() {
        let ctx = RequestContext::new("r".into(), TraceContext::new_root(), None);
        ctx.clone()
            .scope(async {
                mark_degraded("idp");
                mark_degraded("retried");
                mark_degraded("idp");
            })
            .await;
        assert_eq!(ctx.degraded(), vec!["idp", "retried"]);
    }
}
