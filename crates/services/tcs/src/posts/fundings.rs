//! `/post-fundings` and `/bulk-post-fundings`: a post's fundings one by one (the original's
//! `PostFundingResource`), beside the fundings written with the whole post (`PUT /posts`) and
//! `PATCH /post/fundings`.
//!
//! A funding belongs to a post, and is seen and written through it: the list holds the
//! fundings of the posts the caller sees, a funding of another post is 404 by id, and a body
//! naming a post out of scope is a 400 "Post with id N does not exist" (the original scoped
//! nothing, and let a funding have no post; ours must name one). Every write is checked
//! before anything is written ([`check::funding`]: `fundingType` and `startDate` required,
//! dates, the end not before the start; the funding type a Reference funding type when it
//! changes), then written in one transaction with the post's row of the post list, whose
//! `fundingType` is the latest funding's (`current_funding_type`). Bulk writes are all or
//! nothing, errors named `[i].field`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Uri};
use serde_json::Value as Json;
use tis_auth::{Authenticated, Principal};
use tis_core::FieldError;
use tis_core::extract::Json as Body;
use tis_core::paging::{self, query_pairs};
use tis_reference_client::RefType;
use tis_service_kit::ApiError;
use tis_service_kit::entity;
use tis_service_kit::entity::Kind;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::decode;
use tis_store::{Sql, Tx, Value};

use super::check;
use super::dto::PostFundingDto;
use super::write::{date, text, update_by_id};
use super::{ENTITIES, read};
use crate::domain::scope::Scope;
use crate::memberships::{
    alert, answer, bounded, created, deleted, failure, item_errors, number, refuse_bulk_update,
    refuse_ids,
};
use crate::programmes::page_from;
use crate::reference::Refs;
use crate::routes::{API, Tcs};

/// The original's entity name in its alert headers.
const ENTITY: &str = "postFunding";
const OBJECT: &str = "PostFundingDTO";
/// `hasAuthority('tcs:view:entities')`.
const VIEW: Guard = Guard::Authority("tcs:view:entities");
/// `hasAuthority('tcs:delete:entities')`.
const DELETE: Guard = Guard::Authority("tcs:delete:entities");

entity! {
    /// A funding as stored (`post_funding`): what `GET /post-fundings` pages over (answered
    /// as [`PostFundingDto`]).
    PostFundingRow / POST_FUNDING { name: "PostFunding", plural: "post-fundings", table: "post_funding", id: i64 = Long, code: None }
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .sort() .filter();
    funding_type "fundingType": String => "funding_type" (Kind::Text) .sort() .filter();
    info "info": String => "info" (Kind::Text) .sort() .filter();
    start_date "startDate": String => "start_date" (Kind::Date) .sort() .filter();
    end_date "endDate": String => "end_date" (Kind::Date) .sort() .filter();
    funding_body_id "fundingBodyId": String => "funding_body_id" (Kind::Text) .sort() .filter();
    post_id "postId": i64 => "post_id" (Kind::Long) .sort() .filter();
}

impl From<PostFundingRow> for PostFundingDto {
    fn from(r: PostFundingRow) -> Self {
        PostFundingDto {
            id: r.id,
            intrepid_id: r.intrepid_id,
            funding_type: r.funding_type,
            info: r.info,
            start_date: r.start_date,
            end_date: r.end_date,
            funding_body_id: r.funding_body_id,
            post_id: r.post_id,
            message_list: Vec::new(),
        }
    }
}

/// The `/post-fundings` routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let one = || Doc::One("PostFundingDto".into());
    let many = || Doc::Many("PostFundingDto".into());
    api.add(
        Method::Get,
        &format!("{API}/post-fundings"),
        list,
        Op::new(
            "PostFunding",
            "A page of the fundings of the posts in scope",
        )
        .paged()
        .returns(200, many())
        .guard(VIEW),
    )
    .add(
        Method::Get,
        &format!("{API}/post-fundings/{{id}}"),
        get_one,
        Op::new(
            "PostFunding",
            "One funding (404 when its post is out of scope)",
        )
        .path("id")
        .returns(200, one())
        .guard(VIEW),
    )
    .add(
        Method::Post,
        &format!("{API}/post-fundings"),
        create,
        Op::new("PostFunding", "Adds a funding to a post")
            .body(one())
            .returns(201, one())
            .guard(ENTITIES)
            .idempotent(),
    )
    .add(
        Method::Put,
        &format!("{API}/post-fundings"),
        update,
        Op::new(
            "PostFunding",
            "Updates a funding (without an id: creates it)",
        )
        .body(one())
        .returns(200, one())
        .guard(ENTITIES)
        .idempotent(),
    )
    .add(
        Method::Delete,
        &format!("{API}/post-fundings/{{id}}"),
        delete,
        Op::new("PostFunding", "Deletes a funding")
            .path("id")
            .guard(DELETE),
    )
    .add(
        Method::Post,
        &format!("{API}/bulk-post-fundings"),
        bulk_create,
        Op::new("PostFunding", "Adds many fundings, all or none")
            .body(many())
            .returns(200, many())
            .guard(ENTITIES)
            .idempotent(),
    )
    .add(
        Method::Put,
        &format!("{API}/bulk-post-fundings"),
        bulk_update,
        Op::new("PostFunding", "Updates many fundings, all or none")
            .body(many())
            .returns(200, many())
            .guard(ENTITIES)
            .idempotent(),
    )
}

/// The fundings of the posts `scope` sees, as a sub-select aliased `post_funding`.
fn visible(scope: &Scope) -> impl Fn() -> Sql + '_ {
    move || {
        let mut sql =
            Sql::new("(SELECT f.* FROM post_funding f JOIN post t ON t.id = f.post_id WHERE 1 = 1");
        scope.restrict_posts(&mut sql, "t");
        sql.push(") post_funding");
        sql
    }
}

/// `GET /post-fundings`: `page`, `size`, `sort`, `columnFilters` over the DTO's fields.
async fn list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_pairs(uri.query());
    let req = tcs.kit.list_request(&POST_FUNDING, &params)?;
    let scope = Scope::of(&who);
    let (rows, total) = page_from(
        &tcs.kit,
        &POST_FUNDING,
        visible(&scope),
        &req.query,
        Some(req.page),
    )
    .await?;
    let items: Vec<PostFundingDto> = decode::<PostFundingRow>(rows)?
        .into_iter()
        .map(PostFundingDto::from)
        .collect();
    let headers = paging::headers(uri.path(), req.page, total, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}

/// The stored fundings of `ids` whose posts `scope` sees, by id.
fn stored_sql(scope: &Scope, ids: &[i64]) -> Sql {
    let mut sql = Sql::new(
        r#"SELECT f.id AS "id", f.intrepid_id AS "intrepidId", f.funding_type AS "fundingType", f.info AS "info", f.start_date AS "startDate", f.end_date AS "endDate", f.funding_body_id AS "fundingBodyId", f.post_id AS "postId" FROM post_funding f JOIN post t ON t.id = f.post_id WHERE f.id IN "#,
    );
    sql.bind_list(ids.iter().copied());
    scope.restrict_posts(&mut sql, "t");
    sql.push(" ORDER BY f.id");
    sql
}

/// [`stored_sql`] read in `tx`.
async fn stored(tx: &mut Tx, scope: &Scope, ids: &[i64]) -> Result<Vec<PostFundingDto>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    tx.fetch_all(stored_sql(scope, ids))
        .await?
        .into_iter()
        .map(|r| {
            serde_json::from_value(Json::Object(r))
                .map_err(|e| ApiError::Store(tis_store::StoreError::Decode(e.to_string())))
        })
        .collect()
}

/// `GET /post-fundings/{id}`: 404 unknown or of a post out of scope.
async fn get_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Result<axum::Json<PostFundingDto>, ApiError> {
    let id = number("id", &raw)?;
    tcs.kit
        .repo
        .db()
        .read()
        .fetch_keyed_as::<PostFundingDto>(stored_sql(&Scope::of(&who), &[id]), 1)
        .await?
        .pop()
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no PostFunding with id {id}")))
}

/// The latest funding's type of post `post` (by start date, then id): its list row's
/// `fundingType`.
pub(crate) async fn current_funding_type(
    tx: &mut Tx,
    post: i64,
) -> Result<Option<String>, ApiError> {
    let mut sql = Sql::new("SELECT funding_type AS \"f\" FROM post_funding WHERE post_id = ");
    sql.bind(post)
        .push(" ORDER BY start_date DESC, id DESC LIMIT 1");
    Ok(tx
        .fetch_optional(sql)
        .await?
        .and_then(|r| r.get("f")?.as_str().map(str::to_owned)))
}

async fn refresh_view(tx: &mut Tx, post: i64) -> Result<(), ApiError> {
    let funding = current_funding_type(tx, post).await?;
    let mut sql = Sql::new("UPDATE post_view SET funding_type = ");
    sql.bind(funding).push(" WHERE id = ").bind(post);
    tx.execute(sql).await?;
    Ok(())
}

/// Checks and writes `dtos` (created when `update` is false, else updated) in one
/// transaction; returns them as stored. `list`: errors are named `[i].field`.
async fn save(
    tcs: &Tcs,
    who: &Principal,
    headers: &HeaderMap,
    dtos: &[PostFundingDto],
    update: bool,
    list: bool,
) -> Result<Vec<PostFundingDto>, ApiError> {
    bounded(dtos, tcs.kit.limits.max_items)?;
    let scope = Scope::of(who);
    let p = |i: usize| {
        if list {
            format!("[{i}].")
        } else {
            String::new()
        }
    };
    let ids: Vec<i64> = dtos.iter().filter_map(|d| d.id).collect();
    let before: Vec<PostFundingDto> = if ids.is_empty() {
        Vec::new()
    } else {
        tcs.kit
            .repo
            .db()
            .read()
            .fetch_keyed_as(stored_sql(&scope, &ids), ids.len())
            .await?
    };
    if let Some(id) = ids
        .iter()
        .find(|id| !before.iter().any(|b| b.id == Some(**id)))
    {
        return Err(ApiError::NotFound(format!("no PostFunding with id {id}")));
    }
    let old = |d: &PostFundingDto| before.iter().find(|b| b.id.is_some() && b.id == d.id);
    // What needs no database, then Reference (the types that change), before the transaction.
    let mut errors = Vec::new();
    let mut refs = Refs::new();
    for (i, d) in dtos.iter().enumerate() {
        for (field, message) in check::funding(d) {
            errors.push(FieldError::new(format!("{}{field}", p(i)), message));
        }
        if d.post_id.is_none() && old(d).is_none() {
            errors.push(FieldError::new(
                format!("{}postId", p(i)),
                "must not be null",
            ));
        }
        if old(d).and_then(|o| o.funding_type.as_deref()) != d.funding_type.as_deref() {
            refs.code(
                format!("{}fundingType", p(i)),
                RefType::FUNDING_TYPES,
                d.funding_type.as_deref(),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    refs.check(&tcs.reference, who, headers).await?;
    let mut tx = tcs.kit.repo.db().write().begin().await?;
    // Still there (and still in scope) now that the write holds the transaction.
    let now = stored(&mut tx, &scope, &ids).await?;
    if let Some(id) = ids
        .iter()
        .find(|id| !now.iter().any(|f| f.id == Some(**id)))
    {
        return Err(ApiError::NotFound(format!("no PostFunding with id {id}")));
    }
    let mut saved = Vec::with_capacity(dtos.len());
    let mut touched = Vec::new();
    for (i, d) in dtos.iter().enumerate() {
        let post = d
            .post_id
            .or(old(d).and_then(|o| o.post_id))
            .unwrap_or_default();
        if !read::in_scope(&mut tx, &scope, post).await? {
            return Err(item(
                ApiError::field("postId", format!("Post with id {post} does not exist")),
                list,
                i,
            ));
        }
        let id = write_row(&mut tx, d.id.filter(|_| update), post, d).await?;
        touched.extend(old(d).and_then(|o| o.post_id));
        touched.push(post);
        saved.push(id);
    }
    touched.sort_unstable();
    touched.dedup();
    for post in touched {
        refresh_view(&mut tx, post).await?;
    }
    let out = stored(&mut tx, &Scope::Everything, &saved).await?;
    tx.commit().await?;
    // In the order of the body.
    Ok(saved
        .iter()
        .filter_map(|id| out.iter().find(|f| f.id == Some(*id)).cloned())
        .collect())
}

/// Writes funding `f` of post `post` in `tx`: updates row `id`, or inserts a new row when
/// `None`; returns its id.
pub(crate) async fn write_row(
    tx: &mut Tx,
    id: Option<i64>,
    post: i64,
    f: &PostFundingDto,
) -> Result<i64, ApiError> {
    let values = [
        Value::Int(post),
        text(f.intrepid_id.as_ref()),
        text(f.funding_type.as_ref()),
        text(f.info.as_ref()),
        date(f.start_date.as_ref()),
        date(f.end_date.as_ref()),
        text(f.funding_body_id.as_ref()),
    ];
    match id {
        Some(id) => {
            let columns = COLUMNS.iter().copied().zip(values);
            tx.execute(update_by_id("post_funding", columns, id))
                .await?;
            Ok(id)
        }
        None => {
            let mut sql = Sql::new(&format!(
                "INSERT INTO post_funding ({}) VALUES ",
                COLUMNS.join(", ")
            ));
            sql.bind_list(values);
            sql.push(" RETURNING id AS \"id\"");
            let row = tx.fetch_one(sql).await?;
            Ok(row.get("id").and_then(Json::as_i64).unwrap_or_default())
        }
    }
}

const COLUMNS: [&str; 7] = [
    "post_id",
    "intrepid_id",
    "funding_type",
    "info",
    "start_date",
    "end_date",
    "funding_body_id",
];

fn item(err: ApiError, list: bool, i: usize) -> ApiError {
    if list { item_errors(err, i) } else { err }
}

fn joined(fundings: &[PostFundingDto]) -> String {
    fundings
        .iter()
        .filter_map(|f| f.id)
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `POST /post-fundings`: an id is 400 `error.idexists`; 201 + `Location` + alert.
async fn create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dto): Body<PostFundingDto>,
) -> Response {
    if dto.id.is_some() {
        let err = ApiError::field("id", "a new postFunding cannot already have an ID");
        return failure(answer(OBJECT, Err(err)), "idexists", ENTITY);
    }
    write(&tcs, &who, &headers, &[dto], false, false).await
}

/// `PUT /post-fundings`: without an id it creates (201), as the original.
async fn update(
    state: State<Tcs>,
    who: Authenticated,
    headers: HeaderMap,
    Body(dto): Body<PostFundingDto>,
) -> Response {
    if dto.id.is_none() {
        return create(state, who, headers, Body(dto)).await;
    }
    write(&state.0, &who.0, &headers, &[dto], true, false).await
}

/// Saves `dtos` (created, or updated when `update`; a `list` body names its errors
/// `[i].field`) and answers as the original: a list 200 with the saved fundings and the
/// `created`/`updated` alert naming their ids; one funding created 201 + `Location` + alert,
/// updated 200 + alert.
async fn write(
    tcs: &Tcs,
    who: &Principal,
    headers: &HeaderMap,
    dtos: &[PostFundingDto],
    update: bool,
    list: bool,
) -> Response {
    let result = async {
        let saved = save(tcs, who, headers, dtos, update, list).await?;
        let ids = joined(&saved);
        let action = if update { "updated" } else { "created" };
        if list {
            return Ok(alert(
                axum::Json(saved).into_response(),
                ENTITY,
                action,
                &ids,
            ));
        }
        let one = saved.into_iter().next().unwrap_or_default();
        Ok(if update {
            alert(axum::Json(one).into_response(), ENTITY, action, &ids)
        } else {
            created(tcs.kit.api, "post-fundings", ENTITY, &ids, one)
        })
    }
    .await;
    answer(OBJECT, result)
}

/// `DELETE /post-fundings/{id}`: 404 unknown or of a post out of scope.
async fn delete(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let result = async {
        let id = number("id", &raw)?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        let Some(before) = stored(&mut tx, &Scope::of(&who), &[id]).await?.pop() else {
            return Err(ApiError::NotFound(format!("no PostFunding with id {id}")));
        };
        let mut sql = Sql::new("DELETE FROM post_funding WHERE id = ");
        sql.bind(id);
        tx.execute(sql).await?;
        if let Some(post) = before.post_id {
            refresh_view(&mut tx, post).await?;
        }
        tx.commit().await?;
        Ok(deleted(ENTITY, id))
    }
    .await;
    answer(OBJECT, result)
}

/// `POST /bulk-post-fundings`: none may have an id (400 `error.ids.exist`); 200 + the list.
async fn bulk_create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dtos): Body<Vec<PostFundingDto>>,
) -> Response {
    let ids: Vec<Option<i64>> = dtos.iter().map(|d| d.id).collect();
    if let Some(refused) = refuse_ids(OBJECT, "Post Funding", &ids) {
        return refused;
    }
    write(&tcs, &who, &headers, &dtos, false, true).await
}

/// `PUT /bulk-post-fundings`: an empty list is 400 `error.request.body.empty`, an item
/// without an id 400 `error.bulk.update.failed.noId`; all or none.
async fn bulk_update(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dtos): Body<Vec<PostFundingDto>>,
) -> Response {
    let ids: Vec<Option<i64>> = dtos.iter().map(|d| d.id).collect();
    if let Some(refused) = refuse_bulk_update(OBJECT, ENTITY, &ids) {
        return refused;
    }
    write(&tcs, &who, &headers, &dtos, true, true).await
}
