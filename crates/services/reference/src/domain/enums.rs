//! The enumerations of the original's `reference-api` beyond the shared `Status` (which is the
//! kit's, [`tis_service_kit::entity::Status`]): `DbcType`, as a wire type and as the value list
//! the descriptors validate filters against.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of a designated body (`DbcType`).
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum DbcType {
    DEANERY_LETB,
    NON_DEANERY_LETB,
}

pub const DBC_TYPE: &[&str] = &["DEANERY_LETB", "NON_DEANERY_LETB"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_list_matches_the_wire_names() {
        for (v, name) in [DbcType::DEANERY_LETB, DbcType::NON_DEANERY_LETB]
            .iter()
            .zip(DBC_TYPE)
        {
            assert_eq!(serde_json::to_value(v).expect("json"), *name);
        }
    }
}
