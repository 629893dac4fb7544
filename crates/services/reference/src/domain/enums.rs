//! The enumerations of the original's `reference-api` (`Status`, `DbcType`), as wire types
//! and as the value lists the descriptors validate filters against.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The lifecycle of a reference record (`com.transformuk.hee.tis.reference.api.enums.Status`).
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Status {
    CURRENT,
    INACTIVE,
    DELETE,
}

/// The values of [`Status`], for filters and DDL checks.
pub const STATUS: &[&str] = &["CURRENT", "INACTIVE", "DELETE"];

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
    fn the_value_lists_match_the_wire_names() {
        for (v, name) in [Status::CURRENT, Status::INACTIVE, Status::DELETE]
            .iter()
            .zip(STATUS)
        {
            assert_eq!(serde_json::to_value(v).expect("json"), *name);
        }
        for (v, name) in [DbcType::DEANERY_LETB, DbcType::NON_DEANERY_LETB]
            .iter()
            .zip(DBC_TYPE)
        {
            assert_eq!(serde_json::to_value(v).expect("json"), *name);
        }
    }
}
