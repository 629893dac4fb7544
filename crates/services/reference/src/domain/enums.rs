//! The enumeration of the original's `reference-api` (`…reference.api.enums.Status`): the
//! lifecycle of a reference record, `CURRENT` or `INACTIVE`, as a wire type and as the value
//! list the descriptors validate filters against. (TCS's own `Status` also has `DELETE`; that
//! one is the kit's, [`tis_service_kit::entity::Status`].)
//!
//! A designated body's `type` is a free string, as in the original's `DBCDTO`, not an
//! enumeration.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The lifecycle of a reference record.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Status {
    CURRENT,
    INACTIVE,
}

/// The values of [`Status`], for filters and DDL checks.
pub const STATUS: &[&str] = &["CURRENT", "INACTIVE"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_list_matches_the_wire_names_and_the_original_has_no_delete() {
        for (v, name) in [Status::CURRENT, Status::INACTIVE].iter().zip(STATUS) {
            assert_eq!(serde_json::to_value(v).expect("json"), *name);
        }
        assert!(serde_json::from_str::<Status>("\"DELETE\"").is_err());
    }
}
