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
//!
//! Cheap on every request, as every request of every server pays it: the request id is made
//! once, as the header value it is echoed and forwarded with (one allocation for a new id,
//! none for a caller's); the request span is made only when something listens at `info`
//! (the access log, or the trace exporter), and its ids are formatted only then, without
//! allocating; `TIS-Degraded` is written only when something was degraded.

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};

use crate::degradation::Degradation;
use crate::error::HttpError;
use crate::trace_context::{self, TraceContext};

pub const REQUEST_ID: &str = "x-request-id";
pub const DEGRADED: &str = "tis-degraded";
pub const DEADLINE: &str = "tis-deadline";

/// The same names, parsed once: a header map lookup by `&str` parses the name every time.
const REQUEST_ID_NAME: HeaderName = HeaderName::from_static(REQUEST_ID);
const DEGRADED_NAME: HeaderName = HeaderName::from_static(DEGRADED);
const DEADLINE_NAME: HeaderName = HeaderName::from_static(DEADLINE);
const TRACEPARENT_NAME: HeaderName = HeaderName::from_static(trace_context::HEADER);

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// What a request carries through every layer and handler of one process.
#[derive(Clone, Debug)]
pub struct RequestContext(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// Printable ASCII ([`request_id_from`]), so its text is the header value's bytes: made
    /// once, cloned (a reference count) into the response and every outbound call.
    request_id: HeaderValue,
    trace: TraceContext,
    deadline: Option<Instant>,
    degraded: Mutex<Vec<Cow<'static, str>>>,
}

impl RequestContext {
    /// A context with `request_id`, which is replaced by a new one when it is not printable
    /// ASCII (it could not be sent on as a header).
    pub fn new(request_id: String, trace: TraceContext, deadline: Option<Instant>) -> Self {
        let id = HeaderValue::from_maybe_shared(Bytes::from_owner(request_id))
            .ok()
            .filter(|v| v.to_str().is_ok())
            .unwrap_or_else(new_request_id_value);
        Self::with_id(id, trace, deadline)
    }

    fn with_id(request_id: HeaderValue, trace: TraceContext, deadline: Option<Instant>) -> Self {
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
        // Always printable ASCII (see `Inner`), so this never falls back.
        self.0.request_id.to_str().unwrap_or_default()
    }

    /// The request id as a header value: a clone is a reference count, not a copy.
    pub fn request_id_header(&self) -> &HeaderValue {
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

    /// The `TIS-Degraded` value of the marks so far, if any (nothing is made when none).
    fn degraded_header(&self) -> Option<HeaderValue> {
        let list = self.0.degraded.lock().unwrap_or_else(|p| p.into_inner());
        if list.is_empty() {
            return None;
        }
        HeaderValue::try_from(list.join(", ")).ok()
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

/// A request id from the caller is kept when it is short printable ASCII (its header value
/// as it came, echoed as it came); otherwise a new one is made, so that logs cannot be forged
/// or flooded through it.
fn request_id_from(value: Option<&HeaderValue>) -> HeaderValue {
    value
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .filter(|v| v.as_bytes().iter().all(u8::is_ascii_graphic))
        .cloned()
        .unwrap_or_else(new_request_id_value)
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
    new_request_id_bytes()
        .iter()
        .map(|&b| char::from(b))
        .collect()
}

/// A new request id as a header value, in one allocation (the digits and the reference count
/// together).
fn new_request_id_value() -> HeaderValue {
    let bytes = Bytes::from_owner(new_request_id_bytes());
    // Hex digits are always a valid value; the fallback is never taken.
    HeaderValue::from_maybe_shared(bytes).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

fn new_request_id_bytes() -> [u8; 32] {
    let n = IDS.next.fetch_add(1, Ordering::Relaxed);
    // By hand: `format!` costs a few times more, on every request without an id.
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&trace_context::lower_hex::<16>(u128::from(IDS.prefix)));
    out[16..].copy_from_slice(&trace_context::lower_hex::<16>(u128::from(n)));
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
    let request_id = request_id_from(headers.get(REQUEST_ID_NAME));
    let trace =
        TraceContext::continue_from(headers.get(TRACEPARENT_NAME).and_then(|v| v.to_str().ok()));
    let deadline = deadline_from(headers.get(DEADLINE_NAME), start);
    let ctx = RequestContext::with_id(request_id, trace, deadline);
    let probe = is_probe(req.uri().path());
    // Only when something listens at `info` (the access log, or the trace exporter's filter):
    // otherwise nothing would read the span, and making it (with the context current, so
    // that the trace exporter finds this hop's ids, `telemetry::traces`) is work for nothing.
    let span = if tracing::Level::INFO <= STATIC_MAX_LEVEL
        && tracing::Level::INFO <= LevelFilter::current()
    {
        CURRENT.sync_scope(ctx.clone(), || {
            tracing::info_span!(
                "request",
                "trace.id" = %trace.trace_id_text(),
                "span.id" = %trace.span_id_text(),
                "http.request.id" = %ctx.request_id(),
                "http.request.method" = %req.method(),
                "url.path" = %req.uri().path(),
            )
        })
    } else {
        tracing::Span::none()
    };

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

    res.headers_mut()
        .insert(REQUEST_ID_NAME, ctx.request_id_header().clone());
    if let Some(v) = ctx.degraded_header() {
        res.headers_mut().insert(DEGRADED_NAME, v);
    }

    let status = res.status().as_u16();
    // The clock is read only for an event that is written.
    let nanos = || u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if probe {
            tracing::debug!(
                http.response.status_code = status,
                event.duration = nanos(),
                "request completed"
            );
        } else {
            tracing::info!(
                http.response.status_code = status,
                event.duration = nanos(),
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
        assert_eq!(request_id_from(Some(&keep)), keep);
        let id = request_id_from(Some(&HeaderValue::from_static("has spaces")));
        assert_ne!(id, "has spaces");
        assert_eq!(id.len(), 32);
        let long = HeaderValue::from_str(&"x".repeat(500)).expect("ascii");
        assert_eq!(request_id_from(Some(&long)).len(), 32);
        assert_eq!(request_id_from(None).len(), 32);
        assert_eq!(
            request_id_from(Some(&HeaderValue::from_static(""))).len(),
            32
        );
    }

    #[test]
    fn a_context_id_is_its_header_value_and_one_that_cannot_be_a_header_is_replaced() {
        let ctx = RequestContext::new("req-7".into(), TraceContext::new_root(), None);
        assert_eq!(ctx.request_id(), "req-7");
        assert_eq!(ctx.request_id_header(), "req-7");
        let ctx = RequestContext::new("r\u{e9}q\n".into(), TraceContext::new_root(), None);
        assert_eq!(ctx.request_id().len(), 32, "{}", ctx.request_id());
        assert_eq!(ctx.request_id_header(), ctx.request_id());
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

        let res = within(req(REQUEST_ID, "abc-2"), |_| async {
            StatusCode::OK.into_response()
        })
        .await;
        assert_eq!(res.headers()[REQUEST_ID], "abc-2");
        assert!(
            !res.headers().contains_key(DEGRADED),
            "nothing was degraded"
        );

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
