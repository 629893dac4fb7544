//! `/placements`, as the original's `PlacementResource` (HEAD) served it:
//!
//! | route | guard | answer |
//! |---|---|---|
//! | `POST /placements` | `tcs:add:modify:entities` | 201, `Location`; an `id` is 400 `idexists` |
//! | `PUT /placements` | the same | 200; without an `id` it creates (201), as the original |
//! | `PATCH /placements` | the same | the list: each with an id updated, without created; all or nothing |
//! | `GET /placements` | `tcs:view:entities` | a page of `PlacementDTO` |
//! | `GET /placements/{id}` | the same | `PlacementDetailsDTO`; 404 unknown or out of scope |
//! | `DELETE /placements/{id}` | `tcs:delete:entities` | only a future placement (else 409) |
//! | `GET /placements/filter` | role ETL or `tcs:view:entities` | a page of `PlacementDetailsDTO` by `columnFilters` |
//! | `PUT /placements/{id}/close` | `tcs:view:entities` (the original's) | a current placement ends yesterday (else 409) |
//! | `GET /placements/overlapping?npn&fromDate&toDate[&placementId]` | `tcs:view:entities` | `{"overlapping": bool}` |
//! | `PATCH /placements/approve/{programmeId}` | `placement:approve` | approves the drafts in the programme's posts: `{"updatedCount": n}` |
//! | `GET /placements/draftList/{programmeId}` | `tcs:view:entities` | the drafts in the programme's posts |
//! | `GET /programme/{programmeId}/specialty/{specialtyId}/placements` | `tcs:view:entities` | `PlacementsResultDTO` |
//!
//! A write is checked (the original's `PlacementValidator` and DTO annotations, and the
//! overlap rules of [`super::overlap`], answered 409 `placement_overlap` with the conflicting
//! placements), then written in one transaction with its specialties, other sites,
//! supervisors and comment, the trainee's history (record `placement`), and what the
//! placement feeds: the trainee's trusts and list row, the post's current trainee.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use time::Date;
use tis_auth::{Authenticated, Principal};
use tis_core::paging::{ListParams, Rules, query_pairs};
use tis_core::{FieldError, HttpError};
use tis_reference_client::RefType;
use tis_service_kit::ApiError;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_store::{Backend, Reader, Row, Sql, StoreError, Tx, Value};
use utoipa::ToSchema;

use super::overlap::{self, Breach, Span};
use super::{
    PersonLiteDto, PlacementCommentDto, PlacementDetailsDto, PlacementDto, PlacementSiteDto,
    PlacementSpecialtyDto, PlacementSupervisorDto, comments, date_of, person_trusts_added,
    refresh_person_current, refresh_person_trusts, refresh_post, restrict_placements, status_of,
};
use crate::domain::scope::Scope;
use crate::memberships::{
    alert, answer, bounded, created, date, failure, invalid, item_errors, now, number,
    person_in_scope, today,
};
use crate::people::history;
use crate::people::refresh::When;
use crate::reference::Refs;
use crate::routes::{API, Tcs};

/// The original's `ENTITY_NAME`.
const ENTITY: &str = "placement";
/// The `objectName` of field errors (the original's `PLACEMENT_DTO_NAME`).
pub(crate) const OBJECT: &str = "PlacementDTO";
/// What the history calls a placement's changes.
pub(crate) const RECORD: &str = "placement";

pub(crate) const VIEW: Guard = Guard::Authority("tcs:view:entities");
pub(crate) const MODIFY: Guard = Guard::Authority("tcs:add:modify:entities");
const DELETE: Guard = Guard::Authority("tcs:delete:entities");
const FILTER: Guard = Guard::RoleOr("ETL", &VIEW);
/// Who may approve placements (and create them approved).
pub const APPROVE: &str = "placement:approve";
/// The original's special user whose placements are always approved.
const BULK_UPLOAD: &str = "bulk_upload";
/// The error code of a write that breaks an overlap rule.
pub const PLACEMENT_OVERLAP: &str = "placement_overlap";

pub const DRAFT: &str = "DRAFT";
pub const APPROVED: &str = "APPROVED";
const SPECIALTY_TYPES: &[&str] = &["PRIMARY", "OTHER", "SUB_SPECIALTY"];
const SITE_TYPES: &[&str] = &["PRIMARY", "OTHER"];

/// Where a read goes: the request's reader, or a write's transaction.
pub(crate) enum Source<'a> {
    Read(Reader),
    Tx(&'a mut Tx),
}

impl Source<'_> {
    pub(crate) async fn all(&mut self, q: Sql) -> Result<Vec<Row>, StoreError> {
        match self {
            Source::Read(r) => r.fetch_all(q).await,
            Source::Tx(tx) => tx.fetch_all(q).await,
        }
    }
}

/// Why a write failed: an error, or a broken overlap rule answered with its conflicts.
#[derive(Debug)]
pub(crate) enum Failed {
    Api(ApiError),
    Overlap(Response),
}

impl<E: Into<ApiError>> From<E> for Failed {
    fn from(e: E) -> Self {
        Failed::Api(e.into())
    }
}

/// The answer to a write's result.
fn respond(result: Result<Response, Failed>) -> Response {
    match result {
        Ok(res) | Err(Failed::Overlap(res)) => res,
        Err(Failed::Api(e)) => answer(OBJECT, Err(e)),
    }
}

const SELECT: &str = r#"SELECT pl.id AS "id", pl.intrepid_id AS "intrepidId", pl.trainee_id AS "traineeId", cd.forenames AS "traineeFirstName", cd.surname AS "traineeLastName", gmc.gmc_number AS "traineeGmcNumber", po.national_post_number AS "nationalPostNumber", pl.date_from AS "dateFrom", pl.date_to AS "dateTo", pl.whole_time_equivalent AS "wholeTimeEquivalent", pl.site_code AS "siteCode", pl.site_id AS "siteId", pl.grade_abbreviation AS "gradeAbbreviation", pl.grade_id AS "gradeId", pl.placement_type AS "placementType", po.owner AS "owner", pl.training_description AS "trainingDescription", pl.post_id AS "postId", pl.local_post_number AS "localPostNumber", pl.added_date AS "addedDate", pl.amended_date AS "amendedDate", pl.lifecycle_state AS "lifecycleState" FROM placement pl JOIN post po ON po.id = pl.post_id LEFT JOIN contact_details cd ON cd.id = pl.trainee_id LEFT JOIN gmc_details gmc ON gmc.id = pl.trainee_id WHERE 1 = 1"#;

/// Which of a placement's children [`load_parts`] reads: each is one more statement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts {
    specialties: bool,
    sites: bool,
    supervisors: bool,
    comments: bool,
    esr_events: bool,
}

impl Parts {
    const ALL: Parts = Parts {
        specialties: true,
        sites: true,
        supervisors: true,
        comments: true,
        esr_events: true,
    };

    /// The children a placement just created from `dto` can have: those `dto` names (a new
    /// placement has no ESR events, and nothing else has written children for its new id).
    fn created_from(dto: &PlacementDetailsDto) -> Parts {
        Parts {
            specialties: !dto.specialties.is_empty(),
            sites: !dto.sites.is_empty(),
            supervisors: !dto.supervisors.is_empty(),
            comments: !dto.comments.is_empty(),
            esr_events: false,
        }
    }
}

/// The placements `ids` within `scope`, in `ids`' order, whole (with their children).
pub(crate) async fn load(
    src: &mut Source<'_>,
    ids: &[i64],
    scope: &Scope,
) -> Result<Vec<PlacementDetailsDto>, ApiError> {
    load_parts(src, ids, scope, Parts::ALL).await
}

/// [`load`], reading only the children `parts` names (the others stay empty).
async fn load_parts(
    src: &mut Source<'_>,
    ids: &[i64],
    scope: &Scope,
    parts: Parts,
) -> Result<Vec<PlacementDetailsDto>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(SELECT);
    q.push(" AND pl.id IN ").bind_list(ids.iter().copied());
    restrict_placements(scope, &mut q, "pl");
    let mut found = decoded(src.all(q).await?)?;
    let keys: Vec<i64> = found.keys().copied().collect();
    if !keys.is_empty() {
        children(src, &keys, &mut found, parts).await?;
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Placements' rows of [`SELECT`] as DTOs (with their status today) by id, children empty.
fn decoded(rows: Vec<Row>) -> Result<BTreeMap<i64, PlacementDetailsDto>, ApiError> {
    let today = today();
    let mut found = BTreeMap::new();
    for row in rows {
        let mut dto: PlacementDetailsDto = tis_store::db::decode(row)?;
        if let Some(from) = dto.date_from.as_deref() {
            let to = dto.date_to.as_deref().map(date_of).transpose()?;
            dto.status = Some(status_of(date_of(from)?, to, today).to_owned());
        }
        found.insert(dto.id.unwrap_or_default(), dto);
    }
    Ok(found)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SupervisorRow {
    placement_id: i64,
    person_id: i64,
    r#type: i64,
    forenames: Option<String>,
    surname: Option<String>,
    public_health_number: Option<String>,
    gmc_number: Option<String>,
    gdc_number: Option<String>,
}

/// "Forenames Surname", or either alone; `None` without both.
fn full_name(forenames: Option<&str>, surname: Option<&str>) -> Option<String> {
    let name = [forenames, surname]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// Fills the specialties, other sites, supervisors, latest comment and ESR events of `found`
/// that `parts` names.
async fn children(
    src: &mut Source<'_>,
    ids: &[i64],
    found: &mut BTreeMap<i64, PlacementDetailsDto>,
    parts: Parts,
) -> Result<(), ApiError> {
    if parts.specialties {
        specialties(src, ids, found).await?;
    }
    if parts.sites {
        sites(src, ids, found).await?;
    }
    if parts.supervisors {
        supervisors(src, ids, found).await?;
    }
    if parts.comments {
        latest_comments(src, ids, found).await?;
    }
    if parts.esr_events {
        for (id, events) in crate::esr::placement_events(src, ids).await? {
            if let Some(p) = found.get_mut(&id) {
                p.esr_events = events;
            }
        }
    }
    Ok(())
}

async fn specialties(
    src: &mut Source<'_>,
    ids: &[i64],
    found: &mut BTreeMap<i64, PlacementDetailsDto>,
) -> Result<(), ApiError> {
    let mut q = Sql::new(
        r#"SELECT ps.placement_id AS "placementId", ps.specialty_id AS "specialtyId", ps.placement_specialty_type AS "placementSpecialtyType" FROM placement_specialty ps WHERE ps.placement_id IN "#,
    );
    q.bind_list(ids.iter().copied())
        .push(" ORDER BY ps.placement_id, ps.specialty_id");
    for row in src.all(q).await? {
        let s: PlacementSpecialtyDto = tis_store::db::decode(row)?;
        if let Some(p) = s.placement_id.and_then(|id| found.get_mut(&id)) {
            p.specialties.push(s);
        }
    }
    Ok(())
}

async fn sites(
    src: &mut Source<'_>,
    ids: &[i64],
    found: &mut BTreeMap<i64, PlacementDetailsDto>,
) -> Result<(), ApiError> {
    let mut q = Sql::new(
        r#"SELECT s.id AS "id", s.placement_id AS "placementId", s.site_id AS "siteId", s.placement_site_type AS "placementSiteType" FROM placement_site s WHERE s.placement_id IN "#,
    );
    q.bind_list(ids.iter().copied()).push(" ORDER BY s.id");
    for row in src.all(q).await? {
        let s: PlacementSiteDto = tis_store::db::decode(row)?;
        if let Some(p) = s.placement_id.and_then(|id| found.get_mut(&id)) {
            p.sites.push(s);
        }
    }
    Ok(())
}

async fn supervisors(
    src: &mut Source<'_>,
    ids: &[i64],
    found: &mut BTreeMap<i64, PlacementDetailsDto>,
) -> Result<(), ApiError> {
    let mut q = Sql::new(
        r#"SELECT su.placement_id AS "placementId", su.person_id AS "personId", su.type AS "type", cd.forenames AS "forenames", cd.surname AS "surname", p.public_health_number AS "publicHealthNumber", gmc.gmc_number AS "gmcNumber", gdc.gdc_number AS "gdcNumber" FROM placement_supervisor su JOIN person p ON p.id = su.person_id LEFT JOIN contact_details cd ON cd.id = su.person_id LEFT JOIN gmc_details gmc ON gmc.id = su.person_id LEFT JOIN gdc_details gdc ON gdc.id = su.person_id WHERE su.placement_id IN "#,
    );
    q.bind_list(ids.iter().copied())
        .push(" ORDER BY su.placement_id, su.person_id, su.type");
    for row in src.all(q).await? {
        let s: SupervisorRow = tis_store::db::decode(row)?;
        if let Some(p) = found.get_mut(&s.placement_id) {
            p.supervisors.push(PlacementSupervisorDto {
                person: Some(PersonLiteDto {
                    id: Some(s.person_id),
                    name: full_name(s.forenames.as_deref(), s.surname.as_deref()),
                    public_health_number: s.public_health_number,
                    gmc_number: s.gmc_number,
                    gdc_number: s.gdc_number,
                }),
                r#type: Some(s.r#type),
                placement_id: Some(s.placement_id),
            });
        }
    }
    Ok(())
}

async fn latest_comments(
    src: &mut Source<'_>,
    ids: &[i64],
    found: &mut BTreeMap<i64, PlacementDetailsDto>,
) -> Result<(), ApiError> {
    let mut q = Sql::new(comments::SELECT);
    q.push(" AND c.placement_id IN ")
        .bind_list(ids.iter().copied())
        .push(" ORDER BY c.placement_id, c.id DESC");
    for row in src.all(q).await? {
        let c: PlacementCommentDto = tis_store::db::decode(row)?;
        if let Some(p) = c.placement_id.and_then(|id| found.get_mut(&id))
            && p.comments.is_empty()
        {
            p.comments.push(c);
        }
    }
    Ok(())
}

/// The routes of `/placements` and the programme/specialty view.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let details = || Doc::One("PlacementDetailsDto".into());
    let tag = "Placement";
    api.schema::<PlacementDetailsDto>()
        .schema::<PlacementDto>()
        .schema::<PlacementsResultDto>()
        .add(
            Method::Post,
            &format!("{API}/placements"),
            create,
            Op::new(tag, "Creates a placement (a draft unless the caller may approve)")
                .body(details())
                .returns(201, details())
                .guard(MODIFY)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/placements"),
            update,
            Op::new(tag, "Updates a placement (creates it when it has no id)")
                .body(details())
                .returns(200, details())
                .guard(MODIFY)
                .idempotent(),
        )
        .add(
            Method::Patch,
            &format!("{API}/placements"),
            patch_list,
            Op::new(tag, "Saves many placements (with an id: updated; without: created), all or none")
                .body(Doc::Many("PlacementDto".into()))
                .returns(200, Doc::Many("PlacementDto".into()))
                .guard(MODIFY)
                .idempotent(),
        )
        .add(
            Method::Get,
            &format!("{API}/placements"),
            list,
            Op::new(tag, "A page of placements")
                .query(&["page", "size", "sort"])
                .returns(200, Doc::Many("PlacementDto".into()))
                .guard(VIEW),
        )
        .add(
            Method::Get,
            &format!("{API}/placements/filter"),
            filter,
            Op::new(tag, "A page of placements by columnFilters")
                .query(&["page", "size", "sort", "columnFilters"])
                .returns(200, Doc::Many("PlacementDetailsDto".into()))
                .guard(FILTER),
        )
        .add(
            Method::Get,
            &format!("{API}/placements/overlapping"),
            overlapping,
            Op::new(tag, "Whether placements in the posts of a National Post Number run on any day of a period")
                .query(&["npn", "fromDate", "toDate", "placementId"])
                .guard(VIEW),
        )
        .add(
            Method::Patch,
            &format!("{API}/placements/approve/{{programmeId}}"),
            approve,
            Op::new(tag, "Approves the draft placements in the posts of a programme")
                .path("programmeId")
                .guard(Guard::Authority(APPROVE))
                .idempotent(),
        )
        .add(
            Method::Get,
            &format!("{API}/placements/draftList/{{programmeId}}"),
            draft_list,
            Op::new(tag, "The draft placements in the posts of a programme")
                .path("programmeId")
                .returns(200, Doc::Many("PlacementDetailsDto".into()))
                .guard(VIEW),
        )
        .add(
            Method::Get,
            &format!("{API}/placements/{{id}}"),
            get_one,
            Op::new(tag, "A placement")
                .path("id")
                .returns(200, details())
                .guard(VIEW),
        )
        .add(
            Method::Delete,
            &format!("{API}/placements/{{id}}"),
            delete_one,
            Op::new(tag, "Deletes a future placement")
                .path("id")
                .guard(DELETE),
        )
        .add(
            Method::Put,
            &format!("{API}/placements/{{id}}/close"),
            close,
            Op::new(tag, "Ends a current placement yesterday")
                .path("id")
                .returns(200, Doc::One("PlacementDto".into()))
                .guard(VIEW)
                .idempotent(),
        )
        .add(
            Method::Get,
            &format!("{API}/programme/{{programmeId}}/specialty/{{specialtyId}}/placements"),
            by_programme_and_specialty,
            Op::new(tag, "The placements in a programme's posts of a specialty, by specialty, site and post")
                .path("programmeId")
                .path("specialtyId")
                .query(&["fromDate", "toDate"])
                .returns(200, Doc::One("PlacementsResultDto".into()))
                .guard(VIEW),
        )
}

// ---------------------------------------------------------------------------------------
// Reads

/// `GET /placements/{id}`.
async fn get_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = number("id", &id)?;
    let mut src = Source::Read(tcs.kit.repo.db().read());
    load(&mut src, &[id], &Scope::of(&who))
        .await?
        .pop()
        .map(|d| axum::Json(d).into_response())
        .ok_or_else(|| ApiError::NotFound(format!("no placement with id {id}")))
}

/// The columns lists sort by.
const SORTABLE: [(&str, &str); 5] = [
    ("id", "pl.id"),
    ("dateFrom", "pl.date_from"),
    ("dateTo", "pl.date_to"),
    ("traineeId", "pl.trainee_id"),
    ("postId", "pl.post_id"),
];

/// A page of the ids `q` (`SELECT pl.id … WHERE …`) finds, sorted as asked, and the count.
async fn page(
    tcs: &Tcs,
    params: &[(String, String)],
    mut filters: impl FnMut(&str, &str) -> Result<(), ApiError>,
    q: Sql,
    path: &str,
) -> Result<(HeaderMap, Vec<i64>), ApiError> {
    let limits = tcs.kit.limits;
    let rules = Rules::new(limits.default_page_size, limits.max_page_size).sortable(&SORTABLE);
    let req = ListParams::parse_with(params, &rules, &mut filters)?;
    let mut count = Sql::new("SELECT COUNT(*) AS \"n\" FROM (");
    count.append(q.clone()).push(") c");
    let mut ids = q;
    ids.push(" ORDER BY ");
    for s in &req.sort {
        ids.push(s.field)
            .push(if s.descending { " DESC, " } else { ", " });
    }
    ids.push("pl.id");
    ids.push_page(req.page);
    let db = tcs.kit.repo.db();
    let page: Vec<i64> = db
        .read()
        .fetch_all(ids)
        .await?
        .iter()
        .filter_map(|r| r.get("id").and_then(Json::as_i64))
        .collect();
    let total = db
        .read()
        .fetch_one(count)
        .await?
        .get("n")
        .and_then(Json::as_u64)
        .unwrap_or(0);
    Ok((req.headers(path, total), page))
}

/// `GET /placements`.
async fn list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let scope = Scope::of(&who);
    let mut q = Sql::new("SELECT pl.id AS \"id\" FROM placement pl WHERE 1 = 1");
    restrict_placements(&scope, &mut q, "pl");
    let params = query_pairs(uri.query());
    let (headers, ids) = page(&tcs, &params, |_, _| Ok(()), q, uri.path()).await?;
    let mut src = Source::Read(tcs.kit.repo.db().read());
    let items: Vec<PlacementDto> = load(&mut src, &ids, &scope)
        .await?
        .into_iter()
        .map(PlacementDto::from)
        .collect();
    Ok((headers, axum::Json(items)).into_response())
}

/// The `columnFilters` of `/placements/filter`: exact values of these fields…
const FILTERED: [(&str, &str); 7] = [
    ("id", "pl.id"),
    ("traineeId", "pl.trainee_id"),
    ("postId", "pl.post_id"),
    ("siteId", "pl.site_id"),
    ("gradeId", "pl.grade_id"),
    ("placementType", "pl.placement_type"),
    ("lifecycleState", "pl.lifecycle_state"),
];
/// …and date ranges (two values, both ends included) of these.
const DATE_RANGES: [(&str, &str); 2] = [("dateFrom", "pl.date_from"), ("dateTo", "pl.date_to")];

/// `columnFilters` (`{"field": [values…]}`) as conditions on `q`.
fn column_filters(raw: &str, q: &mut Sql) -> Result<(), ApiError> {
    let bad = |m: String| ApiError::field("columnFilters", m);
    let map: Map<String, Json> = serde_json::from_str(raw)
        .map_err(|_| bad("must be a JSON object of field → values".into()))?;
    for (name, values) in map {
        let values: Vec<Json> = match values {
            Json::Array(v) => v,
            one => vec![one],
        };
        if let Some((_, column)) = DATE_RANGES.iter().find(|(n, _)| *n == name) {
            let dates: Vec<Date> = values
                .iter()
                .filter_map(Json::as_str)
                .filter_map(tis_service_kit::entity::validate::parse_date)
                .collect();
            let [from, to] = dates[..] else {
                return Err(bad(format!("{name}: a date range is two dates")));
            };
            q.push(&format!(" AND {column} BETWEEN "))
                .bind(from)
                .push(" AND ")
                .bind(to);
        } else if let Some((_, column)) = FILTERED.iter().find(|(n, _)| *n == name) {
            if values.is_empty() {
                continue;
            }
            q.push(&format!(" AND {column} IN "));
            if column.ends_with("_id") || *column == "pl.id" {
                let ids: Option<Vec<i64>> = values
                    .iter()
                    .map(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
                    .collect();
                let ids = ids.ok_or_else(|| bad(format!("{name}: ids are numbers")))?;
                q.bind_list(ids);
            } else {
                q.bind_list(values.iter().map(|v| match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                }));
            }
        } else {
            return Err(bad(format!("cannot filter by {name}")));
        }
    }
    Ok(())
}

/// `GET /placements/filter`.
async fn filter(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let scope = Scope::of(&who);
    let mut q = Sql::new("SELECT pl.id AS \"id\" FROM placement pl WHERE 1 = 1");
    restrict_placements(&scope, &mut q, "pl");
    let params = query_pairs(uri.query());
    for (name, value) in &params {
        if name == "columnFilters" && !value.trim().is_empty() {
            column_filters(value, &mut q)?;
        }
    }
    let (headers, ids) = page(&tcs, &params, |_, _| Ok(()), q, uri.path()).await?;
    let mut src = Source::Read(tcs.kit.repo.db().read());
    let items = load(&mut src, &ids, &scope).await?;
    Ok((headers, axum::Json(items)).into_response())
}

/// The query of `/placements/overlapping`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OverlapQuery {
    npn: Option<String>,
    from_date: Option<String>,
    to_date: Option<String>,
    placement_id: Option<String>,
}

/// `GET /placements/overlapping`: whether a placement in a post of the National Post Number
/// (within the caller's posts) runs on any day of `fromDate..=toDate`, other than
/// `placementId` (the original's `validateOverlappingPlacements`).
async fn overlapping(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    tis_core::extract::Query(q): tis_core::extract::Query<OverlapQuery>,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let npn = q
        .npn
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if npn.is_empty() {
        errors.push(FieldError::new("npn", "is required"));
    }
    let from = date("fromDate", q.from_date.as_deref(), &mut errors);
    let to = date("toDate", q.to_date.as_deref(), &mut errors);
    for (field, value) in [("fromDate", from), ("toDate", to)] {
        if value.is_none() && !errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(field, "is required"));
        }
    }
    let skip = match q.placement_id.as_deref() {
        Some(raw) => Some(number("placementId", raw)?),
        None => None,
    };
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut sql = Sql::new(
        "SELECT pl.id AS \"id\" FROM placement pl JOIN post po ON po.id = pl.post_id WHERE po.national_post_number = ",
    );
    sql.bind(npn)
        .push(" AND pl.date_from <= ")
        .bind(to)
        .push(" AND (pl.date_to IS NULL OR pl.date_to >= ")
        .bind(from)
        .push(")");
    if let Some(skip) = skip {
        sql.push(" AND pl.id <> ").bind(skip);
    }
    Scope::of(&who).restrict_posts(&mut sql, "po");
    sql.push(" LIMIT 1");
    let found = tcs.kit.repo.db().read().fetch_optional(sql).await?;
    Ok(axum::Json(json!({"overlapping": found.is_some()})).into_response())
}

// ---------------------------------------------------------------------------------------
// Writes

/// A placement checked and ready to write.
#[derive(Debug)]
struct Checked {
    before: Option<PlacementDetailsDto>,
    trainee: i64,
    post: i64,
    site: i64,
    grade: i64,
    from: Date,
    to: Option<Date>,
    wte: Option<f64>,
    kind: String,
    state: &'static str,
}

/// The original's DTO annotations and the shapes of what a placement holds: field errors.
fn annotations(
    dto: &PlacementDetailsDto,
    errors: &mut Vec<FieldError>,
) -> (Option<Date>, Option<Date>) {
    for (field, missing, message) in [
        (
            "traineeId",
            dto.trainee_id.is_none_or(|i| i < 0),
            "Trainee ID cannot be null or negative",
        ),
        (
            "postId",
            dto.post_id.is_none_or(|i| i < 0),
            "Post ID cannot be null or negative",
        ),
        (
            "siteId",
            dto.site_id.is_none_or(|i| i < 0),
            "Site ID cannot be null or negative",
        ),
        (
            "gradeId",
            dto.grade_id.is_none_or(|i| i < 0),
            "Grade ID cannot be empty",
        ),
        (
            "placementType",
            dto.placement_type
                .as_deref()
                .is_none_or(|t| t.trim().is_empty()),
            "Placement type is required",
        ),
        ("dateFrom", dto.date_from.is_none(), "Date from is required"),
    ] {
        if missing {
            errors.push(FieldError::new(field, message));
        }
    }
    let from = date("dateFrom", dto.date_from.as_deref(), errors);
    let to = date("dateTo", dto.date_to.as_deref(), errors);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(FieldError::new(
            "dateTo",
            format!("The placement ends ({t}) before it starts ({f})"),
        ));
    }
    if let Some(w) = dto.whole_time_equivalent
        && (!(0.0..=1.0).contains(&w) || ((w * 100.0).round() - w * 100.0).abs() > 1e-9)
    {
        errors.push(FieldError::new(
            "wholeTimeEquivalent",
            "must be from 0 to 1, with at most two decimals",
        ));
    }
    if let Some(s) = dto.lifecycle_state.as_deref()
        && s != DRAFT
        && s != APPROVED
    {
        errors.push(FieldError::new(
            "lifecycleState",
            "must be DRAFT or APPROVED",
        ));
    }
    let mut counts = BTreeMap::new();
    for (i, s) in dto.specialties.iter().enumerate() {
        if s.specialty_id.is_none_or(|i| i < 0) {
            errors.push(FieldError::new(
                format!("specialties[{i}].specialtyId"),
                "Specialty ID cannot be null or negative",
            ));
        }
        match s.placement_specialty_type.as_deref() {
            Some(t) if SPECIALTY_TYPES.contains(&t) => *counts.entry(t).or_insert(0) += 1,
            _ => errors.push(FieldError::new(
                format!("specialties[{i}].placementSpecialtyType"),
                format!("must be one of {}", SPECIALTY_TYPES.join(", ")),
            )),
        }
    }
    for t in ["PRIMARY", "SUB_SPECIALTY"] {
        if counts.get(t).is_some_and(|n| *n > 1) {
            errors.push(FieldError::new(
                "specialties",
                format!("Only one Specialty of type {t} allowed"),
            ));
        }
    }
    for (i, s) in dto.sites.iter().enumerate() {
        if s.site_id.is_none() {
            errors.push(FieldError::new(
                format!("sites[{i}].siteId"),
                "must not be null",
            ));
        }
        if s.placement_site_type
            .as_deref()
            .is_none_or(|t| !SITE_TYPES.contains(&t))
        {
            errors.push(FieldError::new(
                format!("sites[{i}].placementSiteType"),
                "must be PRIMARY or OTHER",
            ));
        }
    }
    for (i, s) in dto.supervisors.iter().enumerate() {
        if s.person.as_ref().and_then(|p| p.id).is_none() {
            errors.push(FieldError::new(
                format!("supervisors[{i}].person"),
                "must name a person by id",
            ));
        }
        if s.r#type.is_none() {
            errors.push(FieldError::new(
                format!("supervisors[{i}].type"),
                "must not be null",
            ));
        }
    }
    if let Some(c) = dto.comments.first() {
        comments::check_body(c.body.as_deref(), "comments[0].body", errors);
    }
    (from, to)
}

/// The lifecycle state a write gives a placement (`stored`: its state before, for an
/// update): HEAD's `checkApprovalPermWhenCreate/Update`.
fn lifecycle(who: &Principal, sent: Option<&str>, stored: Option<&str>) -> &'static str {
    let stored = stored.map(|s| if s == APPROVED { APPROVED } else { DRAFT });
    if who.user_name() == BULK_UPLOAD {
        APPROVED
    } else if !who.has_authority(APPROVE) {
        stored.unwrap_or(DRAFT)
    } else if sent == Some(APPROVED) {
        APPROVED
    } else {
        stored.unwrap_or(if sent == Some(DRAFT) { DRAFT } else { APPROVED })
    }
}

/// Whether a query answers a row, in `tx`.
async fn exists(tx: &mut Tx, q: Sql) -> Result<bool, ApiError> {
    Ok(tx.fetch_optional(q).await?.is_some())
}

/// `q`, a look-up of the trainee's or the post's row, locking the row it finds until `tx`
/// ends on PostgreSQL: the overlap rules read the trainee's and the post's other placements,
/// and two writes for the same trainee (or post) must not both read them before either has
/// written, or both would pass. Every write locks the trainee before the post. SQLite has
/// one writer at a time already.
fn locked(tx: &Tx, mut q: Sql) -> Sql {
    if tx.backend() == Backend::Postgres {
        // NO KEY: a placement's foreign key takes KEY SHARE on the row, which this does not
        // wait for
        q.push(" FOR NO KEY UPDATE");
    }
    q
}

/// Whether the trainee and the post exist within `scope` (`false` for `None`), in one
/// statement (a round trip fewer on PostgreSQL, where each is a wake-up of the server on a
/// busy machine) that, on PostgreSQL, locks the rows it finds until `tx` ends: the
/// trainee's before the post's (the select list is evaluated in order), see [`locked`].
async fn lock_trainee_and_post(
    tx: &mut Tx,
    trainee: Option<i64>,
    post: Option<i64>,
    scope: &Scope,
) -> Result<(bool, bool), ApiError> {
    if trainee.is_none() && post.is_none() {
        return Ok((false, false));
    }
    let mut q = Sql::new("SELECT ");
    match trainee {
        Some(id) => {
            let one = locked(tx, person_in_scope(id, scope));
            q.push("(").append(one).push(")");
        }
        None => {
            q.push("NULL");
        }
    }
    q.push(r#" AS "trainee", "#);
    match post {
        Some(id) => {
            let mut one = Sql::new("SELECT po.id FROM post po WHERE po.id = ");
            one.bind(id);
            scope.restrict_posts(&mut one, "po");
            let one = locked(tx, one);
            q.push("(").append(one).push(")");
        }
        None => {
            q.push("NULL");
        }
    }
    q.push(r#" AS "post""#);
    let row = tx.fetch_optional(q).await?;
    let found = |k: &str| {
        row.as_ref()
            .and_then(|r| r.get(k))
            .is_some_and(|v| !v.is_null())
    };
    Ok((found("trainee"), found("post")))
}

/// Checks `dto` in `tx` for `who`: field errors (400), 404 for an update of a placement that
/// is none or out of scope, 409 for a broken overlap rule.
async fn check(tx: &mut Tx, dto: &PlacementDetailsDto, who: &Principal) -> Result<Checked, Failed> {
    let scope = Scope::of(who);
    let mut errors = Vec::new();
    let (from, to) = annotations(dto, &mut errors);
    let before = match dto.id {
        Some(id) => Some(
            load(&mut Source::Tx(tx), &[id], &scope)
                .await?
                .pop()
                .ok_or_else(|| ApiError::NotFound(format!("no placement with id {id}")))?,
        ),
        None => None,
    };
    let trainee = dto.trainee_id.filter(|i| *i >= 0);
    let post = dto.post_id.filter(|i| *i >= 0);
    let (trainee_found, post_found) = lock_trainee_and_post(tx, trainee, post, &scope).await?;
    if let Some(id) = trainee.filter(|_| !trainee_found) {
        errors.push(FieldError::new(
            "traineeId",
            format!("Trainee with id {id} does not exist"),
        ));
    }
    if let Some(id) = post.filter(|_| !post_found) {
        errors.push(FieldError::new(
            "postId",
            format!("Post with id {id} does not exist"),
        ));
    }
    for (i, s) in dto.specialties.iter().enumerate() {
        if let Some(id) = s.specialty_id.filter(|i| *i >= 0) {
            let mut q = Sql::new("SELECT id FROM specialty WHERE id = ");
            q.bind(id);
            if !exists(tx, q).await? {
                errors.push(FieldError::new(
                    format!("specialties[{i}].specialtyId"),
                    format!("Specialty with id {id} does not exist"),
                ));
            }
        }
    }
    for (i, s) in dto.supervisors.iter().enumerate() {
        if let Some(id) = s.person.as_ref().and_then(|p| p.id) {
            let mut q = Sql::new("SELECT id FROM person WHERE id = ");
            q.bind(id);
            if !exists(tx, q).await? {
                errors.push(FieldError::new(
                    format!("supervisors[{i}].person"),
                    format!("Person with id {id} does not exist"),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors).into());
    }
    let (Some(from), Some(trainee), Some(post), Some(site), Some(grade)) =
        (from, dto.trainee_id, dto.post_id, dto.site_id, dto.grade_id)
    else {
        return Err(ApiError::field("dateFrom", "Date from is required").into());
    };
    let state = lifecycle(
        who,
        dto.lifecycle_state.as_deref(),
        before.as_ref().and_then(|b| b.lifecycle_state.as_deref()),
    );
    let span = Span {
        id: dto.id.unwrap_or(-1),
        from,
        to,
        load: overlap::hundredths(dto.whole_time_equivalent),
    };
    check_overlaps(tx, &span, trainee, post, &scope).await?;
    Ok(Checked {
        before,
        trainee,
        post,
        site,
        grade,
        from,
        to,
        wte: dto.whole_time_equivalent,
        kind: dto
            .placement_type
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        state,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpanRow {
    id: i64,
    trainee_id: i64,
    post_id: i64,
    national_post_number: String,
    date_from: String,
    date_to: Option<String>,
    whole_time_equivalent: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MeetingRow {
    /// 0: one of the trainee's; 1: one of the post's.
    side: i64,
    #[serde(flatten)]
    span: SpanRow,
}

/// The placements of the trainee and those of the post that share a day with `span` (other
/// than itself), each list by date: one statement (a `UNION ALL` of the two look-ups, one
/// round trip instead of two).
async fn meeting(
    tx: &mut Tx,
    trainee: i64,
    post: i64,
    span: &Span,
) -> Result<(Vec<SpanRow>, Vec<SpanRow>), ApiError> {
    let mut q = Sql::new("");
    for (side, column, value) in [(0, "pl.trainee_id", trainee), (1, "pl.post_id", post)] {
        if side > 0 {
            q.push(" UNION ALL ");
        }
        q.push(&format!(
            r#"SELECT {side} AS "side", pl.id AS "id", pl.trainee_id AS "traineeId", pl.post_id AS "postId", po.national_post_number AS "nationalPostNumber", pl.date_from AS "dateFrom", pl.date_to AS "dateTo", pl.whole_time_equivalent AS "wholeTimeEquivalent" FROM placement pl JOIN post po ON po.id = pl.post_id WHERE "#
        ))
        .push(column)
        .push(" = ")
        .bind(value)
        .push(" AND pl.id <> ")
        .bind(span.id);
        if let Some(to) = span.to {
            q.push(" AND pl.date_from <= ").bind(to);
        }
        q.push(" AND (pl.date_to IS NULL OR pl.date_to >= ")
            .bind(span.from)
            .push(")");
    }
    q.push(r#" ORDER BY "side", "dateFrom", "id""#);
    let (mut of_trainee, mut of_post) = (Vec::new(), Vec::new());
    for row in tx.fetch_all(q).await? {
        let m: MeetingRow = tis_store::db::decode(row)?;
        if m.side == 0 {
            of_trainee.push(m.span);
        } else {
            of_post.push(m.span);
        }
    }
    Ok((of_trainee, of_post))
}

/// The overlap rules (see [`overlap`]): 409 `placement_overlap` naming the conflicting
/// placements (their trainee only when the caller may see them).
async fn check_overlaps(
    tx: &mut Tx,
    span: &Span,
    trainee: i64,
    post: i64,
    scope: &Scope,
) -> Result<(), Failed> {
    let spans = |rows: &[SpanRow]| -> Result<Vec<Span>, ApiError> {
        rows.iter()
            .map(|r| {
                Ok(Span {
                    id: r.id,
                    from: date_of(&r.date_from)?,
                    to: r.date_to.as_deref().map(date_of).transpose()?,
                    load: overlap::hundredths(r.whole_time_equivalent),
                })
            })
            .collect()
    };
    let (of_trainee, of_post) = meeting(tx, trainee, post, span).await?;
    let breaches: Vec<(Breach, &[SpanRow])> = [
        overlap::trainee_breach(span, &spans(&of_trainee)?).map(|b| (b, &of_trainee[..])),
        overlap::post_breach(span, &spans(&of_post)?, overlap::POST_ESTABLISHMENT)
            .map(|b| (b, &of_post[..])),
    ]
    .into_iter()
    .flatten()
    .collect();
    if breaches.is_empty() {
        return Ok(());
    }
    let mut conflicts = Vec::new();
    let mut messages = Vec::new();
    let mut visible: BTreeMap<i64, bool> = BTreeMap::new();
    for (breach, rows) in &breaches {
        messages.push(match breach.rule {
            overlap::Rule::Trainee => format!(
                "the trainee would be placed {:.2} whole time on {}",
                f64::from(breach.load) / 100.0,
                breach.day
            ),
            overlap::Rule::Post => format!(
                "the post would hold {} placements on {} (its establishment is {})",
                breach.load,
                breach.day,
                overlap::POST_ESTABLISHMENT
            ),
        });
        for r in rows.iter().filter(|r| breach.with.contains(&r.id)) {
            let seen = match visible.get(&r.trainee_id) {
                Some(v) => *v,
                None => {
                    let v = tx
                        .fetch_optional(person_in_scope(r.trainee_id, scope))
                        .await?
                        .is_some();
                    visible.insert(r.trainee_id, v);
                    v
                }
            };
            conflicts.push(json!({
                "rule": breach.rule.as_str(),
                "id": r.id,
                "traineeId": if seen { Some(r.trainee_id) } else { None },
                "postId": r.post_id,
                "nationalPostNumber": r.national_post_number,
                "dateFrom": r.date_from,
                "dateTo": r.date_to,
                "wholeTimeEquivalent": r.whole_time_equivalent,
            }));
        }
    }
    let err = HttpError::new(
        StatusCode::CONFLICT,
        PLACEMENT_OVERLAP,
        format!("The placement overlaps others: {}", messages.join("; ")),
    );
    let mut body = serde_json::to_value(err.body()).unwrap_or(Json::Null);
    if let Some(Json::Object(e)) = body.get_mut("error") {
        e.insert("conflicts".into(), Json::Array(conflicts));
    }
    Err(Failed::Overlap(
        (StatusCode::CONFLICT, axum::Json(body)).into_response(),
    ))
}

/// A placement as its history records it: each field as `[{id}].{field}`.
fn history_map(dto: Option<&PlacementDetailsDto>) -> Option<Map<String, Json>> {
    let dto = dto?;
    let id = dto.id.unwrap_or_default();
    let mut map = Map::new();
    let mut put = |k: &str, v: Json| {
        map.insert(format!("[{id}].{k}"), v);
    };
    put("traineeId", dto.trainee_id.into());
    put("postId", dto.post_id.into());
    put("siteId", dto.site_id.into());
    put("siteCode", dto.site_code.clone().into());
    put("gradeId", dto.grade_id.into());
    put("gradeAbbreviation", dto.grade_abbreviation.clone().into());
    put("dateFrom", dto.date_from.clone().into());
    put("dateTo", dto.date_to.clone().into());
    put("placementType", dto.placement_type.clone().into());
    put("wholeTimeEquivalent", dto.whole_time_equivalent.into());
    put(
        "trainingDescription",
        dto.training_description.clone().into(),
    );
    put("localPostNumber", dto.local_post_number.clone().into());
    put("intrepidId", dto.intrepid_id.clone().into());
    put("lifecycleState", dto.lifecycle_state.clone().into());
    let list = |v: Json| {
        if v.as_array().is_some_and(Vec::is_empty) {
            Json::Null
        } else {
            v
        }
    };
    put(
        "specialties",
        list(serde_json::to_value(&dto.specialties).unwrap_or_default()),
    );
    put(
        "sites",
        list(serde_json::to_value(&dto.sites).unwrap_or_default()),
    );
    let supervisors: Vec<Json> = dto
        .supervisors
        .iter()
        .map(|s| json!({"personId": s.person.as_ref().and_then(|p| p.id), "type": s.r#type}))
        .collect();
    put("supervisors", list(Json::Array(supervisors)));
    put(
        "comment",
        dto.comments.first().and_then(|c| c.body.clone()).into(),
    );
    Some(map)
}

/// Records the change of a placement (`before` → `after`) in its trainees' histories.
pub(crate) async fn record(
    tx: &mut Tx,
    user: &str,
    before: Option<&PlacementDetailsDto>,
    after: Option<&PlacementDetailsDto>,
) -> Result<(), ApiError> {
    let (old, new) = (
        before.and_then(|b| b.trainee_id),
        after.and_then(|a| a.trainee_id),
    );
    if old.is_some() && new.is_some() && old != new {
        Box::pin(record(tx, user, before, None)).await?;
        return Box::pin(record(tx, user, None, after)).await;
    }
    let Some(person) = new.or(old) else {
        return Ok(());
    };
    let changes = history::diff(
        history_map(before).as_ref(),
        history_map(after).as_ref(),
        &[],
    );
    history::record(tx, person, user, RECORD, &changes).await?;
    Ok(())
}

/// Re-derives what the placement feeds for the trainees and posts of `before` and `after`
/// (a create, an update, a delete; `trusts_added`: a create whose insert added its post's
/// trusts to the trainee's already): the trainees' trusts, and — only when the placement is
/// current today before or after the write, the only case in which whose placement is
/// current can change — the current placement on the trainees' and posts' list rows. Most
/// writes are of future or past placements: they leave the list rows alone (three statements
/// fewer, and no lock on a post's list row).
pub(crate) async fn refresh_around(
    tx: &mut Tx,
    before: Option<&PlacementDetailsDto>,
    after: Option<&PlacementDetailsDto>,
    trusts_added: bool,
) -> Result<(), StoreError> {
    let today = today();
    let sides = || [before, after].into_iter().flatten();
    let people: BTreeSet<i64> = sides().filter_map(|d| d.trainee_id).collect();
    let posts: BTreeSet<i64> = sides().filter_map(|d| d.post_id).collect();
    let current = sides().any(|d| is_current(d, today));
    for p in people {
        match (before, after.and_then(|a| a.post_id)) {
            // a new placement only adds its post's trusts (unless its insert did)
            (None, Some(_)) if trusts_added => {}
            (None, Some(post)) => tx.execute(person_trusts_added(p, post)).await.map(drop)?,
            _ => refresh_person_trusts(tx, p).await?,
        }
        if current {
            refresh_person_current(tx, p, today).await?;
        }
    }
    if current {
        for p in posts {
            refresh_post(tx, p, today).await?;
        }
    }
    Ok(())
}

/// Whether `d` is current on `today`; a date that does not read counts as current (the
/// list rows are then re-derived, as for any current placement).
fn is_current(d: &PlacementDetailsDto, today: Date) -> bool {
    let Some(Ok(from)) = d.date_from.as_deref().map(date_of) else {
        return true;
    };
    match d.date_to.as_deref().map(date_of).transpose() {
        Ok(to) => When::of(from, to.unwrap_or(Date::MAX), today) == When::Current,
        Err(_) => true,
    }
}

/// The values of a new placement's `INSERT` (after its column list).
fn insert_values(q: &mut Sql, dto: &PlacementDetailsDto, c: &Checked, now: time::OffsetDateTime) {
    q.bind_list([
        Value::from(dto.intrepid_id.clone()),
        c.trainee.into(),
        c.post.into(),
        c.site.into(),
        dto.site_code.clone().into(),
        c.grade.into(),
        dto.grade_abbreviation.clone().into(),
        c.from.into(),
        c.to.into(),
        c.kind.clone().into(),
        c.wte.into(),
        dto.training_description.clone().into(),
        dto.local_post_number.clone().into(),
        c.state.into(),
        now.into(),
        now.into(),
    ]);
}

/// Writes a checked placement with its children, history and derived rows, in `tx`;
/// returns it as saved.
async fn write(
    tx: &mut Tx,
    who: &Principal,
    dto: &PlacementDetailsDto,
    c: &Checked,
) -> Result<PlacementDetailsDto, ApiError> {
    let now = now();
    // a create's row as inserted (PostgreSQL: read back by the insert itself)
    let mut inserted = None;
    let mut inserted_with_trusts = false;
    let id = match c.before.as_ref().and_then(|b| b.id) {
        Some(id) => {
            let mut q = Sql::new("UPDATE placement SET intrepid_id = ");
            q.bind(dto.intrepid_id.clone())
                .push(", trainee_id = ")
                .bind(c.trainee)
                .push(", post_id = ")
                .bind(c.post)
                .push(", site_id = ")
                .bind(c.site)
                .push(", site_code = ")
                .bind(dto.site_code.clone())
                .push(", grade_id = ")
                .bind(c.grade)
                .push(", grade_abbreviation = ")
                .bind(dto.grade_abbreviation.clone())
                .push(", date_from = ")
                .bind(c.from)
                .push(", date_to = ")
                .bind(c.to)
                .push(", placement_type = ")
                .bind(c.kind.clone())
                .push(", whole_time_equivalent = ")
                .bind(c.wte)
                .push(", training_description = ")
                .bind(dto.training_description.clone())
                .push(", local_post_number = ")
                .bind(dto.local_post_number.clone())
                .push(", lifecycle_state = ")
                .bind(c.state)
                .push(", amended_date = ")
                .bind(now)
                .push(" WHERE id = ")
                .bind(id);
            tx.execute(q).await?;
            for table in [
                "placement_specialty",
                "placement_site",
                "placement_supervisor",
            ] {
                let mut q = Sql::new(&format!("DELETE FROM {table} WHERE placement_id = "));
                q.bind(id);
                tx.execute(q).await?;
            }
            id
        }
        None => {
            let mut q = Sql::new(
                "INSERT INTO placement (intrepid_id, trainee_id, post_id, site_id, site_code, grade_id, grade_abbreviation, date_from, date_to, placement_type, whole_time_equivalent, training_description, local_post_number, lifecycle_state, added_date, amended_date) VALUES ",
            );
            insert_values(&mut q, dto, c, now);
            if tx.backend() == Backend::Postgres {
                // The insert, the trainee's trusts from the post (see `refresh_around`) and the
                // read-back of the new row in one statement: two round trips fewer (the
                // children, if any, are read after they are written, below).
                let mut both = Sql::new("WITH new_placement AS (");
                both.append(q)
                    .push(" RETURNING *), new_trusts AS (")
                    .append(person_trusts_added(c.trainee, c.post))
                    .push(") ")
                    .push(&SELECT.replacen("FROM placement pl", "FROM new_placement pl", 1));
                inserted_with_trusts = true;
                let row = decoded(tx.fetch_all(both).await?)?
                    .pop_first()
                    .map(|(_, p)| p)
                    .ok_or_else(|| ApiError::Store(StoreError::Decode("no row returned".into())))?;
                inserted = Some(row);
                inserted.as_ref().and_then(|p| p.id).unwrap_or_default()
            } else {
                q.push(" RETURNING id AS \"id\"");
                tx.fetch_one(q)
                    .await?
                    .get("id")
                    .and_then(Json::as_i64)
                    .ok_or_else(|| ApiError::Store(StoreError::Decode("no id returned".into())))?
            }
        }
    };
    let mut seen = BTreeSet::new();
    for s in &dto.specialties {
        let specialty = s.specialty_id.unwrap_or_default();
        if !seen.insert(specialty) {
            continue;
        }
        let mut q = Sql::new(
            "INSERT INTO placement_specialty (placement_id, specialty_id, placement_specialty_type) VALUES ",
        );
        q.bind_list([
            Value::from(id),
            specialty.into(),
            s.placement_specialty_type
                .clone()
                .unwrap_or_default()
                .into(),
        ]);
        tx.execute(q).await?;
    }
    for s in &dto.sites {
        let mut q = Sql::new(
            "INSERT INTO placement_site (placement_id, site_id, placement_site_type) VALUES ",
        );
        q.bind_list([
            Value::from(id),
            s.site_id.unwrap_or_default().into(),
            s.placement_site_type.clone().unwrap_or_default().into(),
        ]);
        tx.execute(q).await?;
    }
    let mut seen = BTreeSet::new();
    for s in &dto.supervisors {
        let key = (
            s.person.as_ref().and_then(|p| p.id).unwrap_or_default(),
            s.r#type.unwrap_or_default(),
        );
        if !seen.insert(key) {
            continue;
        }
        let mut q =
            Sql::new("INSERT INTO placement_supervisor (placement_id, person_id, type) VALUES ");
        q.bind_list([Value::from(id), key.0.into(), key.1.into()]);
        tx.execute(q).await?;
    }
    if let Some(comment) = dto.comments.first() {
        comments::put_latest(tx, who, id, comment).await?;
    }
    let parts = match c.before {
        Some(_) => Parts::ALL,
        None => Parts::created_from(dto),
    };
    let after = match inserted {
        Some(row) => {
            let mut found = BTreeMap::from([(id, row)]);
            children(&mut Source::Tx(tx), &[id], &mut found, parts).await?;
            found.remove(&id)
        }
        None => load_parts(&mut Source::Tx(tx), &[id], &Scope::Everything, parts)
            .await?
            .pop(),
    }
    .ok_or_else(|| ApiError::NotFound(format!("no placement with id {id}")))?;
    record(tx, who.user_name(), c.before.as_ref(), Some(&after)).await?;
    refresh_around(tx, c.before.as_ref(), Some(&after), inserted_with_trusts).await?;
    Ok(after)
}

/// The Reference data of `dto` that changes from `before`, under `prefix`.
fn refs_of(
    dto: &PlacementDetailsDto,
    before: Option<&PlacementDetailsDto>,
    prefix: &str,
    refs: &mut Refs,
) {
    let changed =
        |f: fn(&PlacementDetailsDto) -> Option<i64>| before.is_none_or(|b| f(b) != f(dto));
    if changed(|d| d.site_id) {
        refs.id(format!("{prefix}siteId"), RefType::SITES, dto.site_id);
    }
    if changed(|d| d.grade_id) {
        refs.id(format!("{prefix}gradeId"), RefType::GRADES, dto.grade_id);
    }
    if before.is_none_or(|b| b.placement_type != dto.placement_type) {
        refs.code(
            format!("{prefix}placementType"),
            RefType::PLACEMENT_TYPES,
            dto.placement_type.as_deref(),
        );
    }
    for (i, s) in dto.sites.iter().enumerate() {
        if before.is_none_or(|b| !b.sites.iter().any(|o| o.site_id == s.site_id)) {
            refs.id(
                format!("{prefix}sites[{i}].siteId"),
                RefType::SITES,
                s.site_id,
            );
        }
    }
}

/// Asks Reference about what `dtos` name (before the transaction), then checks and writes
/// each in turn in one transaction (so that each is measured against those before it): all
/// or nothing. Errors of a list are prefixed `[i].`.
async fn save_all(
    tcs: &Tcs,
    who: &Principal,
    headers: &HeaderMap,
    dtos: &[PlacementDetailsDto],
    list: bool,
) -> Result<Vec<PlacementDetailsDto>, Failed> {
    let prefix = |i: usize| {
        if list {
            format!("[{i}].")
        } else {
            String::new()
        }
    };
    let mut refs = Refs::new();
    let mut src = Source::Read(tcs.kit.repo.db().read());
    for (i, dto) in dtos.iter().enumerate() {
        let before = match dto.id {
            Some(id) => load(&mut src, &[id], &Scope::Everything).await?.pop(),
            None => None,
        };
        refs_of(dto, before.as_ref(), &prefix(i), &mut refs);
    }
    refs.check(&tcs.reference, who, headers).await?;
    let mut tx = tcs.kit.repo.db().write().begin().await?;
    let mut saved = Vec::with_capacity(dtos.len());
    for (i, dto) in dtos.iter().enumerate() {
        let step = async {
            let c = check(&mut tx, dto, who).await?;
            Ok::<_, Failed>(write(&mut tx, who, dto, &c).await?)
        };
        match step.await {
            Ok(s) => saved.push(s),
            Err(Failed::Api(e)) if list => return Err(Failed::Api(item_errors(e, i))),
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(saved)
}

/// The answer to a created placement.
fn created_answer(tcs: &Tcs, dto: PlacementDetailsDto) -> Response {
    let id = dto.id.unwrap_or_default().to_string();
    created(tcs.kit.api, "placements", ENTITY, &id, dto)
}

/// `POST /placements`.
async fn create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    tis_core::extract::Json(dto): tis_core::extract::Json<PlacementDetailsDto>,
) -> Response {
    let result: Result<Response, Failed> = async {
        if dto.id.is_some() {
            let res = invalid(
                OBJECT,
                vec![FieldError::new(
                    "id",
                    "A new placement cannot already have an ID",
                )],
            );
            return Ok(failure(res, "idexists", ENTITY));
        }
        let mut saved = save_all(&tcs, &who, &headers, std::slice::from_ref(&dto), false).await?;
        Ok(created_answer(&tcs, saved.pop().unwrap_or_default()))
    }
    .await;
    respond(result)
}

/// `PUT /placements`: an update, or a create without an id.
async fn update(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    tis_core::extract::Json(dto): tis_core::extract::Json<PlacementDetailsDto>,
) -> Response {
    let result: Result<Response, Failed> = async {
        let creates = dto.id.is_none();
        let saved = save_all(&tcs, &who, &headers, std::slice::from_ref(&dto), false)
            .await?
            .pop()
            .unwrap_or_default();
        if creates {
            return Ok(created_answer(&tcs, saved));
        }
        let id = saved.id.unwrap_or_default().to_string();
        Ok(alert(
            axum::Json(saved).into_response(),
            ENTITY,
            "updated",
            &id,
        ))
    }
    .await;
    respond(result)
}

/// `PATCH /placements`: each saved, all or nothing.
async fn patch_list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    tis_core::extract::Json(dtos): tis_core::extract::Json<Vec<PlacementDto>>,
) -> Response {
    let result: Result<Response, Failed> = async {
        bounded(&dtos, tcs.kit.limits.max_items)?;
        let details: Vec<PlacementDetailsDto> = dtos.into_iter().map(Into::into).collect();
        let saved = save_all(&tcs, &who, &headers, &details, true).await?;
        let ids = saved
            .iter()
            .filter_map(|s| s.id.map(|i| i.to_string()))
            .collect::<Vec<_>>()
            .join(",");
        let out: Vec<PlacementDto> = saved.into_iter().map(Into::into).collect();
        Ok(alert(
            axum::Json(out).into_response(),
            ENTITY,
            "updated",
            &ids,
        ))
    }
    .await;
    respond(result)
}

/// The stored placement `id` within `who`'s scope, in `tx`, or 404.
async fn visible_in(
    tx: &mut Tx,
    who: &Principal,
    id: i64,
) -> Result<PlacementDetailsDto, ApiError> {
    load(&mut Source::Tx(tx), &[id], &Scope::of(who))
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("no placement with id {id}")))
}

/// `DELETE /placements/{id}`: only a placement that has not started (the original's
/// `validatePlacementForDelete`).
async fn delete_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = number("id", &id)?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        let before = visible_in(&mut tx, &who, id).await?;
        let from = date_of(before.date_from.as_deref().unwrap_or_default())?;
        if from <= today() {
            return Err(ApiError::Conflict(
                "Placement cannot be deleted as its not a future Placement".into(),
            ));
        }
        let mut q = Sql::new("DELETE FROM placement WHERE id = ");
        q.bind(id);
        tx.execute(q).await?;
        record(&mut tx, who.user_name(), Some(&before), None).await?;
        refresh_around(&mut tx, Some(&before), None, false).await?;
        tx.commit().await?;
        Ok(alert(
            StatusCode::OK.into_response(),
            ENTITY,
            "deleted",
            &id.to_string(),
        ))
    }
    .await;
    answer(OBJECT, result)
}

/// `PUT /placements/{id}/close`: a current placement (started before today, not ended)
/// ends yesterday (the original's `closePlacement`).
async fn close(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = number("id", &id)?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        let before = visible_in(&mut tx, &who, id).await?;
        let today = today();
        let from = date_of(before.date_from.as_deref().unwrap_or_default())?;
        let to = before.date_to.as_deref().map(date_of).transpose()?;
        if !(from < today && to.is_none_or(|t| today <= t)) {
            return Err(ApiError::Conflict(
                "cannot deactivate placement as it is not a current placement".into(),
            ));
        }
        let yesterday = today.previous_day().unwrap_or(today);
        let mut q = Sql::new("UPDATE placement SET date_to = ");
        q.bind(yesterday)
            .push(", amended_date = ")
            .bind(now())
            .push(" WHERE id = ")
            .bind(id);
        tx.execute(q).await?;
        let after = visible_in(&mut tx, &who, id)
            .await
            .or_else(|_| Ok::<_, ApiError>(before.clone()))?;
        record(&mut tx, who.user_name(), Some(&before), Some(&after)).await?;
        refresh_around(&mut tx, Some(&before), Some(&after), false).await?;
        tx.commit().await?;
        Ok(axum::Json(PlacementDto::from(after)).into_response())
    }
    .await;
    answer(OBJECT, result)
}

/// The draft placements in the posts of programme `programme` that `scope` sees.
fn drafts_of(programme: i64, scope: &Scope) -> Sql {
    let mut q = Sql::new(
        "SELECT pl.id AS \"id\" FROM placement pl WHERE pl.lifecycle_state = 'DRAFT' AND pl.post_id IN (SELECT pp.post_id FROM post_programme pp WHERE pp.programme_id = ",
    );
    q.bind(programme).push(")");
    restrict_placements(scope, &mut q, "pl");
    q.push(" ORDER BY pl.id");
    q
}

/// 404 unless programme `id` exists within `scope`.
async fn programme_visible(db: &Reader, id: i64, scope: &Scope) -> Result<(), ApiError> {
    let mut q = Sql::new("SELECT g.id FROM programme g WHERE g.id = ");
    q.bind(id);
    scope.restrict_programmes(&mut q, "g");
    match db.fetch_optional(q).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("no programme with id {id}"))),
    }
}

/// `GET /placements/draftList/{programmeId}`.
async fn draft_list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(programme): Path<String>,
) -> Result<Response, ApiError> {
    let programme = number("programmeId", &programme)?;
    let scope = Scope::of(&who);
    let db = tcs.kit.repo.db().read();
    programme_visible(&db, programme, &scope).await?;
    let ids: Vec<i64> = db
        .fetch_all(drafts_of(programme, &scope))
        .await?
        .iter()
        .filter_map(|r| r.get("id").and_then(Json::as_i64))
        .collect();
    let items = load(&mut Source::Read(db), &ids, &scope).await?;
    Ok(axum::Json(items).into_response())
}

/// `PATCH /placements/approve/{programmeId}`: each draft the caller sees in the
/// programme's posts becomes approved, with its history.
async fn approve(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(programme): Path<String>,
) -> Response {
    let result = async {
        let programme = number("programmeId", &programme)?;
        let scope = Scope::of(&who);
        programme_visible(&tcs.kit.repo.db().read(), programme, &scope).await?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        let ids: Vec<i64> = tx
            .fetch_all(drafts_of(programme, &scope))
            .await?
            .iter()
            .filter_map(|r| r.get("id").and_then(Json::as_i64))
            .collect();
        let before = load(&mut Source::Tx(&mut tx), &ids, &Scope::Everything).await?;
        if !ids.is_empty() {
            let mut q =
                Sql::new("UPDATE placement SET lifecycle_state = 'APPROVED', amended_date = ");
            q.bind(now())
                .push(" WHERE id IN ")
                .bind_list(ids.iter().copied());
            tx.execute(q).await?;
        }
        for b in &before {
            let after = PlacementDetailsDto {
                lifecycle_state: Some(APPROVED.into()),
                ..b.clone()
            };
            record(&mut tx, who.user_name(), Some(b), Some(&after)).await?;
            refresh_around(&mut tx, Some(b), None, false).await?;
        }
        tx.commit().await?;
        Ok(axum::Json(json!({"updatedCount": ids.len()})).into_response())
    }
    .await;
    answer(OBJECT, result)
}

/// The original's `PlacementsResultDTO` (placement planner): the placements of a
/// programme's posts of one specialty, by specialty, site and post.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementsResultDto {
    pub specialties: Vec<PlannerSpecialty>,
    pub total_specialties: usize,
    pub total_sites: usize,
    pub total_placements: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannerSpecialty {
    pub id: i64,
    pub name: Option<String>,
    pub sites: Vec<PlannerSite>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannerSite {
    pub site_id: i64,
    pub site_code: Option<String>,
    pub posts: Vec<PlannerPost>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannerPost {
    pub id: i64,
    pub national_post_number: Option<String>,
    pub placements: Vec<super::views::PlacementViewDto>,
}

/// A planner date: the original's `dd/MM/yyyy`, or `YYYY-MM-DD`.
fn planner_date(field: &str, raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Date> {
    let raw = raw?;
    date(field, Some(&raw.replace('/', "-")), errors)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlannerQuery {
    from_date: Option<String>,
    to_date: Option<String>,
}

/// `GET /programme/{programmeId}/specialty/{specialtyId}/placements`.
async fn by_programme_and_specialty(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path((programme, specialty)): Path<(String, String)>,
    tis_core::extract::Query(pq): tis_core::extract::Query<PlannerQuery>,
) -> Result<Response, ApiError> {
    let programme = number("programmeId", &programme)?;
    let specialty = number("specialtyId", &specialty)?;
    let mut errors = Vec::new();
    let from = planner_date("fromDate", pq.from_date.as_deref(), &mut errors);
    let to = planner_date("toDate", pq.to_date.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let scope = Scope::of(&who);
    let db = tcs.kit.repo.db().read();
    programme_visible(&db, programme, &scope).await?;
    let mut q = Sql::new(
        "SELECT pl.id AS \"id\" FROM placement pl JOIN post_programme pp ON pp.post_id = pl.post_id JOIN post_specialty ps ON ps.post_id = pl.post_id WHERE pp.programme_id = ",
    );
    q.bind(programme)
        .push(" AND ps.specialty_id = ")
        .bind(specialty);
    if let Some(to) = to {
        q.push(" AND pl.date_from <= ").bind(to);
    }
    if let Some(from) = from {
        q.push(" AND (pl.date_to IS NULL OR pl.date_to >= ")
            .bind(from)
            .push(")");
    }
    restrict_placements(&scope, &mut q, "pl");
    q.push(" ORDER BY pl.site_id, pl.post_id, pl.date_from, pl.id");
    let mut ids: Vec<i64> = db
        .fetch_all(q)
        .await?
        .iter()
        .filter_map(|r| r.get("id").and_then(Json::as_i64))
        .collect();
    ids.dedup();
    let mut name_q = Sql::new("SELECT name AS \"name\" FROM specialty WHERE id = ");
    name_q.bind(specialty);
    let name = db
        .fetch_optional(name_q)
        .await?
        .and_then(|r| r.get("name").and_then(Json::as_str).map(str::to_owned));
    let placements = load(&mut Source::Read(db), &ids, &scope).await?;
    let total = placements.len();
    let mut sites: Vec<PlannerSite> = Vec::new();
    for p in placements {
        let site_id = p.site_id.unwrap_or_default();
        if sites.last().is_none_or(|s| s.site_id != site_id) {
            sites.push(PlannerSite {
                site_id,
                site_code: p.site_code.clone(),
                posts: Vec::new(),
            });
        }
        let Some(site) = sites.last_mut() else {
            continue;
        };
        let post_id = p.post_id.unwrap_or_default();
        if site.posts.last().is_none_or(|q| q.id != post_id) {
            site.posts.push(PlannerPost {
                id: post_id,
                national_post_number: p.national_post_number.clone(),
                placements: Vec::new(),
            });
        }
        if let Some(post) = site.posts.last_mut() {
            post.placements.push(p.into());
        }
    }
    let specialties = if sites.is_empty() {
        Vec::new()
    } else {
        vec![PlannerSpecialty {
            id: specialty,
            name,
            sites,
        }]
    };
    let result = PlacementsResultDto {
        total_specialties: specialties.len(),
        total_sites: specialties.iter().map(|s| s.sites.len()).sum(),
        total_placements: total,
        specialties,
    };
    Ok(axum::Json(result).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_auth::{AuthenticatedBy, UserProfile};

    fn who(name: &str, approve: bool) -> Principal {
        let mut p = UserProfile::named(name);
        if approve {
            p.permissions.insert(APPROVE.into());
        }
        Principal::new(p, AuthenticatedBy::Gateway)
    }

    #[test]
    fn only_an_approver_makes_approved_placements_and_none_goes_back_to_draft() {
        let (clerk, approver) = (who("clerk", false), who("approver", true));
        // Create.
        assert_eq!(lifecycle(&clerk, Some(APPROVED), None), DRAFT);
        assert_eq!(lifecycle(&approver, None, None), APPROVED);
        assert_eq!(lifecycle(&approver, Some(DRAFT), None), DRAFT);
        assert_eq!(
            lifecycle(&who(BULK_UPLOAD, false), Some(DRAFT), None),
            APPROVED
        );
        // Update.
        assert_eq!(lifecycle(&clerk, Some(APPROVED), Some(DRAFT)), DRAFT);
        assert_eq!(lifecycle(&clerk, Some(DRAFT), Some(APPROVED)), APPROVED);
        assert_eq!(lifecycle(&approver, Some(APPROVED), Some(DRAFT)), APPROVED);
        assert_eq!(lifecycle(&approver, Some(DRAFT), Some(APPROVED)), APPROVED);
        assert_eq!(lifecycle(&approver, None, Some(DRAFT)), DRAFT);
    }

    #[test]
    fn column_filters_name_known_fields_and_date_ranges_of_two_dates() {
        let mut q = Sql::new("x WHERE 1 = 1");
        column_filters(r#"{"traineeId": [1, "2"], "lifecycleState": ["DRAFT"], "dateFrom": ["2026-01-01", "2026-12-31"]}"#, &mut q)
            .expect("accepted");
        let text = q.render(tis_store::Backend::Postgres);
        assert!(text.contains("pl.trainee_id IN ($4, $5)"), "{text}");
        assert!(text.contains("pl.date_from BETWEEN"), "{text}");
        for bad in [
            r#"{"surname": ["x"]}"#,
            r#"{"dateTo": ["2026-01-01"]}"#,
            r#"{"postId": ["x"]}"#,
            "[1",
        ] {
            assert!(column_filters(bad, &mut Sql::new("")).is_err(), "{bad}");
        }
    }
}
