//! What an outbound request carries through the stack, and the headers it leaves with.
//!
//! The caller's context is read once, when the call starts ([`crate::ServiceClient::call`]),
//! and what the layers need of it travels as `Outbound`, carried by the request's
//! [`MeshBody`] (not in `http::Extensions`, whose map and box a retry's copy would make
//! again): the deadline, whether the request may be retried, how many retries it had, and
//! which endpoint to avoid. Layers read it rather than the task-local context, so nothing
//! depends on which task polls them.
//!
//! Headers set on every call: W3C `traceparent` (this hop's span as the parent; a new trace
//! when the caller has none) and `X-Request-Id` (the caller's). Each try also gets
//! `TIS-Deadline: <ms left>`, set by [`crate::deadline`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use http::{HeaderMap, HeaderName, Method};
use tis_core::context::{REQUEST_ID, RequestContext};
use tis_core::trace_context::{self, TraceContext};
use tokio::time::Instant;

use crate::body::MeshBody;

/// A request inside the stack.
pub type MeshRequest = http::Request<MeshBody>;

/// The header that makes a POST or PATCH safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// An explicit deadline for one call, given as a request extension; it wins over the
/// deadline of the current request context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Instant);

/// Which endpoint produced a response: a response extension, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub endpoint: SocketAddr,
}

/// The call's state every layer reads, carried by the body (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    pub deadline: Option<Instant>,
    /// Whether this request may be sent more than once.
    pub retryable: bool,
    /// Retries made so far, shared by every copy of the request.
    pub retries: Arc<AtomicU32>,
    /// The endpoint of the failed try, to avoid on the next.
    pub avoid: Option<SocketAddr>,
}

impl Outbound {
    pub(crate) fn new(deadline: Option<Instant>) -> Self {
        Outbound {
            deadline,
            retryable: false,
            retries: Arc::new(AtomicU32::new(0)),
            avoid: None,
        }
    }
}

/// Idempotent methods may be retried; POST and PATCH only with an `Idempotency-Key`.
pub(crate) fn is_retryable(method: &Method, headers: &HeaderMap) -> bool {
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE => true,
        Method::POST | Method::PATCH => headers
            .get(IDEMPOTENCY_KEY)
            .is_some_and(|v| !v.as_bytes().is_empty()),
        _ => false,
    }
}

/// `traceparent` and `X-Request-Id`, parsed once (a map lookup by `&str` parses and hashes
/// the name on every call).
const TRACEPARENT: HeaderName = HeaderName::from_static(trace_context::HEADER);
const X_REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID);

/// Sets `traceparent` and `X-Request-Id` from the caller's context.
pub(crate) fn stamp(headers: &mut HeaderMap, ctx: Option<&RequestContext>) {
    let trace = ctx.map_or_else(TraceContext::new_root, RequestContext::trace);
    // One allocation, shared (not copied) by a retry's copy of the headers.
    headers.insert(TRACEPARENT, trace.to_header());
    if let Some(ctx) = ctx
        && !headers.contains_key(&X_REQUEST_ID)
    {
        // The context's own value: a reference count, not a copy.
        headers.insert(X_REQUEST_ID, ctx.request_id_header().clone());
    }
}

/// A copy of `req` for another try, if its body can be replayed.
pub(crate) fn try_clone(req: &MeshRequest) -> Option<MeshRequest> {
    let body = req.body().try_clone()?;
    let mut copy = http::Request::new(body);
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    *copy.extensions_mut() = req.extensions().clone();
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn only_idempotent_methods_or_keyed_posts_are_retryable() {
        let none = HeaderMap::new();
        let mut keyed = HeaderMap::new();
        keyed.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("k-1"));
        for m in [
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::PUT,
            Method::DELETE,
        ] {
            assert!(is_retryable(&m, &none), "{m}");
        }
        assert!(!is_retryable(&Method::POST, &none));
        assert!(!is_retryable(&Method::PATCH, &none));
        assert!(is_retryable(&Method::POST, &keyed));
        assert!(is_retryable(&Method::PATCH, &keyed));
        assert!(!is_retryable(&Method::CONNECT, &keyed));
    }

    #[tokio::test]
    async fn the_callers_trace_and_request_id_are_forwarded() {
        let caller = TraceContext::continue_from(Some(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ));
        let ctx = RequestContext::new("req-9".into(), caller, None);
        let mut headers = HeaderMap::new();
        stamp(&mut headers, Some(&ctx));
        let sent = headers[trace_context::HEADER].to_str().expect("ascii");
        let (trace, parent, _) = trace_context::parse(sent).expect("valid traceparent");
        assert_eq!(trace, caller.trace_id);
        assert_eq!(parent, caller.span_id, "this hop's span is the parent");
        assert_eq!(headers[REQUEST_ID], "req-9");

        let mut fresh = HeaderMap::new();
        stamp(&mut fresh, None);
        assert!(fresh.contains_key(trace_context::HEADER));
        assert!(!fresh.contains_key(REQUEST_ID));
    }
}
