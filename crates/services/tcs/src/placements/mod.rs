//! Placements: where each trainee works and when (TCS part 2), with the original's routes,
//! guards and DTOs (`PlacementResource`, `PlacementCommentResource`, the person and post
//! placement views), HEAD's lifecycle (draft and approved), and the overlap rules
//! ([`overlap`]) that the original only offered as a question.
//!
//! - [`placement`]: `/placements` (create, update, the list patch, read, delete, filter,
//!   close, overlapping, approve, draftList) and the programme/specialty view;
//! - [`views`]: a person's and a post's placements (`PlacementViewDTO`, `PlacementSummaryDTO`);
//! - [`comments`]: `/placementComment` (the original's camelCase paths);
//! - [`funders`]: `/placement-funders` (the original's `PlacementFunder` list);
//! - [`timeline`]: a trainee's memberships and placements as one dated list (beyond the original);
//! - [`overlap`]: the trainee and post rules, as pure functions.
//!
//! Scope: a placement follows its trainee and its post: it is seen by whoever may see its
//! trainee ([`Scope::restrict_people`]) or its post ([`Scope::restrict_posts`]). A trust admin sees
//! the people placed at their trusts, because every placement write re-derives its trainee's
//! `person_trust` rows from the trusts of their placements' posts (`post_trust`). A write
//! must name both a trainee and a post in the caller's scope.

pub mod comments;
pub mod funders;
pub mod overlap;
pub mod placement;
pub mod timeline;
pub mod views;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;
use tis_auth::Principal;
use tis_service_kit::ApiError;
use tis_service_kit::http::api::Api;
use tis_store::{Reader, Sql, StoreError, Tx};
use utoipa::ToSchema;

use crate::domain::scope::Scope;
use crate::memberships::person_in_scope;
use crate::people::refresh::When;
use crate::routes::Tcs;

/// Every placement route.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let api = placement::routes(api);
    let api = views::routes(api);
    let api = comments::routes(api);
    let api = funders::routes(api);
    timeline::routes(api)
}

/// A JSON list that may be sent as `null`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The original's `PlacementSpecialtyDTO`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementSpecialtyDto {
    pub placement_id: Option<i64>,
    /// Required: a TCS specialty.
    pub specialty_id: Option<i64>,
    /// PRIMARY, OTHER or SUB_SPECIALTY (at most one PRIMARY and one SUB_SPECIALTY).
    pub placement_specialty_type: Option<String>,
}

/// HEAD's `PlacementSiteDTO`: another site of the placement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementSiteDto {
    pub id: Option<i64>,
    pub placement_id: Option<i64>,
    /// Required: a Reference site.
    pub site_id: Option<i64>,
    /// PRIMARY or OTHER.
    pub placement_site_type: Option<String>,
}

/// The original's `PersonLiteDTO` of a supervisor: only `id` is read from a body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonLiteDto {
    pub id: Option<i64>,
    /// Forenames and surname, as the original's query joined them.
    pub name: Option<String>,
    pub public_health_number: Option<String>,
    pub gmc_number: Option<String>,
    pub gdc_number: Option<String>,
}

/// The original's `PlacementSupervisorDTO`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementSupervisorDto {
    /// Required: a person (by `id`).
    pub person: Option<PersonLiteDto>,
    /// The original's integer type of supervisor.
    pub r#type: Option<i64>,
    pub placement_id: Option<i64>,
}

/// The original's `PlacementCommentDTO` (and the comment a placement carries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementCommentDto {
    pub id: Option<i64>,
    pub placement_id: Option<i64>,
    /// Required; at most [`comments::MAX_COMMENT`] characters.
    pub body: Option<String>,
    /// Set by the server: the writer's user name.
    pub author: Option<String>,
    /// INTREPID, GENERIC_UPLOAD or TIS (the default).
    pub source: Option<String>,
    pub added_date: Option<String>,
    pub amended_date: Option<String>,
}

/// The original's `PlacementDetailsDTO` (HEAD): what `POST`/`PUT /placements` take and
/// `GET /placements/{id}` answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementDetailsDto {
    /// Null on create, required on update.
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    /// Required: a person in the caller's scope.
    pub trainee_id: Option<i64>,
    pub trainee_first_name: Option<String>,
    pub trainee_last_name: Option<String>,
    pub trainee_gmc_number: Option<String>,
    pub national_post_number: Option<String>,
    /// Required, `YYYY-MM-DD`.
    pub date_from: Option<String>,
    /// Not before `dateFrom`; none: open-ended (the original required it).
    pub date_to: Option<String>,
    /// 0 to 1, two decimals; none: whole time.
    pub whole_time_equivalent: Option<f64>,
    pub site_code: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub sites: Vec<PlacementSiteDto>,
    /// Required: a Reference site.
    pub site_id: Option<i64>,
    pub site_name: Option<String>,
    pub grade_abbreviation: Option<String>,
    /// Required: a Reference grade.
    pub grade_id: Option<i64>,
    pub grade_name: Option<String>,
    /// Required: a Reference placement type code.
    pub placement_type: Option<String>,
    /// The post's owner.
    pub owner: Option<String>,
    pub training_description: Option<String>,
    /// PAST, CURRENT or FUTURE, from the dates (read only).
    pub status: Option<String>,
    /// Required: a post the caller may place in.
    pub post_id: Option<i64>,
    pub local_post_number: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub specialties: Vec<PlacementSpecialtyDto>,
    pub added_date: Option<String>,
    pub amended_date: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub supervisors: Vec<PlacementSupervisorDto>,
    /// The latest comment (a write's first comment replaces its body).
    #[serde(default, deserialize_with = "nullable")]
    pub comments: Vec<PlacementCommentDto>,
    /// DRAFT or APPROVED: see docs/tcs.md "Placements".
    pub lifecycle_state: Option<String>,
    /// What the ESR interface reported (`esr-exported`), oldest first ([`crate::esr`]).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<Object>)]
    pub esr_events: Vec<Json>,
}

/// The original's `PlacementDTO` (what `PATCH /placements` takes and `GET /placements`
/// answers): the details' own fields, the whole time equivalent under its older name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementDto {
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    pub status: Option<String>,
    pub trainee_id: Option<i64>,
    pub post_id: Option<i64>,
    pub site_id: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub sites: Vec<PlacementSiteDto>,
    pub site_code: Option<String>,
    pub grade_id: Option<i64>,
    pub grade_abbreviation: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub specialties: Vec<PlacementSpecialtyDto>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub placement_type: Option<String>,
    pub placement_whole_time_equivalent: Option<f64>,
    pub training_description: Option<String>,
    pub local_post_number: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub supervisors: Vec<PlacementSupervisorDto>,
    #[serde(default, deserialize_with = "nullable")]
    pub comments: Vec<PlacementCommentDto>,
    pub lifecycle_state: Option<String>,
}

impl From<PlacementDetailsDto> for PlacementDto {
    fn from(d: PlacementDetailsDto) -> Self {
        PlacementDto {
            id: d.id,
            intrepid_id: d.intrepid_id,
            status: d.status,
            trainee_id: d.trainee_id,
            post_id: d.post_id,
            site_id: d.site_id,
            sites: d.sites,
            site_code: d.site_code,
            grade_id: d.grade_id,
            grade_abbreviation: d.grade_abbreviation,
            specialties: d.specialties,
            date_from: d.date_from,
            date_to: d.date_to,
            placement_type: d.placement_type,
            placement_whole_time_equivalent: d.whole_time_equivalent,
            training_description: d.training_description,
            local_post_number: d.local_post_number,
            supervisors: d.supervisors,
            comments: d.comments,
            lifecycle_state: d.lifecycle_state,
        }
    }
}

impl From<PlacementDto> for PlacementDetailsDto {
    fn from(d: PlacementDto) -> Self {
        PlacementDetailsDto {
            id: d.id,
            intrepid_id: d.intrepid_id,
            status: d.status,
            trainee_id: d.trainee_id,
            post_id: d.post_id,
            site_id: d.site_id,
            sites: d.sites,
            site_code: d.site_code,
            grade_id: d.grade_id,
            grade_abbreviation: d.grade_abbreviation,
            specialties: d.specialties,
            date_from: d.date_from,
            date_to: d.date_to,
            placement_type: d.placement_type,
            whole_time_equivalent: d.placement_whole_time_equivalent,
            training_description: d.training_description,
            local_post_number: d.local_post_number,
            supervisors: d.supervisors,
            comments: d.comments,
            lifecycle_state: d.lifecycle_state,
            ..PlacementDetailsDto::default()
        }
    }
}

/// A stored date (`YYYY-MM-DD`, as both backends return a `DATE`).
pub(crate) fn date_of(text: &str) -> Result<time::Date, ApiError> {
    tis_service_kit::entity::validate::parse_date(text)
        .ok_or_else(|| ApiError::Store(StoreError::Decode(format!("not a date: {text}"))))
}

/// PAST, CURRENT or FUTURE on `today` (an open-ended placement is never past).
pub(crate) fn status_of(
    from: time::Date,
    to: Option<time::Date>,
    today: time::Date,
) -> &'static str {
    When::of(from, to.unwrap_or(time::Date::MAX), today).as_str()
}

/// Whether `who` may see person `id`, read through `db`.
pub(crate) async fn person_visible(
    db: &Reader,
    who: &Principal,
    id: i64,
) -> Result<bool, ApiError> {
    Ok(db
        .fetch_optional(person_in_scope(id, &Scope::of(who)))
        .await?
        .is_some())
}

/// Appends ` AND (…)` restricting the placement rows aliased `pl` to those `scope` sees: its
/// trainee is in scope, or its post is.
pub(crate) fn restrict_placements(scope: &Scope, sql: &mut Sql, pl: &str) {
    if scope.is_everything() {
        return;
    }
    sql.push(&format!(
        " AND (EXISTS (SELECT 1 FROM person sp WHERE sp.id = {pl}.trainee_id"
    ));
    scope.restrict_people(sql, "sp");
    sql.push(&format!(
        ") OR EXISTS (SELECT 1 FROM post spo WHERE spo.id = {pl}.post_id"
    ));
    scope.restrict_posts(sql, "spo");
    sql.push("))");
}

/// Which of a person's (or a post's) placements current today is the current one: approved
/// before drafts, then the latest-starting.
const CURRENT_FIRST: &str = "pl.lifecycle_state, pl.date_from DESC, pl.id DESC";

/// [`refresh_person`]'s list row columns and [`refresh_post`]'s of everyone and every post
/// with a placement current on `today`, in two statements (bulk loads: the demo generator,
/// into list rows that have none yet; `person_trust` is not touched).
pub(crate) async fn refresh_all_current(tx: &mut Tx, today: time::Date) -> Result<(), StoreError> {
    let current = |q: &mut Sql| {
        q.push(" WHERE pl.date_from <= ")
            .bind(today)
            .push(" AND (pl.date_to IS NULL OR pl.date_to >= ")
            .bind(today)
            .push(")");
    };
    let mut q = Sql::new(&format!(
        "UPDATE person_view SET grade_id = c.grade_id, grade_abbreviation = c.grade_abbreviation, site_id = c.site_id, site_code = c.site_code, placement_type = c.placement_type FROM (SELECT pl.trainee_id, pl.grade_id, pl.grade_abbreviation, pl.site_id, pl.site_code, pl.placement_type, ROW_NUMBER() OVER (PARTITION BY pl.trainee_id ORDER BY {CURRENT_FIRST}) AS n FROM placement pl"
    ));
    current(&mut q);
    q.push(") AS c WHERE c.n = 1 AND person_view.id = c.trainee_id");
    tx.execute(q).await?;
    let mut q = Sql::new(&format!(
        "UPDATE post_view SET current_trainee_id = c.trainee_id, current_trainee_gmc_number = c.gmc_number, current_trainee_surname = c.surname, current_trainee_forenames = c.forenames FROM (SELECT pl.post_id, pl.trainee_id, gmc.gmc_number, cd.surname, cd.forenames, ROW_NUMBER() OVER (PARTITION BY pl.post_id ORDER BY {CURRENT_FIRST}) AS n FROM placement pl LEFT JOIN contact_details cd ON cd.id = pl.trainee_id LEFT JOIN gmc_details gmc ON gmc.id = pl.trainee_id"
    ));
    current(&mut q);
    q.push(") AS c WHERE c.n = 1 AND post_view.id = c.post_id");
    tx.execute(q).await?;
    Ok(())
}

/// Re-derives a person's `person_trust` rows in `tx`: the trusts of their placements' posts,
/// through which trust admins see them.
pub(crate) async fn refresh_person_trusts(tx: &mut Tx, person: i64) -> Result<(), StoreError> {
    let mut q = Sql::new("DELETE FROM person_trust WHERE person_id = ");
    q.bind(person);
    tx.execute(q).await?;
    let mut q = Sql::new(
        "INSERT INTO person_trust (person_id, trust_id, trust_code) SELECT DISTINCT pl.trainee_id, pt.trust_id, pt.trust_code FROM placement pl JOIN post_trust pt ON pt.post_id = pl.post_id WHERE pl.trainee_id = ",
    );
    q.bind(person);
    tx.execute(q).await?;
    Ok(())
}

/// The statement adding the trusts of post `post` to a person's `person_trust` rows, those
/// they do not have yet: all a new placement changes of them (one statement where
/// [`refresh_person_trusts`] takes two and reads every placement of the person).
pub(crate) fn person_trusts_added(person: i64, post: i64) -> Sql {
    let mut q =
        Sql::new("INSERT INTO person_trust (person_id, trust_id, trust_code) SELECT DISTINCT ");
    q.bind(person)
        .push(", pt.trust_id, pt.trust_code FROM post_trust pt WHERE pt.post_id = ")
        .bind(post)
        .push(" AND NOT EXISTS (SELECT 1 FROM person_trust x WHERE x.person_id = ")
        .bind(person)
        .push(" AND x.trust_id = pt.trust_id)");
    q
}

/// Re-derives the current placement's grade, site and type on a person's list row
/// (`person_view`) in `tx`.
pub(crate) async fn refresh_person_current(
    tx: &mut Tx,
    person: i64,
    today: time::Date,
) -> Result<(), StoreError> {
    let mut q = Sql::new(
        r#"SELECT pl.grade_id AS "gradeId", pl.grade_abbreviation AS "gradeAbbreviation", pl.site_id AS "siteId", pl.site_code AS "siteCode", pl.placement_type AS "placementType" FROM placement pl WHERE pl.trainee_id = "#,
    );
    q.bind(person)
        .push(" AND pl.date_from <= ")
        .bind(today)
        .push(" AND (pl.date_to IS NULL OR pl.date_to >= ")
        .bind(today)
        .push(&format!(") ORDER BY {CURRENT_FIRST} LIMIT 1"));
    let current = tx.fetch_optional(q).await?;
    let get = |k: &str| current.as_ref().and_then(|r| r.get(k)).cloned();
    let int = |k: &str| get(k).and_then(|v| v.as_i64());
    let text = |k: &str| get(k).and_then(|v| v.as_str().map(str::to_owned));
    let mut q = Sql::new("UPDATE person_view SET grade_id = ");
    q.bind(int("gradeId"))
        .push(", grade_abbreviation = ")
        .bind(text("gradeAbbreviation"))
        .push(", site_id = ")
        .bind(int("siteId"))
        .push(", site_code = ")
        .bind(text("siteCode"))
        .push(", placement_type = ")
        .bind(text("placementType"))
        .push(" WHERE id = ")
        .bind(person);
    tx.execute(q).await?;
    Ok(())
}

/// Re-derives the `person_trust` rows of everyone placed in post `post` (the trusts of all
/// their placements' posts), in `tx`: what a change of the post's trusts (its sites) changes
/// of who a trust admin sees. Set-based: one delete and one insert, whatever the number of
/// people.
pub(crate) async fn refresh_post_people(tx: &mut Tx, post: i64) -> Result<(), StoreError> {
    let placed = "SELECT pp.trainee_id FROM placement pp WHERE pp.post_id = ";
    let mut q = Sql::new(&format!(
        "DELETE FROM person_trust WHERE person_id IN ({placed}"
    ));
    q.bind(post).push(")");
    tx.execute(q).await?;
    let mut q = Sql::new(&format!(
        "INSERT INTO person_trust (person_id, trust_id, trust_code) SELECT DISTINCT pl.trainee_id, pt.trust_id, pt.trust_code FROM placement pl JOIN post_trust pt ON pt.post_id = pl.post_id WHERE pl.trainee_id IN ({placed}"
    ));
    q.bind(post).push(")");
    tx.execute(q).await?;
    Ok(())
}

/// Re-derives the current trainee of post `post` on its list row (`post_view`), in `tx`;
/// writes the row only when the trainee changed. Most placement writes (every future or past
/// placement) do not change it, and a write of `post_view` bumps the post list's data version
/// (migration 0011), one row every writer of `post_view` locks until it commits: on
/// PostgreSQL an unconditional update serialised every placement create on that row
/// (173 creates a second, p50 1 s, in bench/tcs.sh's create mix).
pub(crate) async fn refresh_post(
    tx: &mut Tx,
    post: i64,
    today: time::Date,
) -> Result<(), StoreError> {
    let mut q = Sql::new(
        r#"SELECT pl.trainee_id AS "traineeId", gmc.gmc_number AS "gmcNumber", cd.surname AS "surname", cd.forenames AS "forenames" FROM placement pl LEFT JOIN contact_details cd ON cd.id = pl.trainee_id LEFT JOIN gmc_details gmc ON gmc.id = pl.trainee_id WHERE pl.post_id = "#,
    );
    q.bind(post)
        .push(" AND pl.date_from <= ")
        .bind(today)
        .push(" AND (pl.date_to IS NULL OR pl.date_to >= ")
        .bind(today)
        .push(&format!(") ORDER BY {CURRENT_FIRST} LIMIT 1"));
    let current = tx.fetch_optional(q).await?;
    let get = |k: &str| current.as_ref().and_then(|r| r.get(k)).cloned();
    let text = |k: &str| get(k).and_then(|v| v.as_str().map(str::to_owned));
    let mut q = Sql::new(
        r#"SELECT current_trainee_id AS "traineeId", current_trainee_gmc_number AS "gmcNumber", current_trainee_surname AS "surname", current_trainee_forenames AS "forenames" FROM post_view WHERE id = "#,
    );
    q.bind(post);
    if let Some(shown) = tx.fetch_optional(q).await? {
        let field = |k: &str| shown.get(k).cloned().unwrap_or(Json::Null);
        let unchanged = ["traineeId", "gmcNumber", "surname", "forenames"]
            .iter()
            .all(|k| field(k) == get(k).unwrap_or(Json::Null));
        if unchanged {
            return Ok(());
        }
    }
    let mut q = Sql::new("UPDATE post_view SET current_trainee_id = ");
    q.bind(get("traineeId").and_then(|v| v.as_i64()))
        .push(", current_trainee_gmc_number = ")
        .bind(text("gmcNumber"))
        .push(", current_trainee_surname = ")
        .bind(text("surname"))
        .push(", current_trainee_forenames = ")
        .bind(text("forenames"))
        .push(" WHERE id = ")
        .bind(post);
    tx.execute(q).await?;
    Ok(())
}
