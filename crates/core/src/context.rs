//! The per-request context, and the outermost middleware of every TIS HTTP server.
//!
//! [`within`], in order: takes or makes the request id (`X-Request-Id`); continues the
//! caller's W3C trace or starts one; reads the caller's remaining budget (`TIS-Deadline`,
//! milliseconds) and refuses work whose deadline has already passed; runs the request inside
//! a tracing span carrying the ECS fields and inside a task-local [`RequestContext`], so that
//! deep code can mark the request degraded and errors can quote the request id; then stamps
//! `X-Request-Id` and `TIS-Degraded` on the response and writes the ECS access log line.
//!
//! It is written once, here: [`middleware`] is [`within`] as an axum middleware (every server
//! built with `tis_core::http::standard`), and the gateway calls [`within`] itself around its
//! proxied path, which runs without axum (see `tis_gateway::stack`). The context lives in the
//! task-local only ([`RequestContext::current`]), not in the request's extensions.
//!
//! Marks are typed ([`Degradation`]) where this process decides them, and relayed as names
//! ([`RequestContext::relay_degraded`]) where another process did.
//!
//! New request ids are a per-process random prefix and a counter (32 hex digits, a UUID's
//! size), not a UUID from the operating system's generator on every request: unique within
//! the process by the counter, across processes by the prefix, and several times cheaper.

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use crate::degradation::Degradation;
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
    degraded: Mutex<Vec<Cow<'static, str>>>,
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

    /// Records that this request was served in a degraded way. Each mark is recorded once.
    pub fn mark_degraded(&self, what: Degradation) {
        self.record(Cow::Borrowed(what.as_str()));
    }

    /// Records a degradation another process reported (a service's `TIS-Degraded`, the
    /// principal's marks), which this build may not know: it is passed on as it came. A name
    /// that is not one ([`degradation_names`]) is ignored.
    pub fn relay_degraded(&self, name: &str) {
        if is_degradation_name(name) {
            self.record(Cow::Owned(name.to_owned()));
        }
    }

    fn record(&self, name: Cow<'static, str>) {
        let mut list = self.0.degraded.lock().unwrap_or_else(|p| p.into_inner());
        if !list.contains(&name) {
            list.push(name);
        }
    }

    /// The marks so far, in the order they were first made.
    pub fn degraded(&self) -> Vec<String> {
        let list = self.0.degraded.lock().unwrap_or_else(|p| p.into_inner());
        list.iter().map(|d| d.clone().into_owned()).collect()
    }
}

/// Marks the current request degraded; does nothing outside a request.
pub fn mark_degraded(what: Degradation) {
    if let Some(ctx) = RequestContext::current() {
        ctx.mark_degraded(what);
    }
}

/// Relays a degradation another process reported on the current request
/// ([`RequestContext::relay_degraded`]); does nothing outside a request.
pub fn relay_degraded(name: &str) {
    if let Some(ctx) = RequestContext::current() {
        ctx.relay_degraded(name);
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

/// A request id from the caller is kept when it is short printable ASCII, with its header
/// value to echo; otherwise a new one is made, so that logs cannot be forged or flooded
/// through it.
fn request_id_from(value: Option<&HeaderValue>) -> (String, Option<HeaderValue>) {
    match value
        .and_then(|v| Some((v, v.to_str().ok()?)))
        .filter(|(_, s)| !s.is_empty() && s.len() <= 128)
        .filter(|(_, s)| s.bytes().all(|b| b.is_ascii_graphic()))
    {
        Some((v, s)) => (s.to_owned(), Some(v.clone())),
        None => (new_request_id(), None),
    }
}

/// Where new request ids come from: a random prefix per process, then a counter.
struct IdSource {
    prefix: u64,
    next: AtomicU64,
}

static IDS: LazyLock<IdSource> = LazyLock::new(|| {
    let (prefix, start) = uuid::Uuid::new_v4().as_u64_pair();
    IdSource {
        prefix,
        // Room below the top, so the counter never wraps in a process's life.
        next: AtomicU64::new(start >> 16),
    }
});

/// A new request id: 32 lowercase hex digits (a UUID's simple form), see the module
/// documentation.
pub fn new_request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = IDS.next.fetch_add(1, Ordering::Relaxed);
    // By hand: `format!` costs a few times more, on every request without an id.
    let mut out = String::with_capacity(32);
    for word in [IDS.prefix, n] {
        for shift in (0..16).rev() {
            out.push(char::from(HEX[((word >> (shift * 4)) & 0xf) as usize]));
        }
    }
    out
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

/// The outermost middleware of every TIS server: [`within`] around the rest.
pub async fn middleware(req: Request, next: Next) -> Response {
    within(req, |req| next.run(req)).await
}

/// Serves `req` with `serve` inside its request context (see the module documentation).
pub async fn within<F, Fut>(req: Request, serve: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let start = Instant::now();
    let headers = req.headers();
    let (request_id, echo) = request_id_from(headers.get(REQUEST_ID));
    let trace = TraceContext::continue_from(
        headers
            .get(trace_context::HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let deadline = deadline_from(headers.get(DEADLINE), start);
    let ctx = RequestContext::new(request_id, trace, deadline);
    let probe = is_probe(req.uri().path());
    // Made with the context current, so that the trace exporter finds this hop's ids
    // (`telemetry::traces`).
    let span = CURRENT.sync_scope(ctx.clone(), || {
        tracing::info_span!(
            "request",
            "trace.id" = %trace.trace_id_hex(),
            "span.id" = %trace.span_id_hex(),
            "http.request.id" = %ctx.request_id(),
            "http.request.method" = %req.method(),
            "url.path" = %req.uri().path(),
        )
    });

    let work = async move {
        match deadline {
            Some(d) if d <= start => deadline_passed(),
            Some(d) => match tokio::time::timeout_at(d, serve(req)).await {
                Ok(res) => res,
                Err(_) => deadline_passed(),
            },
            None => serve(req).await,
        }
    };
    let mut res = ctx.clone().scope(work.instrument(span.clone())).await;

    if let Some(v) = echo.or_else(|| HeaderValue::from_str(ctx.request_id()).ok()) {
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
        if probe {
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
        crate::error::code::DEADLINE_EXCEEDED,
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
        assert_eq!(request_id_from(Some(&keep)), ("abc-123".into(), Some(keep)));
        let (id, echo) = request_id_from(Some(&HeaderValue::from_static("has spaces")));
        assert_ne!(id, "has spaces");
        assert!(echo.is_none());
        let long = HeaderValue::from_str(&"x".repeat(500)).expect("ascii");
        assert_eq!(request_id_from(Some(&long)).0.len(), 32);
        assert_eq!(request_id_from(None).0.len(), 32);
    }

    #[test]
    fn new_request_ids_are_uuid_sized_hex_with_one_prefix_and_a_rising_counter() {
        let (a, b) = (new_request_id(), new_request_id());
        for id in [&a, &b] {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        assert_eq!(a[..16], format!("{:016x}", IDS.prefix));
        assert_eq!(a[..16], b[..16]);
        let counter = |id: &str| u64::from_str_radix(&id[16..], 16).expect("hex");
        assert!(counter(&b) > counter(&a), "{a} then {b}");
    }

    #[tokio::test]
    async fn within_echoes_the_id_lists_degradations_and_refuses_a_passed_deadline() {
        let req = |k: &'static str, v: &'static str| {
            http::Request::get("/x")
                .header(k, v)
                .body(axum::body::Body::empty())
                .expect("request")
        };
        let res = within(req(REQUEST_ID, "abc-1"), |_| async {
            mark_degraded(Degradation::Idp);
            mark_degraded(Degradation::Retried);
            StatusCode::OK.into_response()
        })
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[REQUEST_ID], "abc-1");
        assert_eq!(res.headers()[DEGRADED], "idp, retried");

        let served = std::sync::atomic::AtomicBool::new(false);
        let res = within(req(DEADLINE, "0"), |_| async {
            served.store(true, std::sync::atomic::Ordering::Relaxed);
            StatusCode::OK.into_response()
        })
        .await;
        assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(!served.load(std::sync::atomic::Ordering::Relaxed));
        let id = res.headers()[REQUEST_ID].to_str().expect("ascii");
        assert_eq!(id.len(), 32, "a new id: {id}");
    }

    #[tokio::test]
    async fn degradations_are_recorded_once_each() {
        let ctx = RequestContext::new("r".into(), TraceContext::new_root(), None);
        ctx.clone()
            .scope(async {
                mark_degraded(Degradation::Idp);
                mark_degraded(Degradation::Retried);
                relay_degraded("idp");
                relay_degraded("from-a-newer-peer");
                relay_degraded("<b>junk</b>");
                mark_degraded(Degradation::Idp);
            })
            .await;
        assert_eq!(ctx.degraded(), vec!["idp", "retried", "from-a-newer-peer"]);
    }
}
