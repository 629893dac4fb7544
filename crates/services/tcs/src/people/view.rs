//! The people list: one row per person (the original's `PersonViewDTO`), searched, filtered,
//! sorted and paged over the `person_view` table, within the caller's scope.
//!
//! `person_view` holds each person's list row, rewritten in the transaction of every write
//! that changes it ([`super::refresh`]), so that a search is one indexed query over one
//! table instead of the original's nine-way join. What the list answers:
//!
//! - `searchQuery`: case-insensitive *contains* over the public health number, surname,
//!   forenames, GMC and GDC numbers and role (the original's SQL path), and the person's id
//!   when the query is digits. Three characters or more use the engine's trigram structure
//!   (an FTS5 trigram table on SQLite, a pg_trgm index on PostgreSQL); shorter queries scan.
//! - `columnFilters`: `programmeName`, `gradeId`, `specialty`, `placementType`, `siteId`,
//!   `role`, `currentOwner`, `status` (the original's eight), `programmeMembershipStatus` and
//!   `trainingNumber` (its Elasticsearch path filtered on any indexed field; a training number
//!   finds its trainee, exactly, as `searchQuery` does not look at training numbers); any other
//!   key is a 400 naming it.
//! - `sort`: any column of the row by its JSON name (the original pasted the value into SQL);
//!   then the id, so pages are stable. Default: by id.
//! - Paging: the original's "basic" headers: `Link` with only `next`, no `X-Total-Count` (the
//!   page is fetched with one row more to know whether there is a next one).

use tis_service_kit::entity::{Kind, STATUS, Status};

/// The original's `ProgrammeMembershipStatus`.
pub const PROGRAMME_MEMBERSHIP_STATUS: &[&str] = &["PAST", "CURRENT", "FUTURE"];

tis_service_kit::entity! {
    /// One person as the people list shows them (`PersonViewDTO`).
    PersonViewDto / PERSON_VIEW { name: "PersonView", plural: "people", table: "person_view", id: i64 = Long, code: None }
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .sort();
    surname "surname": String => "surname" (Kind::Text) .sort();
    forenames "forenames": String => "forenames" (Kind::Text) .sort();
    gmc_number "gmcNumber": String => "gmc_number" (Kind::Text) .sort();
    gdc_number "gdcNumber": String => "gdc_number" (Kind::Text) .sort();
    public_health_number "publicHealthNumber": String => "public_health_number" (Kind::Text) .sort();
    programme_id "programmeId": i64 => "programme_id" (Kind::Long) .sort();
    programme_name "programmeName": String => "programme_name" (Kind::Text) .sort() .filter();
    programme_number "programmeNumber": String => "programme_number" (Kind::Text) .sort();
    programme_membership_status "programmeMembershipStatus": String => "programme_membership_status" (Kind::Enum(PROGRAMME_MEMBERSHIP_STATUS)) .sort() .filter();
    training_number "trainingNumber": String => "training_number" (Kind::Text) .sort() .filter();
    grade_id "gradeId": i64 => "grade_id" (Kind::Long) .sort() .filter();
    grade_abbreviation "gradeAbbreviation": String => "grade_abbreviation" (Kind::Text) .sort();
    site_id "siteId": i64 => "site_id" (Kind::Long) .sort() .filter();
    site_code "siteCode": String => "site_code" (Kind::Text) .sort();
    placement_type "placementType": String => "placement_type" (Kind::Text) .sort() .filter();
    specialty "specialty": String => "specialty" (Kind::Text) .sort() .filter();
    role "role": String => "role" (Kind::Text) .sort() .filter();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    current_owner "currentOwner": String => "current_owner" (Kind::Text) .sort() .filter();
    current_owner_rule "currentOwnerRule": String => "current_owner_rule" (Kind::Text) .sort();
}
