//! A person's programme memberships (with their curriculum memberships) and qualifications,
//! with the original's routes and guards (docs/tcs-original.md). Every write re-derives the
//! person's owner, status and list row in its transaction ([`crate::people::refresh`]).

use tis_service_kit::http::api::Api;

use crate::routes::Tcs;

/// The programme membership, curriculum membership and qualification routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    api
}
