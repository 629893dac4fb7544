//! TCS's own catalogue, served as the kit's plain CRUD: training numbers and specialty groups,
//! and the enumerations the original listed at `/assessment-types`, `/curriculum-sub-types`
//! and `/specialty-types` (`EnumTypeResource`: a JSON array of the constant names, in order).
//!
//! As in the original TCS (and unlike Reference), `PUT` without an id is a 400 naming `id`,
//! and `PUT` of an unknown id a 404: its DTOs carry `@NotNull(groups = Update.class)` on the id.
//! See `docs/tcs-original.md` §2 for the DTOs and `docs/tcs.md` for what we serve.

use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tis_core::FieldError;
use tis_service_kit::entity;
use tis_service_kit::entity::Kind;
use tis_service_kit::guard::{Guard, Guards};
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::{self, Crud, Exists};
use utoipa::ToSchema;

use crate::routes::{API, Tcs};

/// `tcs:view:entities`, `tcs:add:modify:entities`, `tcs:delete:entities`: the original's
/// guards of training numbers (and of most TCS entities).
pub static TCS_GUARDS: Guards = Guards {
    view: Guard::Authority("tcs:view:entities"),
    create: Guard::Authority("tcs:add:modify:entities"),
    update: Guard::Authority("tcs:add:modify:entities"),
    delete: Guard::Authority("tcs:delete:entities"),
    bulk_create: Guard::Authority("tcs:add:modify:entities"),
    bulk_update: Guard::Authority("tcs:add:modify:entities"),
};

/// The original's guards of specialty groups (`SpecialtyGroupResource`).
pub static SPECIALTY_GROUP_GUARDS: Guards = Guards {
    view: Guard::Authority("specialty:view"),
    create: Guard::Authority("specialty:add:modify"),
    update: Guard::Authority("specialty:add:modify"),
    delete: Guard::Authority("tcs:delete:entities"),
    bulk_create: Guard::Authority("specialty:bulk:add:modify"),
    bulk_update: Guard::Authority("specialty:bulk:add:modify"),
};

/// A training number's type.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TrainingNumberType {
    /// A National Training Number.
    NTN,
    /// A Deanery Reference Number.
    DRN,
}

/// The values of [`TrainingNumberType`].
pub const TRAINING_NUMBER_TYPE: &[&str] = &["NTN", "DRN"];

entity! {
    /// A National Training Number (or Deanery Reference Number) issued within a programme.
    TrainingNumberDto / TRAINING_NUMBER { name: "TrainingNumber", plural: "training-numbers", table: "training_number", id: i64 = Long, code: None }
    training_number_type "trainingNumberType": TrainingNumberType => "training_number_type" (Kind::Enum(TRAINING_NUMBER_TYPE)) .required() .sort() .filter();
    /// The number as text, e.g. `NWE/010/006/C`.
    training_number "trainingNumber": String => "training_number" (Kind::Text) .all() .max(100);
    /// Unique: a second training number with the same `number` is a 409.
    number "number": i64 => "number" (Kind::Long) .required() .sort() .filter();
    appointment_year "appointmentYear": i64 => "appointment_year" (Kind::Long) .required() .sort() .filter();
    type_of_contract "typeOfContract": String => "type_of_contract" (Kind::Text) .required() .sort() .filter() .max(100);
    suffix "suffix": String => "suffix" (Kind::Text) .sort() .filter() .max(10);
    programme_id "programmeId": i64 => "programme_id" (Kind::Long) .sort() .filter();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
}

entity! {
    /// A group of specialties (the original's `SpecialtyGroup`).
    SpecialtyGroupDto / SPECIALTY_GROUP { name: "SpecialtyGroup", plural: "specialty-groups", table: "specialty_group", id: i64 = Long, code: None }
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
    /// 1–100 letters, digits and spaces.
    name "name": String => "name" (Kind::Text) .required() .all() .max(100);
}

/// `SpecialtyGroupDTO.name`'s `@Pattern(regexp = "^$|^[A-Za-z0-9 ]+")`.
fn specialty_group_name(group: &Map<String, Value>) -> Vec<FieldError> {
    match group.get("name").and_then(Value::as_str) {
        Some(name) if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') => {
            vec![FieldError::new(
                "name",
                "Specialty group name must be alphanumeric",
            )]
        }
        _ => Vec::new(),
    }
}

/// A training number's text, when given, in the national format: the deanery (2 to 4
/// letters), the specialty code (3 letters or digits), the number (3 digits) and the suffix
/// (1 or 2 letters: `C` for a CCT programme, `N`, `L`, `D`…), separated by `/`:
/// `NWE/610/006/C`. (The original did not check it; a number in another shape could not be
/// searched by its parts, and was always a typing mistake.)
fn training_number_format(number: &Map<String, Value>) -> Vec<FieldError> {
    let Some(text) = number.get("trainingNumber").and_then(Value::as_str) else {
        return Vec::new();
    };
    let parts: Vec<&str> = text.split('/').collect();
    let ok = match parts.as_slice() {
        [deanery, code, n, suffix] => {
            (2..=4).contains(&deanery.len())
                && deanery.chars().all(|c| c.is_ascii_uppercase())
                && code.len() == 3
                && code
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && n.len() == 3
                && n.chars().all(|c| c.is_ascii_digit())
                && (1..=2).contains(&suffix.len())
                && suffix.chars().all(|c| c.is_ascii_uppercase())
        }
        _ => false,
    };
    if ok {
        Vec::new()
    } else {
        vec![FieldError::new(
            "trainingNumber",
            format!(
                "{text:?} is not a training number: deanery/specialty/number/suffix, e.g. NWE/610/006/C"
            ),
        )]
    }
}

/// The original's `AssessmentType`.
pub const ASSESSMENT_TYPES: &[&str] = &["ARCP", "RITA", "ACADEMIC"];
/// The original's `CurriculumSubType`.
pub const CURRICULUM_SUB_TYPES: &[&str] = &[
    "MEDICAL_CURRICULUM",
    "MEDICAL_SPR",
    "DENTAL_CURRICULUM",
    "DENTAL_SPR",
    "SUB_SPECIALTY",
    "DENTAL_POST_CCST",
    "ACF_OTHER_FUNDING",
    "ACL",
    "AFT",
    "ACL_OTHER_FUNDING",
    "CLINICAL_LECTURER",
    "CLINICAL_TEACHING_FELLOW",
    "CLINICAL_RESEARCH_FELLOW",
    "ACFNIHR_FUNDING",
    "ACLNIHR_FUNDING",
    "OTHER_FELLOWSHIP",
];
/// The original's `SpecialtyType`.
pub const SPECIALTY_TYPES: &[&str] = &["CURRICULUM", "POST", "PLACEMENT", "SUB_SPECIALTY"];

/// How TCS's catalogue entities answer: as the original (alert headers, `fieldErrors`), with
/// `PUT` needing an id, no `exists` route (the original had none).
pub(crate) fn tcs_crud(guards: Guards) -> Crud {
    Crud::new(guards)
        .original(crate::routes::APP)
        .upsert(false)
        .put_needs_id()
        .exists(Exists::Off)
}

/// The catalogue's routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let api = crud::routes_with::<TrainingNumberDto, Tcs>(
        api,
        &tcs_crud(TCS_GUARDS).check(training_number_format),
    );
    let api = crud::routes_with::<SpecialtyGroupDto, Tcs>(
        api,
        &tcs_crud(SPECIALTY_GROUP_GUARDS).check(specialty_group_name),
    );
    let lists: [(&str, &'static [&'static str], &'static str, &str); 3] = [
        (
            "assessment-types",
            ASSESSMENT_TYPES,
            "curriculum:view",
            "AssessmentType",
        ),
        (
            "curriculum-sub-types",
            CURRICULUM_SUB_TYPES,
            "curriculum:view",
            "CurriculumSubType",
        ),
        (
            "specialty-types",
            SPECIALTY_TYPES,
            "specialty:view",
            "SpecialtyType",
        ),
    ];
    lists
        .into_iter()
        .fold(api, |api, (path, values, authority, tag)| {
            api.add(
                Method::Get,
                &format!("{API}/{path}"),
                move || async move { Json(values) },
                Op::new(tag, "Every value, in the original's order")
                    .returns(200, Doc::Strings)
                    .guard(Guard::Authority(authority)),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_service_kit::entity::Entity;

    #[test]
    fn a_specialty_group_name_is_letters_digits_and_spaces() {
        let named = |n: &str| {
            let mut m = Map::new();
            m.insert("name".into(), Value::from(n));
            specialty_group_name(&m)
        };
        assert!(named("Medicine 2").is_empty());
        assert_eq!(named("Medicine & Surgery")[0].field, "name");
        assert!(specialty_group_name(&Map::new()).is_empty());
    }

    #[test]
    fn the_descriptors_name_existing_tables() {
        assert_eq!(TrainingNumberDto::desc().table, "training_number");
        assert_eq!(SpecialtyGroupDto::desc().table, "specialty_group");
    }
}
