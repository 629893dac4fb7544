//! HTTP: the assembly of every route (with its OpenAPI operation) under `/reference/api`.
//!
//! Reads need an authenticated caller; writes (`POST`/`PUT`, bulk included) need
//! `reference:add:modify:entities`; deletes need `reference:delete:entities` ([`GUARDS`]);
//! rotations keep the original's `hasPermission('tis:references::reference:', …)`. The guards
//! run before the body is read, so a caller without the permission gets its 403 whatever it
//! sent. Only `/health/*`, `/metrics` and `/reference/api-docs` are open.
//!
//! Every entity gets the kit's CRUD routes ([`tis_service_kit::http::crud`]) answering as the
//! original did ([`crud_of`]: its alert headers and validation bodies, `PUT` as an upsert, its
//! unpaged lists, its `exists` forms, its look-up by code); [`lookups`] adds the batched
//! look-ups of the original's `reference-client`, [`special`] the look-ups particular to one
//! type, [`search`] the `LimitedListResponse` searches, and the kit's JSON-patch resource the
//! original's `/jsonPatches`. Every API route runs under tis-store's middleware (readiness
//! gate, `TIS-Degraded: db-read-only`, `TIS-Consistency`); the routes that write honour
//! `Idempotency-Key`, scoped by the caller; the `POST` look-ups (`exists`, `match`,
//! `ids/in/query`, `codeexists`, `trustmatch`) only read, so a retry is harmless and nothing
//! is stored.

pub mod dto;
pub mod lookups;
pub mod search;
pub mod special;

use bytes::Bytes;
use tis_service_kit::entity::validate::parse_date;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, ApiInfo};
use tis_service_kit::http::crud::{self, Crud, Exists, Listing};
use tis_service_kit::http::{Kit, json_patch, serve_api};
use tis_service_kit::{Guards, entity::Entity};

use crate::domain::Descriptor;

/// The kit's state is all Reference's handlers need.
pub type AppState = Kit;

/// Where every API route lives.
pub const API: &str = "/reference/api";
/// Where the OpenAPI document is served.
pub const API_DOCS: &str = "/reference/api-docs";
pub const WRITE: &str = "reference:add:modify:entities";
pub const DELETE: &str = "reference:delete:entities";
/// The original's application name, in its `X-referenceApp-…` headers.
pub const APP: &str = "referenceApp";
/// The resource of the rotations' `hasPermission` guards.
pub const REFERENCE_RESOURCE: &str = "tis:references::reference:";

/// Every entity's guards: reads by any authenticated caller, writes and deletes with
/// Reference's two authorities.
pub static GUARDS: Guards = Guards::authorities(WRITE, DELETE);

/// Rotations' guards, as the original's `RotationResource` said them.
pub static ROTATION_GUARDS: Guards = Guards {
    view: Guard::Authenticated,
    create: Guard::Permission(REFERENCE_RESOURCE, "Create"),
    update: Guard::Permission(REFERENCE_RESOURCE, "Update"),
    delete: Guard::Permission(REFERENCE_RESOURCE, "Delete"),
    bulk_create: Guard::Permission(REFERENCE_RESOURCE, "Create"),
    bulk_update: Guard::Permission(REFERENCE_RESOURCE, "Update"),
};

/// What the OpenAPI document says about the service.
pub const INFO: ApiInfo = ApiInfo {
    prefix: API,
    title: "TIS Reference",
    description: "The lookup tables of the Trainee Information System, compatible with the original /reference/api.",
};

/// The original's lists that took no `Pageable` and answered every row.
const UNPAGED: Listing = Listing::Unpaged { sort: &[] };

/// The types whose original `POST /{plural}/exists/` took one code as a plain-text body and
/// answered `true`/`false` (the others took a list of codes and answered a map).
const EXISTS_ONE_CODE: &[&str] = &[
    "ethnic-origins",
    "gdc-statuses",
    "genders",
    "gmc-statuses",
    "marital-statuses",
    "nationalities",
    "permit-to-works",
    "qualification-reference",
    "qualification-types",
    "religious-beliefs",
    "sexual-orientations",
    "titles",
];

/// How the original served the entity `d`: its CRUD routes as the kit makes them, with the
/// original's headers, validation bodies and upserting `PUT`, and where it differed per type.
pub fn crud_of(d: &'static Descriptor) -> Crud {
    let base = Crud::new(GUARDS).original(APP);
    let crud = if EXISTS_ONE_CODE.contains(&d.plural) {
        base.exists(Exists::Code)
    } else {
        base
    };
    match d.plural {
        // `GET /assessment-types/{code}`: by code, as the original (no delete by id beside it).
        "assessment-types" => crud.one_by_code(),
        // Lists the original answered whole.
        "statuses" | "concern-types" | "leaving-reasons" => crud.list(UNPAGED),
        "role-categories" => crud.list(Listing::Unpaged { sort: &["name"] }),
        "roles" => crud.current(UNPAGED),
        "rotations" => Crud {
            guards: ROTATION_GUARDS,
            ..crud
        },
        "sites" => crud.check(site_dates),
        _ => crud,
    }
}

/// The original's `SiteValidator`: a site may not start after it ends.
fn site_dates(site: &serde_json::Map<String, serde_json::Value>) -> Vec<tis_core::FieldError> {
    let date = |name: &str| {
        site.get(name)
            .and_then(serde_json::Value::as_str)
            .and_then(parse_date)
    };
    match (date("startDate"), date("endDate")) {
        (Some(start), Some(end)) if start > end => vec![tis_core::FieldError::new(
            "startDate",
            "Start Date needs to be before End Date",
        )],
        _ => Vec::new(),
    }
}

/// The original's names of two resources that Reference serves under regular plurals too.
fn aliases(api: Api) -> Api {
    // `/funding-reason`: the whole resource, under its original (singular) name.
    let funding_reason = crud_of(dto::FundingReasonDto::desc())
        .plural("funding-reason")
        .exists(Exists::Off)
        .current(Listing::Off)
        .without_bulk();
    let api = crud::routes_with::<dto::FundingReasonDto, Kit>(api, &funding_reason);
    // `/sources`: the concern sources, a whole list.
    let sources = crud_of(dto::ConcernSourceDto::desc())
        .plural("sources")
        .list_only(UNPAGED);
    crud::routes_with::<dto::ConcernSourceDto, Kit>(api, &sources)
}

macro_rules! crud_for_all {
    ($($t:ident),* $(,)?) => {
        |api: Api| api $(.pipe(|a| crud::routes_with::<dto::$t, Kit>(a, &crud_of(<dto::$t as Entity>::desc()))))*
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
    let api = aliases(all(Api::new(INFO)));
    let api = json_patch::routes(api, &Crud::new(GUARDS).original(APP));
    let api = search::routes(special::routes(lookups::routes(api)));
    let (routes, doc) = api.finish();
    let router = serve_api(routes, kit.clone(), &kit, API_DOCS, doc.clone());
    (router, doc)
}
