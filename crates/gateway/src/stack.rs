//! The one place where the gateway's public path is assembled, and the one drawing of it.
//!
//! Outermost first, as in ARCHITECTURE.md §3 (each step's module says what it does; this
//! says in which order, and why):
//!
//! ```text
//! PublicServer            TLS (optional), header-read + idle timeouts, connection limit;
//!   │                     one current-thread runtime per core (`gateway.workers`);
//!   │                     every request → Public::serve
//!   ├ hygiene (in)        drop client TIS-Principal / TIS-Degraded / TIS-Deadline and
//!   │                     hop-by-hop headers, before anything reads them
//!   ├ 1 context           (tis-core `context::within`) X-Request-Id, traceparent, ECS
//!   │                     access log; writes TIS-Degraded (ours + the service's) on the way out
//!   ├ catch panic         500 JSON (a bug), inside the context: it has the request id
//!   ├ dispatch ─┬─ /health/live /health/ready                    public, no token
//!   │           ├─ /api/status  /status  /status/static/…        (the axum router, exact paths)
//!   │           └─ everything else: Routed
//!   │
//!   ├ edge                match the route (once, from the ArcSwap'd table); every error
//!   │                     below → rescue() → status + JSON body; per-route metrics
//!   ├ body limit          413 on Content-Length, or once a chunked body grows past it
//!   ├ 2 deadline          X-Request-Timeout or the route's timeout (10 s); honoured by every
//!   │                     wait below (504 deadline_exceeded); tis-mesh sends TIS-Deadline
//!   ├ 3 admission         global concurrency limit; 503 overloaded + Retry-After, at once
//!   ├ 4 authenticate      Bearer / OIDC_access_token, verified locally (tis-auth, JWKS
//!   │                     with grace); 401 naming the failed check; 503 idp_unavailable;
//!   │                     a `public` route (its service signs users in) skips 4, 5 and
//!   │                     the principal
//!   ├ 5 authorise         the UserProfile from the ProfileSource (`gateway.profiles`: the
//!   │                     cached Profile client, or tis-auth's RoleCatalogue)
//!   ├   principal         TIS-Principal minted for the route's service (reused while fresh)
//!   └ 6 proxy             404 when no route; a pool by weight; X-Forwarded-*;
//!       7                 the pool's tis-mesh ServiceClient (retry, deadline, limit, P2C,
//!                         breakers, pooled HTTP); hop-by-hop stripped from the answer;
//!                         the service's TIS-Degraded merged into ours
//! ```
//!
//! Why this order:
//! - **Hygiene outermost**, so that no step — not even the request context, which reads
//!   `TIS-Deadline` — ever sees a header a client is not allowed to set.
//! - **Context before everything that can fail**, so every answer, errors included, carries
//!   the request id, is logged, and lists the degradations.
//! - **Public routes beside, not below, the routed path**: the status page must answer
//!   without a token, and must answer when the gateway sheds load or the IdP is down.
//! - **Edge at the top of the routed path**, so that errors are classified exactly once.
//! - **Body limit first**, so that a request refused for its size costs nothing else.
//! - **Deadline before admission and authentication**, so that every wait below it (keys,
//!   profiles, the service) is bounded by the same instant.
//! - **Admission before authentication**: shedding must be cheaper than the work it saves,
//!   and verifying a token is work.
//! - **Authentication before routing decisions are revealed**: a path with no route is a 404
//!   only for a caller with a valid token; everyone else gets 401.
//!
//! Every step below the dispatch is a plain call in one future ([`Routed`]; why not tower
//! layers: [`crate::steps`]); only the public routes go through axum, which they need for
//! their handlers and templates. Every request, public or routed, gets the same hygiene,
//! context and panic guard, here, once.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::middleware;
use axum::response::IntoResponse;
use futures::FutureExt;
use tis_auth::{AccessTokenVerifier, PrincipalSigner, ProfileSource};
use tis_core::{Health, HttpError};
use tower::ServiceExt;

use crate::cors::Cors;
use crate::proxy::{Peer, Proxy};
use crate::routed::Routed;
use crate::routes::RouteTable;
use crate::status::{Sightings, Sources};
use crate::steps::admission::Admission;
use crate::steps::auth::{Authenticate, Authorise};
use crate::steps::body_limit::BodyLimit;
use crate::steps::deadline::DeadlineStep;
use crate::steps::principal::MintPrincipal;
use crate::steps::{Req, Res, hygiene};

/// Everything the public path is made of.
pub struct Parts {
    pub table: Arc<ArcSwap<RouteTable>>,
    pub health: Health,
    pub sources: Sources,
    pub admission: Arc<Admission>,
    pub verifier: AccessTokenVerifier,
    pub profiles: Arc<dyn ProfileSource>,
    pub signer: PrincipalSigner,
    pub principal_lifetime: Duration,
    pub principal_reuse: Duration,
    pub body_limit: usize,
    pub default_timeout: Duration,
    pub max_timeout: Duration,
    pub https: bool,
    pub trust_forwarded: bool,
    pub sightings: Arc<Sightings>,
    pub cors: Cors,
}

/// The public path: the axum router of the public routes, and [`Routed`] for the rest.
pub struct Public {
    router: Router,
    routed: Routed,
    cors: Cors,
}

/// The public routes that the axum router serves: exact paths (anything else, including
/// `/status/`, is routed).
pub fn is_public_route(path: &str) -> bool {
    matches!(
        path,
        "/health/live"
            | "/health/ready"
            | "/api/status"
            | "/status"
            | "/status/static/htmx.min.js"
            | "/status/static/status.css"
    )
}

/// The public path (see the module documentation for the drawing).
pub fn public(parts: Parts) -> Public {
    crate::metrics::describe();
    let class = |c: &'static str| metrics::counter!(crate::metrics::REQUESTS_TOTAL, "route" => "none", "class" => c);
    let routed = Routed {
        table: parts.table,
        body_limit: BodyLimit {
            limit: parts.body_limit,
        },
        deadline: DeadlineStep {
            default_timeout: parts.default_timeout,
            max_timeout: parts.max_timeout,
        },
        admission: parts.admission,
        authenticate: Authenticate::new(parts.verifier),
        authorise: Authorise::new(parts.profiles, parts.principal_reuse),
        principal: MintPrincipal::new(
            parts.signer,
            parts.principal_lifetime,
            parts.principal_reuse,
        ),
        proxy: Proxy::new(parts.https, parts.trust_forwarded, parts.sightings),
        unrouted: (
            class("4xx"),
            class("5xx"),
            metrics::histogram!(crate::metrics::REQUEST_DURATION, "route" => "none"),
        ),
    };
    let router = crate::status::page::router(parts.sources)
        .merge(parts.health.router())
        .route_layer(middleware::from_fn(tis_core::metrics::track))
        .method_not_allowed_fallback(tis_core::error::method_not_allowed);
    Public {
        router,
        routed,
        cors: parts.cors,
    }
}

impl Public {
    /// Serves one request from `peer`, from hygiene to the answer (the module's drawing).
    pub async fn serve(&self, mut req: Req, peer: &Peer) -> Res {
        hygiene::strip_inbound(req.headers_mut());
        let origin = self.cors.allowed(req.headers());
        let mut res = tis_core::context::within(req, |req| async move {
            let work = async {
                if let Some(res) = self.cors.preflight(req.method(), req.headers()) {
                    res
                } else if matches!(*req.method(), http::Method::CONNECT | http::Method::TRACE) {
                    // Never forwarded: CONNECT would make a service's port a tunnel, TRACE
                    // echoes the request (credentials included) back. No TIS API takes them.
                    tis_core::error::method_not_allowed().await.into_response()
                } else if req.uri().path() == "/metrics" {
                    // Metrics are the admin listener's (and each service's own port's, for
                    // Prometheus): never forwarded, or the route at `/` (the web application)
                    // would show its metrics to anyone.
                    tis_core::error::not_found().await.into_response()
                } else if is_public_route(req.uri().path()) {
                    let Ok(res) = self.router.clone().oneshot(req).await;
                    res
                } else {
                    self.routed.serve(req, peer).await
                }
            };
            match AssertUnwindSafe(work).catch_unwind().await {
                Ok(res) => res,
                Err(_) => {
                    tracing::error!("a gateway handler panicked; this is a bug");
                    HttpError::internal("an unexpected error occurred").into_response()
                }
            }
        })
        .await;
        self.cors.finish(origin, &mut res);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
