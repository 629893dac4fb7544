//! The plain code/label lookups: `{id, code, label, status}` each (with the original's `uuid`
//! where its DTO had one), one line each; and the three small lists whose original DTOs differ
//! (`FundingIssue` has no label, `ConcernSource` only a name, `ConcernType` no status).

use uuid::Uuid;

use tis_service_kit::entity;

use crate::domain::{Kind, STATUS, Status};

/// Declares a code/label lookup with Reference's `Status`; `uuid` first gives it the
/// original's `uuid` (made by the service when a new record has none).
macro_rules! lookup {
    (uuid $(#[$meta:meta])* $dto:ident / $desc:ident, $name:literal, $plural:literal, $table:literal) => {
        entity! {
            $(#[$meta])*
            $dto / $desc { name: $name, plural: $plural, table: $table, id: i64 = Long, code: Some("code") }
            uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
            code "code": String => "code" (Kind::Text) .required() .all() .max(100);
            label "label": String => "label" (Kind::Text) .required() .all() .max(255);
            status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
        }
    };
    ($(#[$meta:meta])* $dto:ident / $desc:ident, $name:literal, $plural:literal, $table:literal) => {
        entity! {
            $(#[$meta])*
            $dto / $desc { name: $name, plural: $plural, table: $table, id: i64 = Long, code: Some("code") }
            code "code": String => "code" (Kind::Text) .required() .all() .max(100);
            label "label": String => "label" (Kind::Text) .required() .all() .max(255);
            status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
        }
    };
}

lookup!(uuid /** How a curriculum is assessed (ARCP, RITA…). */ AssessmentTypeDto / ASSESSMENT_TYPE, "AssessmentType", "assessment-types", "assessment_type");
lookup!(uuid /** Medical, dental, sub-specialty… */ CurriculumSubTypeDto / CURRICULUM_SUB_TYPE, "CurriculumSubType", "curriculum-sub-types", "curriculum_sub_type");
lookup!(uuid /** A General Dental Council registration status. */ GdcStatusDto / GDC_STATUS, "GdcStatus", "gdc-statuses", "gdc_status");
lookup!(uuid /** A General Medical Council registration status. */ GmcStatusDto / GMC_STATUS, "GmcStatus", "gmc-statuses", "gmc_status");
lookup!(uuid /** A gender. */ GenderDto / GENDER, "Gender", "genders", "gender");
lookup!(/** Why a person's record became inactive. */ InactiveReasonDto / INACTIVE_REASON, "InactiveReason", "inactive-reasons", "inactive_reason");
lookup!(/** Where a trainee went after leaving. */ LeavingDestinationDto / LEAVING_DESTINATION, "LeavingDestination", "leaving-destinations", "leaving_destination");
lookup!(/** Why a trainee left a programme. */ LeavingReasonDto / LEAVING_REASON, "LeavingReason", "leaving-reasons", "leaving_reason");
lookup!(uuid /** A marital status. */ MaritalStatusDto / MARITAL_STATUS, "MaritalStatus", "marital-statuses", "marital_status");
lookup!(uuid /** A medical school. */ MedicalSchoolDto / MEDICAL_SCHOOL, "MedicalSchool", "medical-schools", "medical_school");
lookup!(uuid /** A kind of organisation (NHS trust, GP practice…): a site's or a trust's `organizationType`. */ OrganizationTypeDto / ORGANIZATION_TYPE, "OrganizationType", "organization-types", "organization_type");
lookup!(uuid /** A right-to-work permit. */ PermitToWorkDto / PERMIT_TO_WORK, "PermitToWork", "permit-to-works", "permit_to_work");
lookup!(uuid /** In post, parental leave, out of programme… */ PlacementTypeDto / PLACEMENT_TYPE, "PlacementType", "placement-types", "placement_type");
lookup!(uuid /** Substantive, LAT, FTSTA… */ ProgrammeMembershipTypeDto / PROGRAMME_MEMBERSHIP_TYPE, "ProgrammeMembershipType", "programme-membership-types", "programme_membership_type");
lookup!(/** A recognised qualification. */ QualificationReferenceDto / QUALIFICATION_REFERENCE, "QualificationReference", "qualification-reference", "qualification_reference");
lookup!(/** Primary, postgraduate… */ QualificationTypeDto / QUALIFICATION_TYPE, "QualificationType", "qualification-types", "qualification_type");
lookup!(/** The kind of a person record. */ RecordTypeDto / RECORD_TYPE, "RecordType", "record-types", "record_type");
lookup!(uuid /** A religion or belief. */ ReligiousBeliefDto / RELIGIOUS_BELIEF, "ReligiousBelief", "religious-beliefs", "religious_belief");
lookup!(uuid /** Settled status. */ SettledDto / SETTLED, "Settled", "settleds", "settled");
lookup!(uuid /** A sexual orientation. */ SexualOrientationDto / SEXUAL_ORIENTATION, "SexualOrientation", "sexual-orientations", "sexual_orientation");
lookup!(/** A record status, as a lookup. */ StatusDto / STATUS_LOOKUP, "Status", "statuses", "record_status");
lookup!(uuid /** A title (Dr, Mr, Prof…). */ TitleDto / TITLE, "Title", "titles", "title");
lookup!(/** NTN or DRN. */ TrainingNumberTypeDto / TRAINING_NUMBER_TYPE, "TrainingNumberType", "training-number-types", "training_number_type");
lookup!(/** Where a revalidation connection came from. */ ConnectionSourceDto / CONNECTION_SOURCE, "ConnectionSource", "connection-sources", "connection_source");

entity! {
    /// A problem with a post's funding: a code, without a label (the original's
    /// `FundingIssueDTO`).
    FundingIssueDto / FUNDING_ISSUE { name: "FundingIssue", plural: "funding-issues", table: "funding_issue", id: i64 = Long, code: Some("code") }
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// Where a concern came from (the original's `ConcernSourceDto`: a name; served at
    /// `/sources`).
    ConcernSourceDto / CONCERN_SOURCE { name: "ConcernSource", plural: "concern-sources", table: "concern_source", id: i64 = Long, code: Some("name") }
    name "name": String => "name" (Kind::Text) .required() .all();
}

entity! {
    /// The kind of a concern (the original's `ConcernTypeDto`: a code and a label, no status).
    ConcernTypeDto / CONCERN_TYPE { name: "ConcernType", plural: "concern-types", table: "concern_type", id: i64 = Long, code: Some("code") }
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    label "label": String => "label" (Kind::Text) .required() .all() .max(255);
}
