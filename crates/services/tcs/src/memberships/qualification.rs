//! A person's qualifications (`QualificationDTO`), with the original's routes and guards
//! (`hasPermission('tis:tcs::qualification:', …)`, `tcs:delete:entities` to delete):
//!
//! | route | answer |
//! |---|---|
//! | `GET /qualifications` | a page (`page`, `size`, `sort`), `X-Total-Count` and `Link`; only qualifications of people in the caller's scope |
//! | `GET /qualifications/{id}`, `DELETE /qualifications/{id}` | 200, or 404 (unknown, or its person out of scope) |
//! | `POST /qualifications` | 201 + `Location`; an `id` in the body is a 400 naming `id` |
//! | `PUT /qualifications` | 200; no `id` is a 400 naming `id`, an unknown one 404 |
//! | `PATCH /qualifications` | the original's list upsert (an item without `id` is created), all or nothing |
//! | `GET /people/{personId}/qualifications` | the person's qualifications, `[]` if none; 404 for a person out of scope |
//!
//! Checks, as the original's annotations and `QualificationValidator` (HEAD): `qualification`,
//! `medicalSchool` and `countryOfQualification` required; `qualificationType` one of the
//! original's `QualificationType`; `person` required and a person in the caller's scope
//! (`"Person with id N does not exist"` otherwise, for an unknown person and one out of
//! scope alike); `countryOfQualification` a Reference country (by name), asked only when it
//! changes. Every write records the person's history (`qualification`, fields
//! `[{id}].{field}`) in its transaction.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Uri};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use tis_auth::{Authenticated, Principal};
use tis_core::FieldError;
use tis_core::extract::Json as Body;
use tis_core::paging::{headers as page_headers, query_pairs};
use tis_reference_client::RefType;
use tis_service_kit::ApiError;
use tis_service_kit::entity;
use tis_service_kit::entity::Kind;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::repo::query::{order_by, select_list, where_clause_on};
use tis_store::{Row, Sql, Tx, Value};
use utoipa::ToSchema;

use super::{PersonRef, alert, answer, bounded, date, item_errors, now, number, person_in_scope};
use crate::domain::scope::Scope;
use crate::people::history;
use crate::reference::Refs;
use crate::routes::{API, Tcs};

const ENTITY: &str = "qualification";
const OBJECT: &str = "QualificationDTO";

const VIEW: Guard = Guard::Permission("tis:tcs::qualification:", "View");
const CREATE: Guard = Guard::Permission("tis:tcs::qualification:", "Create");
const UPDATE: Guard = Guard::Permission("tis:tcs::qualification:", "Update");
const DELETE: Guard = Guard::Authority("tcs:delete:entities");

/// The original's `QualificationType`.
pub const QUALIFICATION_TYPES: &[&str] = &[
    "HIGHER_DEGREE",
    "BASIC_DEGREE",
    "BACHELORS_DEGREE_HONS",
    "BACHELORS_DEGREE",
    "DIPLOMA",
    "NON_MEDICAL_DEGREE",
    "BM",
    "PRIMARY_QUALIFICATION",
    "MB_BS",
    "BM_BS",
    "MB_CHB",
    "MB_BCHIR",
    "MB_BCH",
    "BM_BCH",
    "NVQ",
    "CERTIFICATION",
    "COLLEGE_FACULTY",
    "BDS",
    "MD",
    "PHD",
    "STATE_EXAM",
    "HIGHER_QUALIFICATION",
    "LEKARZ",
    "MASTERS_DEGREE",
    "MBBS_OR_BSC",
    "MEDICINE",
    "BMBS",
    "MBBS",
    "MBCHB",
    "MEDICINE_MBCHB",
];

entity! {
    /// A qualification's row (the list's parameters and columns; the API nests the person).
    QualificationRow / QUALIFICATION { name: "Qualification", plural: "qualifications", table: "qualification", id: i64 = Long, code: None }
    person_id "personId": i64 => "person_id" (Kind::Long) .sort() .filter();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text);
    qualification "qualification": String => "qualification" (Kind::Text) .sort() .filter();
    qualification_type "qualificationType": String => "qualification_type" (Kind::Enum(QUALIFICATION_TYPES)) .sort() .filter();
    qualification_attained_date "qualificationAttainedDate": String => "qualification_attained_date" (Kind::Date) .sort();
    medical_school "medicalSchool": String => "medical_school" (Kind::Text) .sort() .filter();
    country_of_qualification "countryOfQualification": String => "country_of_qualification" (Kind::Text) .sort() .filter();
    amended_date "amendedDate": String => "amended_date" (Kind::Timestamp);
}

/// The original's `QualificationDTO`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QualificationDto {
    /// Made by the service: absent when creating, required when updating.
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    /// Required (`MBBS`…).
    pub qualification: Option<String>,
    /// Required: `{"id": …}`.
    pub person: Option<PersonRef>,
    /// One of the original's `QualificationType`.
    pub qualification_type: Option<String>,
    pub qualification_attained_date: Option<String>,
    /// Required.
    pub medical_school: Option<String>,
    /// Required: a Reference country, by name (`United Kingdom`).
    pub country_of_qualification: Option<String>,
    pub amended_date: Option<String>,
}

impl From<QualificationRow> for QualificationDto {
    fn from(r: QualificationRow) -> Self {
        QualificationDto {
            id: r.id,
            intrepid_id: r.intrepid_id,
            qualification: r.qualification,
            person: Some(PersonRef { id: r.person_id }),
            qualification_type: r.qualification_type,
            qualification_attained_date: r.qualification_attained_date,
            medical_school: r.medical_school,
            country_of_qualification: r.country_of_qualification,
            amended_date: r.amended_date,
        }
    }
}

fn dtos(rows: Vec<Row>) -> Result<Vec<QualificationDto>, ApiError> {
    Ok(
        tis_service_kit::http::crud::decode::<QualificationRow>(rows)?
            .into_iter()
            .map(QualificationDto::from)
            .collect(),
    )
}

/// ` AND person_id IN (the people of scope)`; nothing for everyone.
fn restrict(sql: &mut Sql, scope: &Scope) {
    if !scope.is_everything() {
        sql.push(" AND person_id IN (SELECT p.id FROM person p WHERE 1 = 1");
        scope.restrict_people(sql, "p");
        sql.push(")");
    }
}

/// The qualification `id` within `scope`.
fn by_id(id: i64, scope: &Scope) -> Sql {
    let mut q = Sql::new(&format!(
        "SELECT {} FROM qualification WHERE id = ",
        select_list(&QUALIFICATION)
    ));
    q.bind(id);
    restrict(&mut q, scope);
    q
}

/// The qualification routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let one = || Doc::One("QualificationDto".into());
    let many = || Doc::Many("QualificationDto".into());
    let tag = "Qualification";
    api.schema::<QualificationDto>()
        .add(
            Method::Get,
            &format!("{API}/qualifications"),
            list,
            Op::new(tag, "A page of qualifications")
                .query(&["page", "size", "sort", "columnFilters"])
                .returns(200, many())
                .guard(VIEW),
        )
        .add(
            Method::Post,
            &format!("{API}/qualifications"),
            create,
            Op::new(tag, "Creates a qualification")
                .body(one())
                .returns(201, one())
                .guard(CREATE)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/qualifications"),
            update,
            Op::new(tag, "Updates a qualification")
                .body(one())
                .returns(200, one())
                .guard(UPDATE)
                .idempotent(),
        )
        .add(
            Method::Patch,
            &format!("{API}/qualifications"),
            patch,
            Op::new(tag, "Creates or updates many qualifications, all or none")
                .body(many())
                .returns(200, many())
                .guard(UPDATE)
                .idempotent(),
        )
        .add(
            Method::Get,
            &format!("{API}/qualifications/{{id}}"),
            get_one,
            Op::new(tag, "One qualification")
                .path("id")
                .returns(200, one())
                .guard(VIEW),
        )
        .add(
            Method::Delete,
            &format!("{API}/qualifications/{{id}}"),
            delete,
            Op::new(tag, "Deletes a qualification")
                .path("id")
                .guard(DELETE),
        )
        .add(
            Method::Get,
            &format!("{API}/people/{{personId}}/qualifications"),
            of_person,
            Op::new(tag, "A person's qualifications")
                .path("personId")
                .returns(200, many())
                .guard(VIEW),
        )
}

/// `GET /qualifications`.
async fn list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_pairs(uri.query());
    let req = tcs.kit.list_request(&QUALIFICATION, &params)?;
    let db = tcs.kit.repo.db();
    let scope = Scope::of(&who);
    // The rows in scope, as a table of the same name, then the list's own conditions.
    let mut from = Sql::new(" FROM (SELECT * FROM qualification WHERE 1 = 1");
    restrict(&mut from, &scope);
    from.push(") qualification");
    from.append(where_clause_on(&QUALIFICATION, &req.query, db.backend()));
    let mut page = Sql::new(&format!("SELECT {}", select_list(&QUALIFICATION)));
    page.append(from.clone())
        .push(&order_by(&req.query))
        .push_page(req.page);
    let mut count = Sql::new("SELECT COUNT(*) AS n");
    count.append(from);
    let items = dtos(db.read().fetch_all(page).await?)?;
    let total = db
        .read()
        .fetch_one(count)
        .await?
        .get("n")
        .and_then(Json::as_u64)
        .unwrap_or(0);
    let headers = page_headers(uri.path(), req.page, total, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}

/// `GET /qualifications/{id}`.
async fn get_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = number("id", &id)?;
    let row = tcs
        .kit
        .repo
        .db()
        .read()
        .fetch_optional(by_id(id, &Scope::of(&who)))
        .await?;
    match dtos(row.into_iter().collect())?.pop() {
        Some(dto) => Ok(axum::Json(dto).into_response()),
        None => Err(ApiError::NotFound(format!("no qualification with id {id}"))),
    }
}

/// `GET /people/{personId}/qualifications`.
async fn of_person(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(person): Path<String>,
) -> Result<Response, ApiError> {
    let person = number("personId", &person)?;
    let db = tcs.kit.repo.db();
    if db
        .read()
        .fetch_optional(person_in_scope(person, &Scope::of(&who)))
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!("no person with id {person}")));
    }
    let mut q = Sql::new(&format!(
        "SELECT {} FROM qualification WHERE person_id = ",
        select_list(&QUALIFICATION)
    ));
    q.bind(person).push(" ORDER BY id");
    Ok(axum::Json(dtos(db.read().fetch_all(q).await?)?).into_response())
}

/// The annotations and validator of one qualification (Reference aside), in `tx`.
async fn check(tx: &mut Tx, scope: &Scope, dto: &QualificationDto) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (field, value) in [
        ("qualification", &dto.qualification),
        ("medicalSchool", &dto.medical_school),
        ("countryOfQualification", &dto.country_of_qualification),
    ] {
        match value.as_deref().map(str::trim) {
            None => errors.push(FieldError::new(field, "must not be null")),
            Some(v) if v.chars().count() > 255 => {
                errors.push(FieldError::new(field, "size must be at most 255"))
            }
            Some(_) => {}
        }
    }
    if let Some(t) = dto.qualification_type.as_deref()
        && !QUALIFICATION_TYPES.contains(&t)
    {
        errors.push(FieldError::new(
            "qualificationType",
            format!("must be one of {}", QUALIFICATION_TYPES.join(", ")),
        ));
    }
    date(
        "qualificationAttainedDate",
        dto.qualification_attained_date.as_deref(),
        &mut errors,
    );
    match dto.person.as_ref().and_then(|p| p.id) {
        None => errors.push(FieldError::new("person", "person is required")),
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
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A qualification as the history records it: `[{id}].{field}`.
fn history_map(dto: Option<&QualificationDto>) -> Option<Map<String, Json>> {
    let dto = dto?;
    let id = dto.id.unwrap_or_default();
    let Ok(Json::Object(map)) = serde_json::to_value(dto) else {
        return None;
    };
    Some(
        map.into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "id" | "person" | "amendedDate"))
            .map(|(k, v)| (format!("[{id}].{k}"), v))
            .collect(),
    )
}

/// Records a qualification's change in its person's history.
async fn record(
    tx: &mut Tx,
    user: &str,
    before: Option<&QualificationDto>,
    after: Option<&QualificationDto>,
) -> Result<(), ApiError> {
    let changes = history::diff(
        history_map(before).as_ref(),
        history_map(after).as_ref(),
        &[],
    );
    let person = after
        .or(before)
        .and_then(|d| d.person.as_ref())
        .and_then(|p| p.id)
        .unwrap_or_default();
    history::record(tx, person, user, ENTITY, &changes).await?;
    Ok(())
}

/// Writes `dto` (inserted when `stored` is `None`) and its history, in `tx`.
async fn write(
    tx: &mut Tx,
    user: &str,
    dto: &QualificationDto,
    stored: Option<&QualificationDto>,
) -> Result<QualificationDto, ApiError> {
    let attained = dto
        .qualification_attained_date
        .as_deref()
        .and_then(tis_service_kit::entity::validate::parse_date);
    let values: [(&str, Value); 8] = [
        ("person_id", dto.person.as_ref().and_then(|p| p.id).into()),
        ("intrepid_id", dto.intrepid_id.clone().into()),
        ("qualification", dto.qualification.clone().into()),
        ("qualification_type", dto.qualification_type.clone().into()),
        ("qualification_attained_date", attained.into()),
        ("medical_school", dto.medical_school.clone().into()),
        (
            "country_of_qualification",
            dto.country_of_qualification.clone().into(),
        ),
        ("amended_date", now().into()),
    ];
    let mut q;
    match stored.and_then(|s| s.id) {
        Some(id) => {
            q = Sql::new("UPDATE qualification SET ");
            for (i, (column, value)) in values.into_iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push(column).push(" = ").bind(value);
            }
            q.push(" WHERE id = ").bind(id);
            q.push(" RETURNING id AS \"id\"");
        }
        None => {
            let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
            q = Sql::new(&format!(
                "INSERT INTO qualification ({}) VALUES ",
                columns.join(", ")
            ));
            q.bind_list(values.into_iter().map(|(_, v)| v));
            q.push(" RETURNING id AS \"id\"");
        }
    }
    let id = tx
        .fetch_one(q)
        .await?
        .get("id")
        .and_then(Json::as_i64)
        .unwrap_or_default();
    let after = dtos(tx.fetch_all(by_id(id, &Scope::Everything)).await?)?
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("no qualification with id {id}")))?;
    record(tx, user, stored, Some(&after)).await?;
    Ok(after)
}

/// Asks Reference about the countries `dtos` change (before the transaction), then checks and
/// saves them (each created when it has no id, else updated: 404 for an id that names none in
/// scope) in one transaction.
async fn save_all(
    tcs: &Tcs,
    who: &Principal,
    headers: &HeaderMap,
    dtos: &[QualificationDto],
    list: bool,
) -> Result<Vec<QualificationDto>, ApiError> {
    let scope = Scope::of(who);
    // Reference first, outside the transaction: the countries that change.
    let mut refs = Refs::new();
    for (i, dto) in dtos.iter().enumerate() {
        let stored = match dto.id {
            Some(id) => self::dtos(
                tcs.kit
                    .repo
                    .db()
                    .read()
                    .fetch_all(by_id(id, &Scope::Everything))
                    .await?,
            )?
            .pop()
            .and_then(|s| s.country_of_qualification),
            None => None,
        };
        if stored != dto.country_of_qualification {
            let prefix = if list {
                format!("[{i}].")
            } else {
                String::new()
            };
            refs.code(
                format!("{prefix}countryOfQualification"),
                RefType::COUNTRIES,
                dto.country_of_qualification.as_deref(),
            );
        }
    }
    refs.check(&tcs.reference, who, headers).await?;
    let mut tx = tcs.kit.repo.db().write().begin().await?;
    let mut errors = Vec::new();
    let mut stored = Vec::with_capacity(dtos.len());
    for (i, dto) in dtos.iter().enumerate() {
        let before = match dto.id {
            Some(id) => Some(
                self::dtos(tx.fetch_all(by_id(id, &scope)).await?)?
                    .pop()
                    .ok_or_else(|| ApiError::NotFound(format!("no qualification with id {id}")))?,
            ),
            None => None,
        };
        if let Err(e) = check(&mut tx, &scope, dto).await {
            match if list { item_errors(e, i) } else { e } {
                ApiError::Validation(f) => errors.extend(f),
                other => return Err(other),
            }
        }
        stored.push(before);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut saved = Vec::with_capacity(dtos.len());
    for (dto, before) in dtos.iter().zip(&stored) {
        saved.push(write(&mut tx, who.user_name(), dto, before.as_ref()).await?);
    }
    tx.commit().await?;
    Ok(saved)
}

/// `POST /qualifications`.
async fn create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dto): Body<QualificationDto>,
) -> Response {
    let result = async {
        if dto.id.is_some() {
            return Err(ApiError::field(
                "id",
                "a new qualification cannot already have an id",
            ));
        }
        let saved = save_all(&tcs, &who, &headers, std::slice::from_ref(&dto), false)
            .await?
            .pop()
            .unwrap_or_default();
        let id = saved.id.unwrap_or_default().to_string();
        Ok(super::created(
            tcs.kit.api,
            "qualifications",
            ENTITY,
            &id,
            saved,
        ))
    }
    .await;
    answer(OBJECT, result)
}

/// `PUT /qualifications`.
async fn update(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dto): Body<QualificationDto>,
) -> Response {
    let result = async {
        let Some(id) = dto.id else {
            return Err(ApiError::field("id", "must not be null"));
        };
        let saved = save_all(&tcs, &who, &headers, std::slice::from_ref(&dto), false)
            .await?
            .pop()
            .unwrap_or_default();
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

/// `PATCH /qualifications`: the list upsert.
async fn patch(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(dtos): Body<Vec<QualificationDto>>,
) -> Response {
    let result = async {
        bounded(&dtos, tcs.kit.limits.max_items)?;
        let saved = save_all(&tcs, &who, &headers, &dtos, true).await?;
        let ids = saved
            .iter()
            .filter_map(|d| d.id.map(|i| i.to_string()))
            .collect::<Vec<_>>()
            .join(",");
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

/// `DELETE /qualifications/{id}`.
async fn delete(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = number("id", &id)?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        let before = dtos(tx.fetch_all(by_id(id, &Scope::of(&who))).await?)?
            .pop()
            .ok_or_else(|| ApiError::NotFound(format!("no qualification with id {id}")))?;
        let mut q = Sql::new("DELETE FROM qualification WHERE id = ");
        q.bind(id);
        tx.execute(q).await?;
        record(&mut tx, who.user_name(), Some(&before), None).await?;
        tx.commit().await?;
        Ok(super::deleted(ENTITY, id))
    }
    .await;
    answer(OBJECT, result)
}
