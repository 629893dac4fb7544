//! HTTP: the state, the permission extractors, and the assembly of every route (with its
//! OpenAPI operation) under `/reference/api`.
//!
//! Reads need an authenticated caller; writes (`POST`/`PUT`, bulk included) need
//! `reference:add:modify:entities`; deletes need `reference:delete:entities`. The permission
//! extractors run before the body is read, so a caller without the permission gets its 403
//! whatever it sent. Only `/health/*`, `/metrics` and `/reference/api-docs` are open.
//!
//! Every API route runs under tis-store's middleware (readiness gate, `TIS-Degraded:
//! db-read-only`, `TIS-Consistency`). The routes that write (`POST`/`PUT` of a record or a
//! bulk list, registered with [`api::Op::idempotent`]) also honour `Idempotency-Key`, scoped
//! by the caller ([`idempotent`]); the `POST` look-ups (`exists`, `match`, `ids/in/query`,
//! `codeexists`, `trustmatch`) only read, so a retry is harmless and nothing is stored.

pub mod api;
pub mod crud;
pub mod dto;
pub mod lookups;
pub mod params;
pub mod special;

use axum::Extension;
use axum::extract::{FromRef, FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use tis_auth::{Authenticated, Authenticator, Principal};

use crate::error::ApiError;
use crate::repo::Repo;
use api::Api;

/// Where every API route lives.
pub const API: &str = "/reference/api";
/// Where the OpenAPI document is served.
pub const API_DOCS: &str = "/reference/api-docs";
pub const WRITE: &str = "reference:add:modify:entities";
pub const DELETE: &str = "reference:delete:entities";

/// Sizes the handlers enforce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub default_page_size: u64,
    pub max_page_size: u64,
    /// The most items in a bulk body, an `exists` list or an `in` list.
    pub max_items: usize,
    /// The largest request body, in bytes (read whole for an idempotent request).
    pub body_limit: usize,
}

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub repo: Repo,
    pub auth: Authenticator,
    pub limits: Limits,
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(s: &AppState) -> Authenticator {
        s.auth.clone()
    }
}

async fn require(
    parts: &mut Parts,
    state: &AppState,
    permission: &str,
) -> Result<Principal, ApiError> {
    let Authenticated(who) = Authenticated::from_request_parts(parts, state).await?;
    who.require_authority(permission)?;
    Ok(who)
}

/// A caller allowed to create and update (`reference:add:modify:entities`).
#[derive(Debug, Clone)]
pub struct CanWrite(pub Principal);

impl FromRequestParts<AppState> for CanWrite {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, WRITE).await.map(CanWrite)
    }
}

/// A caller allowed to delete (`reference:delete:entities`).
#[derive(Debug, Clone)]
pub struct CanDelete(pub Principal);

impl FromRequestParts<AppState> for CanDelete {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, DELETE).await.map(CanDelete)
    }
}

/// `Idempotency-Key` on a route that writes: the key is scoped by the authenticated caller
/// (a caller who fails authentication gets its 401 before anything is claimed), then
/// tis-store runs the request in one transaction with its key (see
/// [`tis_store::idempotency`]). Requests without the header pass straight through.
pub async fn idempotent(Extension(st): Extension<AppState>, req: Request, next: Next) -> Response {
    let db = st.repo.db().clone();
    let limit = st.limits.body_limit;
    tis_store::idempotency::run_scoped(&db, limit, req, next, async |parts| {
        let Authenticated(who) = Authenticated::from_request_parts(parts, &st).await?;
        Ok::<_, tis_auth::AuthError>(who.user_name().to_owned())
    })
    .await
}

macro_rules! crud_for_all {
    ($($t:ident),* $(,)?) => {
        |api: Api| api $(.pipe(crud::routes::<dto::$t>))*
    };
}

trait Pipe: Sized {
    fn pipe(self, f: impl FnOnce(Self) -> Self) -> Self {
        f(self)
    }
}
impl Pipe for Api {}

/// Every route of the service, with its state, and the OpenAPI document describing them (as
/// the compact JSON served at [`API_DOCS`]; one copy, shared by every response).
pub fn router(state: AppState) -> (axum::Router, Bytes) {
    let all = dto::with_every_entity!(crud_for_all);
    let api = special::routes(lookups::routes(all(Api::default())));
    let (routes, doc) = api.finish();
    let served = doc.clone();
    let db = state.repo.db().clone();
    let router = routes
        .layer(Extension(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            db,
            tis_store::http::middleware,
        ))
        .route(
            API_DOCS,
            get(move || std::future::ready(([(CONTENT_TYPE, "application/json")], served.clone()))),
        )
        .with_state(state);
    (router, doc)
}
