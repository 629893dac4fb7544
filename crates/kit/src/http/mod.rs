//! HTTP: the kit's state ([`Kit`]), the registrar that serves and documents every route
//! ([`api`]), the generic CRUD routes ([`crud`]), the original's JSON-patch resource
//! ([`json_patch`]), the list parameters ([`params`]), the idempotency middleware, and
//! [`serve_api`], which finishes a service's API router.
//!
//! Layers of one API route, outermost first:
//!
//! ```text
//! tis-store's middleware: readiness gate (503 database_unavailable), TIS-Degraded:
//! db-read-only, TIS-Consistency in and out                      (serve_api, every API route)
//!   guard: authenticate, check the route's guard → 401/403       (Api::add, guarded routes)
//!     idempotency: Idempotency-Key claimed, replayed or refused  (Api::add, routes that write)
//!       handler
//! ```
//!
//! tis-core's standard layers (request context, metrics, body limit, JSON 404/405) wrap all
//! of this, in [`crate::app`].

pub mod api;
pub mod crud;
pub mod json_patch;
pub mod params;

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use tis_auth::{AuthError, Authenticated, Authenticator};

use crate::repo::Repo;

/// Sizes the handlers enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub default_page_size: u64,
    pub max_page_size: u64,
    /// The most items in a bulk body, an `exists` list or an `in` list.
    pub max_items: usize,
    /// The largest request body, in bytes (read whole for an idempotent request).
    pub body_limit: usize,
}

/// What the kit's handlers reach: the descriptor repository over the service's database, the
/// authenticator, the limits, and where the API lives. Cheap to clone. A service with more
/// state of its own keeps a `Kit` in it and implements `FromRef<ItsState> for Kit`.
#[derive(Debug, Clone)]
pub struct Kit {
    pub repo: Repo,
    pub auth: Authenticator,
    pub limits: Limits,
    /// Where every API route lives (`/reference/api`): `Location` headers are made from it.
    pub api: &'static str,
}

impl Kit {
    /// Parses the list parameters of `desc` with this service's page sizes (see
    /// [`params::list_request`]).
    pub fn list_request(
        &self,
        desc: &'static crate::entity::Descriptor,
        params: &[(String, String)],
    ) -> Result<params::ListRequest, params::ParamError> {
        params::list_request(
            desc,
            params,
            self.limits.default_page_size,
            self.limits.max_page_size,
        )
    }
}

impl FromRef<Kit> for Authenticator {
    fn from_ref(kit: &Kit) -> Authenticator {
        kit.auth.clone()
    }
}

/// `Idempotency-Key` on a route that writes: the key is scoped by the authenticated caller
/// (a caller who fails authentication gets its 401 before anything is claimed), then
/// tis-store runs the request in one transaction with its key (see
/// [`tis_store::idempotency`]). Requests without the header pass straight through. Needs the
/// [`Kit`] as a request extension ([`serve_api`] adds it).
pub async fn idempotent(Extension(kit): Extension<Kit>, req: Request, next: Next) -> Response {
    let db = kit.repo.db().clone();
    let limit = kit.limits.body_limit;
    tis_store::idempotency::run_scoped(&db, limit, req, next, async |parts| {
        let Authenticated(who) = Authenticated::from_request_parts(parts, &kit).await?;
        Ok::<_, AuthError>(who.user_name().to_owned())
    })
    .await
}

/// A service's API, ready to serve: `routes` (from [`api::Api::finish`]) with their `state`,
/// under tis-store's middleware, with the kit and its authenticator as request extensions (the
/// guard and idempotency layers use them), and the OpenAPI document `doc` served at
/// `docs_path` (open to all, outside the middleware).
pub fn serve_api<S>(routes: Router<S>, state: S, kit: &Kit, docs_path: &str, doc: Bytes) -> Router
where
    S: Clone + Send + Sync + 'static,
{
    let db = kit.repo.db().clone();
    routes
        .layer(Extension(kit.auth.clone()))
        .layer(Extension(kit.clone()))
        .layer(from_fn_with_state(db, tis_store::http::middleware))
        .route(
            docs_path,
            get(move || std::future::ready(([(CONTENT_TYPE, "application/json")], doc.clone()))),
        )
        .with_state(state)
}
