//! HTTP: the state, the permission extractors, and every route under `/profile/api`.
//!
//! Every route is added through the kit's registrar ([`tis_service_kit::http::api::Api`]),
//! which serves it behind its guard and documents it: the OpenAPI document at
//! `/profile/api-docs` ([`API_DOCS`]) lists exactly what is served.
//!
//! | route | guard |
//! |---|---|
//! | `GET /userinfo`, `GET /userupdate` (deprecated alias) | the caller's own **access token**, verified here; no principal |
//! | `GET /users?designatedBodyCode=&permissions=` | `profile:get:users` |
//! | `GET /users/ro-user/{designatedBodyCode}` | `profile:get:ro:user` |
//! | `GET /hee-users`, `/hee-users/{name}`, `/hee-users/{name}/ignore-case`, `/single-hee-users?username=`, `/hee-users-with-roles/{roleNames}` | `profile:view:entities` |
//! | `POST`/`PUT /hee-users` | `profile:add:modify:entities` |
//! | `DELETE /hee-users/{name}` | `profile:delete:entities` |
//! | `GET /roles[?excludeRestricted=true]`, `/roles/{name}`, `/restricted-roles`, `/permissions`, `/permissions/{name}` | `profile:view:entities` |
//! | `POST`/`PUT /roles`, `/permissions` | `profile:add:modify:entities` |
//! | `DELETE /roles/{name}`, `/permissions/{name}` | `profile:delete:entities` |
//! | `POST /trainee-id/{designatedBodyCode}/register` | `profile:register:trainee` |
//! | `GET /trainee-id/{designatedBodyCode}/mappings` | `profile:view:all:mappings` |
//! | `GET /profile-info` | any authenticated caller |
//! | `GET /jsonPatches`, `/jsonPatches/{id}`, `/jsonPatches/updateType/{tableDtoName}` | any authenticated caller (the kit's [`json_patch`]) |
//! | `POST`/`PUT /jsonPatches`, `PUT /bulk-jsonPatches` | `reference:add:modify:entities`, as the original Profile guarded them |
//! | `PUT /jsonPatches/{id}` (the original's soft delete) | `reference:delete:entities` |
//!
//! Everything but `/userinfo` authenticates with tis-auth's `Authenticated`: a gateway
//! `TIS-Principal` (audience `profile`), or an access token whose profile comes from this
//! service's own database ([`crate::LocalProfiles`]). The guards are the kit's
//! ([`tis_service_kit::guard`]), checked by the registrar's layer before the body is read, so
//! a caller without the permission gets its 403 whatever it sent.
//!
//! Every route runs under tis-store's middleware, as Reference's do: API requests wait for
//! the database to be seen up (503 `database_unavailable` until then), reads go to replicas
//! (`TIS-Consistency` gives a caller read-your-writes) and go on while the primary is down
//! (`TIS-Degraded: db-read-only`), so `/userinfo`, on the path of every first request at the
//! gateway, keeps answering through a failover. The routes that write (`POST`/`PUT` of
//! users, roles and permissions, and `POST /trainee-id/{designatedBodyCode}/register`) also
//! honour `Idempotency-Key`, scoped by the caller (the kit's `idempotent`): a retry gets the
//! first response and writes nothing. `DELETE` is idempotent by itself.
//!
//! Lists take tis-core's `page`, `size` and `sort` ([`tis_core::paging`]); their links carry
//! every other parameter of the request.

pub mod dto;
pub mod input;
pub mod original;
mod roles;
mod trainees;
mod userinfo;
mod users;

use axum::Router;
use axum::extract::FromRef;
use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tis_auth::{AccessTokenVerifier, Authenticator};
use tis_core::paging::Rules;
use tis_reference_client::ReferenceClient;
use tis_service_kit::Guards;
use tis_service_kit::http::api::{Api, ApiInfo, Body as Doc, Method, Op};
use tis_service_kit::http::crud::Crud;
use tis_service_kit::http::{Kit, Limits, json_patch, serve_api};

use crate::repo::Repo;

/// Where every API route lives.
pub const API: &str = "/profile/api";
/// Where the OpenAPI document is served.
pub const API_DOCS: &str = "/profile/api-docs";

/// What the OpenAPI document says about the service.
pub const INFO: ApiInfo = ApiInfo {
    prefix: API,
    title: "TIS Profile",
    description: "Users, roles, permissions and the /userinfo authorisation context of the Trainee Information System, compatible with the original /profile/api.",
};

pub const VIEW: &str = "profile:view:entities";
pub const MODIFY: &str = "profile:add:modify:entities";
pub const DELETE: &str = "profile:delete:entities";

/// The guards of the JSON-patch resource: the original Profile guarded it with Reference's
/// authorities (its `JsonPatchResource` was Reference's, copied), and so do we.
pub static JSON_PATCH_GUARDS: Guards =
    Guards::authorities("reference:add:modify:entities", "reference:delete:entities");

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

/// A route's description: under `tag`, guarded by the authority `permission`.
fn op(tag: &'static str, summary: &str, permission: &'static str) -> Op {
    Op::new(tag, summary).needs(permission)
}

fn one(schema: &'static str) -> Doc {
    Doc::One(schema.into())
}

fn many(schema: &'static str) -> Doc {
    Doc::Many(schema.into())
}

/// A list with `X-Total-Count` and `Link`, taking `page`, `size` and the given parameters.
fn paged(op: Op, params: &[&'static str]) -> Op {
    let op = op.query(&["page", "size"]).query(params);
    Op { paged: true, ..op }
}

/// Every route of the service, served with `state` under tis-store's middleware, and the
/// OpenAPI document describing them (compact JSON, also served at [`API_DOCS`]).
pub fn router(state: AppState) -> (Router, Bytes) {
    let p: Paths = |path| format!("{API}{path}");
    let api = Api::<AppState>::new(INFO)
        .schema::<dto::UserInfoDto>()
        .schema::<dto::UserListResponse>()
        .schema::<dto::HeeUserDto>()
        .schema::<dto::BasicHeeUserDto>()
        .schema::<dto::HeeUserPage>()
        .schema::<dto::RoleDto>()
        .schema::<dto::PermissionDto>()
        .schema::<dto::TraineeIdList>()
        .schema::<dto::TraineeMappingsPage>()
        .schema::<trainees::RegistrationInput>();
    let api = userinfo::routes(api, p);
    let api = users::routes(api, p);
    let api = roles::routes(api, p);
    let api = trainees::routes(api, p);
    let api = json_patch::routes(api, &Crud::new(JSON_PATCH_GUARDS).original(original::APP));
    let api = api.add(
        Method::Get,
        &p("/profile-info"),
        userinfo::profile_info,
        Op::new(
            "ProfileInfo",
            "The running profiles, as the original's ProfileInfoVM",
        )
        .returns(200, Doc::StringMap),
    );
    let (routes, doc) = api.finish();
    let kit = state.kit.clone();
    (serve_api(routes, state, &kit, API_DOCS, doc.clone()), doc)
}

/// Makes a route's full path from its path under [`API`].
type Paths = fn(&str) -> String;
