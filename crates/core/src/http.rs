//! The standard wrapping of a service's router.
//!
//! Every TIS HTTP server (each service instance, the IdP, the gateway's admin listener) is
//! assembled with [`standard`], so that all of them answer health probes, expose metrics,
//! log in ECS, carry trace context, and reject bad input with the same JSON errors. Layers,
//! outermost first:
//!
//! ```text
//! security headers: nosniff; Cache-Control: no-store unless the handler set one
//! catch panic → 500 JSON (a bug, never expected)
//!   request context: request id, traceparent, TIS-Deadline, access log, TIS-Degraded
//!     metrics per matched route
//!       body limit (413 beyond it)
//!         handler span (only when traces are exported: telemetry::traces)
//!           routes │ /health/live /health/ready /metrics │ 404 / 405 JSON fallbacks
//! ```

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::{self, HttpError};
use crate::health::Health;

/// Options of [`standard`].
#[derive(Debug, Clone)]
pub struct Standard {
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Whether `/metrics` is served on this router (the gateway serves it on its admin
    /// listener instead).
    pub metrics: bool,
}

impl Default for Standard {
    fn default() -> Self {
        Standard {
            body_limit: 1024 * 1024,
            metrics: true,
        }
    }
}

/// Wraps `routes` with the standard endpoints and layers (see the module documentation).
pub fn standard(routes: Router, health: &Health, opts: Standard) -> Router {
    // Install the recorder now, so that nothing counted before the first scrape is lost.
    crate::metrics::handle();
    let mut router = routes.merge(health.router());
    if opts.metrics {
        router = router.route("/metrics", get(crate::metrics::handler));
    }
    if crate::telemetry::traces::enabled() {
        router = router.layer(middleware::from_fn(crate::telemetry::traces::handler_span));
    }
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(opts.body_limit))
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(middleware::from_fn(crate::context::middleware))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::map_response(security_headers))
}

/// The headers of every answer: `X-Content-Type-Options: nosniff` (a browser never guesses a
/// type, so JSON is never run as a script or page), and `Cache-Control: no-store` unless the
/// handler chose its own (every API answer is personal data or depends on who asks: no
/// browser or shared cache may keep one; an endpoint that may be cached says so, e.g. keys).
pub async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn panic_response(_err: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked; this is a bug");
    HttpError::internal("an unexpected error occurred").into_response()
}
