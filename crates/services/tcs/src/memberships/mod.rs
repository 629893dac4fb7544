//! A person's programme memberships (with their curriculum memberships) and qualifications,
//! with the original's routes, guards and DTOs (docs/tcs-original.md §8, §9), scoped through
//! the person: a record whose person is outside the caller's scope does not exist for them
//! (404), and a body naming such a person is refused as naming no person.
//!
//! - [`programme`]: HEAD's programme membership (keyed by a UUID, its curricula in
//!   `curriculum_membership`, whose numeric ids the API calls programme membership ids);
//! - [`qualification`]: a person's qualifications.
//!
//! Every write runs in one transaction with the person's change history
//! ([`crate::people::history`]) and, for memberships, the re-derived owner, status and list
//! row ([`crate::people::refresh`]).

pub mod programme;
pub mod qualification;

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue};
use tis_core::{FieldError, HttpError};
use tis_service_kit::ApiError;
use tis_service_kit::http::api::Api;
use tis_store::Sql;

use crate::domain::scope::Scope;
use crate::routes::{APP, Tcs};

/// The programme membership, curriculum membership and qualification routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    qualification::routes(programme::routes(api))
}

/// A person named by id (the original's nested `PersonDTO`, of which only `id` is read and
/// written).
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct PersonRef {
    pub id: Option<i64>,
}

/// The person of a programme membership: the original's `ProgrammeMembershipMapper` filled
/// its nested `PersonDTO` with the person's own fields (not their records). Only `id` is read
/// from a body; the rest is answered.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct MembershipPersonDto {
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    pub added_date: Option<String>,
    pub amended_date: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
    pub comments: Option<String>,
    pub inactive_date: Option<String>,
    pub inactive_notes: Option<String>,
    pub public_health_number: Option<String>,
    pub regulator: Option<String>,
}

/// Today, as memberships are measured against it.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// Now, as `amendedDate` records it.
pub(crate) fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// `SELECT p.id FROM person p` for person `id` when within `scope`: no row when the person
/// does not exist or is out of scope (the two are the same to the caller).
pub(crate) fn person_in_scope(id: i64, scope: &Scope) -> Sql {
    let mut q = Sql::new("SELECT p.id AS \"id\" FROM person p WHERE p.id = ");
    q.bind(id);
    scope.restrict_people(&mut q, "p");
    q
}

/// The original's `X-tcsApp-alert: tcsApp.{entity}.{action}` and `X-tcsApp-params`.
pub(crate) fn alert(res: Response, entity: &str, action: &str, params: &str) -> Response {
    original_headers(res, "alert", &format!("{APP}.{entity}.{action}"), params)
}

/// The original's answer to a delete: 200, no body, `X-tcsApp-alert: tcsApp.{entity}.deleted`
/// naming `id`.
pub(crate) fn deleted(entity: &str, id: i64) -> Response {
    alert(
        http::StatusCode::OK.into_response(),
        entity,
        "deleted",
        &id.to_string(),
    )
}

/// A refusal the original named: `X-tcsApp-error: error.{key}`, `X-tcsApp-params: {params}`.
pub(crate) fn failure(res: Response, key: &str, params: &str) -> Response {
    original_headers(res, "error", &format!("error.{key}"), params)
}

/// A refusal of a bulk write as the original named it: the error, and the key and params of
/// its `X-tcsApp-error` / `X-tcsApp-params` headers. Routes answer it their way
/// ([`Refusal::answer`], or the kit's `error_response`).
pub(crate) struct Refusal {
    pub error: ApiError,
    pub key: &'static str,
    pub params: String,
}

impl Refusal {
    /// The original's refusal of a bulk create whose items have ids (`ids`, one per item):
    /// 400 `error.ids.exist` naming them, each item's `[i].id` "a new {what} cannot already
    /// have an id"; `None` when no item has one.
    pub(crate) fn ids_exist(what: &str, ids: &[Option<i64>]) -> Option<Refusal> {
        let fields: Vec<FieldError> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| id.is_some())
            .map(|(i, _)| {
                FieldError::new(
                    format!("[{i}].id"),
                    format!("a new {what} cannot already have an id"),
                )
            })
            .collect();
        let named: Vec<String> = ids.iter().flatten().map(i64::to_string).collect();
        (!fields.is_empty()).then(|| Refusal {
            error: ApiError::Validation(fields),
            key: "ids.exist",
            params: named.join(","),
        })
    }

    /// The original's refusals of a bulk update of `entity` (`ids`, one per item): an empty
    /// list 400 `error.request.body.empty`, an item without an id 400
    /// `error.bulk.update.failed.noId` (`[i].id`); `None` when every item has one.
    pub(crate) fn bulk_update(entity: &str, ids: &[Option<i64>]) -> Option<Refusal> {
        if ids.is_empty() {
            return Some(Refusal {
                error: ApiError::field(
                    "body",
                    "the request body for this end point cannot be empty",
                ),
                key: "request.body.empty",
                params: entity.to_owned(),
            });
        }
        let without: Vec<FieldError> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| id.is_none())
            .map(|(i, _)| FieldError::new(format!("[{i}].id"), "must not be null to update"))
            .collect();
        (!without.is_empty()).then(|| Refusal {
            error: ApiError::Validation(without),
            key: "bulk.update.failed.noId",
            params: entity.to_owned(),
        })
    }

    /// The refusal answered as [`answer`] answers `object`'s errors, with its headers.
    pub(crate) fn answer(self, object: &str) -> Response {
        failure(answer(object, Err(self.error)), self.key, &self.params)
    }
}

/// [`Refusal::ids_exist`], answered for `object`.
pub(crate) fn refuse_ids(object: &str, what: &str, ids: &[Option<i64>]) -> Option<Response> {
    Refusal::ids_exist(what, ids).map(|r| r.answer(object))
}

/// [`Refusal::bulk_update`], answered for `object`.
pub(crate) fn refuse_bulk_update(
    object: &str,
    entity: &str,
    ids: &[Option<i64>],
) -> Option<Response> {
    Refusal::bulk_update(entity, ids).map(|r| r.answer(object))
}

/// `X-tcsApp-{kind}: {value}` and `X-tcsApp-params: {params}`.
fn original_headers(mut res: Response, kind: &str, value: &str, params: &str) -> Response {
    let h = res.headers_mut();
    for (name, value) in [
        (format!("x-tcsapp-{kind}"), value),
        ("x-tcsapp-params".into(), params),
    ] {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            h.insert(name, value);
        }
    }
    res
}

/// `201 Created` with `body`, `Location: {api}/{plural}/{id}` and the original's creation
/// alert for `entity`.
pub(crate) fn created(
    api: &str,
    plural: &str,
    entity: &str,
    id: &str,
    body: impl serde::Serialize,
) -> Response {
    let mut res = (http::StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{api}/{plural}/{id}")) {
        res.headers_mut().insert(http::header::LOCATION, v);
    }
    alert(res, entity, "created", id)
}

/// An answer: validation errors in the original's shape too (`message: "error.validation"`,
/// `fieldErrors: [{objectName, field, message}]` with the human message, as HEAD answered),
/// beside the standard error body; other errors as they are.
pub(crate) fn answer(object: &str, result: Result<Response, ApiError>) -> Response {
    match result {
        Ok(res) => res,
        Err(ApiError::Validation(fields)) => invalid(object, fields),
        Err(err) => err.into_response(),
    }
}

pub(crate) fn invalid(object: &str, fields: Vec<FieldError>) -> Response {
    let http = HttpError::validation(fields);
    let mut body = serde_json::to_value(http.body()).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut body {
        map.insert("message".into(), "error.validation".into());
        map.insert(
            "fieldErrors".into(),
            http.fields
                .iter()
                .map(|f| serde_json::json!({"objectName": object, "field": f.field, "message": f.message}))
                .collect(),
        );
    }
    (http.status, axum::Json(body)).into_response()
}

/// At most `max` items in a list body: else a 400 naming `body`.
pub(crate) fn bounded<T>(items: &[T], max: usize) -> Result<(), ApiError> {
    if items.len() > max {
        return Err(ApiError::field(
            "body",
            format!("at most {max} items per request"),
        ));
    }
    Ok(())
}

/// Field errors of item `i` of a list body, prefixed `[i].`.
pub(crate) fn item_errors(err: ApiError, i: usize) -> ApiError {
    match err {
        ApiError::Validation(fields) => ApiError::Validation(
            fields
                .into_iter()
                .map(|f| FieldError::new(format!("[{i}].{}", f.field), f.message))
                .collect(),
        ),
        other => other,
    }
}

/// A date field: `None` when absent, an error naming `field` when not a date.
pub(crate) fn date(
    field: &str,
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<time::Date> {
    let text = value?;
    let parsed = tis_service_kit::entity::validate::parse_date(text);
    if parsed.is_none() {
        errors.push(FieldError::new(field, "must be a date as YYYY-MM-DD"));
    }
    parsed
}

/// A path segment that must be a number: else a 400 naming `field`.
pub(crate) fn number(field: &str, raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::field(field, "must be a number"))
}
