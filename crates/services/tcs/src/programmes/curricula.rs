//! Curricula (`CurriculumResource`) on the kit's CRUD: `specialty` is the nested
//! `SpecialtyDTO` (required; stored as its id; one that does not exist is a 400 naming
//! `specialty`), `curriculumSubType` and `assessmentType` the original's enums, `length` and
//! `periodOfGrace` required and not negative (`@DecimalMin(0)`), `eligibleForPeriodOfGrace`
//! a primitive (false when absent). `/current/curricula` is the list of `CURRENT` ones.

use serde_json::{Map, Value};
use tis_core::FieldError;
use tis_service_kit::entity;
use tis_service_kit::entity::{Kind, STATUS, Status};
use tis_service_kit::guard::{Guard, Guards};
use tis_service_kit::http::crud::Crud;

use super::specialties::{SPECIALTY, SpecialtyDto};
use crate::catalogue::{ASSESSMENT_TYPES, CURRICULUM_SUB_TYPES};

/// The original's guards of curricula (its bulk update asks only `curriculum:add:modify`).
pub static CURRICULUM_GUARDS: Guards = Guards {
    view: Guard::Authority("curriculum:view"),
    create: Guard::Authority("curriculum:add:modify"),
    update: Guard::Authority("curriculum:add:modify"),
    delete: Guard::Authority("tcs:delete:entities"),
    bulk_create: Guard::Authority("curriculum:bulk:add:modify"),
    bulk_update: Guard::Authority("curriculum:add:modify"),
};

entity! {
    /// A curriculum (the original's `CurriculumDTO`).
    CurriculumDto / CURRICULUM { name: "Curriculum", plural: "curricula", table: "curriculum", id: i64 = Long, code: None }
    uuid "uuid": uuid::Uuid => "uuid" (Kind::Uuid) .generated();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
    status "status": Status => "status" (Kind::Enum(STATUS)) .required() .sort() .filter();
    name "name": String => "name" (Kind::Text) .required() .all();
    curriculum_sub_type "curriculumSubType": String => "curriculum_sub_type" (Kind::Enum(CURRICULUM_SUB_TYPES)) .sort() .filter();
    /// In months; not negative.
    length "length": i64 => "length" (Kind::Long) .required() .sort() .filter();
    assessment_type "assessmentType": String => "assessment_type" (Kind::Enum(ASSESSMENT_TYPES)) .required() .sort() .filter();
    does_this_curriculum_lead_to_cct "doesThisCurriculumLeadToCct": bool => "does_this_curriculum_lead_to_cct" (Kind::Bool) .required() .sort() .filter();
    eligible_for_period_of_grace "eligibleForPeriodOfGrace": bool => "eligible_for_period_of_grace" (Kind::Bool) .defaults_false() .sort() .filter();
    /// In months; not negative.
    period_of_grace "periodOfGrace": i64 => "period_of_grace" (Kind::Long) .required() .sort() .filter();
    specialty "specialty": SpecialtyDto => "specialty_id" (Kind::Ref(&SPECIALTY)) .required() .filter();
}

/// `@DecimalMin(value = "0")` on `length` and `periodOfGrace`.
fn not_negative(curriculum: &Map<String, Value>) -> Vec<FieldError> {
    ["length", "periodOfGrace"]
        .into_iter()
        .filter(|f| {
            curriculum
                .get(*f)
                .and_then(Value::as_i64)
                .is_some_and(|n| n < 0)
        })
        .map(|f| FieldError::new(f, "must be greater than or equal to 0"))
        .collect()
}

/// How curricula answer: the catalogue's TCS conventions, with the range check.
pub fn crud() -> Crud {
    crate::catalogue::tcs_crud(CURRICULUM_GUARDS).check(not_negative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_period_of_grace_are_not_negative() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(not_negative(&m(serde_json::json!({"length": 0, "periodOfGrace": 3}))).is_empty());
        let errors = not_negative(&m(serde_json::json!({"length": -1, "periodOfGrace": -2})));
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "length");
    }
}
