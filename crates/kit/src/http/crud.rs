//! The one set of CRUD handlers, generic over the entity; each route's guard is the one the
//! service gives for the entity ([`Guards`]), checked before the handler runs.
//!
//! | route | semantics |
//! |---|---|
//! | `GET /{plural}` | a page (see [`super::params`]); `X-Total-Count` and `Link`; or every row ([`Listing::Unpaged`]) |
//! | `GET /current/{plural}` | the same, status `CURRENT` only (types with a status) |
//! | `GET /{plural}/{id}` | one record, or 404 (or by its code: [`OneBy::Code`]) |
//! | `POST /{plural}` | create; 201 + `Location`; an `id` in the body is a 400 |
//! | `PUT /{plural}` | update the record named by `id` (404 if none, or an insert with [`Crud::upsert`]); without an `id` it creates, as the original did |
//! | `DELETE /{plural}/{id}` | 200, or 404 |
//! | `POST /bulk-{plural}` | create all (none may have an id), one transaction, 200 |
//! | `PUT /bulk-{plural}` | update all (each must have an id), one transaction, 200 |
//! | `POST /{plural}/exists[/]` | codes → `{code: bool}` ([`Exists::Codes`]), or one code as a text body → `true`/`false` ([`Exists::Code`]); optional `columnFilters` |
//!
//! Every record of a bulk body is validated before anything is written, and all field errors
//! are reported together (`[3].siteCode`); any failure writes nothing.
//!
//! The four writing routes (`POST`/`PUT` of one record or a bulk list) honour
//! `Idempotency-Key`: a retry with the same key and body gets the first response and writes
//! nothing (see [`super::idempotent`]).
//!
//! # The original's conventions ([`Crud::original`])
//!
//! A service that replaces a JHipster original names its application (`referenceApp`) and the
//! routes then also answer as the original did, on top of the standard JSON errors:
//! - `X-{app}-alert: {app}.{entity}.created|updated|deleted` and `X-{app}-params: {id}` on
//!   successful writes (ids joined by `,` for bulk writes);
//! - `X-{app}-error: error.{key}` and `X-{app}-params` on the refusals the original named
//!   (`idexists`, `ids.exist`, `request.body.empty`, `bulk.update.failed.noId`);
//! - validation errors carry the original's `message: "error.validation"` and `fieldErrors:
//!   [{objectName, field, message}]` (the constraint's name, `NotNull`…) beside `error`.
//!
//! Which routes exist, how the list answers, how one record is found and whether `PUT` is an
//! upsert are chosen per entity with [`Crud`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value as Json};
use tis_core::extract::{Json as Body, Path};
use tis_core::paging::{self, Sort, query_pairs};
use tis_core::{FieldError, HttpError};
use tis_store::{Row, Value};

use super::Kit;
use super::api::{Api, Body as Doc, Method, Op};
use super::params::{self, ParamError};
use crate::entity::validate::{constraint_of, id_from_text, validate};
use crate::entity::{Descriptor, Entity, Field};
use crate::error::ApiError;
use crate::guard::{Guard, Guards};
use crate::repo::{Filter, ListQuery};

impl From<ParamError> for ApiError {
    fn from(err: ParamError) -> Self {
        ApiError::bad_query(err.to_string())
    }
}

/// How a list route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// A page: `page`, `size`, `sort`, `searchQuery`, `columnFilters`; `X-Total-Count`, `Link`.
    Paged,
    /// Every matching row, as the original's lists without a `Pageable` answered: only
    /// `searchQuery` and `columnFilters` are read; ordered by `sort` (JSON field names,
    /// ascending) then by id.
    Unpaged { sort: &'static [&'static str] },
    /// No such route.
    Off,
}

/// What `POST /{plural}/exists[/]` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exists {
    /// A JSON list of codes → `{code: bool}`, compared exactly.
    Codes,
    /// One code as the bare request body (plain text, or a JSON string; URL-encoded or not) →
    /// `true` or `false`, compared ignoring case as the original's MySQL collation did.
    Code,
    /// No such route.
    Off,
}

/// How `GET /{plural}/{…}` finds its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneBy {
    Id,
    /// By the business key, ignoring case (the original's `/assessment-types/{code}`); the
    /// `Location` of a created record names its code too.
    Code,
}

/// A check of one record beyond its descriptor (a start before an end): the field errors,
/// each named by its JSON field.
pub type Check = fn(&Map<String, Json>) -> Vec<FieldError>;

/// Which CRUD routes an entity gets and how they answer. `Crud::new(guards)` is the default
/// set: every route, paged lists, look-up by id, `exists` by a list of codes for types with a
/// business key, `PUT` of an unknown id a 404, the standard errors only.
#[derive(Debug, Clone, Copy)]
pub struct Crud {
    pub guards: Guards,
    /// The URL plural, when not the descriptor's (an alias: `/funding-reason`).
    pub plural: Option<&'static str>,
    /// The original application's name (`referenceApp`): answer with its headers and
    /// validation bodies too (see the module documentation).
    pub original: Option<&'static str>,
    /// The entity's name in the original's alert headers, when not the descriptor's name
    /// with a lower-case first letter (`gender`, `dBC`).
    pub alert_name: Option<&'static str>,
    pub list: Listing,
    /// `GET /current/{plural}` (types with a status only).
    pub current: Listing,
    pub one: OneBy,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    pub bulk_create: bool,
    pub bulk_update: bool,
    pub exists: Exists,
    /// `PUT` of an id that names no record inserts it (with an id of its own), as the
    /// original's JPA `save` did.
    pub upsert: bool,
    /// `PUT` without an id creates the record (Reference's originals); otherwise it is a 400
    /// naming `id`, as is a negative id (TCS's originals: `@NotNull` and `@DecimalMin(0)` in
    /// the `Update` group on the id).
    pub put_creates: bool,
    pub check: Option<Check>,
}

impl Crud {
    pub const fn new(guards: Guards) -> Crud {
        Crud {
            guards,
            plural: None,
            original: None,
            alert_name: None,
            list: Listing::Paged,
            current: Listing::Paged,
            one: OneBy::Id,
            create: true,
            update: true,
            delete: true,
            bulk_create: true,
            bulk_update: true,
            exists: Exists::Codes,
            upsert: false,
            put_creates: true,
            check: None,
        }
    }

    /// Serves the routes under `plural` instead of the descriptor's.
    pub const fn plural(mut self, plural: &'static str) -> Crud {
        self.plural = Some(plural);
        self
    }

    /// Answers as the JHipster original `app` did (headers, validation bodies), and upserts.
    pub const fn original(mut self, app: &'static str) -> Crud {
        self.original = Some(app);
        self.upsert = true;
        self
    }

    pub const fn alert_name(mut self, name: &'static str) -> Crud {
        self.alert_name = Some(name);
        self
    }

    pub const fn list(mut self, list: Listing) -> Crud {
        self.list = list;
        self
    }

    pub const fn current(mut self, current: Listing) -> Crud {
        self.current = current;
        self
    }

    pub const fn one_by_code(mut self) -> Crud {
        self.one = OneBy::Code;
        self
    }

    pub const fn exists(mut self, exists: Exists) -> Crud {
        self.exists = exists;
        self
    }

    pub const fn upsert(mut self, upsert: bool) -> Crud {
        self.upsert = upsert;
        self
    }

    /// `PUT` without an id is a 400 naming `id`, not a create.
    pub const fn put_needs_id(mut self) -> Crud {
        self.put_creates = false;
        self
    }

    pub const fn check(mut self, check: Check) -> Crud {
        self.check = Some(check);
        self
    }

    pub const fn without_delete(mut self) -> Crud {
        self.delete = false;
        self
    }

    pub const fn without_bulk(mut self) -> Crud {
        self.bulk_create = false;
        self.bulk_update = false;
        self
    }

    pub const fn without_bulk_update(mut self) -> Crud {
        self.bulk_update = false;
        self
    }

    /// Only the list (an alias that serves a list under the original's name).
    pub const fn list_only(mut self, list: Listing) -> Crud {
        self.list = list;
        self.current = Listing::Off;
        self.create = false;
        self.update = false;
        self.delete = false;
        self.bulk_create = false;
        self.bulk_update = false;
        self.exists = Exists::Off;
        self.one = OneBy::Id;
        self
    }

    /// No `GET /{plural}/{id}` either (with [`Crud::list_only`]).
    fn has_one(&self) -> bool {
        self.create || self.update || self.delete
    }

    fn plural_of(&self, d: &'static Descriptor) -> &'static str {
        self.plural.unwrap_or(d.plural)
    }

    /// The entity's name in alert headers.
    fn alert_entity(&self, d: &'static Descriptor) -> Cow<'static, str> {
        match self.alert_name {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(decapitalize(d.name)),
        }
    }
}

/// The default routes of entity `E`, each behind its guard in `guards`.
pub fn routes<E, S>(api: Api<S>, guards: &Guards) -> Api<S>
where
    E: Entity,
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
{
    routes_with::<E, S>(api, &Crud::new(*guards))
}

/// The list route of `E` at `path` as `listing` says (none for [`Listing::Off`]); with
/// `current`, only records whose status is `CURRENT` (`/current/{plural}`).
fn list_route<E, S>(
    api: Api<S>,
    path: &str,
    listing: Listing,
    current: bool,
    guard: Guard,
) -> Api<S>
where
    E: Entity,
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
{
    let name = E::desc().name;
    let many = Doc::Many(<E as utoipa::ToSchema>::name());
    let which = if current { "current " } else { "" };
    match listing {
        Listing::Paged => api.add(
            Method::Get,
            path,
            move |State(st): State<Kit>, uri: Uri| async move {
                page_of::<E>(&st, &uri, current).await.into_response()
            },
            Op::new(name, format!("A page of {which}{name} records"))
                .paged()
                .returns(200, many)
                .guard(guard),
        ),
        Listing::Unpaged { sort } => api.add(
            Method::Get,
            path,
            move |State(st): State<Kit>, uri: Uri| async move {
                all_of::<E>(&st, &uri, sort, current).await.into_response()
            },
            Op::new(name, format!("Every {which}{name} record (not paged)"))
                .query(&["searchQuery", "columnFilters"])
                .returns(200, many)
                .guard(guard),
        ),
        Listing::Off => api,
    }
}

/// The routes of entity `E` as `crud` chooses them.
pub fn routes_with<E, S>(api: Api<S>, crud: &Crud) -> Api<S>
where
    E: Entity,
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
{
    let o = *crud;
    let guards = o.guards;
    let d = E::desc();
    let name = d.name;
    let schema = || Doc::One(<E as utoipa::ToSchema>::name());
    let many = || Doc::Many(<E as utoipa::ToSchema>::name());
    let prefix = api.prefix();
    let plural = o.plural_of(d);
    let base = format!("{prefix}/{plural}");
    let one = format!("{base}/{{id}}");
    let bulk = format!("{prefix}/bulk-{plural}");
    let mut api = api.schema::<E>();
    api = list_route::<E, S>(api, &base, o.list, false, guards.view);
    if o.create {
        api = api.add(
            Method::Post,
            &base,
            move |State(st): State<Kit>, Body(dto): Body<E>| async move {
                create::<E>(&st, &o, dto).await
            },
            Op::new(name, format!("Creates a {name}"))
                .body(schema())
                .returns(201, schema())
                .guard(guards.create)
                .idempotent(),
        );
    }
    if o.update {
        api = api.add(
            Method::Put,
            &base,
            move |State(st): State<Kit>, Body(dto): Body<E>| async move {
                update::<E>(&st, &o, dto).await
            },
            Op::new(
                name,
                if o.upsert {
                    format!(
                        "Updates a {name}, or creates it when the body has no id or an id that names none"
                    )
                } else {
                    format!("Updates a {name} (creates it when the body has no id)")
                },
            )
            .body(schema())
            .returns(200, schema())
            .guard(guards.update)
            .idempotent(),
        );
    }
    if o.has_one() || o.one == OneBy::Code {
        let op = match o.one {
            OneBy::Id => Op::new(name, format!("One {name}")).path("id"),
            OneBy::Code => Op::new(name, format!("The {name} with this code")).path("code"),
        };
        let path = match o.one {
            OneBy::Id => one.clone(),
            OneBy::Code => format!("{base}/{{code}}"),
        };
        api = api.add(
            Method::Get,
            &path,
            move |State(st): State<Kit>, Path(key): Path<String>| async move {
                get_one::<E>(&st, &o, &key).await.into_response()
            },
            op.returns(200, schema()).guard(guards.view),
        );
    }
    // A look-up by code takes the `/{plural}/{…}` slot: no delete by id beside it.
    if o.delete && o.one == OneBy::Id {
        api = api.add(
            Method::Delete,
            &one,
            move |State(st): State<Kit>, Path(id): Path<String>| async move {
                delete::<E>(&st, &o, &id).await
            },
            Op::new(name, format!("Deletes a {name}"))
                .path("id")
                .guard(guards.delete),
        );
    }
    if o.bulk_create {
        api = api.add(
            Method::Post,
            &bulk,
            move |State(st): State<Kit>, Body(dtos): Body<Vec<E>>| async move {
                bulk_create::<E>(&st, &o, dtos).await
            },
            Op::new(name, format!("Creates many {name} records, all or none"))
                .body(many())
                .returns(200, many())
                .guard(guards.bulk_create)
                .idempotent(),
        );
    }
    if o.bulk_update {
        api = api.add(
            Method::Put,
            &bulk,
            move |State(st): State<Kit>, Body(dtos): Body<Vec<E>>| async move {
                bulk_update::<E>(&st, &o, dtos).await
            },
            Op::new(name, format!("Updates many {name} records, all or none"))
                .body(many())
                .returns(200, many())
                .guard(guards.bulk_update)
                .idempotent(),
        );
    }
    if d.has_status() {
        let current = format!("{prefix}/current/{plural}");
        api = list_route::<E, S>(api, &current, o.current, true, guards.view);
    }
    if d.code.is_some() {
        for path in [format!("{base}/exists"), format!("{base}/exists/")] {
            api = match o.exists {
                Exists::Codes => api.add(
                    Method::Post,
                    &path,
                    move |State(st): State<Kit>, uri: Uri, Body(codes): Body<Vec<String>>| async move {
                        exists::<E>(&st, &uri, codes).await.into_response()
                    },
                    Op::new(name, format!("Which of these {name} codes exist"))
                        .query(&["columnFilters"])
                        .body(Doc::Strings)
                        .returns(200, Doc::BoolMap)
                        .guard(guards.view),
                ),
                Exists::Code => api.add(
                    Method::Post,
                    &path,
                    move |State(st): State<Kit>, uri: Uri, body: Result<Bytes, BytesRejection>| async move {
                        exists_one::<E>(&st, &uri, body).await.into_response()
                    },
                    Op::new(
                        name,
                        format!("Whether a {name} with this code (the plain-text body) exists, ignoring case"),
                    )
                    .query(&["columnFilters"])
                    .body(Doc::Text)
                    .returns(200, Doc::Bool)
                    .guard(guards.view),
                ),
                Exists::Off => api,
            };
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

/// `Gender` → `gender`, `DBC` → `dBC`: JHipster's entity names.
fn decapitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An id from a path segment.
pub fn path_id(d: &'static Descriptor, raw: &str) -> Result<Value, ApiError> {
    id_from_text(d.id, raw).ok_or_else(|| {
        ApiError::Http(tis_core::HttpError::bad_request(
            tis_core::error::code::INVALID_PATH,
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

/// The original's answer headers: `X-{app}-{kind}` and `X-{app}-params`.
fn original_headers(res: &mut Response, app: &str, kind: &str, value: &str, params: &str) {
    let h = res.headers_mut();
    for (name, value) in [
        (format!("x-{app}-{kind}"), value),
        (format!("x-{app}-params"), params),
    ] {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(name, value);
        }
    }
}

/// A successful write's alert (`created`, `updated`, `deleted`), when answering as the
/// original.
pub(crate) fn alert(
    res: &mut Response,
    o: &Crud,
    d: &'static Descriptor,
    action: &str,
    params: &str,
) {
    if let Some(app) = o.original {
        let message = format!("{app}.{}.{action}", o.alert_entity(d));
        original_headers(res, app, "alert", &message, params);
    }
}

/// An error response; when answering as the original, validation errors also carry its
/// `message`/`fieldErrors` and `failure` (the original's error key and params) its
/// `X-{app}-error` headers.
pub fn error_response(
    o: &Crud,
    object: &str,
    err: ApiError,
    failure: Option<(&str, &str)>,
) -> Response {
    let Some(app) = o.original else {
        return err.into_response();
    };
    let http = HttpError::from(err);
    let mut res = if http.status == StatusCode::BAD_REQUEST && !http.fields.is_empty() {
        original_validation(&http, object)
    } else {
        http.into_response()
    };
    if let Some((key, params)) = failure {
        original_headers(&mut res, app, "error", &format!("error.{key}"), params);
    }
    res
}

/// The standard validation error with the original's `message` and `fieldErrors` beside it.
fn original_validation(http: &HttpError, object: &str) -> Response {
    let mut body = serde_json::to_value(http.body()).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut body {
        map.insert("message".into(), Json::from("error.validation"));
        map.insert(
            "fieldErrors".into(),
            Json::Array(
                http.fields
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "objectName": object,
                            "field": f.field,
                            "message": constraint_of(&f.message),
                        })
                    })
                    .collect(),
            ),
        );
    }
    (http.status, axum::Json(body)).into_response()
}

/// The original's `objectName` of an entity's DTO (`genderDto`).
fn object_name<E: Entity>() -> String {
    decapitalize(&<E as utoipa::ToSchema>::name())
}

/// The list parameters of an unpaged list: `searchQuery` and `columnFilters` only.
fn unpaged_query(d: &'static Descriptor, uri: &Uri) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery::default();
    for (name, value) in query_pairs(uri.query()) {
        match name.as_str() {
            "searchQuery" => q.search = params::search(&value)?,
            "columnFilters" => q.filters.extend(params::column_filters(d, &value)?),
            _ => {}
        }
    }
    Ok(q)
}

/// `sort` (JSON field names, ascending) as sort terms of `d`.
pub fn fixed_sort(d: &'static Descriptor, sort: &[&str]) -> Vec<Sort<&'static Field>> {
    sort.iter()
        .filter_map(|name| d.field(name))
        .map(|field| Sort {
            field,
            descending: false,
        })
        .collect()
}

fn current_filter(d: &'static Descriptor, q: &mut ListQuery) {
    if let Some(status) = d.field("status") {
        q.filters
            .push(Filter::new(status, vec![Value::Text("CURRENT".into())]));
    }
}

async fn page_of<E: Entity>(st: &Kit, uri: &Uri, current: bool) -> Result<Response, ApiError> {
    let d = E::desc();
    let params = query_pairs(uri.query());
    let mut req = st.list_request(d, &params)?;
    if current {
        current_filter(d, &mut req.query);
    }
    let (rows, total) = st.repo.page(d, &req.query, req.page).await?;
    let items = decode::<E>(rows)?;
    let headers = paging::headers(uri.path(), req.page, total, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}

async fn all_of<E: Entity>(
    st: &Kit,
    uri: &Uri,
    sort: &'static [&'static str],
    current: bool,
) -> Result<axum::Json<Vec<E>>, ApiError> {
    let d = E::desc();
    let mut q = unpaged_query(d, uri)?;
    if current {
        current_filter(d, &mut q);
    }
    q.sort = fixed_sort(d, sort);
    Ok(axum::Json(decode(st.repo.list(d, &q).await?)?))
}

async fn get_one<E: Entity>(st: &Kit, o: &Crud, key: &str) -> Result<axum::Json<E>, ApiError> {
    let d = E::desc();
    let row = match (o.one, d.code_field()) {
        (OneBy::Code, Some(code)) => {
            let q = ListQuery::filtered(vec![Filter::ignoring_case(code, [key.to_owned()])]);
            st.repo.list(d, &q).await?.into_iter().next()
        }
        _ => st.repo.get(d, path_id(d, key)?).await?,
    };
    let row = row.ok_or_else(|| {
        let by = if o.one == OneBy::Code { "code" } else { "id" };
        ApiError::NotFound(format!("no {} with {by} {key}", d.name))
    })?;
    Ok(axum::Json(tis_store::db::decode(row)?))
}

/// The record's field errors: the descriptor's and the entity's own check's, prefixed.
fn record_errors(
    o: &Crud,
    d: &'static Descriptor,
    map: &Map<String, Json>,
    i: usize,
) -> Vec<FieldError> {
    let prefix = format!("[{i}].");
    let mut errors = validate(d, map, &prefix);
    if let Some(check) = o.check {
        errors.extend(
            check(map)
                .into_iter()
                .map(|f| FieldError::new(format!("{prefix}{}", f.field), f.message)),
        );
    }
    errors
}

async fn create_rows<E: Entity>(st: &Kit, o: &Crud, dtos: &[E]) -> Result<Vec<E>, ApiError> {
    let d = E::desc();
    let mut errors = Vec::new();
    let mut records = Vec::with_capacity(dtos.len());
    for (i, dto) in dtos.iter().enumerate() {
        let map = to_map(dto);
        errors.extend(record_errors(o, d, &map, i));
        records.push(map);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    decode(st.repo.create_many(d, &records).await?)
}

async fn update_rows<E: Entity>(st: &Kit, o: &Crud, dtos: &[E]) -> Result<Vec<E>, ApiError> {
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
        } else if !o.put_creates && matches!(id, Some(Value::Int(n)) if n < 0) {
            // TCS's originals: `@DecimalMin(value = "0", groups = Update.class)` on the id.
            errors.push(FieldError::new(
                format!("[{i}].id"),
                "must be greater than or equal to 0",
            ));
        }
        errors.extend(record_errors(o, d, &map, i));
        // A required field with a default gets it on create only: an update must name it.
        errors.extend(
            d.fields
                .iter()
                .filter(|f| f.required && f.default.is_some())
                .filter(|f| map.get(f.json).is_none_or(Json::is_null))
                .map(|f| {
                    FieldError::new(
                        format!("[{i}].{}", f.json),
                        crate::entity::validate::MUST_NOT_BE_NULL,
                    )
                }),
        );
        records.push((id.unwrap_or(Value::null(d.id.sql_type())), map));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let rows = if o.upsert {
        st.repo.upsert_many(d, &records).await?
    } else {
        st.repo.update_many(d, &records).await?
    };
    decode(rows)
}

/// A record's id (or code, with [`OneBy::Code`]) as text, for headers.
fn key_of<E: Entity>(o: &Crud, item: &E) -> String {
    let map = to_map(item);
    let key = match (o.one, E::desc().code) {
        (OneBy::Code, Some(code)) => map.get(code),
        _ => map.get("id"),
    };
    match key {
        Some(Json::String(s)) => s.clone(),
        Some(other) => crate::repo::id_key(other),
        None => String::new(),
    }
}

fn ids_of<E: Entity>(o: &Crud, items: &[E]) -> String {
    items
        .iter()
        .map(|i| key_of(o, i))
        .collect::<Vec<_>>()
        .join(",")
}

fn created<E: Entity>(api: &str, o: &Crud, item: E) -> Response {
    let d = E::desc();
    let key = key_of(o, &item);
    let location = format!("{api}/{}/{key}", o.plural_of(d));
    let mut res = (StatusCode::CREATED, axum::Json(item)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    alert(&mut res, o, d, "created", &key);
    res
}

fn has_id(map: &Map<String, Json>) -> bool {
    map.get("id").is_some_and(|v| !v.is_null())
}

async fn create<E: Entity>(st: &Kit, o: &Crud, dto: E) -> Response {
    let d = E::desc();
    if has_id(&to_map(&dto)) {
        let entity = o.alert_entity(d);
        return error_response(
            o,
            &object_name::<E>(),
            ApiError::field("id", format!("a new {} cannot already have an id", d.name)),
            Some(("idexists", &entity)),
        );
    }
    match create_one(st, o, dto).await {
        Ok(res) => res,
        Err(err) => error_response(o, &object_name::<E>(), err, None),
    }
}

async fn create_one<E: Entity>(st: &Kit, o: &Crud, dto: E) -> Result<Response, ApiError> {
    let mut rows = create_rows(st, o, std::slice::from_ref(&dto))
        .await
        .map_err(single)?;
    let item = rows
        .pop()
        .ok_or_else(|| ApiError::NotFound("the record vanished".into()))?;
    Ok(created(st.api, o, item))
}

async fn update<E: Entity>(st: &Kit, o: &Crud, dto: E) -> Response {
    let d = E::desc();
    if !has_id(&to_map(&dto)) {
        if !o.put_creates {
            let err = ApiError::Validation(vec![FieldError::new("id", "must not be null")]);
            return error_response(o, &object_name::<E>(), err, None);
        }
        return match create_one(st, o, dto).await {
            Ok(res) => res,
            Err(err) => error_response(o, &object_name::<E>(), err, None),
        };
    }
    let result = async {
        let mut rows = update_rows(st, o, std::slice::from_ref(&dto))
            .await
            .map_err(single)?;
        rows.pop()
            .ok_or_else(|| ApiError::NotFound("the record vanished".into()))
    }
    .await;
    match result {
        Ok(item) => {
            let key = key_of(o, &item);
            let mut res = axum::Json(item).into_response();
            alert(&mut res, o, d, "updated", &key);
            res
        }
        Err(err) => error_response(o, &object_name::<E>(), err, None),
    }
}

async fn delete<E: Entity>(st: &Kit, o: &Crud, id: &str) -> Response {
    let d = E::desc();
    let result = async {
        if st.repo.delete(d, path_id(d, id)?).await? {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("no {} with id {id}", d.name)))
        }
    }
    .await;
    match result {
        Ok(()) => {
            let mut res = StatusCode::OK.into_response();
            alert(&mut res, o, d, "deleted", id);
            res
        }
        Err(err) => error_response(o, &object_name::<E>(), err, None),
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

async fn bulk_create<E: Entity>(st: &Kit, o: &Crud, dtos: Vec<E>) -> Response {
    let d = E::desc();
    let object = object_name::<E>();
    if let Err(err) = bounded(st, &dtos) {
        return error_response(o, &object, err, None);
    }
    if dtos.is_empty() {
        return axum::Json(Vec::<E>::new()).into_response();
    }
    let maps: Vec<_> = dtos.iter().map(to_map).collect();
    let with_ids: Vec<(usize, String)> = maps
        .iter()
        .enumerate()
        .filter(|(_, m)| has_id(m))
        .map(|(i, m)| (i, m.get("id").map(crate::repo::id_key).unwrap_or_default()))
        .collect();
    if !with_ids.is_empty() {
        let fields = with_ids
            .iter()
            .map(|(i, _)| {
                FieldError::new(
                    format!("[{i}].id"),
                    format!("a new {} cannot already have an id", d.name),
                )
            })
            .collect();
        let ids: Vec<&str> = with_ids.iter().map(|(_, id)| id.as_str()).collect();
        return error_response(
            o,
            &object,
            ApiError::Validation(fields),
            Some(("ids.exist", &ids.join(","))),
        );
    }
    match create_rows(st, o, &dtos).await {
        Ok(items) => {
            let ids = ids_of(o, &items);
            let mut res = axum::Json(items).into_response();
            alert(&mut res, o, d, "created", &ids);
            res
        }
        Err(err) => error_response(o, &object, err, None),
    }
}

pub(crate) async fn bulk_update<E: Entity>(st: &Kit, o: &Crud, dtos: Vec<E>) -> Response {
    let d = E::desc();
    let object = object_name::<E>();
    let entity = o.alert_entity(d);
    if let Err(err) = bounded(st, &dtos) {
        return error_response(o, &object, err, None);
    }
    if dtos.is_empty() {
        return error_response(
            o,
            &object,
            ApiError::field(
                "body",
                "the request body for this end point cannot be empty",
            ),
            Some(("request.body.empty", &entity)),
        );
    }
    let without_id: Vec<FieldError> = dtos
        .iter()
        .enumerate()
        .filter(|(_, dto)| !has_id(&to_map(*dto)))
        .map(|(i, _)| FieldError::new(format!("[{i}].id"), "must not be null to update"))
        .collect();
    if !without_id.is_empty() {
        return error_response(
            o,
            &object,
            ApiError::Validation(without_id),
            Some(("bulk.update.failed.noId", &entity)),
        );
    }
    match update_rows(st, o, &dtos).await {
        Ok(items) => {
            let ids = ids_of(o, &items);
            let mut res = axum::Json(items).into_response();
            alert(&mut res, o, d, "updated", &ids);
            res
        }
        Err(err) => error_response(o, &object, err, None),
    }
}

/// `columnFilters` of a look-up's query string, if any.
fn look_up_filters(d: &'static Descriptor, uri: &Uri) -> Result<Vec<Filter>, ApiError> {
    match query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "columnFilters")
    {
        Some((_, cf)) => Ok(params::column_filters(d, &cf)?),
        None => Ok(Vec::new()),
    }
}

async fn exists<E: Entity>(
    st: &Kit,
    uri: &Uri,
    codes: Vec<String>,
) -> Result<axum::Json<BTreeMap<String, bool>>, ApiError> {
    bounded(st, &codes)?;
    let d = E::desc();
    let Some(code) = d.code_field() else {
        return Ok(axum::Json(BTreeMap::new()));
    };
    let mut q = ListQuery::filtered(vec![Filter::new(
        code,
        codes.iter().map(|c| Value::Text(c.clone())).collect(),
    )]);
    q.filters.extend(look_up_filters(d, uri)?);
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

async fn exists_one<E: Entity>(
    st: &Kit,
    uri: &Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<bool>, ApiError> {
    let d = E::desc();
    let code = url_decoded(&text_body(body)?);
    let Some(field) = d.code_field().filter(|_| !code.is_empty()) else {
        return Ok(axum::Json(false));
    };
    let mut q = ListQuery::filtered(vec![Filter::ignoring_case(field, [code])]);
    q.filters.extend(look_up_filters(d, uri)?);
    Ok(axum::Json(
        !st.repo.column_values(d, field, &q).await?.is_empty(),
    ))
}

/// A text request body (a code): the raw text trimmed, or the string when it is a JSON
/// string (`"RJ122"`, as the original's own tests and Jackson clients sent it). An unreadable
/// or oversized body is the standard JSON 400/413.
pub fn text_body(body: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    let body = body.map_err(|rej| {
        ApiError::Http(HttpError::new(
            rej.status(),
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                tis_core::error::code::PAYLOAD_TOO_LARGE
            } else {
                tis_core::error::code::UNREADABLE_BODY
            },
            rej.body_text(),
        ))
    })?;
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    Ok(match serde_json::from_str::<Json>(&text) {
        Ok(Json::String(s)) => s,
        _ => text,
    })
}

/// Decodes `text` as Java's `URLDecoder` did (the original's `StringConverter.decodeUrl`):
/// `%XX` escapes and `+` as a space. Text that is not valid URL encoding is kept as it is.
pub fn url_decoded(text: &str) -> String {
    if !text.contains(['%', '+']) {
        return text.to_owned();
    }
    let spaced = text.replace('+', " ");
    if !valid_escapes(&spaced) {
        return text.to_owned();
    }
    match percent_decode_str(&spaced).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(_) => text.to_owned(),
    }
}

/// Whether every `%` starts a two-digit hexadecimal escape.
fn valid_escapes(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| b.is_some_and(u8::is_ascii_hexdigit);
            if !(hex(bytes.get(i + 1)) && hex(bytes.get(i + 2))) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_url_decoded_as_java_did_and_bad_escapes_are_kept() {
        assert_eq!(url_decoded("Te%24t"), "Te$t");
        assert_eq!(url_decoded("a+b"), "a b");
        assert_eq!(url_decoded("50%"), "50%");
        assert_eq!(url_decoded("%zz"), "%zz");
        assert_eq!(url_decoded("plain"), "plain");
        assert_eq!(url_decoded("%C3%A9"), "é");
        assert_eq!(url_decoded("%FF"), "%FF", "not UTF-8: kept");
    }

    #[test]
    fn entity_names_are_decapitalized_as_jhipster_wrote_them() {
        assert_eq!(decapitalize("Gender"), "gender");
        assert_eq!(decapitalize("DBC"), "dBC");
        assert_eq!(decapitalize("MaritalStatus"), "maritalStatus");
        assert_eq!(decapitalize(""), "");
    }

    #[test]
    fn validation_errors_in_the_original_shape_keep_the_standard_error_too() {
        let o = Crud::new(crate::guard::Guards::authorities("w", "d")).original("referenceApp");
        let res = error_response(
            &o,
            "genderDto",
            ApiError::field("code", crate::entity::validate::MUST_NOT_BE_NULL),
            Some(("idexists", "gender")),
        );
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()["x-referenceapp-error"], "error.idexists");
        assert_eq!(res.headers()["x-referenceapp-params"], "gender");
        let plain = error_response(
            &Crud::new(o.guards),
            "genderDto",
            ApiError::field("code", "x"),
            Some(("idexists", "gender")),
        );
        assert!(plain.headers().get("x-referenceapp-error").is_none());
    }
}
