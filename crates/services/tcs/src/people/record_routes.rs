//! The original's routes of each one-to-one record ([`super::records`]), keyed by the
//! person's id and scoped through the person (out of scope = 404, as an unknown id):
//!
//! | route | guard | answer |
//! |---|---|---|
//! | `GET /{plural}` | person View | a page of the records of the people in scope; `X-Total-Count`, `Link` |
//! | `GET /{plural}/{id}` | person View | the record, 404 for no such person (or out of scope) |
//! | `POST /{plural}` | person Create | `id` (the person's) required; upsert, as the original; 201 + `Location` |
//! | `PUT /{plural}` | person Update | `id` required (400 naming it); the whole record replaced; 200 |
//! | `PATCH /{plural}` | person Update | a list, each replaced whole; all-or-nothing in one transaction; 200 |
//! | `PATCH /contact-details/{id}`, `/personal-details/{id}` | person Update | only the body's non-null fields change (the original's HEAD); the body's id wins, else the path's; 200 |
//! | `DELETE /{plural}/{id}` | `tcs:delete:entities` | 200, the record's fields cleared in the history |
//! | `GET /gmc-details/in/{gmcIds}`, `/gdc-details/in/{gdcIds}` | person View | **302** with the records of those numbers in scope (as the original) |
//!
//! Unlike the original, the PATCH lists run the same checks as `PUT` (the original ran none)
//! and the sensitive personal details follow [`super::sensitive`] on every write. Every write
//! records its changes in the person's history and, for names and numbers, refreshes the
//! people list row, in its transaction.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri, header};
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use tis_auth::{Authenticated, Principal};
use tis_core::FieldError;
use tis_core::paging::{ListParams, Rules, query_pairs};
use tis_service_kit::ApiError;
use tis_service_kit::guard::{Guard, Guards};
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::{Crud, error_response};
use tis_service_kit::repo::query::select_list;
use tis_store::Sql;

use super::records::{
    self, CONTACT, GDC, GMC, Obj, PERSONAL, RECORDS, Record, alert, body_json, fetch, id_of, load,
    merged, no_person, person_in_scope, select_in,
};
use super::{refresh, sensitive};
use crate::domain::scope::Scope;
use crate::reference::Refs;
use crate::routes::{API, APP, PERSON_VIEW_GUARD, Tcs};

/// `hasPermission('tis:people::person:', 'Create')`.
pub const PERSON_CREATE_GUARD: Guard = Guard::Permission("tis:people::person:", "Create");
/// `hasPermission('tis:people::person:', 'Update')`.
pub const PERSON_UPDATE_GUARD: Guard = Guard::Permission("tis:people::person:", "Update");
/// `hasAuthority('tcs:delete:entities')`.
pub const DELETE_GUARD: Guard = Guard::Authority("tcs:delete:entities");

/// How the person's routes answer errors: as the original (`message: error.validation`,
/// `fieldErrors`), beside the standard body.
pub static ORIGINAL: Crud = Crud::new(Guards {
    view: PERSON_VIEW_GUARD,
    create: PERSON_CREATE_GUARD,
    update: PERSON_UPDATE_GUARD,
    delete: DELETE_GUARD,
    bulk_create: PERSON_CREATE_GUARD,
    bulk_update: PERSON_UPDATE_GUARD,
})
.original(APP);

/// `r`, with its error (if any) in the original's form for DTO `object`.
pub fn answer(object: &str, r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(|e| error_response(&ORIGINAL, object, e, None))
}

/// The records' routes.
pub fn routes(mut api: Api<Tcs>) -> Api<Tcs> {
    api = api
        .schema::<records::ContactDetailsDto>()
        .schema::<records::PersonalDetailsDto>()
        .schema::<records::GmcDetailsDto>()
        .schema::<records::GdcDetailsDto>()
        .schema::<records::RightToWorkDto>();
    for rec in RECORDS {
        api = one_record(api, rec);
    }
    for rec in [&CONTACT, &PERSONAL] {
        let p = rec.desc.plural;
        api = api.add(
            Method::Patch,
            &format!("{API}/{p}/{{id}}"),
            move |s: State<Tcs>, a: Authenticated, h: HeaderMap, id: Path<String>, b: Bytes| {
                patch_one(rec, s, a, h, id, b)
            },
            Op::new(
                rec.desc.name,
                "Changes the body's non-null fields of one person's record",
            )
            .path("id")
            .body(Doc::One(dto(rec).into()))
            .returns(200, Doc::One(dto(rec).into()))
            .guard(PERSON_UPDATE_GUARD)
            .idempotent(),
        );
    }
    for (rec, column, name) in [
        (&GMC, "gmc_number", "gmcIds"),
        (&GDC, "gdc_number", "gdcIds"),
    ] {
        let p = rec.desc.plural;
        api = api.add(
            Method::Get,
            &format!("{API}/{p}/in/{{{name}}}"),
            move |s: State<Tcs>, a: Authenticated, n: Path<String>| {
                by_numbers(rec, column, s, a, n)
            },
            Op::new(
                rec.desc.name,
                "The records of a comma-separated list of numbers (302, as the original)",
            )
            .path(name)
            .returns(302, Doc::Many(dto(rec).into()))
            .guard(PERSON_VIEW_GUARD),
        );
    }
    api
}

/// The DTO schema's name.
fn dto(rec: &Record) -> String {
    format!("{}Dto", rec.desc.name)
}

fn one_record(api: Api<Tcs>, rec: &'static Record) -> Api<Tcs> {
    let p = rec.desc.plural;
    let one = || Doc::One(dto(rec).into());
    let many = || Doc::Many(dto(rec).into());
    api.add(
        Method::Get,
        &format!("{API}/{p}"),
        move |s: State<Tcs>, a: Authenticated, uri: Uri| list(rec, s, a, uri),
        Op::new(
            rec.desc.name,
            "A page of the records of the people in the caller's scope",
        )
        .query(&["page", "size"])
        .returns(200, many())
        .guard(PERSON_VIEW_GUARD),
    )
    .add(
        Method::Get,
        &format!("{API}/{p}/{{id}}"),
        move |s: State<Tcs>, a: Authenticated, id: Path<String>| get_one(rec, s, a, id),
        Op::new(rec.desc.name, "One person's record, by the person's id")
            .path("id")
            .returns(200, one())
            .guard(PERSON_VIEW_GUARD),
    )
    .add(
        Method::Post,
        &format!("{API}/{p}"),
        move |s: State<Tcs>, a: Authenticated, h: HeaderMap, b: Bytes| put(rec, true, s, a, h, b),
        Op::new(
            rec.desc.name,
            "Saves one person's record (id: the person's)",
        )
        .body(one())
        .returns(201, one())
        .guard(PERSON_CREATE_GUARD)
        .idempotent(),
    )
    .add(
        Method::Put,
        &format!("{API}/{p}"),
        move |s: State<Tcs>, a: Authenticated, h: HeaderMap, b: Bytes| put(rec, false, s, a, h, b),
        Op::new(
            rec.desc.name,
            "Replaces one person's record (id: the person's)",
        )
        .body(one())
        .returns(200, one())
        .guard(PERSON_UPDATE_GUARD)
        .idempotent(),
    )
    .add(
        Method::Patch,
        &format!("{API}/{p}"),
        move |s: State<Tcs>, a: Authenticated, h: HeaderMap, b: Bytes| patch_list(rec, s, a, h, b),
        Op::new(rec.desc.name, "Replaces a list of records, all or nothing")
            .body(many())
            .returns(200, many())
            .guard(PERSON_UPDATE_GUARD)
            .idempotent(),
    )
    .add(
        Method::Delete,
        &format!("{API}/{p}/{{id}}"),
        move |s: State<Tcs>, a: Authenticated, id: Path<String>| delete(rec, s, a, id),
        Op::new(rec.desc.name, "Clears one person's record")
            .path("id")
            .guard(DELETE_GUARD),
    )
}

/// A person id from a path segment: 400 naming `id` when it is not one.
pub fn parse_id(raw: &str) -> Result<i64, ApiError> {
    tis_service_kit::entity::validate::plain_id(raw).ok_or_else(|| {
        ApiError::field(
            "id",
            format!("not an id: {:?}", raw.chars().take(32).collect::<String>()),
        )
    })
}

/// `rec` as the caller may see it.
pub fn shown(who: &Principal, rec: &Record, mut obj: Obj) -> Obj {
    if std::ptr::eq(rec, &PERSONAL) {
        sensitive::mask(who, &mut obj);
    }
    obj
}

/// Whether a change to `rec` changes the people list row (names and numbers).
pub fn feeds_list(rec: &Record) -> bool {
    [&CONTACT, &GMC, &GDC].iter().any(|r| std::ptr::eq(*r, rec))
}

/// The date the owner and status rules use.
pub fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

async fn list(
    rec: &'static Record,
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Response {
    let r = async {
        let rules: Rules<'_, ()> = Rules::new(
            tcs.kit.limits.default_page_size,
            tcs.kit.limits.max_page_size,
        );
        let params = ListParams::parse(&query_pairs(uri.query()), &rules)?;
        let scope = Scope::of(&who);
        let cols = select_list(rec.desc)
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut q = Sql::new(&format!(
            "SELECT {cols} FROM {} t JOIN person p ON p.id = t.id WHERE 1 = 1",
            rec.desc.table
        ));
        scope.restrict_people(&mut q, "p");
        q.push(" ORDER BY t.id LIMIT ")
            .bind(i64::try_from(params.page.size).unwrap_or(i64::MAX))
            .push(" OFFSET ")
            .bind(i64::try_from(params.page.offset()).unwrap_or(i64::MAX));
        let mut count = Sql::new(&format!(
            "SELECT COUNT(*) AS \"n\" FROM {} t JOIN person p ON p.id = t.id WHERE 1 = 1",
            rec.desc.table
        ));
        scope.restrict_people(&mut count, "p");
        let db = tcs.kit.repo.db();
        let rows = db.read().fetch_all(q).await?;
        let total = db
            .read()
            .fetch_one(count)
            .await?
            .get("n")
            .and_then(Json::as_i64)
            .unwrap_or(0);
        let items: Vec<Obj> = rows.into_iter().map(|r| shown(&who, rec, r)).collect();
        let headers = params.headers(
            &format!("/api/{}", rec.desc.plural),
            u64::try_from(total).unwrap_or(0),
        );
        Ok((headers, axum::Json(items)).into_response())
    }
    .await;
    answer(rec.object, r)
}

async fn get_one(
    rec: &'static Record,
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let r = async {
        let id = parse_id(&raw)?;
        let mut q = Sql::new(&format!(
            "SELECT {} FROM {} WHERE id = ",
            select_list(rec.desc),
            rec.desc.table
        ));
        q.bind(id);
        q.push(" AND id IN (SELECT p.id FROM person p WHERE p.id = ")
            .bind(id);
        Scope::of(&who).restrict_people(&mut q, "p");
        q.push(")");
        let row = tcs.kit.repo.db().read().fetch_keyed(q, 1).await?.pop();
        match row {
            Some(obj) => Ok(axum::Json(shown(&who, rec, obj)).into_response()),
            None => Err(no_person(id)),
        }
    }
    .await;
    answer(rec.object, r)
}

/// The record `id` of `rec` as stored, from the primary (outside a transaction: for the
/// Reference check, which must come before it).
async fn stored(tcs: &Tcs, rec: &Record, id: i64) -> Result<Option<Obj>, ApiError> {
    Ok(fetch(tcs.kit.repo.db(), true, select_in(rec.desc, &[id]))
        .await?
        .pop())
}

/// Writes the records `items` (each: person id, the record as it will be, whether only its
/// non-null fields change) in one transaction, after checking the Reference data they name;
/// returns them as saved and as the caller may see them. A person out of scope is a 404
/// (`bulk`: a 400 naming `[i].id`).
pub async fn write_records(
    tcs: &Tcs,
    who: &Principal,
    headers: &HeaderMap,
    rec: &'static Record,
    items: Vec<(i64, Obj, bool)>,
    bulk: bool,
) -> Result<Vec<Obj>, ApiError> {
    let mut refs = Refs::new();
    let mut planned = Vec::new();
    for (i, (id, obj, patch)) in items.into_iter().enumerate() {
        let before = stored(tcs, rec, id).await?;
        let after = if patch {
            merged(before.as_ref().unwrap_or(&Map::new()), &obj)
        } else {
            obj
        };
        let prefix = if bulk {
            format!("[{i}].")
        } else {
            String::new()
        };
        if patch {
            let errors = (rec.check)(&after, &prefix, false);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
        }
        rec.name_refs(before.as_ref(), &after, &prefix, &mut refs);
        planned.push((id, after));
    }
    refs.check(&tcs.reference, who, headers).await?;
    let scope = Scope::of(who);
    let db = tcs.kit.repo.db();
    let mut tx = db.write().begin().await?;
    for (i, (id, after)) in planned.iter().enumerate() {
        if !person_in_scope(&mut tx, &scope, *id).await? {
            return Err(if bulk {
                ApiError::field(format!("[{i}].id"), format!("no person with id {id}"))
            } else {
                no_person(*id)
            });
        }
        records::check_unique(&mut tx, rec, after, Some(*id)).await?;
        let before = load(&mut tx, rec.desc, *id).await?;
        records::write(&mut tx, who, rec, *id, before.as_ref(), after.clone()).await?;
        if feeds_list(rec) {
            refresh::refresh(&mut tx, *id, today(), false).await?;
        }
    }
    tx.commit().await?;
    let ids: Vec<i64> = planned.iter().map(|(id, _)| *id).collect();
    let rows = fetch(db, true, select_in(rec.desc, &ids)).await?;
    // In the order given.
    Ok(ids
        .iter()
        .filter_map(|id| {
            rows.iter()
                .find(|r| r.get("id").and_then(Json::as_i64) == Some(*id))
        })
        .map(|r| shown(who, rec, r.clone()))
        .collect())
}

/// `POST` (`create`) and `PUT /{plural}`.
async fn put(
    rec: &'static Record,
    create: bool,
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        let obj = rec
            .read(&body_json(&body)?, "", true)
            .map_err(ApiError::Validation)?;
        let Some(id) = id_of(&obj) else {
            return Err(ApiError::field("id", "must not be null"));
        };
        let saved = write_records(&tcs, &who, &headers, rec, vec![(id, obj, false)], false)
            .await?
            .pop()
            .unwrap_or_default();
        let mut res = if create {
            let mut res = (StatusCode::CREATED, axum::Json(saved)).into_response();
            if let Ok(v) = format!("/api/{}/{id}", rec.desc.plural).parse() {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        } else {
            axum::Json(saved).into_response()
        };
        alert(
            res.headers_mut(),
            rec.name,
            if create { "created" } else { "updated" },
            &id.to_string(),
        );
        Ok(res)
    }
    .await;
    answer(rec.object, r)
}

/// `PATCH /{plural}`: a list, each record replaced whole, all or nothing.
async fn patch_list(
    rec: &'static Record,
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        let items = bulk_items(&body_json(&body)?, tcs.kit.limits.max_items)?;
        let mut errors = Vec::new();
        let mut planned = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let prefix = format!("[{i}].");
            match rec.read(item, &prefix, true) {
                Ok(obj) => match id_of(&obj) {
                    Some(id) => planned.push((id, obj, false)),
                    None => errors.push(FieldError::new(format!("{prefix}id"), "must not be null")),
                },
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let ids = planned
            .iter()
            .map(|(id, _, _)| id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let saved = write_records(&tcs, &who, &headers, rec, planned, true).await?;
        let mut res = axum::Json(saved).into_response();
        alert(res.headers_mut(), rec.name, "updated", &ids);
        Ok(res)
    }
    .await;
    answer(rec.object, r)
}

/// A bulk body: a JSON array of at most `max` items (400 naming `body` otherwise).
pub fn bulk_items(body: &Json, max: usize) -> Result<Vec<Json>, ApiError> {
    match body {
        Json::Array(items) if items.len() > max => {
            Err(ApiError::field("body", format!("at most {max} items")))
        }
        Json::Array(items) => Ok(items.clone()),
        _ => Err(ApiError::field("body", "must be a JSON array")),
    }
}

/// `PATCH /contact-details/{id}`, `/personal-details/{id}`.
async fn patch_one(
    rec: &'static Record,
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let r = async {
        let obj =
            records::shape(rec.desc, &body_json(&body)?, "", &[]).map_err(ApiError::Validation)?;
        let id = match id_of(&obj) {
            Some(id) => id,
            None => parse_id(&raw)?,
        };
        let saved = write_records(&tcs, &who, &headers, rec, vec![(id, obj, true)], false)
            .await?
            .pop()
            .unwrap_or_default();
        let mut res = axum::Json(saved).into_response();
        alert(res.headers_mut(), rec.name, "updated", &id.to_string());
        Ok(res)
    }
    .await;
    answer(rec.object, r)
}

/// `DELETE /{plural}/{id}`: the record goes (the person keeps an empty one's absence); its
/// values leave the history as removed.
async fn delete(
    rec: &'static Record,
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let r = async {
        let id = parse_id(&raw)?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        if !person_in_scope(&mut tx, &Scope::of(&who), id).await? {
            return Err(no_person(id));
        }
        let Some(before) = load(&mut tx, rec.desc, id).await? else {
            return Err(no_person(id));
        };
        let mut q = Sql::new(&format!("DELETE FROM {} WHERE id = ", rec.desc.table));
        q.bind(id);
        tx.execute(q).await?;
        let changes = super::history::diff(Some(&before), None, &["amendedDate", "id"]);
        super::history::record(&mut tx, id, who.user_name(), rec.name, &changes).await?;
        if feeds_list(rec) {
            refresh::refresh(&mut tx, id, today(), false).await?;
        }
        tx.commit().await?;
        let mut res = StatusCode::OK.into_response();
        alert(res.headers_mut(), rec.name, "deleted", &id.to_string());
        Ok(res)
    }
    .await;
    answer(rec.object, r)
}

/// `GET /gmc-details/in/{gmcIds}`, `/gdc-details/in/{gdcIds}`: 302 with the records of those
/// numbers (URL-decoded, comma-separated) in scope; `[]` for none.
async fn by_numbers(
    rec: &'static Record,
    column: &'static str,
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let r = async {
        let numbers: Vec<String> = raw
            .split(',')
            .map(|n| {
                tis_service_kit::http::crud::url_decoded(n)
                    .trim()
                    .to_owned()
            })
            .filter(|n| !n.is_empty())
            .collect();
        if numbers.len() > tcs.kit.limits.max_items {
            return Err(ApiError::field(
                "ids",
                format!("at most {} numbers", tcs.kit.limits.max_items),
            ));
        }
        if numbers.is_empty() {
            return Ok((StatusCode::FOUND, axum::Json(Vec::<Obj>::new())).into_response());
        }
        let mut q = Sql::new(&format!(
            "SELECT {} FROM {} WHERE {column} IN ",
            select_list(rec.desc),
            rec.desc.table
        ));
        q.bind_list(numbers);
        q.push(" AND id IN (SELECT p.id FROM person p WHERE 1 = 1");
        Scope::of(&who).restrict_people(&mut q, "p");
        q.push(") ORDER BY id");
        let rows = tcs.kit.repo.db().read().fetch_all(q).await?;
        Ok((StatusCode::FOUND, axum::Json(rows)).into_response())
    }
    .await;
    answer(rec.object, r)
}
