//! A placement's comments, at the original's camelCase paths (`PlacementCommentResource`):
//!
//! | route | guard | answer |
//! |---|---|---|
//! | `GET /placement/{placementId}/placementComment` | `tcs:view:entities` | the placement's latest comment (404 when it has none) |
//! | `GET /placementComment/{id}` | the same | one comment |
//! | `POST /placementComment` | `tcs:add:modify:entities` | 201 + `Location`; an `id` is 400 `idexists` |
//! | `PUT /placementComment` | the same | 200; the `id` is required |
//!
//! A comment belongs to a placement the caller sees (else 404), its `body` is required and
//! at most [`MAX_COMMENT`] characters (a longer one is 400 naming `body`), its author is the
//! writer. Each write is recorded in the trainee's history (`[{placementId}].comment`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use tis_auth::{Authenticated, Principal};
use tis_core::FieldError;
use tis_core::extract::Json as Body;
use tis_service_kit::ApiError;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_store::{Sql, Tx, Value};

use super::PlacementCommentDto;
use super::placement::{MODIFY, Source, VIEW, load, record};
use crate::domain::scope::Scope;
use crate::memberships::{alert, answer, created, failure, invalid, now, number};
use crate::routes::{API, Tcs};

/// The longest comment, in characters.
pub const MAX_COMMENT: usize = 10_000;
/// The sources the original knew.
const SOURCES: &[&str] = &["INTREPID", "GENERIC_UPLOAD", "TIS"];
const ENTITY: &str = "PlacementComment";
const OBJECT: &str = "PlacementCommentDTO";

pub(crate) const SELECT: &str = r#"SELECT c.id AS "id", c.placement_id AS "placementId", c.body AS "body", c.author AS "author", c.source AS "source", c.added_date AS "addedDate", c.amended_date AS "amendedDate" FROM placement_comment c WHERE 1 = 1"#;

/// A comment's `body`: required, at most [`MAX_COMMENT`] characters.
pub(crate) fn check_body(body: Option<&str>, field: &str, errors: &mut Vec<FieldError>) {
    match body {
        None => errors.push(FieldError::new(field, "body is required")),
        Some(b) if b.chars().count() > MAX_COMMENT => errors.push(FieldError::new(
            field,
            format!("at most {MAX_COMMENT} characters"),
        )),
        Some(_) => {}
    }
}

/// Writes `comment` over placement `placement`'s latest comment (or as its first), as the
/// original's placement save did, in `tx`; returns its id.
pub(crate) async fn put_latest(
    tx: &mut Tx,
    who: &Principal,
    placement: i64,
    comment: &PlacementCommentDto,
) -> Result<i64, ApiError> {
    let mut q = Sql::new("SELECT id AS \"id\" FROM placement_comment WHERE placement_id = ");
    q.bind(placement).push(" ORDER BY id DESC LIMIT 1");
    let latest = tx
        .fetch_optional(q)
        .await?
        .and_then(|r| r.get("id").and_then(serde_json::Value::as_i64));
    write(tx, who, placement, latest, comment).await
}

/// Writes comment `id` (none: a new one) of `placement`.
async fn write(
    tx: &mut Tx,
    who: &Principal,
    placement: i64,
    id: Option<i64>,
    c: &PlacementCommentDto,
) -> Result<i64, ApiError> {
    let source = c.source.clone().unwrap_or_else(|| "TIS".into());
    let now = now();
    match id {
        Some(id) => {
            let mut q = Sql::new("UPDATE placement_comment SET body = ");
            q.bind(c.body.clone().unwrap_or_default())
                .push(", author = ")
                .bind(who.user_name())
                .push(", source = ")
                .bind(source)
                .push(", amended_date = ")
                .bind(now)
                .push(" WHERE id = ")
                .bind(id);
            tx.execute(q).await?;
            Ok(id)
        }
        None => {
            let mut q = Sql::new(
                "INSERT INTO placement_comment (placement_id, author, body, source, added_date, amended_date) VALUES ",
            );
            q.bind_list([
                Value::from(placement),
                who.user_name().into(),
                c.body.clone().unwrap_or_default().into(),
                source.into(),
                now.into(),
                now.into(),
            ])
            .push(" RETURNING id AS \"id\"");
            tx.fetch_one(q)
                .await?
                .get("id")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| ApiError::NotFound("the comment vanished".into()))
        }
    }
}

/// The routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let one = || Doc::One("PlacementCommentDto".into());
    let tag = "PlacementComment";
    api.schema::<PlacementCommentDto>()
        .add(
            Method::Get,
            &format!("{API}/placement/{{placementId}}/placementComment"),
            latest,
            Op::new(tag, "A placement's latest comment")
                .path("placementId")
                .returns(200, one())
                .guard(VIEW),
        )
        .add(
            Method::Get,
            &format!("{API}/placementComment/{{id}}"),
            get_one,
            Op::new(tag, "A comment")
                .path("id")
                .returns(200, one())
                .guard(VIEW),
        )
        .add(
            Method::Post,
            &format!("{API}/placementComment"),
            create,
            Op::new(tag, "Adds a comment to a placement")
                .body(one())
                .returns(201, one())
                .guard(MODIFY)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/placementComment"),
            update,
            Op::new(tag, "Changes a comment")
                .body(one())
                .returns(200, one())
                .guard(MODIFY)
                .idempotent(),
        )
}

/// Comments `q` selects whose placement `who` sees.
async fn visible(
    tcs: &Tcs,
    who: &Principal,
    mut q: Sql,
) -> Result<Option<PlacementCommentDto>, ApiError> {
    q.push(" ORDER BY c.id DESC LIMIT 1");
    let Some(c): Option<PlacementCommentDto> =
        tcs.kit.repo.db().read().fetch_optional_as(q).await?
    else {
        return Ok(None);
    };
    let placement = c.placement_id.unwrap_or_default();
    let seen = load(
        &mut Source::Read(tcs.kit.repo.db().read()),
        &[placement],
        &Scope::of(who),
    )
    .await?
    .pop()
    .is_some();
    Ok(seen.then_some(c))
}

/// `GET /placement/{placementId}/placementComment`.
async fn latest(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = number("placementId", &id)?;
    let mut q = Sql::new(SELECT);
    q.push(" AND c.placement_id = ").bind(id);
    visible(&tcs, &who, q)
        .await?
        .map(|c| axum::Json(c).into_response())
        .ok_or_else(|| ApiError::NotFound(format!("no comment of placement {id}")))
}

/// `GET /placementComment/{id}`.
async fn get_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = number("id", &id)?;
    let mut q = Sql::new(SELECT);
    q.push(" AND c.id = ").bind(id);
    visible(&tcs, &who, q)
        .await?
        .map(|c| axum::Json(c).into_response())
        .ok_or_else(|| ApiError::NotFound(format!("no comment with id {id}")))
}

/// Checks and writes `c` (comment `id`, none: new) with the history of its placement.
async fn save(
    tcs: &Tcs,
    who: &Principal,
    id: Option<i64>,
    c: &PlacementCommentDto,
) -> Result<PlacementCommentDto, ApiError> {
    let mut errors = Vec::new();
    check_body(c.body.as_deref(), "body", &mut errors);
    if c.placement_id.is_none() && id.is_none() {
        errors.push(FieldError::new("placementId", "placementId is required"));
    }
    if let Some(s) = c.source.as_deref()
        && !SOURCES.contains(&s)
    {
        errors.push(FieldError::new(
            "source",
            format!("must be one of {}", SOURCES.join(", ")),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let scope = Scope::of(who);
    let mut tx = tcs.kit.repo.db().write().begin().await?;
    let placement = match id {
        Some(id) => {
            let mut q = Sql::new(SELECT);
            q.push(" AND c.id = ").bind(id);
            let stored: Option<PlacementCommentDto> = tx
                .fetch_optional(q)
                .await?
                .map(tis_store::db::decode)
                .transpose()?;
            let stored =
                stored.ok_or_else(|| ApiError::NotFound(format!("no comment with id {id}")))?;
            if c.placement_id
                .is_some_and(|p| Some(p) != stored.placement_id)
            {
                return Err(ApiError::field(
                    "placementId",
                    "a comment cannot move to another placement",
                ));
            }
            stored.placement_id.unwrap_or_default()
        }
        None => c.placement_id.unwrap_or_default(),
    };
    let Some(before) = load(&mut Source::Tx(&mut tx), &[placement], &scope)
        .await?
        .pop()
    else {
        return Err(match id {
            Some(id) => ApiError::NotFound(format!("no comment with id {id}")),
            None => ApiError::field(
                "placementId",
                format!("Placement with id {placement} does not exist"),
            ),
        });
    };
    let saved_id = write(&mut tx, who, placement, id, c).await?;
    let after = load(&mut Source::Tx(&mut tx), &[placement], &Scope::Everything)
        .await?
        .pop();
    record(&mut tx, who.user_name(), Some(&before), after.as_ref()).await?;
    let mut q = Sql::new(SELECT);
    q.push(" AND c.id = ").bind(saved_id);
    let saved: PlacementCommentDto = tis_store::db::decode(tx.fetch_one(q).await?)?;
    tx.commit().await?;
    Ok(saved)
}

/// `POST /placementComment`.
async fn create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Body(c): Body<PlacementCommentDto>,
) -> Response {
    let result = async {
        if c.id.is_some() {
            let res = invalid(
                OBJECT,
                vec![FieldError::new("id", "A new placement cannot have an ID")],
            );
            return Ok(failure(res, "idexists", ENTITY));
        }
        let saved = save(&tcs, &who, None, &c).await?;
        let id = saved.id.unwrap_or_default().to_string();
        Ok(created(tcs.kit.api, "placementComment", ENTITY, &id, saved))
    }
    .await;
    answer(OBJECT, result)
}

/// `PUT /placementComment`.
async fn update(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Body(c): Body<PlacementCommentDto>,
) -> Response {
    let result = async {
        let Some(id) = c.id else {
            return Err(ApiError::field(
                "id",
                "Id must not be null when updating a comment",
            ));
        };
        let saved = save(&tcs, &who, Some(id), &c).await?;
        Ok(alert(
            axum::Json(saved).into_response(),
            ENTITY,
            "updated",
            &id.to_string(),
        ))
    }
    .await;
    answer(OBJECT, result)
}
