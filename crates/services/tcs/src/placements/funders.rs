//! `/placement-funders` and `/bulk-placement-funders`: the original's `PlacementFunder` (a
//! local office and a trust, by name), a list of its own that nothing refers to, served as
//! the kit's CRUD with the original's `tcs:*` guards, headers and answers (`PUT` without an
//! id creates; an unknown id is written as a new record, as its JPA `save` did).

use tis_service_kit::entity;
use tis_service_kit::entity::Kind;
use tis_service_kit::http::api::Api;
use tis_service_kit::http::crud::{self, Crud, Exists};

use crate::catalogue::TCS_GUARDS;
use crate::routes::{APP, Tcs};

entity! {
    /// The original's `PlacementFunderDTO`.
    PlacementFunderDto / PLACEMENT_FUNDER { name: "PlacementFunder", plural: "placement-funders", table: "placement_funder", id: i64 = Long, code: None }
    local_office "localOffice": String => "local_office" (Kind::Text) .all() .max(255);
    trust "trust": String => "trust" (Kind::Text) .all() .max(255);
}

/// The placement funder routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    crud::routes_with::<PlacementFunderDto, Tcs>(
        api,
        &Crud::new(TCS_GUARDS).original(APP).exists(Exists::Off),
    )
}
