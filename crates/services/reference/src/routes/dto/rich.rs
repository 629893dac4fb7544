//! The entities with their own shapes: sites, trusts, grades, designated bodies, local
//! offices and their contacts, countries, nationalities, colleges, person roles and their
//! categories, funding types, sub-types and reasons, tariff rates, rotations. Field names,
//! types and required fields follow the original's `reference-api` DTOs (HEAD): `uuid` where
//! they had one, `organizationType` as an `OrganizationTypeDto` object, a designated body's
//! `type` as a free string, Java's primitive booleans `false` when absent.

use uuid::Uuid;

use tis_service_kit::entity;

use super::lookups::{ORGANIZATION_TYPE, OrganizationTypeDto};
use crate::domain::{Kind, STATUS, Status};

entity! {
    /// A place where trainees work (a hospital, a practice), belonging to a trust.
    SiteDto / SITE { name: "Site", plural: "sites", table: "site", id: i64 = Long, code: Some("siteCode"), search_index: true, data_version: true }
    /// The site's code; not required by the original (nor unique among NULLs).
    site_code "siteCode": String => "site_code" (Kind::Text) .all() .max(50);
    site_name "siteName": String => "site_name" (Kind::Text) .all();
    site_known_as "siteKnownAs": String => "site_known_as" (Kind::Text) .all();
    site_number "siteNumber": String => "site_number" (Kind::Text) .sort() .filter() .max(50);
    address "address": String => "address" (Kind::Text) .search() .max(1000);
    post_code "postCode": String => "post_code" (Kind::Text) .all() .max(20);
    #[schema(format = Date)]
    start_date "startDate": String => "start_date" (Kind::Date) .sort() .filter();
    #[schema(format = Date)]
    end_date "endDate": String => "end_date" (Kind::Date) .sort() .filter();
    /// The local office's name.
    local_office "localOffice": String => "local_office" (Kind::Text) .all();
    trust_code "trustCode": String => "trust_code" (Kind::Text) .all() .lookup() .max(50);
    trust_id "trustId": i64 => "trust_id" (Kind::Long) .sort() .filter();
    organisational_unit "organisationalUnit": String => "organisational_unit" (Kind::Text) .sort() .filter();
    organization_type "organizationType": OrganizationTypeDto => "organization_type_id" (Kind::Ref(&ORGANIZATION_TYPE)) .filter();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
}

entity! {
    /// An NHS trust (an employing or training body).
    TrustDto / TRUST { name: "Trust", plural: "trusts", table: "trust", id: i64 = Long, code: Some("code") }
    /// The trust's code; not required by the original.
    code "code": String => "code" (Kind::Text) .all() .max(50);
    trust_name "trustName": String => "trust_name" (Kind::Text) .all();
    trust_known_as "trustKnownAs": String => "trust_known_as" (Kind::Text) .all();
    trust_number "trustNumber": String => "trust_number" (Kind::Text) .sort() .filter() .max(50);
    address "address": String => "address" (Kind::Text) .search() .max(1000);
    post_code "postCode": String => "post_code" (Kind::Text) .all() .max(20);
    local_office "localOffice": String => "local_office" (Kind::Text) .all();
    organization_type "organizationType": OrganizationTypeDto => "organization_type_id" (Kind::Ref(&ORGANIZATION_TYPE)) .filter();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
}

entity! {
    /// A grade of post or trainee (F1, ST3…).
    GradeDto / GRADE { name: "Grade", plural: "grades", table: "grade", id: i64 = Long, code: Some("abbreviation") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    /// The grade's code; not required by the original.
    abbreviation "abbreviation": String => "abbreviation" (Kind::Text) .all() .max(50);
    name "name": String => "name" (Kind::Text) .all();
    label "label": String => "label" (Kind::Text) .all();
    training_grade "trainingGrade": bool => "training_grade" (Kind::Bool) .defaults_false() .sort() .filter();
    post_grade "postGrade": bool => "post_grade" (Kind::Bool) .defaults_false() .sort() .filter();
    placement_grade "placementGrade": bool => "placement_grade" (Kind::Bool) .defaults_false() .sort() .filter();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
}

entity! {
    /// A designated body (revalidation), e.g. `1-AIIDWA`.
    DbcDto / DBC { name: "DBC", plural: "dbcs", table: "dbc", id: i64 = Long, code: Some("dbc") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    dbc "dbc": String => "dbc" (Kind::Text) .required() .all() .max(50);
    /// The name, which is also the name of the local office it maps to.
    name "name": String => "name" (Kind::Text) .required() .all();
    abbr "abbr": String => "abbr" (Kind::Text) .required() .all() .lookup() .max(50);
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    /// `DEANERY_LETB`, `NON_DEANERY_LETB`…: a free string, as in the original.
    r#type "type": String => "dbc_type" (Kind::Text) .required() .sort() .filter() .max(50);
    internal "internal": bool => "internal" (Kind::Bool) .defaults_false() .sort() .filter();
}

entity! {
    /// A local office (formerly a deanery or LETB).
    LocalOfficeDto / LOCAL_OFFICE { name: "LocalOffice", plural: "local-offices", table: "local_office", id: i64 = Long, code: Some("abbreviation") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    abbreviation "abbreviation": String => "abbreviation" (Kind::Text) .required() .all() .max(50);
    name "name": String => "name" (Kind::Text) .required() .all();
    post_abbreviation "postAbbreviation": String => "post_abbreviation" (Kind::Text) .required() .all() .max(50);
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// A kind of local-office contact (`TSS_SUPPORT`, `LTFT`…).
    LocalOfficeContactTypeDto / LOCAL_OFFICE_CONTACT_TYPE { name: "LocalOfficeContactType", plural: "local-office-contact-types", table: "local_office_contact_type", id: Uuid = Uuid, code: Some("code") }
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    label "label": String => "label" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// How to reach a local office for one purpose.
    LocalOfficeContactDto / LOCAL_OFFICE_CONTACT { name: "LocalOfficeContact", plural: "local-office-contacts", table: "local_office_contact", id: Uuid = Uuid, code: None }
    local_office "localOffice": LocalOfficeDto => "local_office_id" (Kind::Ref(&LOCAL_OFFICE)) .required() .filter();
    contact_type "contactType": LocalOfficeContactTypeDto => "contact_type_id" (Kind::Ref(&LOCAL_OFFICE_CONTACT_TYPE)) .required() .filter();
    contact "contact": String => "contact" (Kind::Text) .all() .max(1000);
}

entity! {
    /// A country.
    CountryDto / COUNTRY { name: "Country", plural: "countries", table: "country", id: i64 = Long, code: Some("nationality") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    country_number "countryNumber": String => "country_number" (Kind::Text) .required() .all() .max(50);
    /// The country's name (the original's column name).
    nationality "nationality": String => "nationality" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// A nationality.
    NationalityDto / NATIONALITY { name: "Nationality", plural: "nationalities", table: "nationality", id: i64 = Long, code: Some("nationality") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    country_number "countryNumber": String => "country_number" (Kind::Text) .required() .all() .max(50);
    nationality "nationality": String => "nationality" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// A medical royal college or faculty.
    CollegeDto / COLLEGE { name: "College", plural: "colleges", table: "college", id: i64 = Long, code: Some("abbreviation") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    abbreviation "abbreviation": String => "abbreviation" (Kind::Text) .required() .all() .max(50);
    name "name": String => "name" (Kind::Text) .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// A group of person roles (trainees, supervisors, administrators…).
    RoleCategoryDto / ROLE_CATEGORY { name: "RoleCategory", plural: "role-categories", table: "role_category", id: i64 = Long, code: Some("name") }
    name "name": String => "name" (Kind::Text) .required() .all();
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
}

entity! {
    /// A person's role in training (not a security role).
    RoleDto / ROLE { name: "Role", plural: "roles", table: "person_role", id: i64 = Long, code: Some("code") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    label "label": String => "label" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    role_category "roleCategory": RoleCategoryDto => "role_category_id" (Kind::Ref(&ROLE_CATEGORY)) .filter();
}

entity! {
    /// How a post is funded.
    FundingTypeDto / FUNDING_TYPE { name: "FundingType", plural: "funding-types", table: "funding_type", id: i64 = Long, code: Some("code") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    label "label": String => "label" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    allow_details "allowDetails": bool => "allow_details" (Kind::Bool) .defaults_false() .sort() .filter();
}

entity! {
    /// A finer kind of funding within a funding type.
    FundingSubTypeDto / FUNDING_SUB_TYPE { name: "FundingSubType", plural: "funding-sub-types", table: "funding_sub_type", id: Uuid = Uuid, code: None }
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    label "label": String => "label" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    funding_type "fundingType": FundingTypeDto => "funding_type_id" (Kind::Ref(&FUNDING_TYPE)) .required() .filter();
}

entity! {
    /// Why a post's funding changed.
    FundingReasonDto / FUNDING_REASON { name: "FundingReason", plural: "funding-reasons", table: "funding_reason", id: Uuid = Uuid, code: Some("reason") }
    reason "reason": String => "reason" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// The tariff paid for a grade.
    TariffRateDto / TARIFF_RATE { name: "TariffRate", plural: "tariff-rates", table: "tariff_rate", id: i64 = Long, code: None }
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    grade_id "gradeId": i64 => "grade_id" (Kind::Long) .sort() .filter();
    grade_abbreviation "gradeAbbreviation": String => "grade_abbreviation" (Kind::Text) .all() .max(50);
    tariff_rate "tariffRate": String => "tariff_rate" (Kind::Text) .sort() .max(50);
    tariff_rate_fringe "tariffRateFringe": String => "tariff_rate_fringe" (Kind::Text) .sort() .max(50);
    tariff_rate_london "tariffRateLondon": String => "tariff_rate_london" (Kind::Text) .sort() .max(50);
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// A rotation of a local office.
    RotationDto / ROTATION { name: "Rotation", plural: "rotations", table: "rotation", id: i64 = Long, code: Some("code") }
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    label "label": String => "label" (Kind::Text) .required() .all();
    local_office "localOffice": String => "local_office" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

entity! {
    /// An ethnic origin (a code only, as in the original).
    EthnicOriginDto / ETHNIC_ORIGIN { name: "EthnicOrigin", plural: "ethnic-origins", table: "ethnic_origin", id: i64 = Long, code: Some("code") }
    uuid "uuid": Uuid => "uuid" (Kind::Uuid) .generated();
    code "code": String => "code" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}
