//! Programmes and what they are made of: programmes (with their curricula), curricula,
//! specialties and rotations, with the original's routes and guards (docs/tcs-original.md).

use tis_service_kit::http::api::Api;

use crate::routes::Tcs;

/// The programme, curriculum, specialty and rotation routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    api
}
