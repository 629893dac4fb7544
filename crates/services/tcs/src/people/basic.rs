//! A person's basic details (`PersonBasicDetailsDTO`: id, names, GMC/GDC and public health
//! numbers): `GET /people/basic?searchQuery=`, `/people/{id}/basic` and
//! `/people/in/{ids}/basic`, read from `person_view`.
//!
//! As the original: `/people/basic` answers at most 100 people, page 0, no paging headers;
//! `/people/in/{ids}/basic` answers **302** with the list in id order (its
//! `PersonResourceIntTest.shouldGetBasicDetails` asserts `isFound()`), 400 for no ids.
//! Unlike the original, every route is scoped like `GET /people` (`docs/tcs.md`): a person out
//! of the caller's scope is not listed, and `/people/{id}/basic` answers 404 for them, as for
//! an unknown id.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, Uri};
use serde::{Deserialize, Serialize};
use tis_auth::Authenticated;
use tis_core::FieldError;
use tis_core::paging::query_pairs;
use tis_service_kit::ApiError;
use tis_service_kit::http::Kit;
use tis_service_kit::repo::ListQuery;
use tis_store::Sql;
use utoipa::ToSchema;

use super::search;
use super::view::PersonViewDto;
use crate::domain::scope::Scope;

/// The most people `GET /people/basic` answers (the original's fixed page).
pub const BASIC_SEARCH_LIMIT: u64 = 100;

/// The original's `PersonBasicDetailsDTO`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonBasicDetailsDto {
    pub id: Option<i64>,
    /// The forenames.
    pub first_name: Option<String>,
    /// The surname.
    pub last_name: Option<String>,
    pub gmc_number: Option<String>,
    pub gdc_number: Option<String>,
    pub public_health_number: Option<String>,
}

impl From<PersonViewDto> for PersonBasicDetailsDto {
    fn from(p: PersonViewDto) -> Self {
        PersonBasicDetailsDto {
            id: p.id,
            first_name: p.forenames,
            last_name: p.surname,
            gmc_number: p.gmc_number,
            gdc_number: p.gdc_number,
            public_health_number: p.public_health_number,
        }
    }
}

fn basic(rows: Vec<tis_store::Row>) -> Result<Vec<PersonBasicDetailsDto>, ApiError> {
    Ok(tis_service_kit::http::crud::decode::<PersonViewDto>(rows)?
        .into_iter()
        .map(PersonBasicDetailsDto::from)
        .collect())
}

/// `GET /people/basic?searchQuery=`: the first 100 matching people, by id.
pub async fn search(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let term = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "searchQuery")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let q = ListQuery {
        search: term,
        ..ListQuery::default()
    };
    let db = kit.repo.db();
    let sql = search::page(
        &q,
        &Scope::of(&who),
        db.backend(),
        0,
        BASIC_SEARCH_LIMIT - 1,
    );
    let found = basic(db.read().fetch_all(sql).await?)?;
    Ok(axum::Json(found).into_response())
}

/// `GET /people/{id}/basic`.
pub async fn one(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::Validation(vec![FieldError::new("id", "must be a number")]))?;
    let rows = kit
        .repo
        .db()
        .read()
        .fetch_keyed(by_ids(&[id], &Scope::of(&who)), 1)
        .await?;
    match basic(rows)?.pop() {
        Some(person) => Ok(axum::Json(person).into_response()),
        None => Err(ApiError::NotFound(format!("no person with id {id}"))),
    }
}

/// `GET /people/in/{ids}/basic`: 302 with the people of `ids` in the caller's scope, by id.
pub async fn many(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(ids): Path<String>,
) -> Result<Response, ApiError> {
    let ids = parse_ids(&ids, kit.limits.max_items)?;
    let rows = kit
        .repo
        .db()
        .read()
        .fetch_keyed(by_ids(&ids, &Scope::of(&who)), ids.len())
        .await?;
    Ok((StatusCode::FOUND, axum::Json(basic(rows)?)).into_response())
}

/// The people of `ids` within `scope`, by id.
fn by_ids(ids: &[i64], scope: &Scope) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM person_view p WHERE p.id IN ",
        tis_service_kit::repo::query::select_list(&super::view::PERSON_VIEW)
    ));
    sql.bind_list(ids.iter().copied());
    scope.restrict_people(&mut sql, "p");
    sql.push(" ORDER BY p.id");
    sql
}

/// A comma-separated list of ids, each once: 400 naming `ids` for none, one that is not a
/// number, or more than `max` of them.
pub fn parse_ids(text: &str, max: usize) -> Result<Vec<i64>, ApiError> {
    let invalid = |message: String| ApiError::Validation(vec![FieldError::new("ids", message)]);
    let mut ids = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = tis_service_kit::entity::validate::plain_id(part)
            .ok_or_else(|| invalid(format!("not an id: {part:?}")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(invalid("at least one id is needed".into()));
    }
    if ids.len() > max {
        return Err(invalid(format!("at most {max} ids")));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numbers_each_once_at_least_one_and_at_most_max() {
        assert_eq!(parse_ids("3, 1,3,", 10).unwrap(), vec![3, 1]);
        assert!(parse_ids("", 10).is_err());
        assert!(parse_ids(" , ", 10).is_err());
        assert!(parse_ids("1,x", 10).is_err());
        assert!(parse_ids("1,2,3", 2).is_err());
    }
}
