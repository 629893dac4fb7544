//! The one place where the gateway's public stack is assembled.
//!
//! Outermost first, as in ARCHITECTURE.md §3:
//!
//! ```text
//! PublicServer            TLS (optional), header-read + idle timeouts, connection limit;
//!   │                     one current-thread runtime per core (`gateway.workers`)
//!   │                     the exact public paths → the axum router, the rest → Routed
//!   ├ hygiene (in)        drop client TIS-Principal / TIS-Degraded / TIS-Deadline and
//!   │                     hop-by-hop headers, before anything reads them
//!   ├ catch panic         500 JSON (a bug)
//!   ├ 1 context           (tis-core) X-Request-Id, traceparent, ECS access log;
//!   │                     writes TIS-Degraded (ours + the service's) on the way out
//!   ├ router ─┬─ /health/live /health/ready                      public, no token
//!   │         ├─ /api/status  /status  /status/static/…          public, no token
//!   │         └─ everything else: the routed stack
//!   │
//!   ├ edge                match the route (once, from the ArcSwap'd table) into the one
//!   │                     EdgeState extension the steps share; every error below →
//!   │                     rescue() → status + JSON body; per-route metrics
//!   ├ body limit          413 on Content-Length, or once a chunked body grows past it
//!   ├ 2 deadline          X-Request-Timeout or the route's timeout (10 s); honoured by every
//!   │                     wait below (504 deadline_exceeded); tis-mesh sends TIS-Deadline
//!   ├ 3 admission         global concurrency limit; 503 overloaded + Retry-After, at once
//!   ├ 4 authenticate      Bearer / OIDC_access_token, verified locally (tis-auth, JWKS
//!   │                     with grace); 401 naming the failed check; 503 idp_unavailable
//!   ├ 5 authorise         the UserProfile from the ProfileSource (RoleCatalogue now,
//!   │                     the cached Profile client in issue 5)
//!   ├   principal         TIS-Principal minted for the route's service (reused while fresh)
//!   └ 6 proxy             404 when no route; a pool by weight; X-Forwarded-*;
//!       7                 the pool's tis-mesh ServiceClient (retry, deadline, limit, P2C,
//!                         breakers, pooled HTTP); hop-by-hop stripped from the answer;
//!                         the service's TIS-Degraded merged into ours
//! ```
//!
//! Why this order:
//! - **Hygiene outermost**, so that no layer — not even the context middleware, which reads
//!   `TIS-Deadline` — ever sees a header a client is not allowed to set.
//! - **Context before everything that can fail**, so every answer, errors included, carries
//!   the request id, is logged, and lists the degradations.
//! - **Public routes beside, not below, the routed stack**: the status page must answer
//!   without a token, and must answer when the gateway sheds load or the IdP is down.
//! - **Edge at the top of the routed stack**, so that errors are classified exactly once.
//! - **Deadline before admission and authentication**, so that every wait below it (keys,
//!   profiles, the service) is bounded by the same instant.
//! - **Admission before authentication**: shedding must be cheaper than the work it saves,
//!   and verifying a token is work.
//! - **Authentication before routing decisions are revealed**: a path with no route is a 404
//!   only for a caller with a valid token; everyone else gets 401.

//!
//! Served, the routed stack is not a chain of tower services but [`Routed`]: the same steps
//! as plain calls in one future (see [`crate::routed`] for why). The axum router keeps the
//! public routes and calls [`Routed`] as its fallback (for [`crate::App::router`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::middleware;
use axum::response::IntoResponse;
use futures::future::BoxFuture;
use tis_auth::{AccessTokenVerifier, PrincipalSigner, ProfileSource};
use tis_core::{Health, HttpError};
use tower_http::catch_panic::CatchPanicLayer;

use crate::layers::admission::Admission;
use crate::layers::auth::{Authenticate, Authorise};
use crate::layers::body_limit::BodyLimit;
use crate::layers::deadline::DeadlineStep;
use crate::layers::principal::MintPrincipal;
use crate::layers::{Req, Res, hygiene};
use crate::proxy::Proxy;
use crate::routed::Routed;
use crate::routes::RouteTable;
use crate::server::Peer;
use crate::status::{Sightings, Sources};

/// Everything the public stack is made of.
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
}

/// The public side: the axum router of the public routes, and the routed path.
#[derive(Clone)]
pub struct Public {
    pub router: Router,
    pub routed: Arc<Routed>,
}

/// The public stack (see the module documentation for the drawing).
pub fn public(parts: Parts) -> Public {
    crate::metrics::describe();
    let class = |c: &'static str| metrics::counter!(crate::metrics::REQUESTS_TOTAL, "route" => "none", "class" => c);
    let routed = Arc::new(Routed {
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
    });

    let router = crate::status::page::router(parts.sources)
        .merge(parts.health.router())
        .route_layer(middleware::from_fn(tis_core::metrics::track))
        .method_not_allowed_fallback(tis_core::error::method_not_allowed)
        .fallback_service(Fallback(routed.clone()))
        .layer(middleware::from_fn(tis_core::context::middleware))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a gateway handler panicked; this is a bug");
            HttpError::internal("an unexpected error occurred").into_response()
        }))
        .layer(middleware::map_request(hygiene::inbound));
    Public { router, routed }
}

/// The router's fallback: the routed path, inside the context the router's middleware made.
#[derive(Clone)]
struct Fallback(Arc<Routed>);

impl tower::Service<Req> for Fallback {
    type Response = Res;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Res, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let routed = self.0.clone();
        Box::pin(async move {
            let peer = req.extensions().get::<Peer>().and_then(|p| p.ip.clone());
            Ok(routed.serve_in_context(req, peer.as_ref()).await)
        })
    }
}
