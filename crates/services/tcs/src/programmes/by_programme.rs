//! What a programme holds, as the original's nested reads answered them:
//!
//! | route | guard | answer |
//! |---|---|---|
//! | `GET /programme/{id}/specialties` | `specialty:view` | the specialties of the programme's curricula, as a Spring `Page` body (`content`, `totalElements`, `totalPages`, `size`, `number`…); `searchQuery` over name, code and college |
//! | `GET /programme/{programmeId}/person/{personId}/specialties` | `specialty:view` | the specialties of the curricula of the person's curriculum memberships in the programme, a list |
//! | `GET /programme/{id}/people` | `hasPermission('tis:people::person:', 'View')` | the `CURRENT` people with a membership of the programme, as a Spring `Page` of `PersonViewDTO`; `searchQuery` over names, GMC and GDC numbers (HEAD's Elasticsearch path) |
//!
//! Scoped: a programme out of the caller's scope is 404 (the original answered an empty page
//! or list); people are those of the caller's scope; a person out of scope is 404.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::Uri;
use serde_json::{Value as Json, json};
use tis_auth::Authenticated;
use tis_core::paging::query_pairs;
use tis_service_kit::ApiError;
use tis_service_kit::entity::Descriptor;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::Kit;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::decode;
use tis_service_kit::repo::{Filter, ListQuery, Page};
use tis_store::{Sql, Value};

use super::page_from;
use super::specialties::{SPECIALTY, SpecialtyDto};
use crate::domain::scope::Scope;
use crate::people::view::{PERSON_VIEW, PersonViewDto};
use crate::routes::{API, PERSON_VIEW_GUARD, Tcs};

/// The routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let specialty_view = Guard::Authority("specialty:view");
    api.add(
        Method::Get,
        &format!("{API}/programme/{{id}}/specialties"),
        specialties,
        Op::new(
            "Specialty",
            "The specialties of a programme's curricula (a Spring Page body)",
        )
        .query(&["searchQuery", "page", "size", "sort"])
        .returns(200, Doc::None)
        .guard(specialty_view),
    )
    .add(
        Method::Get,
        &format!("{API}/programme/{{programmeId}}/person/{{personId}}/specialties"),
        person_specialties,
        Op::new(
            "Specialty",
            "The specialties of a person's curricula in a programme",
        )
        .returns(200, Doc::Many("SpecialtyDto".into()))
        .guard(specialty_view),
    )
    .add(
        Method::Get,
        &format!("{API}/programme/{{id}}/people"),
        people,
        Op::new(
            "Person",
            "The current people of a programme (a Spring Page body)",
        )
        .query(&["searchQuery", "page", "size", "sort"])
        .returns(200, Doc::None)
        .guard(PERSON_VIEW_GUARD),
    )
}

/// A number from a path segment, or a 400 naming it.
fn number(raw: &str, field: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::field(field, "must be a number"))
}

/// 404 unless programme `id` is in `scope`.
async fn visible_programme(kit: &Kit, scope: &Scope, id: i64) -> Result<(), ApiError> {
    let mut sql = Sql::new("SELECT g.id AS \"id\" FROM programme g WHERE g.id = ");
    sql.bind(id);
    scope.restrict_programmes(&mut sql, "g");
    if kit.repo.db().read().fetch_keyed(sql, 1).await?.is_empty() {
        return Err(ApiError::NotFound(format!("no Programme with id {id}")));
    }
    Ok(())
}

/// Spring's serialised `Page` of `content`.
fn spring_page<T: serde::Serialize>(content: Vec<T>, page: Page, total: u64) -> Json {
    let size = page.size.max(1);
    let n = content.len();
    json!({
        "content": content,
        "totalElements": total,
        "totalPages": total.div_ceil(size),
        "size": page.size,
        "number": page.number,
        "numberOfElements": n,
        "first": page.number == 0,
        "last": (page.number + 1) * size >= total,
        "empty": n == 0,
    })
}

/// A page of `desc` rows out of `source`, as `uri`'s `page`, `size`, `sort` and
/// `searchQuery` ask (searching `search_in`), as a Spring `Page` body.
async fn paged<T: tis_service_kit::entity::Entity>(
    kit: &Kit,
    desc: &'static Descriptor,
    uri: &Uri,
    source: impl Fn() -> Sql,
    search_in: &[&str],
) -> Result<Response, ApiError> {
    let params: Vec<(String, String)> = query_pairs(uri.query())
        .into_iter()
        .filter(|(k, _)| k != "columnFilters")
        .collect();
    let mut req = kit.list_request(desc, &params)?;
    req.query.search_in = search_in.iter().filter_map(|f| desc.field(f)).collect();
    let (rows, total) = page_from(kit, desc, source, &req.query, Some(req.page)).await?;
    let items: Vec<T> = decode(rows)?;
    Ok(axum::Json(spring_page(items, req.page, total)).into_response())
}

/// `GET /programme/{id}/specialties`.
async fn specialties(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id = number(&id, "id")?;
    visible_programme(&kit, &Scope::of(&who), id).await?;
    let source = move || {
        let mut sql = Sql::new(
            "(SELECT * FROM specialty s WHERE s.id IN (SELECT c.specialty_id FROM programme_curriculum pc \
             JOIN curriculum c ON c.id = pc.curriculum_id WHERE pc.programme_id = ",
        );
        sql.bind(id).push(")) specialty");
        sql
    };
    paged::<SpecialtyDto>(
        &kit,
        &SPECIALTY,
        &uri,
        source,
        &["name", "specialtyCode", "college"],
    )
    .await
}

/// `GET /programme/{programmeId}/person/{personId}/specialties`.
async fn person_specialties(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path((programme, person)): Path<(String, String)>,
) -> Result<axum::Json<Vec<SpecialtyDto>>, ApiError> {
    let programme = number(&programme, "programmeId")?;
    let person = number(&person, "personId")?;
    let scope = Scope::of(&who);
    visible_programme(&kit, &scope, programme).await?;
    let mut sql = Sql::new("SELECT p.id AS \"id\" FROM person p WHERE p.id = ");
    sql.bind(person);
    scope.restrict_people(&mut sql, "p");
    let read = kit.repo.db().read();
    if read.fetch_keyed(sql, 1).await?.is_empty() {
        return Err(ApiError::NotFound(format!("no person with id {person}")));
    }
    let mut sql = Sql::new(
        "SELECT DISTINCT c.specialty_id AS \"id\" FROM curriculum_membership cm \
         JOIN programme_membership pm ON pm.uuid = cm.programme_membership_uuid \
         JOIN curriculum c ON c.id = cm.curriculum_id WHERE pm.programme_id = ",
    );
    sql.bind(programme)
        .push(" AND pm.person_id = ")
        .bind(person);
    let ids: Vec<Value> = read
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| r.get("id").and_then(Json::as_i64))
        .map(Value::Int)
        .collect();
    if ids.is_empty() {
        return Ok(axum::Json(Vec::new()));
    }
    let q = ListQuery::filtered(vec![Filter::new(SPECIALTY.id_field(), ids)]);
    Ok(axum::Json(decode(kit.repo.list(&SPECIALTY, &q).await?)?))
}

/// `GET /programme/{id}/people`.
async fn people(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id = number(&id, "id")?;
    let scope = Scope::of(&who);
    visible_programme(&kit, &scope, id).await?;
    let source = || {
        let mut sql = Sql::new(
            "(SELECT * FROM person_view p WHERE p.status = 'CURRENT' AND EXISTS (SELECT 1 FROM \
             programme_membership pm WHERE pm.person_id = p.id AND pm.programme_id = ",
        );
        sql.bind(id).push(")");
        scope.restrict_people(&mut sql, "p");
        sql.push(") person_view");
        sql
    };
    paged::<PersonViewDto>(
        &kit,
        &PERSON_VIEW,
        &uri,
        source,
        &["surname", "forenames", "gmcNumber", "gdcNumber"],
    )
    .await
}
