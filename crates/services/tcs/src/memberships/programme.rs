//! Programme memberships as HEAD served them (docs/tcs-original.md §8): a
//! `ProgrammeMembershipDTO` is one `programme_membership` row (keyed by its `uuid`) with its
//! `curriculumMemberships`, each a `curriculum_membership` row whose numeric `id` is what
//! every numeric "programme membership id" of the API names (`Location`, alert params,
//! `DELETE /programme-memberships/{id}`, `/details/{ids}`, the delete-by-body list).
//!
//! | route | answer |
//! |---|---|
//! | `GET /programme-memberships` | a page over curriculum memberships, each a membership holding that one |
//! | `GET /programme-memberships/{id}` | by UUID: the membership; by number: the membership holding only that curriculum membership |
//! | `GET /programme-memberships/details/{ids}` | one `ProgrammeMembershipCurriculaDTO` per curriculum membership id |
//! | `GET /programme-memberships/summary-list?ids=` | `{programmeMembershipUuid, programmeName, programmeStartDate}` per UUID |
//! | `GET /trainee/{id}/programme-memberships[/rolled-up]`, `/trainee/{id}/programme/{pid}/programme-memberships` | the person's memberships (rolled up: same programme, type and dates merged) |
//! | `POST /programme-memberships` | creates (201); `curriculumMemberships[0].id` set is 400 `idexists` |
//! | `PUT /programme-memberships` | updates the membership named by `uuid` (or by its first curriculum membership's id); curriculum memberships without an id are added; with none, creates (201), as the original |
//! | `PATCH /programme-memberships` | saves each membership of the list, all or nothing |
//! | `PATCH /bulk-programme-membership` | patches the non-null fields of one membership (by `uuid`), reporting problems in `messageList` (always 200) |
//! | `PATCH /curriculum-memberships` | patches one curriculum membership's non-null fields |
//! | `DELETE /programme-memberships/{id}`, `POST /programme-memberships/delete/` | delete curriculum memberships; the last one takes its membership with it |
//!
//! Validation is the original's `ProgrammeMembershipValidator` (person, programme,
//! curricula linked to the programme, rotation of the programme, start not after end) plus
//! what HEAD's bulk and curriculum-membership validators checked (the curriculum dates within
//! the programme's, `trainingPathway` ∈ CCT/CESR/N/A, `leavingReason` current in Reference),
//! and a training number must be of the programme. Every write: one transaction with the
//! rows, the person's history (`programmeMembership`) and their owner, status and list row.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use tis_auth::{Authenticated, Principal};
use tis_core::FieldError;
use tis_core::extract::Json as Body;
use tis_core::paging::{ListParams, Rules, query_pairs};
use tis_reference_client::RefType;
use tis_service_kit::ApiError;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::decode;
use tis_store::{Sql, Tx, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    MembershipPersonDto, alert, answer, bounded, date, item_errors, now, number, person_in_scope,
    today,
};
use crate::catalogue::TrainingNumberDto;
use crate::domain::scope::Scope;
use crate::people::basic::parse_ids;
use crate::people::{history, refresh};
use crate::programmes::curricula::{CURRICULUM, CurriculumDto};
use crate::programmes::rotations::RotationDto;
use crate::reference::Refs;
use crate::routes::{API, PERSON_VIEW_GUARD, Tcs};

/// The original's `ENTITY_NAME`.
const ENTITY: &str = "programmeMembership";
/// The `objectName` of field errors.
const OBJECT: &str = "ProgrammeMembershipDTO";
/// What the history calls a membership's changes.
const RECORD: &str = "programmeMembership";

const CREATE_GUARD: Guard = Guard::Permission("tis:people::person:", "Create");
const UPDATE_GUARD: Guard = Guard::Permission("tis:people::person:", "Update");
const DELETE_GUARD: Guard = Guard::Authority("tcs:delete:entities");

/// The original's `ProgrammeMembershipType`.
pub const PROGRAMME_MEMBERSHIP_TYPES: &[&str] = &[
    "SUBSTANTIVE",
    "LAT",
    "FTSTA",
    "MILITARY",
    "VISITOR",
    "ACADEMIC",
];
/// The original's `TrainingPathway` values (`NA` is sent and stored as `N/A`).
pub const TRAINING_PATHWAYS: &[&str] = &["CCT", "CESR", "N/A"];

/// The original's `CurriculumMembershipDTO` (HEAD).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurriculumMembershipDto {
    /// What the API calls the programme membership id.
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    pub programme_membership_uuid: Option<String>,
    /// Required; within the programme membership's dates.
    pub curriculum_start_date: Option<String>,
    /// Required; not before the start.
    pub curriculum_end_date: Option<String>,
    pub period_of_grace: Option<i64>,
    pub curriculum_completion_date: Option<String>,
    /// Required; a curriculum of the membership's programme.
    pub curriculum_id: Option<i64>,
    pub amended_date: Option<String>,
    #[serde(default)]
    pub message_list: Vec<String>,
}

/// The original's `ProgrammeMembershipDTO` (HEAD).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgrammeMembershipDto {
    /// Unused at HEAD (always null).
    pub id: Option<i64>,
    pub uuid: Option<String>,
    /// Required: SUBSTANTIVE, LAT, FTSTA, MILITARY, VISITOR or ACADEMIC.
    pub programme_membership_type: Option<String>,
    /// Required: `{"id": …}` (answered with the person's own fields, as the original).
    pub person: Option<MembershipPersonDto>,
    pub rotation: Option<RotationDto>,
    pub programme_start_date: Option<String>,
    pub programme_end_date: Option<String>,
    pub leaving_destination: Option<String>,
    pub leaving_reason: Option<String>,
    pub programme_id: Option<i64>,
    pub programme_name: Option<String>,
    pub programme_owner: Option<String>,
    pub programme_number: Option<String>,
    /// CCT, CESR or N/A.
    pub training_pathway: Option<String>,
    pub training_number: Option<TrainingNumberDto>,
    pub amended_date: Option<String>,
    pub curriculum_memberships: Option<Vec<CurriculumMembershipDto>>,
    /// The Conditions of Joining the trainee signed, if any. A body's non-null one records
    /// (or replaces) it; a null one leaves it as it is.
    pub conditions_of_joining: Option<ConditionsOfJoiningDto>,
    #[serde(default)]
    pub message_list: Vec<String>,
}

/// HEAD's `ConditionsOfJoiningDto`: which Gold Guide version the trainee signed, and when;
/// `syncedAt` (beyond the original's DTO) is when TCS recorded it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConditionsOfJoiningDto {
    /// The membership's (read only).
    pub programme_membership_uuid: Option<String>,
    /// Required: an RFC 3339 instant (`2026-08-01T09:30:00Z`).
    pub signed_at: Option<String>,
    /// Required: the Gold Guide version, `GG9` or `GG10`.
    pub version: Option<String>,
    /// When TCS recorded it (read only).
    pub synced_at: Option<String>,
}

/// The Gold Guide versions a Conditions of Joining may be signed under (the original's
/// `GoldGuideVersion`, with the later `GG10`).
pub const GOLD_GUIDE_VERSIONS: &[&str] = &["GG9", "GG10"];

/// The original's `ProgrammeMembershipCurriculaDTO`: a membership and the curriculum of its
/// last curriculum membership.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProgrammeMembershipCurriculaDto {
    #[serde(flatten)]
    pub membership: ProgrammeMembershipDto,
    #[serde(rename = "curriculumDTO")]
    pub curriculum_dto: Option<CurriculumDto>,
}

/// The original's `ProgrammeMembershipSummaryDTO`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgrammeMembershipSummaryDto {
    pub programme_membership_uuid: String,
    pub programme_name: Option<String>,
    pub programme_start_date: String,
}

/// One row of the membership query: a membership, and one of its curriculum memberships.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MembershipRow {
    uuid: String,
    person_id: i64,
    programme_id: i64,
    programme_membership_type: String,
    programme_start_date: String,
    programme_end_date: String,
    leaving_destination: Option<String>,
    leaving_reason: Option<String>,
    training_pathway: Option<String>,
    amended_date: Option<String>,
    programme_name: Option<String>,
    programme_number: Option<String>,
    owner: Option<String>,
    rotation_id: Option<i64>,
    rotation_name: Option<String>,
    rotation_status: Option<String>,
    tn_id: Option<i64>,
    tn_type: Option<String>,
    tn_text: Option<String>,
    tn_number: Option<i64>,
    tn_year: Option<i64>,
    tn_contract: Option<String>,
    tn_suffix: Option<String>,
    tn_programme_id: Option<i64>,
    tn_intrepid_id: Option<String>,
    cm_id: Option<i64>,
    cm_intrepid_id: Option<String>,
    curriculum_id: Option<i64>,
    curriculum_start_date: Option<String>,
    curriculum_end_date: Option<String>,
    period_of_grace: Option<i64>,
    curriculum_completion_date: Option<String>,
    cm_amended_date: Option<String>,
    person_intrepid_id: Option<String>,
    person_added_date: Option<String>,
    person_amended_date: Option<String>,
    person_role: Option<String>,
    person_status: Option<String>,
    person_comments: Option<String>,
    person_inactive_date: Option<String>,
    person_inactive_notes: Option<String>,
    person_public_health_number: Option<String>,
    person_regulator: Option<String>,
    coj_signed_at: Option<String>,
    coj_version: Option<String>,
    coj_synced_at: Option<String>,
}

/// A membership as stored, with its person (for scope and refresh).
#[derive(Debug, Clone)]
struct Stored {
    person_id: i64,
    dto: ProgrammeMembershipDto,
}

const SELECT: &str = r#"SELECT pm.uuid AS "uuid", pm.person_id AS "personId", pm.programme_id AS "programmeId", pm.programme_membership_type AS "programmeMembershipType", pm.programme_start_date AS "programmeStartDate", pm.programme_end_date AS "programmeEndDate", pm.leaving_destination AS "leavingDestination", pm.leaving_reason AS "leavingReason", pm.training_pathway AS "trainingPathway", pm.amended_date AS "amendedDate", g.programme_name AS "programmeName", g.programme_number AS "programmeNumber", g.owner AS "owner", r.id AS "rotationId", r.name AS "rotationName", r.status AS "rotationStatus", tn.id AS "tnId", tn.training_number_type AS "tnType", tn.training_number AS "tnText", tn.number AS "tnNumber", tn.appointment_year AS "tnYear", tn.type_of_contract AS "tnContract", tn.suffix AS "tnSuffix", tn.programme_id AS "tnProgrammeId", tn.intrepid_id AS "tnIntrepidId", cm.id AS "cmId", cm.intrepid_id AS "cmIntrepidId", cm.curriculum_id AS "curriculumId", cm.curriculum_start_date AS "curriculumStartDate", cm.curriculum_end_date AS "curriculumEndDate", cm.period_of_grace AS "periodOfGrace", cm.curriculum_completion_date AS "curriculumCompletionDate", cm.amended_date AS "cmAmendedDate", p.intrepid_id AS "personIntrepidId", p.added_date AS "personAddedDate", p.amended_date AS "personAmendedDate", p.role AS "personRole", p.status AS "personStatus", p.comments AS "personComments", p.inactive_date AS "personInactiveDate", p.inactive_notes AS "personInactiveNotes", p.public_health_number AS "personPublicHealthNumber", p.regulator AS "personRegulator", coj.signed_at AS "cojSignedAt", coj.version AS "cojVersion", coj.synced_at AS "cojSyncedAt" FROM programme_membership pm JOIN person p ON p.id = pm.person_id JOIN programme g ON g.id = pm.programme_id LEFT JOIN rotation r ON r.id = pm.rotation_id LEFT JOIN training_number tn ON tn.id = pm.training_number_id LEFT JOIN curriculum_membership cm ON cm.programme_membership_uuid = pm.uuid LEFT JOIN conditions_of_joining coj ON coj.programme_membership_uuid = pm.uuid WHERE 1 = 1"#;

/// Which memberships a query reads.
#[derive(Debug, Clone)]
enum Which<'a> {
    Uuids(&'a [Uuid]),
    /// The memberships holding these curriculum memberships, with only those.
    Cms(&'a [i64]),
    Person(i64, Option<i64>),
    People(&'a [i64]),
}

/// The memberships `which` names within `scope`, in start-date order, their curriculum
/// memberships by id.
fn query(which: &Which<'_>, scope: &Scope) -> Sql {
    let mut q = Sql::new(SELECT);
    match which {
        Which::Uuids(uuids) => {
            q.push(" AND pm.uuid IN ");
            q.bind_list(uuids.iter().copied());
        }
        Which::Cms(ids) => {
            q.push(" AND cm.id IN ");
            q.bind_list(ids.iter().copied());
        }
        Which::People(people) => {
            q.push(" AND pm.person_id IN ");
            q.bind_list(people.iter().copied());
        }
        Which::Person(person, programme) => {
            q.push(" AND pm.person_id = ").bind(*person);
            if let Some(programme) = programme {
                q.push(" AND pm.programme_id = ").bind(*programme);
            }
        }
    }
    scope.restrict_people(&mut q, "p");
    q.push(" ORDER BY pm.programme_start_date, pm.uuid, cm.id");
    q
}

/// A stored enum name as its type (`None` for a name it does not have).
fn enum_value<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(Json::String(name.to_owned())).ok()
}

/// Rows into memberships, each once, in the rows' order.
fn assemble(rows: Vec<tis_store::Row>) -> Result<Vec<Stored>, ApiError> {
    let mut out: Vec<Stored> = Vec::new();
    for row in rows {
        let r: MembershipRow = tis_store::db::decode(row)?;
        let cm = r.cm_id.map(|id| CurriculumMembershipDto {
            id: Some(id),
            intrepid_id: r.cm_intrepid_id.clone(),
            programme_membership_uuid: Some(r.uuid.clone()),
            curriculum_start_date: r.curriculum_start_date.clone(),
            curriculum_end_date: r.curriculum_end_date.clone(),
            period_of_grace: r.period_of_grace,
            curriculum_completion_date: r.curriculum_completion_date.clone(),
            curriculum_id: r.curriculum_id,
            amended_date: r.cm_amended_date.clone(),
            message_list: Vec::new(),
        });
        if let Some(last) = out
            .last_mut()
            .filter(|s| s.dto.uuid.as_deref() == Some(&r.uuid))
        {
            last.dto
                .curriculum_memberships
                .get_or_insert_default()
                .extend(cm);
            continue;
        }
        let rotation = r.rotation_id.map(|id| RotationDto {
            id: Some(id),
            programme_id: Some(r.programme_id),
            programme_name: r.programme_name.clone(),
            programme_number: r.programme_number.clone(),
            name: r.rotation_name.clone(),
            status: r.rotation_status.as_deref().and_then(enum_value),
        });
        let training_number = r.tn_id.map(|id| TrainingNumberDto {
            id: Some(id),
            training_number_type: r
                .tn_type
                .as_deref()
                .and_then(|t| serde_json::from_value(Json::String(t.to_owned())).ok()),
            training_number: r.tn_text.clone(),
            number: r.tn_number,
            appointment_year: r.tn_year,
            type_of_contract: r.tn_contract.clone(),
            suffix: r.tn_suffix.clone(),
            programme_id: r.tn_programme_id,
            intrepid_id: r.tn_intrepid_id.clone(),
        });
        out.push(Stored {
            person_id: r.person_id,
            dto: ProgrammeMembershipDto {
                id: None,
                uuid: Some(r.uuid.clone()),
                programme_membership_type: Some(r.programme_membership_type),
                person: Some(MembershipPersonDto {
                    id: Some(r.person_id),
                    intrepid_id: r.person_intrepid_id,
                    added_date: r.person_added_date,
                    amended_date: r.person_amended_date,
                    role: r.person_role,
                    status: r.person_status,
                    comments: r.person_comments,
                    inactive_date: r.person_inactive_date,
                    inactive_notes: r.person_inactive_notes,
                    public_health_number: r.person_public_health_number,
                    regulator: r.person_regulator,
                }),
                rotation,
                programme_start_date: Some(r.programme_start_date),
                programme_end_date: Some(r.programme_end_date),
                leaving_destination: r.leaving_destination,
                leaving_reason: r.leaving_reason,
                programme_id: Some(r.programme_id),
                programme_name: r.programme_name,
                programme_owner: r.owner,
                programme_number: r.programme_number,
                training_pathway: r.training_pathway,
                training_number,
                amended_date: r.amended_date,
                curriculum_memberships: Some(cm.into_iter().collect()),
                conditions_of_joining: r.coj_version.map(|version| ConditionsOfJoiningDto {
                    programme_membership_uuid: Some(r.uuid.clone()),
                    signed_at: r.coj_signed_at,
                    version: Some(version),
                    synced_at: r.coj_synced_at,
                }),
                message_list: Vec::new(),
            },
        });
    }
    Ok(out)
}

/// Reads `which` within `scope` on the request's reader.
async fn read(tcs: &Tcs, which: &Which<'_>, scope: &Scope) -> Result<Vec<Stored>, ApiError> {
    assemble(
        tcs.kit
            .repo
            .db()
            .read()
            .fetch_all(query(which, scope))
            .await?,
    )
}

/// The memberships of `people` (already in the caller's scope), latest start first, each
/// with its person's id: what a person's record (`GET /people/{id}`) carries. From the
/// primary when `primary` (read-your-writes after a write), else from a reader.
pub(crate) async fn of_people(
    db: &tis_store::Db,
    primary: bool,
    people: &[i64],
) -> Result<Vec<(i64, ProgrammeMembershipDto)>, ApiError> {
    let q = query(&Which::People(people), &Scope::Everything);
    let rows = if primary {
        db.write().fetch_all(q).await?
    } else {
        db.read().fetch_all(q).await?
    };
    let mut found = assemble(rows)?;
    // Stable: equal starts keep their uuid order (the original's TreeSet collapsed them).
    found.sort_by(|a, b| b.dto.programme_start_date.cmp(&a.dto.programme_start_date));
    Ok(found.into_iter().map(|s| (s.person_id, s.dto)).collect())
}

/// Reads `which` within `scope` in `tx`.
async fn read_tx(tx: &mut Tx, which: &Which<'_>, scope: &Scope) -> Result<Vec<Stored>, ApiError> {
    assemble(tx.fetch_all(query(which, scope)).await?)
}

/// A membership with each of its curriculum memberships alone, in curriculum membership order.
fn one_per_curriculum(stored: Vec<Stored>) -> Vec<ProgrammeMembershipDto> {
    let mut out: Vec<ProgrammeMembershipDto> = stored
        .into_iter()
        .flat_map(|s| {
            let cms = s.dto.curriculum_memberships.clone().unwrap_or_default();
            cms.into_iter().map(move |cm| ProgrammeMembershipDto {
                curriculum_memberships: Some(vec![cm]),
                ..s.dto.clone()
            })
        })
        .collect();
    out.sort_by_key(first_cm_id);
    out
}

fn first_cm_id(dto: &ProgrammeMembershipDto) -> Option<i64> {
    dto.curriculum_memberships
        .as_ref()
        .and_then(|c| c.first())
        .and_then(|c| c.id)
}

/// The ids of the membership's curriculum memberships, joined by `,`.
fn cm_ids(dtos: &[ProgrammeMembershipDto]) -> String {
    dtos.iter()
        .flat_map(|d| d.curriculum_memberships.iter().flatten())
        .filter_map(|c| c.id.map(|id| id.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

/// `dtos` with the curriculum of each one's last curriculum membership, as the curricula
/// DTOs carry it.
async fn curricula(
    tcs: &Tcs,
    dtos: Vec<ProgrammeMembershipDto>,
) -> Result<Vec<ProgrammeMembershipCurriculaDto>, ApiError> {
    let last = |d: &ProgrammeMembershipDto| {
        d.curriculum_memberships
            .as_ref()
            .and_then(|c| c.last())
            .and_then(|c| c.curriculum_id)
    };
    let mut ids: Vec<Json> = dtos.iter().filter_map(last).map(Json::from).collect();
    ids.sort_by_key(|id| id.as_i64());
    ids.dedup();
    let found: BTreeMap<i64, CurriculumDto> =
        decode::<CurriculumDto>(tcs.kit.repo.get_many(&CURRICULUM, &ids).await?)?
            .into_iter()
            .filter_map(|c| Some((c.id?, c)))
            .collect();
    Ok(dtos
        .into_iter()
        .map(|membership| ProgrammeMembershipCurriculaDto {
            curriculum_dto: last(&membership).and_then(|id| found.get(&id).cloned()),
            membership,
        })
        .collect())
}

/// The routes of programme (and curriculum) memberships.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let one = || Doc::One("ProgrammeMembershipDto".into());
    let many = || Doc::Many("ProgrammeMembershipDto".into());
    let curricula = || Doc::Many("ProgrammeMembershipCurriculaDto".into());
    let tag = "ProgrammeMembership";
    api.schema::<ProgrammeMembershipDto>()
        .schema::<ConditionsOfJoiningDto>()
        .add(
            Method::Get,
            &format!("{API}/conditions-of-joining/{{uuid}}"),
            conditions_of_joining_one,
            Op::new(tag, "The Conditions of Joining of a programme membership (by its UUID)")
                .path("uuid")
                .returns(200, Doc::One("ConditionsOfJoiningDto".into()))
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/trainee/{{traineeId}}/conditions-of-joinings"),
            conditions_of_joining_of_trainee,
            Op::new(tag, "The Conditions of Joining of a trainee's programme memberships")
                .path("traineeId")
                .returns(200, Doc::Many("ConditionsOfJoiningDto".into()))
                .guard(PERSON_VIEW_GUARD),
        )
        .schema::<ProgrammeMembershipCurriculaDto>()
        .schema::<ProgrammeMembershipSummaryDto>()
        .add(
            Method::Get,
            &format!("{API}/programme-memberships"),
            list,
            Op::new(tag, "A page of curriculum memberships, each in its programme membership")
                .query(&["page", "size", "sort"])
                .returns(200, many())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Post,
            &format!("{API}/programme-memberships"),
            create,
            Op::new(tag, "Creates a programme membership with its curriculum memberships")
                .body(one())
                .returns(201, one())
                .guard(CREATE_GUARD)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/programme-memberships"),
            update,
            Op::new(tag, "Updates a programme membership (creates it when its first curriculum membership has no id)")
                .body(one())
                .returns(200, one())
                .guard(UPDATE_GUARD)
                .idempotent(),
        )
        .add(
            Method::Patch,
            &format!("{API}/programme-memberships"),
            patch_list,
            Op::new(tag, "Saves many programme memberships, all or none")
                .body(many())
                .returns(200, many())
                .guard(UPDATE_GUARD)
                .idempotent(),
        )
        .add(
            Method::Get,
            &format!("{API}/programme-memberships/{{id}}"),
            get_one,
            Op::new(tag, "A programme membership by UUID, or by one curriculum membership id (holding only that one)")
                .path("id")
                .returns(200, one())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Delete,
            &format!("{API}/programme-memberships/{{id}}"),
            delete_one,
            Op::new(tag, "Deletes a curriculum membership (and its programme membership with its last one)")
                .path("id")
                .guard(DELETE_GUARD),
        )
        .add(
            Method::Post,
            &format!("{API}/programme-memberships/delete/"),
            delete_by_body,
            Op::new(tag, "Deletes the curriculum memberships the body lists")
                .body(one())
                .guard(DELETE_GUARD)
                .idempotent(),
        )
        .add(
            Method::Get,
            &format!("{API}/programme-memberships/details/{{ids}}"),
            details,
            Op::new(tag, "One membership per curriculum membership id, with its curriculum")
                .path("ids")
                .returns(200, curricula())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/programme-memberships/summary-list"),
            summary_list,
            Op::new(tag, "Programme name and start of the memberships of the ids (UUIDs)")
                .query(&["ids"])
                .returns(200, Doc::Many("ProgrammeMembershipSummaryDto".into()))
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/trainee/{{traineeId}}/programme-memberships"),
            trainee,
            Op::new(tag, "A trainee's programme memberships, with the curriculum of each")
                .path("traineeId")
                .returns(200, curricula())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/trainee/{{traineeId}}/programme-memberships/rolled-up"),
            trainee_rolled_up,
            Op::new(tag, "A trainee's programme memberships, those of the same programme, type and dates merged")
                .path("traineeId")
                .returns(200, curricula())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/trainee/{{traineeId}}/programme/{{programmeId}}/programme-memberships"),
            trainee_programme,
            Op::new(tag, "A trainee's curriculum memberships in one programme")
                .path("traineeId")
                .path("programmeId")
                .returns(200, curricula())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Patch,
            &format!("{API}/bulk-programme-membership"),
            patch_one,
            Op::new(tag, "Patches one membership's non-null fields; problems are reported in messageList")
                .body(one())
                .returns(200, one())
                .guard(UPDATE_GUARD)
                .idempotent(),
        )
        .add(
            Method::Post,
            &format!("{API}/curriculum-memberships"),
            create_curriculum_membership,
            Op::new(
                "CurriculumMembership",
                "Adds a curriculum membership to the programme membership its programmeMembershipUuid names",
            )
            .body(Doc::One("CurriculumMembershipDto".into()))
            .returns(201, Doc::One("CurriculumMembershipDto".into()))
            .guard(CREATE_GUARD)
            .idempotent(),
        )
        .add(
            Method::Patch,
            &format!("{API}/curriculum-memberships"),
            patch_curriculum_membership,
            Op::new("CurriculumMembership", "Patches one curriculum membership's non-null fields")
                .body(Doc::One("CurriculumMembershipDto".into()))
                .returns(200, Doc::One("CurriculumMembershipDto".into()))
                .guard(UPDATE_GUARD)
                .idempotent(),
        )
}

/// `GET /programme-memberships`.
async fn list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_pairs(uri.query());
    let limits = tcs.kit.limits;
    let sortable = [("id", ())];
    let rules = Rules::new(limits.default_page_size, limits.max_page_size).sortable(&sortable);
    let req = ListParams::parse(&params, &rules)?;
    let desc = req.sort.first().is_some_and(|s| s.descending);
    let scope = Scope::of(&who);
    let db = tcs.kit.repo.db();
    let mut ids = Sql::new(
        "SELECT cm.id AS \"id\" FROM curriculum_membership cm JOIN programme_membership pm ON pm.uuid = cm.programme_membership_uuid JOIN person p ON p.id = pm.person_id WHERE 1 = 1",
    );
    scope.restrict_people(&mut ids, "p");
    let mut count = Sql::new("SELECT COUNT(*) AS \"n\" FROM (");
    count.append(ids.clone()).push(") c");
    ids.push(if desc {
        " ORDER BY cm.id DESC"
    } else {
        " ORDER BY cm.id"
    });
    ids.push_page(req.page);
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
    let mut items = one_per_curriculum(read(&tcs, &Which::Cms(&page), &scope).await?);
    if desc {
        items.reverse();
    }
    Ok((req.headers(uri.path(), total), axum::Json(items)).into_response())
}

/// `GET /programme-memberships/{id}`: by UUID, or by curriculum membership id.
async fn get_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let scope = Scope::of(&who);
    let found = if let Ok(uuid) = Uuid::parse_str(id.trim()) {
        read(&tcs, &Which::Uuids(&[uuid]), &scope)
            .await?
            .pop()
            .map(|s| s.dto)
    } else {
        let cm = number("id", &id)?;
        one_per_curriculum(read(&tcs, &Which::Cms(&[cm]), &scope).await?).pop()
    };
    match found {
        Some(dto) => Ok(axum::Json(dto).into_response()),
        None => Err(ApiError::NotFound(format!(
            "no programme membership with id {id}"
        ))),
    }
}

/// `GET /conditions-of-joining/{uuid}` (the later original's): 400 for a path that is not a
/// UUID, 404 for a membership unknown, out of scope or without one.
async fn conditions_of_joining_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let parsed =
        Uuid::parse_str(uuid.trim()).map_err(|_| ApiError::field("uuid", "must be a UUID"))?;
    read(&tcs, &Which::Uuids(&[parsed]), &Scope::of(&who))
        .await?
        .pop()
        .and_then(|s| s.dto.conditions_of_joining)
        .map(|coj| axum::Json(coj).into_response())
        .ok_or_else(|| ApiError::NotFound(format!("no conditions of joining for {uuid}")))
}

/// `GET /trainee/{traineeId}/conditions-of-joinings` (the later original's): those of the
/// person's memberships that have one; 404 for a person unknown or out of scope.
async fn conditions_of_joining_of_trainee(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(trainee): Path<String>,
) -> Result<Response, ApiError> {
    let cojs: Vec<ConditionsOfJoiningDto> = of_trainee(&tcs, &who, &trainee, None)
        .await?
        .into_iter()
        .filter_map(|s| s.dto.conditions_of_joining)
        .collect();
    Ok(axum::Json(cojs).into_response())
}

/// `GET /programme-memberships/details/{ids}`.
async fn details(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(ids): Path<String>,
) -> Result<Response, ApiError> {
    let ids = parse_ids(&ids, tcs.kit.limits.max_items)?;
    let found = one_per_curriculum(read(&tcs, &Which::Cms(&ids), &Scope::of(&who)).await?);
    Ok(axum::Json(curricula(&tcs, found).await?).into_response())
}

/// `GET /programme-memberships/summary-list?ids=<uuids>`.
async fn summary_list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let raw = query_pairs(uri.query())
        .into_iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v)
        .collect::<Vec<_>>()
        .join(",");
    let mut uuids = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let uuid = Uuid::parse_str(part)
            .map_err(|_| ApiError::field("ids", format!("not a UUID: {part:?}")))?;
        uuids.push(uuid);
    }
    bounded(&uuids, tcs.kit.limits.max_items)
        .map_err(|_| ApiError::field("ids", format!("at most {} ids", tcs.kit.limits.max_items)))?;
    if uuids.is_empty() {
        return Ok(axum::Json(Vec::<ProgrammeMembershipSummaryDto>::new()).into_response());
    }
    let found = read(&tcs, &Which::Uuids(&uuids), &Scope::of(&who)).await?;
    let summaries: Vec<ProgrammeMembershipSummaryDto> = found
        .into_iter()
        .map(|s| ProgrammeMembershipSummaryDto {
            programme_membership_uuid: s.dto.uuid.unwrap_or_default(),
            programme_name: s.dto.programme_name,
            programme_start_date: s.dto.programme_start_date.unwrap_or_default(),
        })
        .collect();
    Ok(axum::Json(summaries).into_response())
}

/// A trainee's memberships (of one programme), or 404 for a person out of scope.
async fn of_trainee(
    tcs: &Tcs,
    who: &Principal,
    trainee: &str,
    programme: Option<i64>,
) -> Result<Vec<Stored>, ApiError> {
    let person = number("traineeId", trainee)?;
    let scope = Scope::of(who);
    let db = tcs.kit.repo.db();
    if db
        .read()
        .fetch_optional(person_in_scope(person, &scope))
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!("no person with id {person}")));
    }
    read(tcs, &Which::Person(person, programme), &scope).await
}

/// `GET /trainee/{traineeId}/programme-memberships`.
async fn trainee(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(trainee): Path<String>,
) -> Result<Response, ApiError> {
    let found = of_trainee(&tcs, &who, &trainee, None).await?;
    let dtos = found.into_iter().map(|s| s.dto).collect();
    Ok(axum::Json(curricula(&tcs, dtos).await?).into_response())
}

/// `GET /trainee/{traineeId}/programme-memberships/rolled-up`.
async fn trainee_rolled_up(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(trainee): Path<String>,
) -> Result<Response, ApiError> {
    let found = of_trainee(&tcs, &who, &trainee, None).await?;
    let dtos = roll_up(found.into_iter().map(|s| s.dto).collect());
    Ok(axum::Json(curricula(&tcs, dtos).await?).into_response())
}

/// Memberships of the same programme, type and dates as one, their curriculum memberships
/// concatenated; the first seen keeps its other fields.
fn roll_up(dtos: Vec<ProgrammeMembershipDto>) -> Vec<ProgrammeMembershipDto> {
    let mut out: Vec<ProgrammeMembershipDto> = Vec::new();
    for dto in dtos {
        let same = |o: &&mut ProgrammeMembershipDto| {
            o.programme_id == dto.programme_id
                && o.programme_membership_type == dto.programme_membership_type
                && o.programme_start_date == dto.programme_start_date
                && o.programme_end_date == dto.programme_end_date
        };
        match out.iter_mut().find(same) {
            Some(o) => o
                .curriculum_memberships
                .get_or_insert_default()
                .extend(dto.curriculum_memberships.unwrap_or_default()),
            None => out.push(dto),
        }
    }
    out
}

/// `GET /trainee/{traineeId}/programme/{programmeId}/programme-memberships`.
async fn trainee_programme(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path((trainee, programme)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let programme = number("programmeId", &programme)?;
    let found = of_trainee(&tcs, &who, &trainee, Some(programme)).await?;
    Ok(axum::Json(curricula(&tcs, one_per_curriculum(found)).await?).into_response())
}

// ---------------------------------------------------------------------------------------
// Writes

/// A membership checked and ready to write.
#[derive(Debug)]
struct Checked {
    uuid: Uuid,
    /// The membership as stored, for an update.
    before: Option<ProgrammeMembershipDto>,
    person_id: i64,
    /// The person it had before, when another.
    old_person: Option<i64>,
    programme_id: i64,
    kind: String,
    start: time::Date,
    end: time::Date,
    rotation_id: Option<i64>,
    training_number_id: Option<i64>,
    cms: Vec<CheckedCm>,
    /// The Conditions of Joining the body records (signed at, version), if it sends one.
    coj: Option<(time::OffsetDateTime, String)>,
}

#[derive(Debug)]
struct CheckedCm {
    id: Option<i64>,
    curriculum_id: i64,
    start: time::Date,
    end: time::Date,
    completion: Option<time::Date>,
}

/// The annotations of the original's DTOs (`@NotNull` in `Create` and `Update`), each
/// membership's and each curriculum membership's.
fn annotations(dto: &ProgrammeMembershipDto) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match dto.programme_membership_type.as_deref() {
        None => errors.push(FieldError::new(
            "programmeMembershipType",
            "ProgrammeMembershipType is required",
        )),
        Some(t) if !PROGRAMME_MEMBERSHIP_TYPES.contains(&t) => errors.push(FieldError::new(
            "programmeMembershipType",
            format!("must be one of {}", PROGRAMME_MEMBERSHIP_TYPES.join(", ")),
        )),
        Some(_) => {}
    }
    if dto.programme_start_date.is_none() {
        errors.push(FieldError::new(
            "programmeStartDate",
            "ProgrammeStartDate is required",
        ));
    }
    if dto.programme_end_date.is_none() {
        errors.push(FieldError::new(
            "programmeEndDate",
            "ProgrammeEndDate is required",
        ));
    }
    if dto.programme_id.is_none() {
        errors.push(FieldError::new("programmeId", "ProgrammeId is required"));
    }
    for (i, cm) in dto.curriculum_memberships.iter().flatten().enumerate() {
        let name = |f: &str| format!("curriculumMemberships[{i}].{f}");
        for (field, missing) in [
            ("curriculumStartDate", cm.curriculum_start_date.is_none()),
            ("curriculumEndDate", cm.curriculum_end_date.is_none()),
            ("curriculumId", cm.curriculum_id.is_none()),
        ] {
            if missing {
                errors.push(FieldError::new(name(field), "must not be null"));
            }
        }
    }
    errors
}

/// The Conditions of Joining a body sends, checked: `signedAt` an RFC 3339 instant and
/// `version` one of [`GOLD_GUIDE_VERSIONS`], both required; `None` when it sends none.
fn conditions_of_joining(
    dto: &ProgrammeMembershipDto,
    errors: &mut Vec<FieldError>,
) -> Option<(time::OffsetDateTime, String)> {
    let coj = dto.conditions_of_joining.as_ref()?;
    let signed_at = match coj.signed_at.as_deref() {
        None => {
            errors.push(FieldError::new(
                "conditionsOfJoining.signedAt",
                "signedAt is required",
            ));
            None
        }
        Some(text) => {
            let parsed = time::OffsetDateTime::parse(
                text.trim(),
                &time::format_description::well_known::Rfc3339,
            );
            if parsed.is_err() {
                errors.push(FieldError::new(
                    "conditionsOfJoining.signedAt",
                    "must be an instant as 2026-08-01T09:30:00Z",
                ));
            }
            parsed.ok()
        }
    };
    let version = match coj.version.as_deref() {
        Some(v) if GOLD_GUIDE_VERSIONS.contains(&v) => Some(v.to_owned()),
        _ => {
            errors.push(FieldError::new(
                "conditionsOfJoining.version",
                format!("must be one of {}", GOLD_GUIDE_VERSIONS.join(", ")),
            ));
            None
        }
    };
    Some((signed_at?.to_offset(time::UtcOffset::UTC), version?))
}

/// What a body names of a stored membership: its `uuid`, else one of its curriculum
/// memberships' ids.
#[derive(Debug, Clone, Copy)]
enum Named {
    Uuid([Uuid; 1]),
    Cm([i64; 1]),
}

impl Named {
    fn which(&self) -> Which<'_> {
        match self {
            Named::Uuid(u) => Which::Uuids(u),
            Named::Cm(c) => Which::Cms(c),
        }
    }
}

/// The stored membership `dto` names, if any (a `uuid` that is not one is a 400).
fn named(dto: &ProgrammeMembershipDto) -> Result<Option<Named>, ApiError> {
    if let Some(text) = dto.uuid.as_deref() {
        let uuid =
            Uuid::parse_str(text.trim()).map_err(|_| ApiError::field("uuid", "must be a UUID"))?;
        return Ok(Some(Named::Uuid([uuid])));
    }
    Ok(dto
        .curriculum_memberships
        .iter()
        .flatten()
        .find_map(|c| c.id)
        .map(|id| Named::Cm([id])))
}

/// Whether a query answers any row.
async fn exists(tx: &mut Tx, q: Sql) -> Result<bool, ApiError> {
    Ok(tx.fetch_optional(q).await?.is_some())
}

/// Checks `dto` as the original's validators did (see the module documentation), in `tx`,
/// for a caller of `scope`: field errors (400), or 404 for an update of a membership that is
/// none or whose person is out of scope.
async fn check(
    tx: &mut Tx,
    dto: &ProgrammeMembershipDto,
    scope: &Scope,
) -> Result<Checked, ApiError> {
    let errors = annotations(dto);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let cms = dto.curriculum_memberships.as_deref().unwrap_or_default();
    if cms.is_empty() {
        return Err(ApiError::field(
            "curriculumMemberships",
            "at least one curriculum membership is needed",
        ));
    }
    let stored = stored_of(tx, dto, scope).await?;
    let mut errors = Vec::new();
    let (person_id, programme_id) = check_references(tx, dto, scope, &mut errors).await?;
    let stored_cms: Vec<i64> = stored
        .iter()
        .flat_map(|s| s.dto.curriculum_memberships.iter().flatten())
        .filter_map(|c| c.id)
        .collect();
    let (start, end, checked_cms) = check_dates(dto, &stored_cms, &mut errors);
    let coj = conditions_of_joining(dto, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::field("programmeStartDate", "must be a date"));
    };
    let rotation_id = dto.rotation.as_ref().and_then(|r| r.id);
    let training_number_id = dto.training_number.as_ref().and_then(|t| t.id);
    let old_person = stored
        .as_ref()
        .map(|s| s.person_id)
        .filter(|p| *p != person_id);
    Ok(Checked {
        uuid: stored
            .as_ref()
            .and_then(|s| s.dto.uuid.as_deref())
            .and_then(|u| Uuid::parse_str(u).ok())
            .unwrap_or_else(Uuid::new_v4),
        before: stored.map(|s| s.dto),
        person_id,
        old_person,
        programme_id,
        kind: dto.programme_membership_type.clone().unwrap_or_default(),
        start,
        end,
        rotation_id,
        training_number_id,
        cms: checked_cms,
        coj,
    })
}

/// The stored membership `dto` updates, whole (all its curriculum memberships), if any: 404
/// for a `uuid` that names none, and for one whose person is out of `scope`.
async fn stored_of(
    tx: &mut Tx,
    dto: &ProgrammeMembershipDto,
    scope: &Scope,
) -> Result<Option<Stored>, ApiError> {
    let Some(named) = named(dto)? else {
        return Ok(None);
    };
    let Some(found) = read_tx(tx, &named.which(), &Scope::Everything).await?.pop() else {
        return match named {
            Named::Uuid([uuid]) => Err(ApiError::NotFound(format!(
                "no programme membership {uuid}"
            ))),
            // A curriculum membership id that names none: a field error of the checks.
            Named::Cm(_) => Ok(None),
        };
    };
    let uuid = found
        .dto
        .uuid
        .as_deref()
        .and_then(|u| Uuid::parse_str(u).ok())
        .unwrap_or_default();
    if tx
        .fetch_optional(person_in_scope(found.person_id, scope))
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "no programme membership {uuid}"
        )));
    }
    Ok(read_tx(tx, &Which::Uuids(&[uuid]), &Scope::Everything)
        .await?
        .pop())
}

/// The original's checks of what a membership names: its person (in `scope`), programme,
/// curricula (linked to the programme), rotation and training number (of the programme), and
/// training pathway. Returns the person's and the programme's ids.
async fn check_references(
    tx: &mut Tx,
    dto: &ProgrammeMembershipDto,
    scope: &Scope,
    errors: &mut Vec<FieldError>,
) -> Result<(i64, i64), ApiError> {
    let person_id = match dto.person.as_ref().and_then(|p| p.id) {
        None => {
            errors.push(FieldError::new("person", "person is required"));
            0
        }
        Some(id) => {
            if tx
                .fetch_optional(person_in_scope(id, scope))
                .await?
                .is_none()
            {
                errors.push(FieldError::new(
                    "person",
                    format!("Person with id {id} does not exist"),
                ));
            }
            id
        }
    };
    let programme_id = dto.programme_id.unwrap_or_default();
    let mut q = Sql::new("SELECT id FROM programme WHERE id = ");
    q.bind(programme_id);
    let programme_exists = exists(tx, q).await?;
    if !programme_exists {
        errors.push(FieldError::new(
            "programmeId",
            format!("Programme with id {programme_id} does not exist"),
        ));
    }
    let mut seen = Vec::new();
    for cm in dto.curriculum_memberships.iter().flatten() {
        let curriculum = cm.curriculum_id.unwrap_or_default();
        if seen.contains(&curriculum) {
            continue;
        }
        seen.push(curriculum);
        let mut q = Sql::new("SELECT id FROM curriculum WHERE id = ");
        q.bind(curriculum);
        if !exists(tx, q).await? {
            errors.push(FieldError::new(
                "curriculumId",
                format!("Curriculum with id {curriculum} does not exist"),
            ));
            continue;
        }
        let mut q = Sql::new("SELECT id FROM programme_curriculum WHERE programme_id = ");
        q.bind(programme_id)
            .push(" AND curriculum_id = ")
            .bind(curriculum);
        if programme_exists && !exists(tx, q).await? {
            errors.push(FieldError::new(
                "curriculumId",
                "The selected Programme and Curriculum are not linked. They must be linked before a Programme Membership can be made",
            ));
        }
    }
    if let Some(id) = dto.rotation.as_ref().and_then(|r| r.id) {
        let mut q = Sql::new("SELECT id FROM rotation WHERE id = ");
        q.bind(id).push(" AND programme_id = ").bind(programme_id);
        if !exists(tx, q).await? {
            errors.push(FieldError::new(
                "rotation",
                format!("Rotation with id {id} does not exist for programmeId ({programme_id})"),
            ));
        }
    }
    if let Some(id) = dto.training_number.as_ref().and_then(|t| t.id) {
        let mut q = Sql::new("SELECT id FROM training_number WHERE id = ");
        q.bind(id)
            .push(" AND (programme_id IS NULL OR programme_id = ")
            .bind(programme_id)
            .push(")");
        if !exists(tx, q).await? {
            errors.push(FieldError::new(
                "trainingNumber",
                format!(
                    "Training number with id {id} does not exist for programmeId ({programme_id})"
                ),
            ));
        }
    }
    if let Some(p) = dto.training_pathway.as_deref()
        && !TRAINING_PATHWAYS
            .iter()
            .any(|t| t.eq_ignore_ascii_case(p.trim()))
    {
        errors.push(FieldError::new(
            "trainingPathway",
            format!("Training pathway with code {p} does not exist."),
        ));
    }
    Ok((person_id, programme_id))
}

/// The dates of a membership and of its curriculum memberships (each start not after its
/// end, the curriculum memberships' within the programme's), and that each curriculum
/// membership id is one of the stored membership's (`stored_cms`).
fn check_dates(
    dto: &ProgrammeMembershipDto,
    stored_cms: &[i64],
    errors: &mut Vec<FieldError>,
) -> (Option<time::Date>, Option<time::Date>, Vec<CheckedCm>) {
    let start = date(
        "programmeStartDate",
        dto.programme_start_date.as_deref(),
        errors,
    );
    let end = date(
        "programmeEndDate",
        dto.programme_end_date.as_deref(),
        errors,
    );
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        errors.push(FieldError::new(
            "programmeStartDate",
            "Programme start date must not be later than the end date.",
        ));
    }
    let mut checked = Vec::new();
    for (i, cm) in dto.curriculum_memberships.iter().flatten().enumerate() {
        let name = |f: &str| format!("curriculumMemberships[{i}].{f}");
        if let Some(id) = cm.id
            && !stored_cms.contains(&id)
        {
            errors.push(FieldError::new(
                name("id"),
                format!("Curriculum membership not found: {id}"),
            ));
        }
        let cs = date(
            &name("curriculumStartDate"),
            cm.curriculum_start_date.as_deref(),
            errors,
        );
        let ce = date(
            &name("curriculumEndDate"),
            cm.curriculum_end_date.as_deref(),
            errors,
        );
        let completion = date(
            &name("curriculumCompletionDate"),
            cm.curriculum_completion_date.as_deref(),
            errors,
        );
        let (Some(cs), Some(ce)) = (cs, ce) else {
            continue;
        };
        if cs > ce {
            errors.push(FieldError::new(
                name("curriculumStartDate"),
                "Curriculum membership start date must not be later than end date.",
            ));
        }
        if start.is_some_and(|s| cs < s) {
            errors.push(FieldError::new(
                name("curriculumStartDate"),
                "Curriculum membership start date must not be earlier than the programme membership start date.",
            ));
        }
        if end.is_some_and(|e| ce > e) {
            errors.push(FieldError::new(
                name("curriculumEndDate"),
                "Curriculum membership end date must not be later than the programme membership end date.",
            ));
        }
        checked.push(CheckedCm {
            id: cm.id,
            curriculum_id: cm.curriculum_id.unwrap_or_default(),
            start: cs,
            end: ce,
            completion,
        });
    }
    (start, end, checked)
}

/// The Reference data a membership names: its leaving reason.
fn refs_of(dto: &ProgrammeMembershipDto, prefix: &str, refs: &mut Refs) {
    refs.code(
        format!("{prefix}leavingReason"),
        RefType::LEAVING_REASONS,
        dto.leaving_reason.as_deref(),
    );
}

/// A membership as its history records it: its own fields as `[{uuid}].{field}`, and each
/// curriculum membership's as `[{uuid}].curriculumMemberships[{id}].{field}`.
fn history_map(dto: Option<&ProgrammeMembershipDto>) -> Option<Map<String, Json>> {
    let dto = dto?;
    let uuid = dto.uuid.clone().unwrap_or_default();
    let mut map = Map::new();
    let mut put = |k: String, v: Json| {
        map.insert(format!("[{uuid}].{k}"), v);
    };
    put("programmeId".into(), dto.programme_id.into());
    put(
        "programmeMembershipType".into(),
        dto.programme_membership_type.clone().into(),
    );
    put(
        "programmeStartDate".into(),
        dto.programme_start_date.clone().into(),
    );
    put(
        "programmeEndDate".into(),
        dto.programme_end_date.clone().into(),
    );
    put(
        "leavingDestination".into(),
        dto.leaving_destination.clone().into(),
    );
    put("leavingReason".into(), dto.leaving_reason.clone().into());
    put(
        "trainingPathway".into(),
        dto.training_pathway.clone().into(),
    );
    put(
        "rotation".into(),
        dto.rotation.as_ref().and_then(|r| r.id).into(),
    );
    put(
        "trainingNumber".into(),
        dto.training_number.as_ref().and_then(|t| t.id).into(),
    );
    if let Some(coj) = &dto.conditions_of_joining {
        put(
            "conditionsOfJoining.signedAt".into(),
            coj.signed_at.clone().into(),
        );
        put(
            "conditionsOfJoining.version".into(),
            coj.version.clone().into(),
        );
    }
    for cm in dto.curriculum_memberships.iter().flatten() {
        let id = cm.id.unwrap_or_default();
        let key = |f: &str| format!("curriculumMemberships[{id}].{f}");
        put(key("curriculumId"), cm.curriculum_id.into());
        put(
            key("curriculumStartDate"),
            cm.curriculum_start_date.clone().into(),
        );
        put(
            key("curriculumEndDate"),
            cm.curriculum_end_date.clone().into(),
        );
        put(key("periodOfGrace"), cm.period_of_grace.into());
        put(
            key("curriculumCompletionDate"),
            cm.curriculum_completion_date.clone().into(),
        );
        put(key("intrepidId"), cm.intrepid_id.clone().into());
    }
    Some(map)
}

/// Records the change of a membership (`before` → `after`) in its person's history.
async fn record(
    tx: &mut Tx,
    user: &str,
    person_id: i64,
    before: Option<&ProgrammeMembershipDto>,
    after: Option<&ProgrammeMembershipDto>,
) -> Result<(), ApiError> {
    let changes = history::diff(
        history_map(before).as_ref(),
        history_map(after).as_ref(),
        &[],
    );
    history::record(tx, person_id, user, RECORD, &changes).await?;
    Ok(())
}

/// Writes a checked membership, its history and its person's derived rows, in `tx`; returns
/// the membership as saved.
async fn write(
    tx: &mut Tx,
    user: &str,
    dto: &ProgrammeMembershipDto,
    c: &Checked,
) -> Result<ProgrammeMembershipDto, ApiError> {
    let before = c.before.as_ref();
    let now = now();
    let mut q;
    if before.is_some() {
        q = Sql::new("UPDATE programme_membership SET person_id = ");
        q.bind(c.person_id)
            .push(", programme_id = ")
            .bind(c.programme_id)
            .push(", programme_membership_type = ")
            .bind(c.kind.clone())
            .push(", programme_start_date = ")
            .bind(c.start)
            .push(", programme_end_date = ")
            .bind(c.end)
            .push(", leaving_destination = ")
            .bind(dto.leaving_destination.clone())
            .push(", leaving_reason = ")
            .bind(dto.leaving_reason.clone())
            .push(", training_pathway = ")
            .bind(dto.training_pathway.clone())
            .push(", rotation_id = ")
            .bind(c.rotation_id)
            .push(", training_number_id = ")
            .bind(c.training_number_id)
            .push(", amended_date = ")
            .bind(now)
            .push(" WHERE uuid = ")
            .bind(c.uuid);
    } else {
        q = Sql::new(
            "INSERT INTO programme_membership (uuid, person_id, programme_id, programme_membership_type, programme_start_date, programme_end_date, leaving_destination, leaving_reason, training_pathway, rotation_id, training_number_id, amended_date) VALUES ",
        );
        q.bind_list([
            Value::from(c.uuid),
            c.person_id.into(),
            c.programme_id.into(),
            c.kind.clone().into(),
            c.start.into(),
            c.end.into(),
            dto.leaving_destination.clone().into(),
            dto.leaving_reason.clone().into(),
            dto.training_pathway.clone().into(),
            c.rotation_id.into(),
            c.training_number_id.into(),
            now.into(),
        ]);
    }
    tx.execute(q).await?;
    let cms = dto.curriculum_memberships.as_deref().unwrap_or_default();
    for (cm, checked) in cms.iter().zip(&c.cms) {
        let mut q;
        if let Some(id) = checked.id {
            q = Sql::new("UPDATE curriculum_membership SET curriculum_id = ");
            q.bind(checked.curriculum_id)
                .push(", curriculum_start_date = ")
                .bind(checked.start)
                .push(", curriculum_end_date = ")
                .bind(checked.end)
                .push(", period_of_grace = ")
                .bind(cm.period_of_grace)
                .push(", curriculum_completion_date = ")
                .bind(checked.completion)
                .push(", intrepid_id = ")
                .bind(cm.intrepid_id.clone())
                .push(", amended_date = ")
                .bind(now)
                .push(" WHERE id = ")
                .bind(id);
        } else {
            q = Sql::new(
                "INSERT INTO curriculum_membership (programme_membership_uuid, curriculum_id, curriculum_start_date, curriculum_end_date, period_of_grace, curriculum_completion_date, intrepid_id, amended_date) VALUES ",
            );
            q.bind_list([
                Value::from(c.uuid),
                checked.curriculum_id.into(),
                checked.start.into(),
                checked.end.into(),
                cm.period_of_grace.into(),
                checked.completion.into(),
                cm.intrepid_id.clone().into(),
                now.into(),
            ]);
        }
        tx.execute(q).await?;
    }
    if let Some((signed_at, version)) = &c.coj {
        write_conditions_of_joining(tx, c, *signed_at, version, now).await?;
    }
    let after = read_tx(tx, &Which::Uuids(&[c.uuid]), &Scope::Everything)
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound("the programme membership vanished".into()))?;
    match c.old_person {
        Some(old) => {
            record(tx, user, old, before, None).await?;
            record(tx, user, c.person_id, None, Some(&after.dto)).await?;
            refresh::refresh(tx, old, today(), true).await?;
        }
        None => {
            record(tx, user, c.person_id, before, Some(&after.dto)).await?;
        }
    }
    refresh::refresh(tx, c.person_id, today(), true).await?;
    Ok(after.dto)
}

/// Records the Conditions of Joining of a checked membership, replacing the stored one unless
/// it is the same (a client sending back what it read leaves `syncedAt` as it was).
async fn write_conditions_of_joining(
    tx: &mut Tx,
    c: &Checked,
    signed_at: time::OffsetDateTime,
    version: &str,
    now: time::OffsetDateTime,
) -> Result<(), ApiError> {
    let stored = c
        .before
        .as_ref()
        .and_then(|b| b.conditions_of_joining.as_ref());
    let same = stored.is_some_and(|s| {
        s.version.as_deref() == Some(version)
            && s.signed_at.as_deref().and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            }) == Some(signed_at)
    });
    if same {
        return Ok(());
    }
    let mut q = Sql::new("DELETE FROM conditions_of_joining WHERE programme_membership_uuid = ");
    q.bind(c.uuid);
    tx.execute(q).await?;
    let mut q = Sql::new(
        "INSERT INTO conditions_of_joining (programme_membership_uuid, signed_at, version, synced_at) VALUES ",
    );
    q.bind_list([
        Value::from(c.uuid),
        signed_at.into(),
        version.to_owned().into(),
        now.into(),
    ]);
    tx.execute(q).await?;
    Ok(())
}

/// Asks Reference about what `dtos` name (before the transaction), then checks and writes
/// each in one transaction: all or nothing. Field errors of a list are prefixed `[i].`.
async fn save_all(
    tcs: &Tcs,
    who: &Principal,
    headers: &HeaderMap,
    dtos: &[ProgrammeMembershipDto],
    list: bool,
) -> Result<Vec<ProgrammeMembershipDto>, ApiError> {
    // Reference first, outside the transaction: the leaving reasons that change.
    let mut refs = Refs::new();
    for (i, dto) in dtos.iter().enumerate() {
        let stored = match named(dto) {
            Ok(Some(n)) => read(tcs, &n.which(), &Scope::Everything).await?.pop(),
            _ => None,
        };
        if stored.and_then(|s| s.dto.leaving_reason) != dto.leaving_reason {
            let prefix = if list {
                format!("[{i}].")
            } else {
                String::new()
            };
            refs_of(dto, &prefix, &mut refs);
        }
    }
    refs.check(&tcs.reference, who, headers).await?;
    let scope = Scope::of(who);
    let mut tx = tcs.kit.repo.db().write().begin().await?;
    let mut checked = Vec::with_capacity(dtos.len());
    let mut errors = Vec::new();
    for (i, dto) in dtos.iter().enumerate() {
        match check(&mut tx, dto, &scope).await {
            Ok(c) => checked.push(c),
            Err(e) if list => match item_errors(e, i) {
                ApiError::Validation(f) => errors.extend(f),
                other => return Err(other),
            },
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut saved = Vec::with_capacity(dtos.len());
    for (dto, c) in dtos.iter().zip(&checked) {
        saved.push(write(&mut tx, who.user_name(), dto, c).await?);
    }
    tx.commit().await?;
    Ok(saved)
}

/// The answer to a created membership: 201, `Location` of its first curriculum membership.
fn created(tcs: &Tcs, dto: ProgrammeMembershipDto) -> Response {
    let id = first_cm_id(&dto).map(|i| i.to_string()).unwrap_or_default();
    super::created(tcs.kit.api, "programme-memberships", ENTITY, &id, dto)
}

/// `POST /programme-memberships`.
async fn create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dto): Body<ProgrammeMembershipDto>,
) -> Response {
    let result = async {
        if dto
            .curriculum_memberships
            .as_ref()
            .and_then(|c| c.first())
            .is_some_and(|c| c.id.is_some())
        {
            let res = super::invalid(
                OBJECT,
                vec![FieldError::new(
                    "curriculumMemberships[0].id",
                    "A new programmeMembership cannot already have an ID",
                )],
            );
            return Ok(super::failure(res, "idexists", ENTITY));
        }
        if dto.uuid.is_some() {
            return Err(ApiError::field("uuid", "must be null"));
        }
        let mut saved = save_all(&tcs, &who, &headers, std::slice::from_ref(&dto), false).await?;
        Ok(created(&tcs, saved.pop().unwrap_or_default()))
    }
    .await;
    answer(OBJECT, result)
}

/// `PUT /programme-memberships`: an update, or a create when the first curriculum membership
/// has no id and no `uuid` names a membership.
async fn update(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dto): Body<ProgrammeMembershipDto>,
) -> Response {
    let result = async {
        let creates = dto.uuid.is_none()
            && dto
                .curriculum_memberships
                .iter()
                .flatten()
                .all(|c| c.id.is_none());
        let mut saved = save_all(&tcs, &who, &headers, std::slice::from_ref(&dto), false).await?;
        let saved = saved.pop().unwrap_or_default();
        if creates {
            return Ok(created(&tcs, saved));
        }
        let ids = cm_ids(std::slice::from_ref(&saved));
        let first = ids.split(',').next().unwrap_or_default().to_owned();
        Ok(alert(
            axum::Json(saved).into_response(),
            ENTITY,
            "updated",
            &first,
        ))
    }
    .await;
    answer(OBJECT, result)
}

/// `PATCH /programme-memberships`: each saved, all or nothing.
async fn patch_list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dtos): Body<Vec<ProgrammeMembershipDto>>,
) -> Response {
    let result = async {
        bounded(&dtos, tcs.kit.limits.max_items)?;
        let saved = save_all(&tcs, &who, &headers, &dtos, true).await?;
        let ids = cm_ids(&saved);
        Ok(alert(
            axum::Json(saved).into_response(),
            ENTITY,
            "updated",
            &ids,
        ))
    }
    .await;
    answer(OBJECT, result)
}

/// Deletes curriculum memberships `ids` (each within `scope`, else 404 and nothing
/// deleted), and each membership left without one, in one transaction.
async fn delete_cms(tcs: &Tcs, who: &Principal, ids: &[i64]) -> Result<(), ApiError> {
    let scope = Scope::of(who);
    let mut tx = tcs.kit.repo.db().write().begin().await?;
    let mut people = Vec::new();
    for &id in ids {
        let Some(before) = read_tx(&mut tx, &Which::Cms(&[id]), &scope).await?.pop() else {
            return Err(ApiError::NotFound(format!(
                "no programme membership with id {id}"
            )));
        };
        let uuid = before
            .dto
            .uuid
            .as_deref()
            .and_then(|u| Uuid::parse_str(u).ok())
            .unwrap_or_default();
        let whole = read_tx(&mut tx, &Which::Uuids(&[uuid]), &Scope::Everything)
            .await?
            .pop();
        let mut q = Sql::new("DELETE FROM curriculum_membership WHERE id = ");
        q.bind(id);
        tx.execute(q).await?;
        let after = read_tx(&mut tx, &Which::Uuids(&[uuid]), &Scope::Everything)
            .await?
            .pop();
        let after = match after {
            Some(a)
                if a.dto
                    .curriculum_memberships
                    .as_ref()
                    .is_some_and(|c| !c.is_empty()) =>
            {
                Some(a)
            }
            _ => {
                let mut q = Sql::new("DELETE FROM programme_membership WHERE uuid = ");
                q.bind(uuid);
                tx.execute(q).await?;
                None
            }
        };
        record(
            &mut tx,
            who.user_name(),
            before.person_id,
            whole.as_ref().map(|w| &w.dto),
            after.as_ref().map(|a| &a.dto),
        )
        .await?;
        if !people.contains(&before.person_id) {
            people.push(before.person_id);
        }
    }
    for person in people {
        refresh::refresh(&mut tx, person, today(), true).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `DELETE /programme-memberships/{id}` (a curriculum membership id).
async fn delete_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = number("id", &id)?;
        delete_cms(&tcs, &who, &[id]).await?;
        Ok(super::deleted(ENTITY, id))
    }
    .await;
    answer(OBJECT, result)
}

/// `POST /programme-memberships/delete/`: the curriculum memberships of the body.
async fn delete_by_body(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Body(dto): Body<ProgrammeMembershipDto>,
) -> Response {
    let result = async {
        let cms = dto.curriculum_memberships.unwrap_or_default();
        bounded(&cms, tcs.kit.limits.max_items)?;
        let mut ids = Vec::new();
        let mut errors = Vec::new();
        for (i, cm) in cms.iter().enumerate() {
            match cm.id {
                Some(id) => ids.push(id),
                None => errors.push(FieldError::new(
                    format!("curriculumMemberships[{i}].id"),
                    "must not be null",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        if !ids.is_empty() {
            delete_cms(&tcs, &who, &ids).await?;
        }
        let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        Ok(alert(
            StatusCode::OK.into_response(),
            ENTITY,
            "deleted",
            &joined,
        ))
    }
    .await;
    answer(OBJECT, result)
}

/// `PATCH /bulk-programme-membership`: the non-null fields of the body onto the membership
/// its `uuid` names, checked; saved when nothing is wrong, else the body back with its
/// `messageList` (always 200, as the original).
async fn patch_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(mut dto): Body<ProgrammeMembershipDto>,
) -> Response {
    let result = async {
        let scope = Scope::of(&who);
        let stored = match dto.uuid.as_deref().map(|u| Uuid::parse_str(u.trim())) {
            Some(Ok(uuid)) => read(&tcs, &Which::Uuids(&[uuid]), &scope).await?.pop(),
            _ => None,
        };
        let Some(stored) = stored else {
            dto.message_list
                .push("Programme membership id not found.".into());
            return Ok(axum::Json(dto).into_response());
        };
        let merged = merge(stored.dto, &dto);
        let mut refs = Refs::new();
        refs_of(&merged, "", &mut refs);
        refs.code(
            "programmeMembershipType",
            RefType::PROGRAMME_MEMBERSHIP_TYPES,
            merged.programme_membership_type.as_deref(),
        );
        let mut messages = Vec::new();
        match refs.check(&tcs.reference, &who, &headers).await {
            Ok(()) => {}
            Err(ApiError::Validation(fields)) => {
                messages.extend(fields.into_iter().map(|f| f.message));
            }
            Err(other) => return Err(other),
        }
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        match check(&mut tx, &merged, &scope).await {
            Ok(c) if messages.is_empty() => {
                let saved = write(&mut tx, who.user_name(), &merged, &c).await?;
                tx.commit().await?;
                return Ok(axum::Json(saved).into_response());
            }
            Ok(_) => {}
            Err(ApiError::Validation(fields)) => {
                messages.extend(fields.into_iter().map(|f| f.message));
            }
            Err(other) => return Err(other),
        }
        dto.message_list.extend(messages);
        Ok(axum::Json(dto).into_response())
    }
    .await;
    answer(OBJECT, result)
}

/// `patch`'s non-null fields over `stored` (the rotation by name within the programme when
/// it has no id, as the original's bulk validator resolved it).
fn merge(stored: ProgrammeMembershipDto, patch: &ProgrammeMembershipDto) -> ProgrammeMembershipDto {
    fn or<T: Clone>(new: &Option<T>, old: Option<T>) -> Option<T> {
        new.clone().or(old)
    }
    ProgrammeMembershipDto {
        programme_membership_type: or(
            &patch.programme_membership_type,
            stored.programme_membership_type,
        ),
        person: or(&patch.person, stored.person),
        rotation: or(&patch.rotation, stored.rotation),
        programme_start_date: or(&patch.programme_start_date, stored.programme_start_date),
        programme_end_date: or(&patch.programme_end_date, stored.programme_end_date),
        leaving_destination: or(&patch.leaving_destination, stored.leaving_destination),
        leaving_reason: or(&patch.leaving_reason, stored.leaving_reason),
        programme_id: or(&patch.programme_id, stored.programme_id),
        training_pathway: or(&patch.training_pathway, stored.training_pathway),
        training_number: or(&patch.training_number, stored.training_number),
        conditions_of_joining: or(&patch.conditions_of_joining, stored.conditions_of_joining),
        curriculum_memberships: stored.curriculum_memberships,
        ..stored
    }
}

/// `POST /curriculum-memberships`: a curriculum membership added to the programme membership
/// its `programmeMembershipUuid` names, with HEAD's `CurriculumMembershipValidator` rules (the
/// membership exists, the same curriculum and dates are not there already, a current
/// curriculum of its programme) and every rule of a membership's save (the dates within the
/// membership's).
async fn create_curriculum_membership(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(cm): Body<CurriculumMembershipDto>,
) -> Response {
    const OBJECT: &str = "CurriculumMembershipDTO";
    let result = async {
        if cm.id.is_some() {
            let res = super::invalid(
                OBJECT,
                vec![FieldError::new(
                    "id",
                    "A new curriculumMembership cannot already have an ID",
                )],
            );
            return Ok(super::failure(res, "idexists", "curriculumMembership"));
        }
        let field = "programmeMembershipUuid";
        let uuid = cm
            .programme_membership_uuid
            .as_deref()
            .ok_or_else(|| ApiError::field(field, "Programme membership UUID cannot be null"))?;
        let uuid =
            Uuid::parse_str(uuid.trim()).map_err(|_| ApiError::field(field, "must be a UUID"))?;
        let mut whole = read(&tcs, &Which::Uuids(&[uuid]), &Scope::of(&who))
            .await?
            .pop()
            .ok_or_else(|| ApiError::field(field, "Could not find the programme membership."))?
            .dto;
        let existing = whole.curriculum_memberships.clone().unwrap_or_default();
        if let Some(same) = existing.iter().find(|c| {
            c.curriculum_id == cm.curriculum_id
                && c.curriculum_start_date == cm.curriculum_start_date
                && c.curriculum_end_date == cm.curriculum_end_date
        }) {
            return Err(ApiError::field(
                "curriculumId",
                format!(
                    "Curriculum membership with the same curriculumId, programme membership uuid, start date and end date already exists for id \"{}\".",
                    same.id.unwrap_or_default()
                ),
            ));
        }
        if let Some(curriculum) = cm.curriculum_id {
            let mut q = Sql::new(
                "SELECT c.id FROM curriculum c JOIN programme_curriculum pc ON pc.curriculum_id = c.id WHERE c.status = 'CURRENT' AND c.id = ",
            );
            q.bind(curriculum)
                .push(" AND pc.programme_id = ")
                .bind(whole.programme_id.unwrap_or_default());
            if tcs.kit.repo.db().read().fetch_optional(q).await?.is_none() {
                return Err(ApiError::field(
                    "curriculumId",
                    format!(
                        "Could not find current curriculum for id \"{curriculum}\" under the programme."
                    ),
                ));
            }
        }
        whole
            .curriculum_memberships
            .get_or_insert_default()
            .push(CurriculumMembershipDto {
                id: None,
                message_list: Vec::new(),
                ..cm
            });
        let saved = save_all(&tcs, &who, &headers, std::slice::from_ref(&whole), false)
            .await
            .map_err(|e| match e {
                // The membership's own errors name the new one by its place in the list.
                ApiError::Validation(fields) => ApiError::Validation(
                    fields
                        .into_iter()
                        .map(|f| {
                            let name = f
                                .field
                                .rsplit_once("].")
                                .map_or(f.field.clone(), |(_, name)| name.to_owned());
                            FieldError::new(name, f.message)
                        })
                        .collect(),
                ),
                other => other,
            })?
            .pop()
            .unwrap_or_default();
        let added = saved
            .curriculum_memberships
            .into_iter()
            .flatten()
            .filter(|c| !existing.iter().any(|e| e.id == c.id))
            .max_by_key(|c| c.id)
            .unwrap_or_default();
        let id = added.id.unwrap_or_default().to_string();
        Ok(super::created(
            tcs.kit.api,
            "curriculum-memberships",
            "curriculumMembership",
            &id,
            added,
        ))
    }
    .await;
    answer(OBJECT, result)
}

/// `PATCH /curriculum-memberships`: one curriculum membership's non-null fields, checked
/// as a part of its programme membership.
async fn patch_curriculum_membership(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(cm): Body<CurriculumMembershipDto>,
) -> Response {
    let result = async {
        let Some(id) = cm.id else {
            return Err(ApiError::field("id", "must not be null"));
        };
        let scope = Scope::of(&who);
        let uuid = read(&tcs, &Which::Cms(&[id]), &scope)
            .await?
            .pop()
            .and_then(|s| s.dto.uuid)
            .ok_or_else(|| ApiError::NotFound(format!("no curriculum membership with id {id}")))?;
        let uuid = Uuid::parse_str(&uuid).unwrap_or_default();
        let mut whole = read(&tcs, &Which::Uuids(&[uuid]), &scope)
            .await?
            .pop()
            .ok_or_else(|| ApiError::NotFound(format!("no curriculum membership with id {id}")))?
            .dto;
        for stored in whole.curriculum_memberships.iter_mut().flatten() {
            if stored.id == Some(id) {
                let old = std::mem::take(stored);
                *stored = CurriculumMembershipDto {
                    id: Some(id),
                    intrepid_id: cm.intrepid_id.clone().or(old.intrepid_id),
                    curriculum_start_date: cm
                        .curriculum_start_date
                        .clone()
                        .or(old.curriculum_start_date),
                    curriculum_end_date: cm.curriculum_end_date.clone().or(old.curriculum_end_date),
                    period_of_grace: cm.period_of_grace.or(old.period_of_grace),
                    curriculum_completion_date: cm
                        .curriculum_completion_date
                        .clone()
                        .or(old.curriculum_completion_date),
                    curriculum_id: cm.curriculum_id.or(old.curriculum_id),
                    ..old
                };
            }
        }
        let mut saved = save_all(&tcs, &who, &headers, std::slice::from_ref(&whole), false).await?;
        let saved_cm = saved
            .pop()
            .and_then(|s| s.curriculum_memberships)
            .into_iter()
            .flatten()
            .find(|c| c.id == Some(id))
            .unwrap_or_default();
        Ok(alert(
            axum::Json(saved_cm).into_response(),
            "curriculumMembership",
            "updated",
            &id.to_string(),
        ))
    }
    .await;
    answer("CurriculumMembershipDTO", result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(programme: i64, start: &str, cm: i64) -> ProgrammeMembershipDto {
        ProgrammeMembershipDto {
            programme_id: Some(programme),
            programme_membership_type: Some("SUBSTANTIVE".into()),
            programme_start_date: Some(start.into()),
            programme_end_date: Some("2030-07-31".into()),
            curriculum_memberships: Some(vec![CurriculumMembershipDto {
                id: Some(cm),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn memberships_of_the_same_programme_type_and_dates_roll_up() {
        let rolled = roll_up(vec![
            pm(1, "2026-08-01", 1),
            pm(2, "2026-08-01", 2),
            pm(1, "2026-08-01", 3),
        ]);
        assert_eq!(rolled.len(), 2);
        assert_eq!(cm_ids(&rolled), "1,3,2");
    }

    #[test]
    fn an_empty_membership_names_the_four_required_fields() {
        let fields: Vec<String> = annotations(&ProgrammeMembershipDto::default())
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            [
                "programmeMembershipType",
                "programmeStartDate",
                "programmeEndDate",
                "programmeId"
            ]
        );
    }
}
