//! The handlers of `/posts…`: the list (`PostViewDTO`), a post, posts by number, the writes
//! (one, bulk, the ETL's `bulk-patch-*` family and `post/fundings`), ESR's deanery filter,
//! the post-view rebuild and a programme's posts.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, Uri};
use tis_auth::Authenticated;
use tis_core::extract::Json as Body;
use tis_core::paging::{self, query_pairs};
use tis_service_kit::ApiError;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::decode;
use tis_service_kit::repo::{Filter, ListQuery};
use tis_store::{Sql, Value};

use super::dto::{POST_VIEW, PostDto, PostEsrDto, PostFundingDto, PostViewDto, SEARCH_TEXT};
use super::{ADD_MODIFY, BULK, DELETE, ENTITIES, ETL_OR_VIEW, VIEW, check, read, write};
use crate::domain::scope::Scope;
use crate::memberships::{
    alert, answer, bounded, created, failure, number, refuse_bulk_update, refuse_ids,
};
use crate::placements::placement::Source;
use crate::programmes::page_from;
use crate::routes::{API, Tcs};

const ENTITY: &str = "post";
const OBJECT: &str = "PostDTO";

/// Which relation a `bulk-patch-*` route replaces.
#[derive(Clone, Copy)]
enum Patch {
    NewOld,
    Grades,
    Programmes,
    Sites,
    Specialties,
}

/// The post routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let one = || Doc::One("PostDto".into());
    let many = || Doc::Many("PostDto".into());
    let views = || Doc::Many("PostViewDto".into());
    let mut api = api
        .schema::<PostDto>()
        .schema::<PostViewDto>()
        .schema::<PostEsrDto>()
        .schema::<PostFundingDto>()
        .add(
            Method::Get,
            &format!("{API}/posts"),
            list,
            Op::new("Post", "A page of the post list (scoped)")
                .paged()
                .returns(200, views())
                .guard(VIEW),
        )
        .add(
            Method::Get,
            &format!("{API}/findByNationalPostNumber"),
            by_number,
            Op::new(
                "Post",
                "The post list's rows whose number is searchQuery (ignoring case)",
            )
            .paged()
            .returns(200, views())
            .guard(VIEW),
        )
        .add(
            Method::Get,
            &format!("{API}/posts/{{id}}"),
            get_one,
            Op::new("Post", "One post (404 out of scope)")
                .path("id")
                .returns(200, one())
                .guard(VIEW),
        )
        .add(
            Method::Get,
            &format!("{API}/posts/in/{{nationalPostNumbers}}"),
            in_numbers,
            Op::new(
                "Post",
                "The posts of a comma-separated list of numbers (302, those in scope)",
            )
            .returns(302, many())
            .guard(VIEW),
        )
        .add(
            Method::Post,
            &format!("{API}/posts"),
            create,
            Op::new("Post", "Creates a post")
                .body(one())
                .returns(201, one())
                .guard(ADD_MODIFY)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/posts"),
            update,
            Op::new("Post", "Updates a post")
                .body(one())
                .returns(200, one())
                .guard(ADD_MODIFY)
                .idempotent(),
        )
        .add(
            Method::Delete,
            &format!("{API}/posts/{{id}}"),
            delete,
            Op::new("Post", "Deletes a post (409 while placements name it)")
                .path("id")
                .guard(DELETE),
        )
        .add(
            Method::Post,
            &format!("{API}/bulk-posts"),
            bulk_create,
            Op::new("Post", "Creates many posts, all or none")
                .body(many())
                .returns(200, many())
                .guard(BULK)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/bulk-posts"),
            bulk_update,
            Op::new("Post", "Updates many posts, all or none")
                .body(many())
                .returns(200, many())
                .guard(BULK)
                .idempotent(),
        )
        .add(
            Method::Post,
            &format!("{API}/posts/filter/deanery"),
            filter_deanery,
            Op::new(
                "Post",
                "ESR: the posts (PostEsrDTO) of these National Post Numbers, paged",
            )
            .paged()
            .body(Doc::Strings)
            .returns(200, Doc::Many("PostEsrDto".into()))
            .guard(ETL_OR_VIEW),
        )
        .add(
            Method::Post,
            &format!("{API}/posts/build-post-view"),
            build_post_view,
            Op::new("Post", "Rewrites every post's row of the post list").guard(BULK),
        )
        .add(
            Method::Patch,
            &format!("{API}/post/fundings"),
            patch_fundings,
            Op::new(
                "Post",
                "Adds or replaces fundings of a post; each answered with its messageList",
            )
            .body(one())
            .returns(200, Doc::Many("PostFundingDto".into()))
            .guard(ENTITIES)
            .idempotent(),
        )
        .add(
            Method::Get,
            &format!("{API}/programme/{{id}}/posts"),
            of_programme,
            Op::new(
                "Post",
                "A programme's posts (npn: those whose number contains it)",
            )
            .path("id")
            .returns(200, many())
            .guard(tis_service_kit::guard::Guard::Authenticated),
        );
    for (path, which, handler) in [
        (
            "bulk-patch-new-old-posts",
            "old and new posts",
            Patch::NewOld,
        ),
        ("bulk-patch-post-grades", "grades", Patch::Grades),
        (
            "bulk-patch-post-programmes",
            "programmes",
            Patch::Programmes,
        ),
        ("bulk-patch-post-sites", "sites", Patch::Sites),
        (
            "bulk-patch-post-specialties",
            "specialties",
            Patch::Specialties,
        ),
    ] {
        let summary: &'static str = Box::leak(
            format!("Replaces the {which} of each post named by id, all or none").into_boxed_str(),
        );
        api = api.add(
            Method::Patch,
            &format!("{API}/{path}"),
            move |state: State<Tcs>,
                  who: Authenticated,
                  headers: HeaderMap,
                  body: Body<Vec<PostDto>>| {
                bulk_patch(state, who, headers, body, handler)
            },
            Op::new("Post", summary)
                .body(many())
                .returns(200, many())
                .guard(ENTITIES)
                .idempotent(),
        );
    }
    api
}

/// `GET /posts`: `searchQuery` over the number, primary site, primary specialty and
/// programmes; `columnFilters` on the `PostViewDTO` fields; `sort`; paged, full headers.
async fn list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_pairs(uri.query());
    let mut req = tcs.kit.list_request(&POST_VIEW, &params)?;
    req.query.search_in = vec![&SEARCH_TEXT];
    rows_page(&tcs, &Scope::of(&who), &uri, &req).await
}

/// A page of the post list rows `scope` sees, as `req` asks, with the paging headers.
async fn rows_page(
    tcs: &Tcs,
    scope: &Scope,
    uri: &Uri,
    req: &tis_service_kit::http::params::ListRequest,
) -> Result<Response, ApiError> {
    let (rows, total) = read::page(&tcs.kit, scope, &req.query, req.page).await?;
    let items: Vec<PostViewDto> = decode(rows)?;
    let headers = paging::headers(uri.path(), req.page, total, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}

/// `GET /findByNationalPostNumber?searchQuery=`: the rows whose number is the query.
async fn by_number(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_pairs(uri.query());
    let mut req = tcs.kit.list_request(&POST_VIEW, &params)?;
    let Some(npn) = req.query.search.take().filter(|s| !s.trim().is_empty()) else {
        return Err(ApiError::field("searchQuery", "must not be empty"));
    };
    let field = POST_VIEW
        .field("nationalPostNumber")
        .ok_or_else(|| ApiError::bad_query("no number field"))?;
    req.query
        .filters
        .push(Filter::ignoring_case(field, [npn.trim().to_lowercase()]));
    rows_page(&tcs, &Scope::of(&who), &uri, &req).await
}

/// The ids among `ids` that `scope` sees.
async fn seen(tcs: &Tcs, scope: &Scope, ids: &[i64]) -> Result<Vec<i64>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tcs
        .kit
        .repo
        .db()
        .read()
        .fetch_keyed(read::ids_in_scope(scope, ids), ids.len())
        .await?;
    Ok(read::ids_of(&rows))
}

/// `GET /posts/{id}`.
async fn get_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<PostDto>, ApiError> {
    let id = number("id", &id)?;
    let ids = seen(&tcs, &Scope::of(&who), &[id]).await?;
    let mut post = read::load(&tcs.kit, &ids)
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("no Post with id {id}")))?;
    let mut src = Source::Read(tcs.kit.repo.db().read());
    post.current_reconciled_events = Some(crate::esr::current_reconciled(&mut src, id).await?);
    Ok(axum::Json(post))
}

/// `GET /posts/in/{nationalPostNumbers}`: 302 with the posts in scope, by id, as the original.
async fn in_numbers(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let numbers: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if numbers.is_empty() {
        return Ok(axum::Json(Vec::<PostDto>::new()).into_response());
    }
    bounded(&numbers, tcs.kit.limits.max_items).map_err(|_| {
        ApiError::field(
            "nationalPostNumbers",
            format!("at most {} numbers", tcs.kit.limits.max_items),
        )
    })?;
    let mut sql = Sql::new("SELECT t.id AS \"id\" FROM post t WHERE t.national_post_number IN ");
    sql.bind_list(numbers);
    Scope::of(&who).restrict_posts(&mut sql, "t");
    sql.push(" ORDER BY t.id");
    let ids = read::ids_of(&tcs.kit.repo.db().read().fetch_all(sql).await?);
    let posts = read::load(&tcs.kit, &ids).await?;
    Ok((StatusCode::FOUND, axum::Json(posts)).into_response())
}

/// Saves `dtos` ([`write::save`]), then answers the saved posts with the original's alert
/// (`tcsApp.post.{action}` and their ids).
async fn saved_list(
    tcs: &Tcs,
    who: &tis_auth::Principal,
    headers: &HeaderMap,
    dtos: &[PostDto],
    update: bool,
    action: &str,
) -> Result<Response, ApiError> {
    let ids = write::save(tcs, who, headers, dtos, update, true).await?;
    let posts = read::load(&tcs.kit, &ids).await?;
    Ok(alert(
        axum::Json(posts).into_response(),
        ENTITY,
        action,
        &joined(&ids),
    ))
}

fn joined(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// `POST /posts`.
async fn create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dto): Body<PostDto>,
) -> Response {
    if dto.id.is_some() {
        let err = ApiError::field("id", "a new Post cannot already have an id");
        return failure(answer(OBJECT, Err(err)), "idexists", ENTITY);
    }
    let result = async {
        let ids = write::save(
            &tcs,
            &who,
            &headers,
            std::slice::from_ref(&dto),
            false,
            false,
        )
        .await?;
        let post = read::load(&tcs.kit, &ids).await?.pop().unwrap_or_default();
        Ok(created(tcs.kit.api, "posts", ENTITY, &joined(&ids), post))
    }
    .await;
    answer(OBJECT, result)
}

/// `PUT /posts`: no id is a 400 naming `id`; an id out of scope or unknown a 404.
async fn update(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dto): Body<PostDto>,
) -> Response {
    let result = async {
        if dto.id.is_none() {
            return Err(ApiError::field("id", "must not be null"));
        }
        let ids = write::save(
            &tcs,
            &who,
            &headers,
            std::slice::from_ref(&dto),
            true,
            false,
        )
        .await?;
        let post = read::load(&tcs.kit, &ids).await?.pop().unwrap_or_default();
        Ok(alert(
            axum::Json(post).into_response(),
            ENTITY,
            "updated",
            &joined(&ids),
        ))
    }
    .await;
    answer(OBJECT, result)
}

/// `DELETE /posts/{id}`: 404 out of scope; 409 when reconciled with ESR (the original's
/// refusal, [`read::RECONCILED_WITH_ESR`]) or while placements name it.
async fn delete(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let result = read::delete_of_post(
        &tcs.kit,
        &Scope::of(&who),
        ("id", &raw),
        ("post", "id"),
        (ENTITY, "placements"),
        true,
    )
    .await;
    answer(OBJECT, result)
}

/// `POST /bulk-posts`: none may have an id (400 `error.ids.exist`); 200 with the list.
async fn bulk_create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dtos): Body<Vec<PostDto>>,
) -> Response {
    let ids: Vec<Option<i64>> = dtos.iter().map(|d| d.id).collect();
    if let Some(refused) = refuse_ids(OBJECT, "Post", &ids) {
        return refused;
    }
    let result = saved_list(&tcs, &who, &headers, &dtos, false, "created").await;
    answer(OBJECT, result)
}

/// `PUT /bulk-posts`: all or none.
async fn bulk_update(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dtos): Body<Vec<PostDto>>,
) -> Response {
    let ids: Vec<Option<i64>> = dtos.iter().map(|d| d.id).collect();
    if let Some(refused) = refuse_bulk_update(OBJECT, ENTITY, &ids) {
        return refused;
    }
    let result = saved_list(&tcs, &who, &headers, &dtos, true, "updated").await;
    answer(OBJECT, result)
}

/// The `bulk-patch-*` family: for each item (named by `id`), its stored post with the one
/// relation replaced by the item's, then saved as a whole (checked as `PUT`), all or none.
async fn bulk_patch(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dtos): Body<Vec<PostDto>>,
    which: Patch,
) -> Response {
    let ids: Vec<Option<i64>> = dtos.iter().map(|d| d.id).collect();
    if let Some(refused) = refuse_bulk_update(OBJECT, ENTITY, &ids) {
        return refused;
    }
    let result = async {
        bounded(&dtos, tcs.kit.limits.max_items)?;
        let ids: Vec<i64> = dtos.iter().filter_map(|d| d.id).collect();
        let visible = seen(&tcs, &Scope::of(&who), &ids).await?;
        if let Some(id) = ids.iter().find(|id| !visible.contains(id)) {
            return Err(ApiError::NotFound(format!("no Post with id {id}")));
        }
        let stored = read::load(&tcs.kit, &ids).await?;
        let merged: Vec<PostDto> = dtos
            .iter()
            .map(|d| {
                let mut post = stored
                    .iter()
                    .find(|s| s.id == d.id)
                    .cloned()
                    .unwrap_or_default();
                match which {
                    Patch::NewOld => {
                        post.old_post = d.old_post.clone();
                        post.new_post = d.new_post.clone();
                    }
                    Patch::Grades => post.grades = Some(d.grades.clone().unwrap_or_default()),
                    Patch::Programmes => {
                        post.programmes = Some(d.programmes.clone().unwrap_or_default())
                    }
                    Patch::Sites => post.sites = Some(d.sites.clone().unwrap_or_default()),
                    Patch::Specialties => {
                        post.specialties = Some(d.specialties.clone().unwrap_or_default())
                    }
                }
                post
            })
            .collect();
        saved_list(&tcs, &who, &headers, &merged, true, "updated").await
    }
    .await;
    answer(OBJECT, result)
}

/// `PATCH /post/fundings`: the body's post (by `id`) gets the body's fundings: one with an id
/// of the post's replaces it, one without is added. Each funding that fails its checks comes
/// back with its `messageList` and is not saved (as the original); the others are saved
/// with the post. The answer is every funding of the body, with ids.
async fn patch_fundings(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dto): Body<PostDto>,
) -> Response {
    let result = async {
        let Some(id) = dto.id else {
            return Err(ApiError::field("id", "must not be null"));
        };
        if seen(&tcs, &Scope::of(&who), &[id]).await?.is_empty() {
            return Err(ApiError::NotFound(format!("no Post with id {id}")));
        }
        let mut post = read::load(&tcs.kit, &[id]).await?.pop().unwrap_or_default();
        let mut fundings = post.fundings.take().unwrap_or_default();
        let mut answered = Vec::new();
        for mut f in dto.fundings.clone().unwrap_or_default() {
            f.message_list = check::funding(&f)
                .into_iter()
                .map(|(field, m)| format!("{field} {m}"))
                .collect();
            if f.id.is_some() && !fundings.iter().any(|s| s.id == f.id) {
                f.message_list.push(format!(
                    "funding {} is not a funding of post {id}",
                    f.id.unwrap_or_default()
                ));
            }
            if f.message_list.is_empty() {
                match fundings.iter_mut().find(|s| s.id.is_some() && s.id == f.id) {
                    Some(stored) => *stored = f.clone(),
                    None => fundings.push(f.clone()),
                }
            }
            answered.push(f);
        }
        post.fundings = Some(fundings);
        write::save(
            &tcs,
            &who,
            &headers,
            std::slice::from_ref(&post),
            true,
            false,
        )
        .await?;
        let saved = read::load(&tcs.kit, &[id])
            .await?
            .pop()
            .unwrap_or_default()
            .fundings
            .unwrap_or_default();
        for f in answered.iter_mut().filter(|f| f.message_list.is_empty()) {
            f.post_id = Some(id);
            if f.id.is_none() {
                f.id = saved
                    .iter()
                    .filter(|s| s.funding_type == f.funding_type && s.start_date == f.start_date)
                    .filter_map(|s| s.id)
                    .max();
            }
        }
        Ok(axum::Json(answered).into_response())
    }
    .await;
    answer(OBJECT, result)
}

/// `POST /posts/filter/deanery`: the posts (in scope) whose numbers are in the body, as
/// `PostEsrDTO`, paged (`page`, `size`), by id.
async fn filter_deanery(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
    Body(numbers): Body<Vec<String>>,
) -> Result<Response, ApiError> {
    bounded(&numbers, tcs.kit.limits.max_items)?;
    let params = query_pairs(uri.query());
    let req = tcs.kit.list_request(&POST_VIEW, &params)?;
    if numbers.is_empty() {
        return Ok(axum::Json(Vec::<PostEsrDto>::new()).into_response());
    }
    let field = POST_VIEW
        .field("nationalPostNumber")
        .ok_or_else(|| ApiError::bad_query("no number field"))?;
    let q = ListQuery::filtered(vec![Filter::new(
        field,
        numbers.into_iter().map(Value::Text).collect(),
    )]);
    let (rows, _) = page_from(
        &tcs.kit,
        &POST_VIEW,
        read::visible(&Scope::of(&who)),
        &q,
        Some(req.page),
    )
    .await?;
    let items: Vec<PostEsrDto> = decode::<PostViewDto>(rows)?
        .into_iter()
        .map(|v| PostEsrDto {
            id: v.id,
            national_post_number: v.national_post_number,
            status: v.status,
            owner: v.owner,
        })
        .collect();
    Ok(axum::Json(items).into_response())
}

/// `POST /posts/build-post-view`: every row of the post list rewritten (every write already
/// keeps them current); 200 with the original's alert.
async fn build_post_view(State(tcs): State<Tcs>, Authenticated(_who): Authenticated) -> Response {
    match write::rebuild_views(&tcs).await {
        Ok(_) => alert(
            StatusCode::OK.into_response(),
            ENTITY,
            "updated",
            "procedure is underway",
        ),
        Err(e) => answer(OBJECT, Err(e)),
    }
}

/// `GET /programme/{id}/posts?npn=`: the posts (in scope) of a programme the caller sees
/// (404 otherwise), those whose number contains `npn` when given.
async fn of_programme(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
    uri: Uri,
) -> Result<axum::Json<Vec<PostDto>>, ApiError> {
    let id = number("id", &raw)?;
    let scope = Scope::of(&who);
    if crate::programmes::programme::by_ids(&tcs.kit, &scope, &[id])
        .await?
        .is_empty()
    {
        return Err(ApiError::NotFound(format!("no Programme with id {id}")));
    }
    let npn = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "npn")
        .map(|(_, v)| v);
    let mut sql = Sql::new(
        "SELECT t.id AS \"id\" FROM post t JOIN post_programme pp ON pp.post_id = t.id WHERE pp.programme_id = ",
    );
    sql.bind(id);
    if let Some(npn) = npn.filter(|n| !n.trim().is_empty()) {
        sql.push(" AND LOWER(t.national_post_number) LIKE ")
            .bind(format!("%{}%", npn.trim().to_lowercase()));
    }
    scope.restrict_posts(&mut sql, "t");
    sql.push(" ORDER BY t.id");
    let ids = read::ids_of(&tcs.kit.repo.db().read().fetch_all(sql).await?);
    Ok(axum::Json(read::load(&tcs.kit, &ids).await?))
}
