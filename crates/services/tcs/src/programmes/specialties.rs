//! Specialties (`SpecialtyResource`) on the kit's CRUD: `specialtyGroup` is the nested
//! `SpecialtyGroupDTO` (a reference: stored as its id, answered as the group, a missing group
//! a 400 naming `specialtyGroup`), `specialtyTypes` a set of [`SPECIALTY_TYPES`] (the kit's
//! `Field::set` enum: comma-separated in `specialty.specialty_types`; a `columnFilters` value
//! matches the specialties whose set holds it), a missing `status` is `CURRENT` on
//! create (`SpecialtyServiceImpl.save`) and a 400 on update (`@NotNull(groups = Update.class)`). `/specialties/in/{ids}` answers `SpecialtySimpleDTO`s, 200,
//! skipping ids that are not numbers, as the original.
//!
//! `/specialty-groups/specialties/{id}` is a group's specialties, a page with full headers.
//!
//! The original has no `/current/specialties` (tis-contract.tsv), so neither do we.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::Uri;
use serde::{Deserialize, Serialize};
use tis_core::paging::{self, query_pairs};
use tis_service_kit::entity::{Kind, STATUS, Status};
use tis_service_kit::guard::{Guard, Guards};
use tis_service_kit::http::Kit;
use tis_service_kit::http::crud::{Crud, Listing, decode};
use tis_service_kit::repo::{Filter, ListQuery};
use tis_service_kit::{ApiError, entity};
use tis_store::Value;
use utoipa::ToSchema;

use crate::catalogue::{SPECIALTY_GROUP, SPECIALTY_TYPES, SpecialtyGroupDto};

/// The original's guards of specialties.
pub static SPECIALTY_GUARDS: Guards = Guards {
    view: Guard::Authority("specialty:view"),
    create: Guard::Authority("specialty:add:modify"),
    update: Guard::Authority("specialty:add:modify"),
    delete: Guard::Authority("tcs:delete:entities"),
    bulk_create: Guard::Authority("specialty:bulk:add:modify"),
    bulk_update: Guard::Authority("specialty:bulk:add:modify"),
};

entity! {
    /// A specialty (the original's `SpecialtyDTO`).
    SpecialtyDto / SPECIALTY { name: "Specialty", plural: "specialties", table: "specialty", id: i64 = Long, code: None }
    uuid "uuid": uuid::Uuid => "uuid" (Kind::Uuid) .generated();
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
    /// `CURRENT` when absent on create; required on update.
    status "status": Status => "status" (Kind::Enum(STATUS)) .required() .default("CURRENT") .sort() .filter();
    college "college": String => "college" (Kind::Text) .all() .max(100);
    specialty_code "specialtyCode": String => "specialty_code" (Kind::Text) .required() .all() .max(100);
    name "name": String => "name" (Kind::Text) .required() .all() .max(100);
    specialty_group "specialtyGroup": SpecialtyGroupDto => "specialty_group_id" (Kind::Ref(&SPECIALTY_GROUP)) .filter();
    /// A set of the original's `SpecialtyType`.
    specialty_types "specialtyTypes": Vec<String> => "specialty_types" (Kind::Enum(SPECIALTY_TYPES)) .set() .filter();
    block_indemnity "blockIndemnity": bool => "block_indemnity" (Kind::Bool) .defaults_false() .sort() .filter();
}

/// The original's `SpecialtySimpleDTO`: no types, no group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpecialtySimpleDto {
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    pub status: Option<Status>,
    pub college: Option<String>,
    pub specialty_code: Option<String>,
    pub name: Option<String>,
}

impl From<SpecialtyDto> for SpecialtySimpleDto {
    fn from(s: SpecialtyDto) -> Self {
        SpecialtySimpleDto {
            id: s.id,
            intrepid_id: s.intrepid_id,
            status: s.status,
            college: s.college,
            specialty_code: s.specialty_code,
            name: s.name,
        }
    }
}

/// How specialties answer: the catalogue's TCS conventions, no `/current/specialties`.
pub fn crud() -> Crud {
    crate::catalogue::tcs_crud(SPECIALTY_GUARDS).current(Listing::Off)
}

/// `GET /specialties/in/{ids}`: 200 with the specialties of a comma-separated id list, by
/// id; parts that are not numbers are skipped (an empty answer is `[]`), as the original.
pub async fn in_ids(
    State(kit): State<Kit>,
    Path(ids): Path<String>,
) -> Result<axum::Json<Vec<SpecialtySimpleDto>>, ApiError> {
    let ids: Vec<Value> = ids
        .split(',')
        .filter_map(|p| p.trim().parse::<i64>().ok())
        .take(kit.limits.max_items)
        .map(Value::Int)
        .collect();
    if ids.is_empty() {
        return Ok(axum::Json(Vec::new()));
    }
    let q = ListQuery::filtered(vec![Filter::new(SPECIALTY.id_field(), ids)]);
    let found = decode::<SpecialtyDto>(kit.repo.list(&SPECIALTY, &q).await?)?;
    Ok(axum::Json(found.into_iter().map(Into::into).collect()))
}

/// `GET /specialty-groups/specialties/{id}`: a page of the group's specialties (`page`,
/// `size`, `sort`), `X-Total-Count` and `Link`; an unknown group's page is empty.
pub async fn of_group(
    State(kit): State<Kit>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .trim()
        .parse()
        .map_err(|_| ApiError::field("id", "must be a number"))?;
    let params: Vec<(String, String)> = query_pairs(uri.query())
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "page" | "size" | "sort"))
        .collect();
    let mut req = kit.list_request(&SPECIALTY, &params)?;
    if let Some(group) = SPECIALTY.field("specialtyGroup") {
        req.query
            .filters
            .push(Filter::new(group, vec![Value::Int(id)]));
    }
    let (rows, total) = kit.repo.page(&SPECIALTY, &req.query, req.page).await?;
    let items = decode::<SpecialtyDto>(rows)?;
    let headers = paging::headers(uri.path(), req.page, total, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}
