#![allow(dead_code)]
//! Entities for the kit's own unit tests: copies of a few of Reference's (a site with dates
//! and a status, a grade with required booleans, contacts referring to other types by id), so
//! that the generic code is tested on the shapes it really serves.

use uuid::Uuid;

use crate::entity::{Kind, STATUS, Status};

crate::entity! {
    /// A place where trainees work (a hospital, a practice), belonging to a trust.
    SiteDto / SITE { name: "Site", plural: "sites", table: "site", id: i64 = Long, code: Some("siteCode"), search_index: true, data_version: true }
    site_code "siteCode": String => "site_code" (Kind::Text) .required() .all() .max(50);
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
    trust_code "trustCode": String => "trust_code" (Kind::Text) .all() .max(50);
    trust_id "trustId": i64 => "trust_id" (Kind::Long) .sort() .filter();
    organisational_unit "organisationalUnit": String => "organisational_unit" (Kind::Text) .sort() .filter();
    organization_type "organizationType": String => "organization_type" (Kind::Text) .sort() .filter();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
}

crate::entity! {
    /// A grade of post or trainee (F1, ST3…).
    GradeDto / GRADE { name: "Grade", plural: "grades", table: "grade", id: i64 = Long, code: Some("abbreviation") }
    abbreviation "abbreviation": String => "abbreviation" (Kind::Text) .required() .all() .max(50);
    name "name": String => "name" (Kind::Text) .all();
    label "label": String => "label" (Kind::Text) .all();
    training_grade "trainingGrade": bool => "training_grade" (Kind::Bool) .required() .sort() .filter();
    post_grade "postGrade": bool => "post_grade" (Kind::Bool) .required() .sort() .filter();
    placement_grade "placementGrade": bool => "placement_grade" (Kind::Bool) .required() .sort() .filter();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
}

crate::entity! {
    /// A local office (formerly a deanery or LETB).
    LocalOfficeDto / LOCAL_OFFICE { name: "LocalOffice", plural: "local-offices", table: "local_office", id: i64 = Long, code: Some("abbreviation") }
    abbreviation "abbreviation": String => "abbreviation" (Kind::Text) .required() .all() .max(50);
    name "name": String => "name" (Kind::Text) .required() .all();
    post_abbreviation "postAbbreviation": String => "post_abbreviation" (Kind::Text) .all() .max(50);
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
}

crate::entity! {
    /// A kind of local-office contact (`TSS_SUPPORT`, `LTFT`…).
    LocalOfficeContactTypeDto / LOCAL_OFFICE_CONTACT_TYPE { name: "LocalOfficeContactType", plural: "local-office-contact-types", table: "local_office_contact_type", id: Uuid = Uuid, code: Some("code") }
    code "code": String => "code" (Kind::Text) .required() .all() .max(100);
    label "label": String => "label" (Kind::Text) .required() .all();
}

crate::entity! {
    /// How to reach a local office for one purpose.
    LocalOfficeContactDto / LOCAL_OFFICE_CONTACT { name: "LocalOfficeContact", plural: "local-office-contacts", table: "local_office_contact", id: Uuid = Uuid, code: None }
    local_office "localOffice": LocalOfficeDto => "local_office_id" (Kind::Ref(&LOCAL_OFFICE)) .required() .filter();
    contact_type "contactType": LocalOfficeContactTypeDto => "contact_type_id" (Kind::Ref(&LOCAL_OFFICE_CONTACT_TYPE)) .required() .filter();
    contact "contact": String => "contact" (Kind::Text) .all() .max(1000);
}
