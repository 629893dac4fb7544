//! The one set of CRUD handlers, generic over the entity; each route's guard is the one the
//! service gives for the entity ([`Guards`]), checked before the handler runs.
//!
//! | route | semantics |
//! |---|---|
//! | `GET /{plural}` | a page (see [`super::params`]); `X-Total-Count` and `Link` |
//! | `GET /current/{plural}` | the same, status `CURRENT` only (types with a status) |
//! | `GET /{plural}/{id}` | one record, or 404 |
//! | `POST /{plural}` | create; 201 + `Location`; an `id` in the body is a 400 |
//! | `PUT /{plural}` | update the record named by `id` (404 if none); without an `id` it creates, as the original did |
//! | `DELETE /{plural}/{id}` | 200, or 404 |
//! | `POST /bulk-{plural}` | create all (none may have an id), one transaction, 200 |
//! | `PUT /bulk-{plural}` | update all (each must have an id), one transaction, 200 |
//! | `POST /{plural}/exists[/]` | codes → `{code: bool}` (types with a business key); optional `columnFilters` |
//!
//! Every record of a bulk body is validated before anything is written, and all field errors
//! are reported together (`[3].siteCode`); any failure writes nothing.
//!
//! The four writing routes (`POST`/`PUT` of one record or a bulk list) honour
//! `Idempotency-Key`: a retry with the same key and body gets the first response and writes
//! nothing (see [`super::idempotent`]).

use std::collections::BTreeMap;

use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, Uri, header};
use serde_json::{Map, Value as Json};
use tis_core::FieldError;
use tis_core::extract::{Json as Body, Path};
use tis_core::paging::{self, query_pairs};
use tis_store::{Row, Value};

use super::Kit;
use super::api::{Api, Body as Doc, Method, Op};
use super::params::{self, ParamError, list_request};
use crate::entity::validate::{id_from_text, validate};
use crate::entity::{Descriptor, Entity};
use crate::error::ApiError;
use crate::guard::Guards;
use crate::repo::Filter;

impl From<ParamError> for ApiError {
    fn from(err: ParamError) -> Self {
        ApiError::bad_query(err.to_string())
    }
}

/// The routes of entity `E`, each behind its guard in `guards`.
pub fn routes<E, S>(api: Api<S>, guards: &Guards) -> Api<S>
where
    E: Entity,
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
{
    let d = E::desc();
    let name = d.name;
    let schema = || Doc::One(<E as utoipa::ToSchema>::name());
    let many = || Doc::Many(<E as utoipa::ToSchema>::name());
    let prefix = api.prefix();
    let base = format!("{prefix}/{}", d.plural);
    let one = format!("{base}/{{id}}");
    let bulk = format!("{prefix}/bulk-{}", d.plural);
    let mut api = api
        .schema::<E>()
        .add(
            Method::Get,
            &base,
            list::<E>,
            Op::new(name, format!("A page of {name} records"))
                .paged()
                .returns(200, many())
                .guard(guards.view),
        )
        .add(
            Method::Post,
            &base,
            create::<E>,
            Op::new(name, format!("Creates a {name}"))
                .body(schema())
                .returns(201, schema())
                .guard(guards.create)
                .idempotent(),
        )
        .add(
            Method::Put,
            &base,
            update::<E>,
            Op::new(
                name,
                format!("Updates a {name} (creates it when the body has no id)"),
            )
            .body(schema())
            .returns(200, schema())
            .guard(guards.update)
            .idempotent(),
        )
        .add(
            Method::Get,
            &one,
            get_one::<E>,
            Op::new(name, format!("One {name}"))
                .path("id")
                .returns(200, schema())
                .guard(guards.view),
        )
        .add(
            Method::Delete,
            &one,
            delete::<E>,
            Op::new(name, format!("Deletes a {name}"))
                .path("id")
                .guard(guards.delete),
        )
        .add(
            Method::Post,
            &bulk,
            bulk_create::<E>,
            Op::new(name, format!("Creates many {name} records, all or none"))
                .body(many())
                .returns(200, many())
                .guard(guards.bulk_create)
                .idempotent(),
        )
        .add(
            Method::Put,
            &bulk,
            bulk_update::<E>,
            Op::new(name, format!("Updates many {name} records, all or none"))
                .body(many())
                .returns(200, many())
                .guard(guards.bulk_update)
                .idempotent(),
        );
    if d.has_status() {
        api = api.add(
            Method::Get,
            &format!("{prefix}/current/{}", d.plural),
            list_current::<E>,
            Op::new(name, format!("A page of current {name} records"))
                .paged()
                .returns(200, many())
                .guard(guards.view),
        );
    }
    if d.code.is_some() {
        for path in [format!("{base}/exists"), format!("{base}/exists/")] {
            api = api.add(
                Method::Post,
                &path,
                exists::<E>,
                Op::new(name, format!("Which of these {name} codes exist"))
                    .query(&["columnFilters"])
                    .body(Doc::Strings)
                    .returns(200, Doc::BoolMap)
                    .guard(guards.view),
            );
        }
    }
    api
}

/// Rows into DTOs (a row that does not decode is a bug: 500).
pub fn decode<E: Entity>(rows: Vec<Row>) -> Result<Vec<E>, ApiError> {
    rows.into_iter()
        .map(|r| tis_store::db::decode::<E>(r).map_err(ApiError::from))
        .collect()
}

/// A DTO as a JSON object.
fn to_map<E: Entity>(dto: &E) -> Map<String, Json> {
    match serde_json::to_value(dto) {
        Ok(Json::Object(m)) => m,
        _ => Map::new(),
    }
}

/// An id from a path segment.
pub fn path_id(d: &'static Descriptor, raw: &str) -> Result<Value, ApiError> {
    id_from_text(d.id, raw).ok_or_else(|| {
        ApiError::Http(tis_core::HttpError::bad_request(
            "invalid_path",
            format!(
                "`{}` is not a {} id",
                raw.chars().take(64).collect::<String>(),
                d.name
            ),
        ))
    })
}

/// Field errors of a single-record request lose their `[0].` prefix.
fn single(err: ApiError) -> ApiError {
    match err {
        ApiError::Validation(fields) => ApiError::Validation(
            fields
                .into_iter()
                .map(|f| FieldError::new(f.field.trim_start_matches("[0].").to_owned(), f.message))
                .collect(),
        ),
        other => other,
    }
}

async fn page_of<E: Entity>(st: &Kit, uri: &Uri, current: bool) -> Result<Response, ApiError> {
    let d = E::desc();
    let params = query_pairs(uri.query());
    let mut req = list_request(
        d,
        &params,
        st.limits.default_page_size,
        st.limits.max_page_size,
    )?;
    if current && let Some(status) = d.field("status") {
        req.query
            .filters
            .push(Filter::new(status, vec![Value::Text("CURRENT".into())]));
    }
    let (rows, total) = st.repo.page(d, &req.query, req.page).await?;
    let items = decode::<E>(rows)?;
    let headers = paging::headers(uri.path(), req.page, total, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}

async fn list<E: Entity>(State(st): State<Kit>, uri: Uri) -> Result<Response, ApiError> {
    page_of::<E>(&st, &uri, false).await
}

async fn list_current<E: Entity>(State(st): State<Kit>, uri: Uri) -> Result<Response, ApiError> {
    page_of::<E>(&st, &uri, true).await
}

async fn get_one<E: Entity>(
    State(st): State<Kit>,
    Path(id): Path<String>,
) -> Result<axum::Json<E>, ApiError> {
    let d = E::desc();
    let row = st.repo.get(d, path_id(d, &id)?).await?;
    let row = row.ok_or_else(|| ApiError::NotFound(format!("no {} with id {id}", d.name)))?;
    Ok(axum::Json(tis_store::db::decode(row)?))
}

async fn create_rows<E: Entity>(st: &Kit, dtos: &[E]) -> Result<Vec<E>, ApiError> {
    let d = E::desc();
    let mut errors = Vec::new();
    let mut records = Vec::with_capacity(dtos.len());
    for (i, dto) in dtos.iter().enumerate() {
        let map = to_map(dto);
        if map.get("id").is_some_and(|v| !v.is_null()) {
            errors.push(FieldError::new(
                format!("[{i}].id"),
                format!("a new {} cannot already have an id", d.name),
            ));
        }
        errors.extend(validate(d, &map, &format!("[{i}].")));
        records.push(map);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    decode(st.repo.create_many(d, &records).await?)
}

async fn update_rows<E: Entity>(st: &Kit, dtos: &[E]) -> Result<Vec<E>, ApiError> {
    let d = E::desc();
    let mut errors = Vec::new();
    let mut records = Vec::with_capacity(dtos.len());
    for (i, dto) in dtos.iter().enumerate() {
        let map = to_map(dto);
        let id = map
            .get("id")
            .and_then(|v| crate::entity::validate::id_value(d.id, v));
        if id.is_none() {
            errors.push(FieldError::new(
                format!("[{i}].id"),
                "must not be null to update",
            ));
        }
        errors.extend(validate(d, &map, &format!("[{i}].")));
        records.push((id.unwrap_or(Value::null(d.id.sql_type())), map));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    decode(st.repo.update_many(d, &records).await?)
}

fn created<E: Entity>(api: &str, item: E) -> Response {
    let id = to_map(&item)
        .get("id")
        .map(crate::repo::id_key)
        .unwrap_or_default();
    let location = format!("{api}/{}/{id}", E::desc().plural);
    let mut res = (StatusCode::CREATED, axum::Json(item)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

async fn create<E: Entity>(
    State(st): State<Kit>,
    Body(dto): Body<E>,
) -> Result<Response, ApiError> {
    let mut rows = create_rows(&st, std::slice::from_ref(&dto))
        .await
        .map_err(single)?;
    let item = rows
        .pop()
        .ok_or_else(|| ApiError::NotFound("the record vanished".into()))?;
    Ok(created(st.api, item))
}

async fn update<E: Entity>(
    State(st): State<Kit>,
    Body(dto): Body<E>,
) -> Result<Response, ApiError> {
    if to_map(&dto).get("id").is_none_or(Json::is_null) {
        let mut rows = create_rows(&st, std::slice::from_ref(&dto))
            .await
            .map_err(single)?;
        let item = rows
            .pop()
            .ok_or_else(|| ApiError::NotFound("the record vanished".into()))?;
        return Ok(created(st.api, item));
    }
    let mut rows = update_rows(&st, std::slice::from_ref(&dto))
        .await
        .map_err(single)?;
    let item = rows
        .pop()
        .ok_or_else(|| ApiError::NotFound("the record vanished".into()))?;
    Ok(axum::Json(item).into_response())
}

async fn delete<E: Entity>(
    State(st): State<Kit>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let d = E::desc();
    if st.repo.delete(d, path_id(d, &id)?).await? {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::NotFound(format!("no {} with id {id}", d.name)))
    }
}

fn bounded<T>(st: &Kit, items: &[T]) -> Result<(), ApiError> {
    if items.len() > st.limits.max_items {
        return Err(ApiError::field(
            "body",
            format!("at most {} items per request", st.limits.max_items),
        ));
    }
    Ok(())
}

async fn bulk_create<E: Entity>(
    State(st): State<Kit>,
    Body(dtos): Body<Vec<E>>,
) -> Result<axum::Json<Vec<E>>, ApiError> {
    bounded(&st, &dtos)?;
    if dtos.is_empty() {
        return Ok(axum::Json(Vec::new()));
    }
    Ok(axum::Json(create_rows(&st, &dtos).await?))
}

async fn bulk_update<E: Entity>(
    State(st): State<Kit>,
    Body(dtos): Body<Vec<E>>,
) -> Result<axum::Json<Vec<E>>, ApiError> {
    bounded(&st, &dtos)?;
    if dtos.is_empty() {
        return Err(ApiError::field(
            "body",
            "the request body for this end point cannot be empty",
        ));
    }
    Ok(axum::Json(update_rows(&st, &dtos).await?))
}

async fn exists<E: Entity>(
    State(st): State<Kit>,
    uri: Uri,
    Body(codes): Body<Vec<String>>,
) -> Result<axum::Json<BTreeMap<String, bool>>, ApiError> {
    bounded(&st, &codes)?;
    let d = E::desc();
    let Some(code) = d.code_field() else {
        return Ok(axum::Json(BTreeMap::new()));
    };
    let mut q = crate::repo::ListQuery::filtered(vec![Filter::new(
        code,
        codes.iter().map(|c| Value::Text(c.clone())).collect(),
    )]);
    if let Some((_, cf)) = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "columnFilters")
    {
        q.filters.extend(params::column_filters(d, &cf)?);
    }
    let found: std::collections::HashSet<String> = st
        .repo
        .column_values(d, code, &q)
        .await?
        .into_iter()
        .collect();
    Ok(axum::Json(
        codes
            .into_iter()
            .map(|c| {
                let hit = found.contains(&c);
                (c, hit)
            })
            .collect(),
    ))
}
