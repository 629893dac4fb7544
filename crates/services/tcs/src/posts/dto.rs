//! The wire shapes of posts: the original's `PostDTO` with what it nests (`PostSiteDTO`,
//! `PostGradeDTO`, `PostSpecialtyDTO`, `ProgrammeDTO`, `PostFundingDTO`), the list's
//! `PostViewDTO` (an entity over `post_view`, so the kit parses its `columnFilters` and
//! `sort`), `PostEsrDTO` and `RotationPostDTO`.

use serde::{Deserialize, Serialize};
use tis_service_kit::entity;
use tis_service_kit::entity::{Field, Kind, STATUS, Status};
use utoipa::ToSchema;

use crate::programmes::programme::ProgrammeDto;
use crate::programmes::specialties::SpecialtyDto;

/// The original's `PostSiteType`.
pub const POST_SITE_TYPES: &[&str] = &["PRIMARY", "OTHER"];
/// The original's `PostGradeType`.
pub const POST_GRADE_TYPES: &[&str] = &["APPROVED", "OTHER"];
/// The original's `PostSpecialtyType`.
pub const POST_SPECIALTY_TYPES: &[&str] = &["PRIMARY", "OTHER", "SUB_SPECIALTY"];

/// Another post named by a post (`oldPost`, `newPost`): the original nested a whole
/// `PostDTO`; we answer its id and number and read only its id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostLink {
    pub id: Option<i64>,
    pub national_post_number: Option<String>,
}

/// A site of a post: a Reference site id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostSiteDto {
    pub id: Option<i64>,
    pub post_id: Option<i64>,
    pub site_id: Option<i64>,
    /// `PRIMARY` or `OTHER`.
    pub post_site_type: Option<String>,
}

/// A grade of a post: a Reference grade id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostGradeDto {
    pub id: Option<i64>,
    pub post_id: Option<i64>,
    pub grade_id: Option<i64>,
    /// `APPROVED` or `OTHER`.
    pub post_grade_type: Option<String>,
}

/// A specialty of a post: TCS's specialty, nested whole on read (only its `id` is read on
/// write).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostSpecialtyDto {
    pub id: Option<i64>,
    pub post_id: Option<i64>,
    pub specialty: Option<SpecialtyDto>,
    /// `PRIMARY`, `OTHER` or `SUB_SPECIALTY`.
    pub post_specialty_type: Option<String>,
}

/// The original's `PostFundingDTO`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostFundingDto {
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    /// A Reference funding type's code (`TARIFF`, `TRUST`…).
    pub funding_type: Option<String>,
    pub info: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub funding_body_id: Option<String>,
    pub post_id: Option<i64>,
    #[serde(default)]
    pub message_list: Vec<String>,
}

/// The original's `PostDTO`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostDto {
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    /// `LO/SITE/SPECIALTY/GRADE/NNN[/SUFFIX]`, unique; made from the post when absent.
    pub national_post_number: Option<String>,
    pub status: Option<Status>,
    /// `SUPERNUMERY`, `MILITARY` or `ACADEMIC`.
    pub suffix: Option<String>,
    /// Required: a local office name (`North West London`), one the caller owns.
    pub owner: Option<String>,
    pub post_family: Option<String>,
    pub old_post: Option<PostLink>,
    pub new_post: Option<PostLink>,
    pub sites: Option<Vec<PostSiteDto>>,
    /// Required: a Reference trust id.
    pub employing_body_id: Option<i64>,
    /// Required: a Reference trust id.
    pub training_body_id: Option<i64>,
    pub grades: Option<Vec<PostGradeDto>>,
    pub specialties: Option<Vec<PostSpecialtyDto>>,
    pub training_description: Option<String>,
    pub local_post_number: Option<String>,
    /// The post's placements: served by the placements' own routes; `[]` here.
    pub placement_history: Option<Vec<serde_json::Value>>,
    /// Required (may be empty): the programmes, whole on read, by `id` on write.
    pub programmes: Option<Vec<ProgrammeDto>>,
    /// Required, at least one (HEAD's `@NotEmpty`).
    pub fundings: Option<Vec<PostFundingDto>>,
    /// Keep the number as sent (never make one).
    #[serde(default, rename = "bypassNPNGeneration")]
    pub bypass_npn_generation: bool,
    /// HEAD's ESR positions this post holds: of each ESR position's latest events
    /// (`v_PostEsrLatestEvent`), the RECONCILED ones of this post. Answered by
    /// `GET /posts/{id}` only, as the original's `findOne`; `null` elsewhere, ignored on write.
    pub current_reconciled_events: Option<Vec<crate::esr::PostEsrEventDto>>,
}

entity! {
    /// A row of the post list (the original's `PostViewDTO`), from `post_view`.
    PostViewDto / POST_VIEW { name: "PostView", plural: "posts", table: "post_view", id: i64 = Long, code: None, search_index: true, data_version: true }
    current_trainee_id "currentTraineeId": i64 => "current_trainee_id" (Kind::Long) .sort() .filter();
    current_trainee_gmc_number "currentTraineeGmcNumber": String => "current_trainee_gmc_number" (Kind::Text) .sort() .filter();
    current_trainee_surname "currentTraineeSurname": String => "current_trainee_surname" (Kind::Text) .sort() .filter();
    current_trainee_forenames "currentTraineeForenames": String => "current_trainee_forenames" (Kind::Text) .sort() .filter();
    national_post_number "nationalPostNumber": String => "national_post_number" (Kind::Text) .sort() .filter();
    primary_site_id "primarySiteId": i64 => "primary_site_id" (Kind::Long) .sort() .filter();
    primary_site_code "primarySiteCode": String => "primary_site_code" (Kind::Text) .sort() .filter();
    primary_site_name "primarySiteName": String => "primary_site_name" (Kind::Text) .sort() .filter();
    primary_site_known_as "primarySiteKnownAs": String => "primary_site_known_as" (Kind::Text) .sort() .filter();
    approved_grade_id "approvedGradeId": i64 => "approved_grade_id" (Kind::Long) .sort() .filter();
    approved_grade_code "approvedGradeCode": String => "approved_grade_code" (Kind::Text) .sort() .filter();
    approved_grade_name "approvedGradeName": String => "approved_grade_name" (Kind::Text) .sort() .filter();
    primary_specialty_id "primarySpecialtyId": i64 => "primary_specialty_id" (Kind::Long) .sort() .filter();
    primary_specialty_code "primarySpecialtyCode": String => "primary_specialty_code" (Kind::Text) .sort() .filter();
    primary_specialty_name "primarySpecialtyName": String => "primary_specialty_name" (Kind::Text) .sort() .filter();
    programme_names "programmeNames": String => "programme_names" (Kind::Text) .sort() .filter();
    status "status": Status => "status" (Kind::Enum(STATUS)) .sort() .filter();
    funding_type "fundingType": String => "funding_type" (Kind::Text) .sort() .filter();
    owner "owner": String => "owner" (Kind::Text) .sort() .filter();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .sort() .filter();
}

/// What `searchQuery` over posts looks in: `post_view.search_text`, the number, the primary
/// site's code and name, the primary specialty's name and the programmes' names, lower case.
pub static SEARCH_TEXT: Field = Field::new("searchText", "search_text", Kind::Text).search();

/// The original's `PostEsrDTO`: what ESR was sent about a post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostEsrDto {
    pub id: Option<i64>,
    pub national_post_number: Option<String>,
    pub status: Option<Status>,
    pub owner: Option<String>,
}

/// The original's `RotationPostDTO`: a post in a rotation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotationPostDto {
    pub id: Option<i64>,
    pub post_id: Option<i64>,
    pub rotation_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use tis_service_kit::entity::ddl::check_data_version_migration;
    use tis_store::Backend;

    use super::POST_VIEW;

    /// Migration 0011 is the post list's data version as the kit writes it.
    #[test]
    fn the_post_list_data_version_migration_matches_the_descriptor() {
        for (backend, file) in [
            (
                Backend::Sqlite,
                "migrations/sqlite/0011_post_view_version.sql",
            ),
            (
                Backend::Postgres,
                "migrations/postgres/0011_post_view_version.sql",
            ),
        ] {
            check_data_version_migration(&[&POST_VIEW], backend, env!("CARGO_MANIFEST_DIR"), file);
        }
    }
}
