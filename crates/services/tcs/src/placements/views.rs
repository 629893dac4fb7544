//! A person's and a post's placements, as the original's `PersonResource` and
//! `PostResource` served them:
//!
//! | route | guard | answer |
//! |---|---|---|
//! | `GET /people/{id}/placements`, `/people/gmc/{gmcId}/placements` | person View | `PlacementViewDTO`s, latest first |
//! | `GET /people/{id}/placements/new`, `/people/gmc/{gmcId}/placements/new` | person View | `PlacementSummaryDTO`s |
//! | `GET /posts/{id}/placements` | `post:view` | `PlacementViewDTO`s |
//! | `GET /posts/{postId}/placements/new` | `post:view` | `PlacementSummaryDTO`s (at most 1,000) |
//!
//! A person or post unknown or out of the caller's scope is 404 (the original: an empty list).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tis_auth::Authenticated;
use tis_service_kit::ApiError;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_store::Sql;
use utoipa::ToSchema;

use super::{PlacementDetailsDto, date_of, status_of};
use crate::domain::scope::Scope;
use crate::memberships::{number, person_in_scope, today};
use crate::routes::{API, PERSON_VIEW_GUARD, Tcs};

const POST_VIEW: Guard = Guard::Authority("post:view");
/// The original's cap on a post's summaries.
const MAX_SUMMARIES: usize = 1000;

/// The original's `PlacementViewDTO`: a placement in a list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementViewDto {
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    pub status: Option<String>,
    pub trainee_id: Option<i64>,
    pub trainee_first_name: Option<String>,
    pub trainee_last_name: Option<String>,
    pub trainee_gmc_number: Option<String>,
    pub post_id: Option<i64>,
    pub site_id: Option<i64>,
    pub site_code: Option<String>,
    pub site_name: Option<String>,
    pub grade_id: Option<i64>,
    pub grade_abbreviation: Option<String>,
    pub grade_name: Option<String>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub placement_type: Option<String>,
    pub lifecycle_state: Option<String>,
}

impl From<PlacementDetailsDto> for PlacementViewDto {
    fn from(d: PlacementDetailsDto) -> Self {
        PlacementViewDto {
            id: d.id,
            intrepid_id: d.intrepid_id,
            status: d.status,
            trainee_id: d.trainee_id,
            trainee_first_name: d.trainee_first_name,
            trainee_last_name: d.trainee_last_name,
            trainee_gmc_number: d.trainee_gmc_number,
            post_id: d.post_id,
            site_id: d.site_id,
            site_code: d.site_code,
            site_name: d.site_name,
            grade_id: d.grade_id,
            grade_abbreviation: d.grade_abbreviation,
            grade_name: d.grade_name,
            date_from: d.date_from,
            date_to: d.date_to,
            placement_type: d.placement_type,
            lifecycle_state: d.lifecycle_state,
        }
    }
}

/// The original's `PlacementSummaryDTO`: a placement with its trainee's names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementSummaryDto {
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub site_id: Option<i64>,
    pub site_name: Option<String>,
    pub primary_specialty_name: Option<String>,
    pub grade_id: Option<i64>,
    pub grade_name: Option<String>,
    pub placement_type: Option<String>,
    /// The trainee's record status.
    pub status: Option<String>,
    pub forenames: Option<String>,
    pub legalforenames: Option<String>,
    pub surname: Option<String>,
    pub legalsurname: Option<String>,
    pub trainee_id: Option<i64>,
    pub email: Option<String>,
    pub grade_abbreviation: Option<String>,
    pub placement_id: Option<i64>,
    /// PAST, CURRENT or FUTURE.
    pub placement_status: Option<String>,
    pub placement_specialty_type: Option<String>,
    pub placement_whole_time_equivalent: Option<f64>,
    pub national_post_number: Option<String>,
    /// DRAFT or APPROVED (beyond the original's summary).
    pub lifecycle_state: Option<String>,
}

const SUMMARY: &str = r#"SELECT pl.date_from AS "dateFrom", pl.date_to AS "dateTo", pl.site_id AS "siteId", s.name AS "primarySpecialtyName", pl.grade_id AS "gradeId", pl.placement_type AS "placementType", p.status AS "status", cd.forenames AS "forenames", cd.legal_forenames AS "legalforenames", cd.surname AS "surname", cd.legal_surname AS "legalsurname", pl.trainee_id AS "traineeId", cd.email AS "email", pl.grade_abbreviation AS "gradeAbbreviation", pl.id AS "placementId", ps.placement_specialty_type AS "placementSpecialtyType", pl.whole_time_equivalent AS "placementWholeTimeEquivalent", po.national_post_number AS "nationalPostNumber", pl.lifecycle_state AS "lifecycleState" FROM placement pl JOIN person p ON p.id = pl.trainee_id JOIN post po ON po.id = pl.post_id LEFT JOIN contact_details cd ON cd.id = pl.trainee_id LEFT JOIN placement_specialty ps ON ps.placement_id = pl.id AND ps.placement_specialty_type = 'PRIMARY' LEFT JOIN specialty s ON s.id = ps.specialty_id WHERE 1 = 1"#;

/// The routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let views = || Doc::Many("PlacementViewDto".into());
    let summaries = || Doc::Many("PlacementSummaryDto".into());
    let tag = "Placement";
    api.schema::<PlacementViewDto>()
        .schema::<PlacementSummaryDto>()
        .add(
            Method::Get,
            &format!("{API}/people/{{id}}/placements"),
            view::<PERSON, false>,
            Op::new(tag, "A person's placements")
                .path("id")
                .returns(200, views())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/{{id}}/placements/new"),
            view::<PERSON, true>,
            Op::new(tag, "A person's placements, summarised")
                .path("id")
                .returns(200, summaries())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/gmc/{{gmcId}}/placements"),
            view::<GMC, false>,
            Op::new(tag, "The placements of the person with a GMC number")
                .path("gmcId")
                .returns(200, views())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/gmc/{{gmcId}}/placements/new"),
            view::<GMC, true>,
            Op::new(
                tag,
                "The placements of the person with a GMC number, summarised",
            )
            .path("gmcId")
            .returns(200, summaries())
            .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/posts/{{id}}/placements"),
            view::<POST, false>,
            Op::new(tag, "A post's placements")
                .path("id")
                .returns(200, views())
                .guard(POST_VIEW),
        )
        .add(
            Method::Get,
            &format!("{API}/posts/{{postId}}/placements/new"),
            view::<POST, true>,
            Op::new(tag, "A post's placements, summarised")
                .path("postId")
                .returns(200, summaries())
                .guard(POST_VIEW),
        )
}

/// Which placements a view lists.
#[derive(Debug, Clone, Copy)]
enum Of {
    Person(i64),
    Post(i64),
}

impl Of {
    fn column(self) -> (&'static str, i64) {
        match self {
            Of::Person(id) => ("pl.trainee_id", id),
            Of::Post(id) => ("pl.post_id", id),
        }
    }
}

/// The id of the person `raw` names (by id, or by GMC number when `gmc`) within `who`'s
/// scope, or 404.
async fn person(tcs: &Tcs, scope: &Scope, raw: &str, gmc: bool) -> Result<Of, ApiError> {
    let db = tcs.kit.repo.db().read();
    let q = if gmc {
        let mut q = Sql::new(
            "SELECT p.id AS \"id\" FROM person p JOIN gmc_details g ON g.id = p.id WHERE g.gmc_number = ",
        );
        q.bind(raw.trim().to_owned());
        scope.restrict_people(&mut q, "p");
        q
    } else {
        person_in_scope(number("id", raw)?, scope)
    };
    db.fetch_optional(q)
        .await?
        .and_then(|r| r.get("id").and_then(Json::as_i64))
        .map(Of::Person)
        .ok_or_else(|| ApiError::NotFound(format!("no person {raw}")))
}

/// Post `raw` within `scope`, or 404.
async fn post(tcs: &Tcs, scope: &Scope, raw: &str) -> Result<Of, ApiError> {
    let id = number("id", raw)?;
    let mut q = Sql::new("SELECT po.id AS \"id\" FROM post po WHERE po.id = ");
    q.bind(id);
    scope.restrict_posts(&mut q, "po");
    match tcs.kit.repo.db().read().fetch_optional(q).await? {
        Some(_) => Ok(Of::Post(id)),
        None => Err(ApiError::NotFound(format!("no post with id {id}"))),
    }
}

/// A placement as a list shows it: the placement's own columns and its trainee's names, in
/// one statement (the whole placement's children, which [`super::placement::load`] reads in five more, are not
/// part of a view).
const VIEW: &str = r#"SELECT pl.id AS "id", pl.intrepid_id AS "intrepidId", pl.trainee_id AS "traineeId", cd.forenames AS "traineeFirstName", cd.surname AS "traineeLastName", gmc.gmc_number AS "traineeGmcNumber", pl.post_id AS "postId", pl.site_id AS "siteId", pl.site_code AS "siteCode", pl.grade_id AS "gradeId", pl.grade_abbreviation AS "gradeAbbreviation", pl.date_from AS "dateFrom", pl.date_to AS "dateTo", pl.placement_type AS "placementType", pl.lifecycle_state AS "lifecycleState" FROM placement pl JOIN post po ON po.id = pl.post_id LEFT JOIN contact_details cd ON cd.id = pl.trainee_id LEFT JOIN gmc_details gmc ON gmc.id = pl.trainee_id WHERE "#;

/// The placements of `of`, latest first, as views. `of` is in the caller's scope already
/// ([`person`], [`post`]), and a placement is visible to whoever sees its person or its post
/// ([`super::restrict_placements`]): every placement of `of` is.
async fn views(tcs: &Tcs, of: Of) -> Result<Response, ApiError> {
    let (column, id) = of.column();
    let mut q = Sql::new(VIEW);
    q.push(column).push(" = ").bind(id);
    q.push(" ORDER BY pl.date_from DESC, pl.id DESC");
    let today = today();
    let mut items: Vec<PlacementViewDto> = tcs.kit.repo.db().read().fetch_all_as(q).await?;
    for v in &mut items {
        if let Some(from) = v.date_from.as_deref() {
            let to = v.date_to.as_deref().map(date_of).transpose()?;
            v.status = Some(status_of(date_of(from)?, to, today).to_owned());
        }
    }
    Ok(axum::Json(items).into_response())
}

/// The placements of `of` (in scope, as for [`views`]), latest first, summarised.
async fn summaries(tcs: &Tcs, of: Of) -> Result<Response, ApiError> {
    let (column, id) = of.column();
    let mut q = Sql::new(SUMMARY);
    q.push(" AND ").push(column).push(" = ").bind(id);
    q.push(" ORDER BY pl.date_from DESC, pl.id DESC LIMIT ");
    q.push(&MAX_SUMMARIES.to_string());
    let today = today();
    let mut items: Vec<PlacementSummaryDto> = tcs.kit.repo.db().read().fetch_all_as(q).await?;
    for s in &mut items {
        if let Some(from) = s.date_from.as_deref() {
            let to = s.date_to.as_deref().map(date_of).transpose()?;
            s.placement_status = Some(status_of(date_of(from)?, to, today).to_owned());
        }
    }
    Ok(axum::Json(items).into_response())
}

/// Whom a view's path names: a person by id, a person by GMC number, or a post.
const PERSON: u8 = 0;
const GMC: u8 = 1;
const POST: u8 = 2;

/// `GET /people/{id}/placements[/new]`, `/people/gmc/{gmcId}/placements[/new]`,
/// `/posts/{id}/placements[/new]`: the placements of whom `BY` names, as views or (`SUMMARY`)
/// summaries.
async fn view<const BY: u8, const SUMMARY: bool>(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let scope = Scope::of(&who);
    let of = match BY {
        PERSON => person(&tcs, &scope, &raw, false).await?,
        GMC => person(&tcs, &scope, &raw, true).await?,
        _ => post(&tcs, &scope, &raw).await?,
    };
    if SUMMARY {
        summaries(&tcs, of).await
    } else {
        views(&tcs, of).await
    }
}
