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
//! Everything but `/userinfo` authenticates with tis-auth's `Authenticated`: a gateway
//! `TIS-Principal` (audience `profile`), or an access token whose profile comes from this
//! service's own database ([`crate::LocalProfiles`]). The guards are the kit's
//! ([`tis_service_kit::guard`]): the `Can<P>` extractor runs before the body is read, so a
//! caller without the permission gets its 403 whatever it sent.
//!
//! Every route runs under tis-store's middleware, as Reference's do: API requests wait for
//! the database to be seen up (503 `database_unavailable` until then), reads go to replicas
//! (`TIS-Consistency` gives a caller read-your-writes) and go on while the primary is down
//! (`TIS-Degraded: db-read-only`), so `/userinfo`, on the path of every first request at the
//! gateway, keeps answering through a failover. The routes that write (`POST`/`PUT` of
//! users, roles and permissions, and `POST /trainee-id/{dbc}/register`) also honour
//! `Idempotency-Key`, scoped by the caller ([`idempotent`]): a retry gets the first response
//! and writes nothing. `DELETE` is idempotent by itself.
//!
//! Lists take tis-core's `page`, `size` and `sort` ([`tis_core::paging`]); their links carry
//! every other parameter of the request.

pub mod dto;
pub mod input;
mod roles;
mod trainees;
mod userinfo;
mod users;

use axum::Extension;
use axum::Router;
use axum::extract::FromRef;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, get, post};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tis_auth::{AccessTokenVerifier, Authenticator};
use tis_core::paging::Rules;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::{Kit, Limits};

use crate::repo::Repo;
use tis_reference_client::ReferenceClient;

pub use tis_service_kit::Can;

/// Where every API route lives.
pub const API: &str = "/profile/api";

/// The most `sort` terms a list accepts.
const MAX_SORT_TERMS: usize = 5;

/// The paging rules of a list sortable by `sortable` (client name → column; empty: the list
/// has a fixed order and refuses `sort`).
pub fn paging<'a, F>(limits: &Limits, sortable: &'a [(&'a str, F)]) -> Rules<'a, F> {
    Rules::new(limits.default_page_size, limits.max_page_size)
        .sortable(sortable)
        .max_sort_terms(MAX_SORT_TERMS)
}

/// What must be escaped in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// `name` escaped for use as one path segment (`HEE Admin` → `HEE%20Admin`), for `Location`
/// and `Link` URLs naming a record.
pub fn segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub repo: Repo,
    /// The kit's state: the authenticator and limits.
    pub kit: Kit,
    /// Verifies the access tokens `/userinfo` is called with.
    pub userinfo: AccessTokenVerifier,
    pub reference: ReferenceClient,
    pub limits: Limits,
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(s: &AppState) -> Authenticator {
        s.kit.auth.clone()
    }
}

impl FromRef<AppState> for Kit {
    fn from_ref(s: &AppState) -> Kit {
        s.kit.clone()
    }
}

tis_service_kit::permissions! {
    /// `profile:view:entities`
    View = Guard::Authority("profile:view:entities");
    /// `profile:add:modify:entities`
    Modify = Guard::Authority("profile:add:modify:entities");
    /// `profile:delete:entities`
    Delete = Guard::Authority("profile:delete:entities");
    /// `profile:get:users`
    GetUsers = Guard::Authority("profile:get:users");
    /// `profile:get:ro:user`
    GetRoUser = Guard::Authority("profile:get:ro:user");
    /// `profile:register:trainee`
    RegisterTrainee = Guard::Authority("profile:register:trainee");
    /// `profile:view:all:mappings`
    ViewMappings = Guard::Authority("profile:view:all:mappings");
}

/// `writes` (the methods that write) honouring `Idempotency-Key` (the kit's middleware,
/// scoped by the caller); methods added after are not.
fn keyed(writes: MethodRouter<AppState>) -> MethodRouter<AppState> {
    writes.route_layer(from_fn(tis_service_kit::http::idempotent))
}

/// Every route of the service, with its state, under tis-store's middleware.
pub fn router(state: AppState) -> Router {
    let api = |path: &str| format!("{API}{path}");
    let db = state.repo.db().clone();
    let kit = state.kit.clone();
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
            keyed(post(users::create).put(users::update)).get(users::page),
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
            keyed(post(roles::create_role).put(roles::update_role)).get(roles::roles_page),
        )
        .route(
            &api("/roles/{name}"),
            get(roles::one_role).delete(roles::remove_role),
        )
        .route(&api("/restricted-roles"), get(roles::restricted))
        .route(
            &api("/permissions"),
            keyed(post(roles::create_permission).put(roles::update_permission))
                .get(roles::permissions_page),
        )
        .route(
            &api("/permissions/{name}"),
            get(roles::one_permission).delete(roles::remove_permission),
        )
        .route(
            &api("/trainee-id/{dbc}/register"),
            keyed(post(trainees::register)),
        )
        .route(&api("/trainee-id/{dbc}/mappings"), get(trainees::mappings))
        .layer(Extension(kit))
        .layer(from_fn_with_state(db, tis_store::http::middleware))
        .with_state(state)
}
