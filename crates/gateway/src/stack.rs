//! The one place where the gateway's public stack is assembled.
//!
//! Outermost first, as in ARCHITECTURE.md §3:
//!
//! ```text
//! PublicServer            TLS (optional), header-read + idle timeouts, connection limit
//!   │
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

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::middleware;
use axum::response::IntoResponse;
use tis_auth::{AccessTokenVerifier, PrincipalSigner, ProfileSource};
use tis_core::{Health, HttpError};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::layers::admission::Admission;
use crate::layers::auth::{Authenticate, Authorise};
use crate::layers::body_limit::BodyLimit;
use crate::layers::deadline::DeadlineStep;
use crate::layers::edge::EdgeLayer;
use crate::layers::principal::MintPrincipal;
use crate::layers::{StepLayer, hygiene};
use crate::proxy::Proxy;
use crate::routes::RouteTable;
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

/// The public router (see the module documentation for the drawing).
pub fn public(parts: Parts) -> Router {
    let routed = ServiceBuilder::new()
        .layer(EdgeLayer::new(parts.table))
        .layer(StepLayer::new(BodyLimit {
            limit: parts.body_limit,
        }))
        .layer(StepLayer::new(DeadlineStep {
            default_timeout: parts.default_timeout,
            max_timeout: parts.max_timeout,
        }))
        .layer(StepLayer::shared(parts.admission))
        .layer(StepLayer::new(Authenticate::new(parts.verifier)))
        .layer(StepLayer::new(Authorise::new(
            parts.profiles,
            parts.principal_reuse,
        )))
        .layer(StepLayer::new(MintPrincipal::new(
            parts.signer,
            parts.principal_lifetime,
            parts.principal_reuse,
        )))
        .service(Proxy::new(
            parts.https,
            parts.trust_forwarded,
            parts.sightings,
        ));

    crate::status::page::router(parts.sources)
        .merge(parts.health.router())
        .route_layer(middleware::from_fn(tis_core::metrics::track))
        .method_not_allowed_fallback(tis_core::error::method_not_allowed)
        .fallback_service(routed)
        .layer(middleware::from_fn(tis_core::context::middleware))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a gateway handler panicked; this is a bug");
            HttpError::internal("an unexpected error occurred").into_response()
        }))
        .layer(middleware::map_request(hygiene::inbound))
}
