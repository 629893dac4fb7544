//! HTTP: where the API lives, the guards, and the assembly of every route.

use bytes::Bytes;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, ApiInfo};
use tis_service_kit::http::{Kit, serve_api};

/// Where every API route lives.
pub const API: &str = "/tcs/api";
/// Where the OpenAPI document is served.
pub const API_DOCS: &str = "/tcs/api-docs";

/// The original's application name (its `X-tcsApp-alert` headers).
pub const APP: &str = "tcsApp";

/// `hasPermission('tis:people::person:', 'View')`.
pub const PERSON_VIEW_GUARD: Guard = Guard::Permission("tis:people::person:", "View");

/// What the OpenAPI document says about the service.
pub const INFO: ApiInfo = ApiInfo {
    prefix: API,
    title: "TIS TCS",
    description: "Trainees, their records and programmes, compatible with the original /tcs/api.",
};

/// Every route of the service, served with `kit`, and the OpenAPI document describing them.
pub fn router(kit: Kit) -> (axum::Router, Bytes) {
    let api = crate::people::routes(Api::new(INFO));
    let api = crate::catalogue::routes(api);
    let (routes, doc) = api.finish();
    let router = serve_api(routes, kit.clone(), &kit, API_DOCS, doc.clone());
    (router, doc)
}
