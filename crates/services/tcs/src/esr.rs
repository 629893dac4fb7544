//! What the ESR interface tells TCS (HEAD's ESR integration): a placement was exported to
//! ESR (`POST /placements/{placementId}/esr-exported`, `PlacementEsrEvent`), and a post's ESR
//! position was reconciled or deleted (`POST /posts/{postId}/esr-changed`, `PostEsrEvent`).
//! Both guarded `tcs:add:modify:entities`, both also under `/tcs/etl/api` (the original's
//! second mapping), both 404 for a placement or post the caller does not see (the original:
//! 404 for an unknown one).
//!
//! Each event is a row (`placement_esr_event`, `post_esr_event`; migration 0008) that goes
//! with its placement or post. A placement's events are its `esrEvents`
//! (`placement_events`). A post's `currentReconciledEvents` (`current_reconciled`) are, as
//! the original's view `v_PostEsrLatestEvent` reads them, the latest events of each ESR
//! position (`positionId`, `positionNumber`) the post has had, whichever post they are of,
//! that are this post's and RECONCILED: a position reconciled with another post since, or
//! deleted since, is no longer this post's. Events of the same latest instant are all
//! latest; an event without an instant or a position is never one (the view's join).
//!
//! `exportedAt` is the instant of the event: RFC 3339 (`2026-08-01T09:30:00Z`) or, as Jackson
//! also read a `java.util.Date`, milliseconds since the epoch; it is answered as RFC 3339.
//! A placement event without a `status` is `EXPORTED` (what the route says happened).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tis_auth::Authenticated;
use tis_core::FieldError;
use tis_core::extract::Json as Body;
use tis_service_kit::ApiError;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_store::{Sql, SqlType, Value};
use utoipa::ToSchema;

use crate::domain::scope::Scope;
use crate::memberships::{answer, number};
use crate::placements::placement::Source;
use crate::routes::{API, Tcs};

/// `hasAuthority('tcs:add:modify:entities')`.
const MODIFY: Guard = Guard::Authority("tcs:add:modify:entities");

/// HEAD's `PlacementEsrEventStatus`.
pub const PLACEMENT_EVENT_STATUSES: &[&str] = &[
    "EXPORTED",
    "EXPORTED_AND_PROCESSED",
    "EXPORTED_PROCESSED_WITH_ERRORS",
];
/// HEAD's `PostEsrEventStatus`.
pub const POST_EVENT_STATUSES: &[&str] = &["RECONCILED", "DELETED"];
/// The longest file name kept.
const MAX_FILENAME: usize = 255;

/// HEAD's `PlacementEsrEventDto` (a placement's `esrEvents`, and the body of
/// `esr-exported`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementEsrEventDto {
    /// An RFC 3339 instant (or epoch milliseconds on the way in).
    #[schema(value_type = Option<String>)]
    pub exported_at: Option<Json>,
    pub filename: Option<String>,
    pub placement_id: Option<i64>,
    pub position_number: Option<i64>,
    pub position_id: Option<i64>,
    /// EXPORTED (the default), EXPORTED_AND_PROCESSED or EXPORTED_PROCESSED_WITH_ERRORS.
    pub status: Option<String>,
}

/// HEAD's `PostEsrEventDto` (a post's `currentReconciledEvents`, and the body and answer of
/// `esr-changed`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostEsrEventDto {
    /// An RFC 3339 instant (or epoch milliseconds on the way in).
    #[schema(value_type = Option<String>)]
    pub exported_at: Option<Json>,
    pub filename: Option<String>,
    pub post_id: Option<i64>,
    pub position_number: Option<i64>,
    pub position_id: Option<i64>,
    /// Required: RECONCILED or DELETED.
    pub status: Option<String>,
}

/// What `esr-exported` answers: the stored event (the original answered its entity).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementEsrEventAnswer {
    pub id: Option<i64>,
    pub placement_id: Option<i64>,
    pub event_date_time: Option<String>,
    pub filename: Option<String>,
    pub position_number: Option<i64>,
    pub position_id: Option<i64>,
    pub status: Option<String>,
}

/// The ESR routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    api.schema::<PlacementEsrEventDto>()
        .schema::<PostEsrEventDto>()
        .schema::<PlacementEsrEventAnswer>()
        .add(
            Method::Post,
            &format!("{API}/placements/{{placementId}}/esr-exported"),
            placement_exported,
            Op::new("ESR", "Records that a placement was exported to ESR")
                .path("placementId")
                .body(Doc::One("PlacementEsrEventDto".into()))
                .returns(200, Doc::One("PlacementEsrEventAnswer".into()))
                .guard(MODIFY)
                .idempotent(),
        )
        .add(
            Method::Post,
            &format!("{API}/posts/{{postId}}/esr-changed"),
            post_changed,
            Op::new(
                "ESR",
                "Records that a post's ESR position was reconciled or deleted",
            )
            .path("postId")
            .body(Doc::One("PostEsrEventDto".into()))
            .returns(200, Doc::One("PostEsrEventDto".into()))
            .guard(MODIFY)
            .idempotent(),
        )
}

/// The checked fields of an event: its instant, file name, status.
fn checked(
    exported_at: Option<&Json>,
    filename: Option<&String>,
    status: Option<&str>,
    statuses: &[&str],
    default: Option<&str>,
) -> Result<(Option<time::OffsetDateTime>, String), ApiError> {
    let mut errors = Vec::new();
    let at = match exported_at {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => {
            let parsed = time::OffsetDateTime::parse(
                s.trim(),
                &time::format_description::well_known::Rfc3339,
            );
            if parsed.is_err() {
                errors.push(FieldError::new(
                    "exportedAt",
                    "must be an instant as 2026-08-01T09:30:00Z",
                ));
            }
            parsed.ok()
        }
        Some(Json::Number(n)) => {
            let at = n.as_i64().and_then(|ms| {
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            });
            if at.is_none() {
                errors.push(FieldError::new(
                    "exportedAt",
                    "must be milliseconds since 1970 or an instant",
                ));
            }
            at
        }
        Some(_) => {
            errors.push(FieldError::new(
                "exportedAt",
                "must be an instant as 2026-08-01T09:30:00Z",
            ));
            None
        }
    };
    if filename.is_some_and(|f| f.chars().count() > MAX_FILENAME) {
        errors.push(FieldError::new(
            "filename",
            format!("at most {MAX_FILENAME} characters"),
        ));
    }
    let status = match status.or(default) {
        Some(s) if statuses.contains(&s) => s.to_owned(),
        _ => {
            errors.push(FieldError::new(
                "status",
                format!("must be one of {}", statuses.join(", ")),
            ));
            String::new()
        }
    };
    if errors.is_empty() {
        Ok((at.map(|a| a.to_offset(time::UtcOffset::UTC)), status))
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn int(v: Option<i64>) -> Value {
    v.map(Value::Int).unwrap_or(Value::NullOf(SqlType::Int))
}

fn instant(v: Option<time::OffsetDateTime>) -> Value {
    v.map(Value::Timestamp)
        .unwrap_or(Value::NullOf(SqlType::Timestamp))
}

fn text(v: Option<&String>) -> Value {
    v.cloned()
        .map(Value::Text)
        .unwrap_or(Value::NullOf(SqlType::Text))
}

/// An event row's instant (as each backend returns it) as RFC 3339, in UTC.
fn rfc3339(v: Option<&Json>) -> Option<String> {
    let text = v?.as_str()?;
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()?
        .to_offset(time::UtcOffset::UTC);
    parsed
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

const EVENT_COLUMNS: &str = r#"e.id AS "id", e.event_date_time AS "at", e.filename AS "filename", e.position_number AS "positionNumber", e.position_id AS "positionId", e.status AS "status""#;

/// `POST /placements/{placementId}/esr-exported`: 404 for a placement unknown or out of
/// scope; the event stored and answered.
async fn placement_exported(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
    Body(dto): Body<PlacementEsrEventDto>,
) -> Response {
    let result = async {
        let id = number("placementId", &raw)?;
        let (at, status) = checked(
            dto.exported_at.as_ref(),
            dto.filename.as_ref(),
            dto.status.as_deref(),
            PLACEMENT_EVENT_STATUSES,
            Some("EXPORTED"),
        )?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        let mut q = Sql::new("SELECT pl.id AS \"id\" FROM placement pl WHERE pl.id = ");
        q.bind(id);
        crate::placements::restrict_placements(&Scope::of(&who), &mut q, "pl");
        if tx.fetch_optional(q).await?.is_none() {
            return Err(ApiError::NotFound(format!("no placement with id {id}")));
        }
        let mut q = Sql::new(
            "INSERT INTO placement_esr_event (placement_id, event_date_time, filename, position_number, position_id, status) VALUES ",
        );
        q.bind_list([
            Value::Int(id),
            instant(at),
            text(dto.filename.as_ref()),
            int(dto.position_number),
            int(dto.position_id),
            Value::Text(status),
        ]);
        q.push(&format!(" RETURNING {}", EVENT_COLUMNS.replace("e.", "")));
        let row = tx.fetch_one(q).await?;
        tx.commit().await?;
        let get = |k: &str| row.get(k).and_then(Json::as_i64);
        Ok(axum::Json(PlacementEsrEventAnswer {
            id: get("id"),
            placement_id: Some(id),
            event_date_time: rfc3339(row.get("at")),
            filename: row.get("filename").and_then(Json::as_str).map(str::to_owned),
            position_number: get("positionNumber"),
            position_id: get("positionId"),
            status: row.get("status").and_then(Json::as_str).map(str::to_owned),
        })
        .into_response())
    }
    .await;
    answer("PlacementEsrEventDto", result)
}

/// `POST /posts/{postId}/esr-changed`: 404 for a post unknown or out of scope; the event
/// stored and answered as a `PostEsrEventDto`.
async fn post_changed(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
    Body(dto): Body<PostEsrEventDto>,
) -> Response {
    let result = async {
        let id = number("postId", &raw)?;
        let (at, status) = checked(
            dto.exported_at.as_ref(),
            dto.filename.as_ref(),
            dto.status.as_deref(),
            POST_EVENT_STATUSES,
            None,
        )?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        if !crate::posts::read::in_scope(&mut tx, &Scope::of(&who), id).await? {
            return Err(ApiError::NotFound(format!("no Post with id {id}")));
        }
        let mut q = Sql::new(
            "INSERT INTO post_esr_event (post_id, event_date_time, filename, position_number, position_id, status) VALUES ",
        );
        q.bind_list([
            Value::Int(id),
            instant(at),
            text(dto.filename.as_ref()),
            int(dto.position_number),
            int(dto.position_id),
            Value::Text(status),
        ]);
        q.push(&format!(" RETURNING {}", EVENT_COLUMNS.replace("e.", "")));
        let row = tx.fetch_one(q).await?;
        tx.commit().await?;
        Ok(axum::Json(post_event(id, &row)).into_response())
    }
    .await;
    answer("PostEsrEventDto", result)
}

fn post_event(post: i64, row: &tis_store::Row) -> PostEsrEventDto {
    let get = |k: &str| row.get(k).and_then(Json::as_i64);
    PostEsrEventDto {
        exported_at: rfc3339(row.get("at")).map(Json::String),
        filename: row
            .get("filename")
            .and_then(Json::as_str)
            .map(str::to_owned),
        post_id: Some(post),
        position_number: get("positionNumber"),
        position_id: get("positionId"),
        status: row.get("status").and_then(Json::as_str).map(str::to_owned),
    }
}

/// Post `post`'s `currentReconciledEvents` (see the module's notes), oldest first. Each
/// position's latest instant is found here, from the instants parsed, not by the database's
/// `MAX`: SQLite keeps instants as RFC 3339 text, whose order is not the instants' order once
/// fractions of a second appear (`…T11:00:00.5Z` sorts before `…T11:00:00Z`).
pub(crate) async fn current_reconciled(
    src: &mut Source<'_>,
    post: i64,
) -> Result<Vec<PostEsrEventDto>, ApiError> {
    let mut q = Sql::new(&format!(
        "SELECT e.post_id AS \"owner\", {EVENT_COLUMNS} FROM post_esr_event e \
         JOIN (SELECT DISTINCT m.position_id, m.position_number FROM post_esr_event m WHERE m.post_id = "
    ));
    q.bind(post).push(
        ") held ON held.position_id = e.position_id AND held.position_number = e.position_number ORDER BY e.id",
    );
    let rows = src.all(q).await?;
    let int = |r: &tis_store::Row, k: &str| r.get(k).and_then(Json::as_i64);
    let at = |r: &tis_store::Row| {
        let text = r.get("at")?.as_str()?;
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
    };
    let position = |r: &tis_store::Row| Some((int(r, "positionId")?, int(r, "positionNumber")?));
    let mut latest: BTreeMap<(i64, i64), time::OffsetDateTime> = BTreeMap::new();
    for row in &rows {
        if let (Some(p), Some(t)) = (position(row), at(row)) {
            let best = latest.entry(p).or_insert(t);
            *best = (*best).max(t);
        }
    }
    Ok(rows
        .iter()
        .filter(|r| int(r, "owner") == Some(post))
        .filter(|r| r.get("status").and_then(Json::as_str) == Some("RECONCILED"))
        .filter(
            |r| matches!((position(r), at(r)), (Some(p), Some(t)) if latest.get(&p) == Some(&t)),
        )
        .map(|r| post_event(post, r))
        .collect())
}

/// The ESR events of placements `ids` (oldest first), by placement: their `esrEvents`.
pub(crate) async fn placement_events(
    src: &mut Source<'_>,
    ids: &[i64],
) -> Result<BTreeMap<i64, Vec<Json>>, ApiError> {
    let mut q = Sql::new(&format!(
        "SELECT e.placement_id AS \"owner\", {EVENT_COLUMNS} FROM placement_esr_event e WHERE e.placement_id IN "
    ));
    q.bind_list(ids.iter().copied()).push(" ORDER BY e.id");
    let mut out: BTreeMap<i64, Vec<Json>> = BTreeMap::new();
    for row in src.all(q).await? {
        let Some(placement) = row.get("owner").and_then(Json::as_i64) else {
            continue;
        };
        let get = |k: &str| row.get(k).and_then(Json::as_i64);
        let event = PlacementEsrEventDto {
            exported_at: rfc3339(row.get("at")).map(Json::String),
            filename: row
                .get("filename")
                .and_then(Json::as_str)
                .map(str::to_owned),
            placement_id: Some(placement),
            position_number: get("positionNumber"),
            position_id: get("positionId"),
            status: row.get("status").and_then(Json::as_str).map(str::to_owned),
        };
        out.entry(placement)
            .or_default()
            .push(serde_json::to_value(event).unwrap_or_default());
    }
    Ok(out)
}
