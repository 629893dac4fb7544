//! HTTP: the state, the permission extractors, and every route under `/profile/api`.
//!
//! | route | guard |
//! |---|---|
//! | `GET /userinfo`, `GET /userupdate` (deprecated alias) | the caller's own **access token**, verified here; no principal |
//! | `GET /users?designatedBodyCode=&permissions=` | `profile:get:users` |
//! | `GET /users/ro-user/{dbc}` | `profile:get:ro:user` |
//! | `GET /hee-users`, `/hee-users/{name}`, `/hee-users/{name}/ignore-case`, `/single-hee-users?username=`, `/hee-users-with-roles/{roleNames}` | `profile:view:entities` |
//! | `POST`/`PUT /hee-users` | `profile:add:modify:entities` |
//! | `DELETE /hee-users/{name}` | `profile:delete:entities` |
//! | `GET /roles[?excludeRestricted=true]`, `/roles/{name}`, `/restricted-roles`, `/permissions`, `/permissions/{name}` | `profile:view:entities` |
//! | `POST`/`PUT /roles`, `/permissions` | `profile:add:modify:entities` |
//! | `DELETE /roles/{name}`, `/permissions/{name}` | `profile:delete:entities` |
//! | `POST /trainee-id/{dbc}/register` | `profile:register:trainee` |
//! | `GET /trainee-id/{dbc}/mappings` | `profile:view:all:mappings` |
//!
//! Everything but `/userinfo` takes tis-auth's `Authenticated`: a gateway `TIS-Principal`
//! (audience `profile`), or an access token whose profile comes from this service's own
//! database ([`crate::LocalProfiles`]). The permission extractor runs before the body is
//! read, so a caller without the permission gets its 403 whatever it sent.

pub mod dto;
pub mod input;
pub mod paging;
mod roles;
mod trainees;
mod userinfo;
mod users;

use std::marker::PhantomData;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts};
use axum::routing::get;
use http::request::Parts;
use tis_auth::{AccessTokenVerifier, Authenticated, AuthenticatedBy, Authenticator, Principal};

use crate::error::ApiError;
use crate::reference::{Credential, ReferenceClient};
use crate::repo::Repo;

/// Where every API route lives.
pub const API: &str = "/profile/api";

/// Sizes the handlers enforce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub default_page_size: u64,
    pub max_page_size: u64,
    /// The most items in one list input.
    pub max_items: usize,
}

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub repo: Repo,
    pub auth: Authenticator,
    /// Verifies the access tokens `/userinfo` is called with.
    pub userinfo: AccessTokenVerifier,
    pub reference: ReferenceClient,
    pub limits: Limits,
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(s: &AppState) -> Authenticator {
        s.auth.clone()
    }
}

/// A permission an endpoint requires.
pub trait Needs: Send + Sync + 'static {
    const PERMISSION: &'static str;
}

macro_rules! permissions {
    ($($(#[$doc:meta])* $t:ident = $p:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $t;
        impl Needs for $t {
            const PERMISSION: &'static str = $p;
        }
    )*};
}

permissions! {
    /// `profile:view:entities`
    View = "profile:view:entities";
    /// `profile:add:modify:entities`
    Modify = "profile:add:modify:entities";
    /// `profile:delete:entities`
    Delete = "profile:delete:entities";
    /// `profile:get:users`
    GetUsers = "profile:get:users";
    /// `profile:get:ro:user`
    GetRoUser = "profile:get:ro:user";
    /// `profile:register:trainee`
    RegisterTrainee = "profile:register:trainee";
    /// `profile:view:all:mappings`
    ViewMappings = "profile:view:all:mappings";
}

/// An authenticated caller holding permission `P`, and the credential to forward on its
/// behalf (to Reference).
#[derive(Debug)]
pub struct Can<P> {
    pub who: Principal,
    pub credential: Option<Credential>,
    _needs: PhantomData<P>,
}

impl<P: Needs> FromRequestParts<AppState> for Can<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(who) = Authenticated::from_request_parts(parts, state).await?;
        who.require_authority(P::PERMISSION)?;
        let credential = match (&who.by, &who.token) {
            (AuthenticatedBy::Gateway, Some(token)) => Some(Credential::Principal(token.clone())),
            _ => tis_auth::bearer_token(&parts.headers)
                .ok()
                .map(|t| Credential::Bearer(Arc::from(t))),
        };
        Ok(Can {
            who,
            credential,
            _needs: PhantomData,
        })
    }
}

/// Every route of the service, with its state.
pub fn router(state: AppState) -> Router {
    let api = |path: &str| format!("{API}{path}");
    Router::new()
        .route(&api("/userinfo"), get(userinfo::userinfo))
        .route(&api("/userupdate"), get(userinfo::userupdate))
        .route(&api("/users"), get(userinfo::users_by_dbcs))
        .route(
            &api("/users/ro-user/{dbc}"),
            get(userinfo::responsible_officer),
        )
        .route(
            &api("/hee-users"),
            get(users::page).post(users::create).put(users::update),
        )
        .route(
            &api("/hee-users/{name}"),
            get(users::one).delete(users::remove),
        )
        .route(
            &api("/hee-users/{name}/ignore-case"),
            get(users::one_ignoring_case),
        )
        .route(&api("/single-hee-users"), get(users::single))
        .route(
            &api("/hee-users-with-roles/{roles}"),
            get(users::with_roles),
        )
        .route(
            &api("/roles"),
            get(roles::roles_page)
                .post(roles::create_role)
                .put(roles::update_role),
        )
        .route(
            &api("/roles/{name}"),
            get(roles::one_role).delete(roles::remove_role),
        )
        .route(&api("/restricted-roles"), get(roles::restricted))
        .route(
            &api("/permissions"),
            get(roles::permissions_page)
                .post(roles::create_permission)
                .put(roles::update_permission),
        )
        .route(
            &api("/permissions/{name}"),
            get(roles::one_permission).delete(roles::remove_permission),
        )
        .route(
            &api("/trainee-id/{dbc}/register"),
            axum::routing::post(trainees::register),
        )
        .route(&api("/trainee-id/{dbc}/mappings"), get(trainees::mappings))
        .with_state(state)
}
