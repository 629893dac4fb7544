//! HTTP: where the API lives, what every handler reaches ([`Tcs`]), the guards, and the
//! assembly of every route.

use axum::extract::FromRef;
use bytes::Bytes;
use tis_auth::Authenticator;
use tis_reference_client::ReferenceClient;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, ApiInfo};
use tis_service_kit::http::{Kit, serve_api};

/// Where every API route lives.
pub const API: &str = "/tcs/api";
/// Where the original also served its person, post, placement and training-number resources
/// (a second mapping of the same controllers, for the ETL and ESR jobs): the same handlers,
/// guards and scoping answer there (`Api::also_at`).
pub const ETL_API: &str = "/tcs/etl/api";

/// The first path segments the original mapped under [`ETL_API`] too (and `bulk-patch-*`).
const ETL_RESOURCES: &[&str] = &[
    "people",
    "bulk-people",
    "posts",
    "bulk-posts",
    "post",
    "findByNationalPostNumber",
    "placements",
    "training-numbers",
    "bulk-training-numbers",
    "programme",
];

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

/// What every handler can reach. Cheap to clone. Handlers that need only the database and
/// limits take `State<Kit>`; those that check Reference data take `State<Tcs>`.
#[derive(Debug, Clone)]
pub struct Tcs {
    /// The kit's state: the repository over TCS's database, the authenticator, the limits.
    pub kit: Kit,
    /// Checks the Reference data writes name ([`crate::reference`]).
    pub reference: ReferenceClient,
}

impl FromRef<Tcs> for Kit {
    fn from_ref(s: &Tcs) -> Kit {
        s.kit.clone()
    }
}

impl FromRef<Tcs> for Authenticator {
    fn from_ref(s: &Tcs) -> Authenticator {
        s.kit.auth.clone()
    }
}

/// Every route of the service, served with `state`, and the OpenAPI document describing them.
pub fn router(state: Tcs) -> (axum::Router, Bytes) {
    let kit = state.kit.clone();
    let api = Api::<Tcs>::new(INFO).also_at(ETL_API, on_etl_api);
    let api = crate::people::routes(api);
    let api = crate::catalogue::routes(api);
    let api = crate::programmes::routes(api);
    let api = crate::memberships::routes(api);
    let api = crate::posts::routes(api);
    let api = crate::placements::routes(api);
    let api = crate::esr::routes(api);
    let (routes, doc) = api.finish();
    let router = serve_api(routes, state, &kit, API_DOCS, doc.clone());
    (router, doc)
}

/// Whether the original also mapped the route at `path` (below [`API`]) under [`ETL_API`]:
/// its person, post, placement and training-number resources.
fn on_etl_api(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    ETL_RESOURCES.contains(&first) || first.starts_with("bulk-patch-")
}
