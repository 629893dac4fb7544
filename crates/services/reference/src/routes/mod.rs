//! HTTP: the assembly of every route (with its OpenAPI operation) under `/reference/api`.
//!
//! Reads need an authenticated caller; writes (`POST`/`PUT`, bulk included) need
//! `reference:add:modify:entities`; deletes need `reference:delete:entities` ([`GUARDS`]). The
//! guards run before the body is read, so a caller without the permission gets its 403
//! whatever it sent. Only `/health/*`, `/metrics` and `/reference/api-docs` are open.
//!
//! Every entity gets the kit's CRUD routes ([`tis_service_kit::http::crud`]); [`lookups`] adds
//! the batched look-ups of the original's `reference-client`, and [`special`] the look-ups
//! particular to one type. Every API route runs under tis-store's middleware (readiness
//! gate, `TIS-Degraded: db-read-only`, `TIS-Consistency`); the routes that write honour
//! `Idempotency-Key`, scoped by the caller; the `POST` look-ups (`exists`, `match`,
//! `ids/in/query`, `codeexists`, `trustmatch`) only read, so a retry is harmless and nothing
//! is stored.

pub mod dto;
pub mod lookups;
pub mod special;

use bytes::Bytes;
use tis_service_kit::Guards;
use tis_service_kit::http::api::{Api, ApiInfo};
use tis_service_kit::http::{Kit, crud, serve_api};

/// The kit's state is all Reference's handlers need.
pub type AppState = Kit;

/// Where every API route lives.
pub const API: &str = "/reference/api";
/// Where the OpenAPI document is served.
pub const API_DOCS: &str = "/reference/api-docs";
pub const WRITE: &str = "reference:add:modify:entities";
pub const DELETE: &str = "reference:delete:entities";

/// Every entity's guards: reads by any authenticated caller, writes and deletes with
/// Reference's two authorities.
pub static GUARDS: Guards = Guards::authorities(WRITE, DELETE);

/// What the OpenAPI document says about the service.
pub const INFO: ApiInfo = ApiInfo {
    prefix: API,
    title: "TIS Reference",
    description: "The lookup tables of the Trainee Information System, compatible with the original /reference/api.",
};

macro_rules! crud_for_all {
    ($($t:ident),* $(,)?) => {
        |api: Api| api $(.pipe(|a| crud::routes::<dto::$t, Kit>(a, &GUARDS)))*
    };
}

trait Pipe: Sized {
    fn pipe(self, f: impl FnOnce(Self) -> Self) -> Self {
        f(self)
    }
}
impl Pipe for Api {}

/// Every route of the service, served with `kit`, and the OpenAPI document describing them
/// (as the compact JSON served at [`API_DOCS`]; one copy, shared by every response).
pub fn router(kit: Kit) -> (axum::Router, Bytes) {
    let all = dto::with_every_entity!(crud_for_all);
    let api = special::routes(lookups::routes(all(Api::new(INFO))));
    let (routes, doc) = api.finish();
    let router = serve_api(routes, kit.clone(), &kit, API_DOCS, doc.clone());
    (router, doc)
}
