//! The original's `Status` (`…reference.api.enums.Status`, and TCS's own copy with the same
//! values): the lifecycle of a record, as a wire type and as the value list descriptors
//! validate filters against.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The lifecycle of a record.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Status {
    CURRENT,
    INACTIVE,
    DELETE,
}

/// The values of [`Status`], for filters and DDL checks.
pub const STATUS: &[&str] = &["CURRENT", "INACTIVE", "DELETE"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_list_matches_the_wire_names() {
        for (v, name) in [Status::CURRENT, Status::INACTIVE, Status::DELETE]
            .iter()
            .zip(STATUS)
        {
            assert_eq!(serde_json::to_value(v).expect("json"), *name);
        }
    }
}
