//! The proxied path, as one function per request.
//!
//! [`crate::stack`] draws the public stack as layers, and the unit tests of
//! [`crate::layers`] test each step as a tower layer. Served that way, every request went
//! through axum's router, two `from_fn` middlewares, seven boxed step futures and as many
//! clones of nested services — about half of the gateway's CPU per request in
//! `bench/gateway.sh`. [`Routed`] runs the *same* steps (the same functions the layers call),
//! in the same order, as plain calls inside one future:
//!
//! ```text
//! hygiene (in) → context → [catch panic] → edge: route match
//!   → body limit → deadline → admission → authenticate → authorise → principal → proxy
//!   → rescue() on any error → per-route metrics → X-Request-Id, TIS-Degraded, access log
//! ```
//!
//! [`crate::server::PublicServer`] sends every request here except the public routes of
//! [`is_public_route`] (health, status), which keep the axum router. The context is the
//! gateway's lean copy of `tis_core::context::middleware` (same headers, same task-local
//! [`RequestContext`], same ECS access log), with a cheaper request id: a per-process random
//! prefix and a counter instead of a UUID from the operating system's generator.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use axum::response::IntoResponse;
use futures::FutureExt;
use http::HeaderValue;
use metrics::{Counter, Histogram};
use tis_auth::PRINCIPAL_HEADER;
use tis_core::HttpError;
use tis_core::context::{DEGRADED, REQUEST_ID, RequestContext};
use tis_core::trace_context::{self, TraceContext};
use tis_mesh::BoxError;
use tokio::time::Instant;
use tracing::Instrument;

use crate::layers::admission::Admission;
use crate::layers::auth::{Authenticate, Authorise};
use crate::layers::body_limit::BodyLimit;
use crate::layers::deadline::DeadlineStep;
use crate::layers::principal::MintPrincipal;
use crate::layers::{Req, Res, hygiene};
use crate::proxy::Proxy;
use crate::routes::{Route, RouteTable};

/// The public routes that stay on the axum router: exact paths (anything else, including
/// `/status/`, is routed as before).
pub fn is_public_route(path: &str) -> bool {
    matches!(
        path,
        "/health/live" | "/health/ready" | "/api/status" | "/status" | "/status/static/htmx.min.js"
    )
}

/// The steps of the routed stack, called in order (see the module documentation).
pub struct Routed {
    pub(crate) table: Arc<ArcSwap<RouteTable>>,
    pub(crate) body_limit: BodyLimit,
    pub(crate) deadline: DeadlineStep,
    pub(crate) admission: Arc<Admission>,
    pub(crate) authenticate: Authenticate,
    pub(crate) authorise: Authorise,
    pub(crate) principal: MintPrincipal,
    pub(crate) proxy: Proxy,
    pub(crate) unrouted: (Counter, Counter, Histogram),
}

impl Routed {
    /// Serves one request from a client: hygiene, the request context, then
    /// [`Routed::serve_in_context`]; a panic becomes a 500, as on the axum path.
    pub async fn serve(&self, mut req: Req, peer: Option<&HeaderValue>) -> Res {
        let start = Instant::now();
        let headers = req.headers_mut();
        hygiene::strip_internal(headers);
        hygiene::strip_hop_by_hop(headers);
        let (request_id, id_header) = request_id(headers.get(REQUEST_ID));
        let trace = TraceContext::continue_from(
            headers
                .get(trace_context::HEADER)
                .and_then(|v| v.to_str().ok()),
        );
        // `TIS-Deadline` was just removed: a client does not set the gateway's deadline.
        let ctx = RequestContext::new(request_id, trace, None);
        let span = tracing::info_span!(
            "request",
            "trace.id" = %trace.trace_id_hex(),
            "span.id" = %trace.span_id_hex(),
            "http.request.id" = %ctx.request_id(),
            "http.request.method" = %req.method(),
            "url.path" = %req.uri().path(),
        );
        let work = AssertUnwindSafe(self.serve_in_context(req, peer)).catch_unwind();
        let mut res = match ctx.clone().scope(work.instrument(span.clone())).await {
            Ok(res) => res,
            Err(_) => {
                tracing::error!("a gateway handler panicked; this is a bug");
                ctx.clone()
                    .scope(async {
                        HttpError::internal("an unexpected error occurred").into_response()
                    })
                    .await
            }
        };
        let id_header = id_header.or_else(|| HeaderValue::from_str(ctx.request_id()).ok());
        if let Some(v) = id_header {
            res.headers_mut().insert(REQUEST_ID, v);
        }
        let degraded = ctx.degraded();
        if !degraded.is_empty()
            && let Ok(v) = HeaderValue::from_str(&degraded.join(", "))
        {
            res.headers_mut().insert(DEGRADED, v);
        }
        let status = res.status().as_u16();
        span.in_scope(|| {
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            tracing::info!(
                http.response.status_code = status,
                event.duration = nanos,
                "request completed"
            );
        });
        res
    }

    /// The routed steps, inside a request context someone else made (the axum fallback).
    pub async fn serve_in_context(&self, req: Req, peer: Option<&HeaderValue>) -> Res {
        let started = Instant::now();
        let route = self.table.load().route(req.uri().path()).cloned();
        let res = match self.steps(req, route.as_ref(), peer).await {
            Ok(res) => res,
            Err(err) => crate::rescue::rescue(err),
        };
        let status = res.status();
        match &route {
            Some(r) => r.metrics.answered(status, started.elapsed()),
            None => {
                let (c4, c5, h) = &self.unrouted;
                if status.is_server_error() {
                    c5.increment(1);
                } else {
                    c4.increment(1);
                }
                h.record(started.elapsed().as_secs_f64());
            }
        }
        res
    }

    /// In the order of [`crate::stack`]; any error is answered by the caller's `rescue`.
    async fn steps(
        &self,
        req: Req,
        route: Option<&Arc<Route>>,
        peer: Option<&HeaderValue>,
    ) -> Result<Res, BoxError> {
        let mut req = self.body_limit.apply(req)?;
        let budget = self.deadline.budget(req.headers(), route.map(|r| &**r))?;
        let deadline = Some(Instant::now() + budget);
        let held = self.admission.admit()?;
        let verified = self.authenticate.verify(req.headers(), deadline).await?;
        let principal = self
            .authorise
            .authorise(req.headers(), &verified, deadline)
            .await?;
        // No route: nothing to mint for; the proxy step answers 404.
        if let Some(route) = route {
            let header = self.principal.header_for(&verified, &principal, route)?;
            req.headers_mut().insert(PRINCIPAL_HEADER, header);
        }
        let res = self.proxy.forward(req, route, deadline, peer).await?;
        Ok(held.attach(res))
    }
}

/// Request ids made here: 16 hex digits of per-process randomness, then 16 of a counter.
struct IdSource {
    prefix: u64,
    next: AtomicU64,
}

static IDS: std::sync::LazyLock<IdSource> = std::sync::LazyLock::new(|| {
    use std::hash::BuildHasher;
    // RandomState is seeded from the operating system once per process.
    let seed = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    IdSource {
        prefix: seed,
        next: AtomicU64::new(fastrand::u64(..) >> 16),
    }
});

/// A new request id (32 lowercase hex digits, as a UUID's simple form).
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

/// The caller's request id when it is short printable ASCII (as `tis_core` keeps it), with
/// its header value to echo; otherwise a new one.
fn request_id(value: Option<&HeaderValue>) -> (String, Option<HeaderValue>) {
    match value
        .and_then(|v| Some((v, v.to_str().ok()?)))
        .filter(|(_, s)| !s.is_empty() && s.len() <= 128)
        .filter(|(_, s)| s.bytes().all(|b| b.is_ascii_graphic()))
    {
        Some((v, s)) => (s.to_owned(), Some(v.clone())),
        None => (new_request_id(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_when_reasonable_and_otherwise_unique_and_uuid_sized() {
        let keep = HeaderValue::from_static("abc-123");
        let (id, echo) = request_id(Some(&keep));
        assert_eq!(id, "abc-123");
        assert_eq!(echo, Some(keep));
        let (a, none) = request_id(Some(&HeaderValue::from_static("has spaces")));
        assert!(none.is_none());
        let (b, _) = request_id(None);
        assert_eq!(a.len(), 32);
        assert_eq!(b.len(), 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        let c = new_request_id();
        assert_eq!(c[..16], format!("{:016x}", IDS.prefix));
        let counter = |id: &str| u64::from_str_radix(&id[16..], 16).expect("hex");
        assert!(counter(&c) > counter(&b), "{b} then {c}");
        let long = HeaderValue::from_str(&"x".repeat(500)).expect("ascii");
        assert_eq!(request_id(Some(&long)).0.len(), 32);
    }

    #[test]
    fn only_the_exact_public_paths_leave_the_routed_path() {
        for p in ["/health/live", "/health/ready", "/api/status", "/status"] {
            assert!(is_public_route(p), "{p}");
        }
        for p in [
            "/status/",
            "/reference/api/grades",
            "/health",
            "/api/status/x",
        ] {
            assert!(!is_public_route(p), "{p}");
        }
    }
}
