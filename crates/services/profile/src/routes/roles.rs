//! `/roles`, `/restricted-roles` and `/permissions`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /roles?page=&size=&excludeRestricted=` | `RoleDTO`s by name (each with its permissions), `X-Total-Count`, `Link` |
//! | `GET /restricted-roles` | every restricted role |
//! | `GET /roles/{name}` | one role, or 404 |
//! | `POST /roles` | create: 201 + `Location`; an existing name is 409; unknown permissions 400 |
//! | `PUT /roles` | replace the role (its permissions too), or create it (201) |
//! | `DELETE /roles/{name}` | 200; 404; 409 while a user holds it (the original's `validateBeforeDelete`) |
//! | `GET /permissions?page=&size=` | `PermissionDTO`s by name, `X-Total-Count`, `Link` |
//! | `GET /permissions/{name}` | one permission, or 404 |
//! | `POST`/`PUT /permissions` | create (409 if it exists) / replace or create |
//! | `DELETE /permissions/{name}` | 200; 404; 409 while a role grants it |
//!
//! Lists are by name; `sort` is refused rather than silently ignored (the lists have a fixed
//! order, see [`tis_core::paging`]).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, Uri, header};
use tis_core::FieldError;
use tis_core::extract::{Json as Body, Path};
use tis_core::paging::{ListParams, query_pairs};

use super::dto::{PermissionDto, RoleDto};
use super::input::{PermissionInput, RoleInput};
use super::{API, AppState, Can, Delete, Modify, View, segment};
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::Removed;

fn created(path: &str, name: &str, body: impl IntoResponse) -> Response {
    let mut res = (StatusCode::CREATED, body).into_response();
    let location = format!("{API}/{path}/{}", segment(name));
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

async fn role_dtos(st: &AppState, roles: &[Role]) -> Result<Vec<RoleDto>, ApiError> {
    let names: Vec<String> = roles
        .iter()
        .flat_map(|r| r.permissions.iter().cloned())
        .collect();
    let permissions = st.repo.permissions_named(&names).await?;
    Ok(roles
        .iter()
        .map(|r| RoleDto::new(r, &permissions))
        .collect())
}

/// `GET /roles`.
pub async fn roles_page(
    State(st): State<AppState>,
    _who: Can<View>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let mut exclude = None;
    let rules = super::paging::<()>(&st.limits, &[]);
    let list = ListParams::parse_with(&query_pairs(uri.query()), &rules, |name, value| {
        if name == "excludeRestricted" && exclude.is_none() {
            let parsed = value.trim().parse::<bool>();
            exclude =
                Some(parsed.map_err(|_| {
                    ApiError::bad_query("`excludeRestricted` must be true or false")
                })?);
        }
        Ok::<(), ApiError>(())
    })?;
    let (roles, total) = st
        .repo
        .roles_page(list.page, exclude.unwrap_or(false))
        .await?;
    let headers = list.headers(&format!("{API}/roles"), total);
    Ok((headers, Json(role_dtos(&st, &roles).await?)).into_response())
}

/// `GET /restricted-roles`.
pub async fn restricted(
    State(st): State<AppState>,
    _who: Can<View>,
) -> Result<Json<Vec<RoleDto>>, ApiError> {
    let roles = st.repo.restricted_roles().await?;
    Ok(Json(role_dtos(&st, &roles).await?))
}

/// `GET /roles/{name}`.
pub async fn one_role(
    State(st): State<AppState>,
    _who: Can<View>,
    Path(name): Path<String>,
) -> Result<Json<RoleDto>, ApiError> {
    let role = st
        .repo
        .role(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no role named {name}")))?;
    let mut dtos = role_dtos(&st, std::slice::from_ref(&role)).await?;
    dtos.pop()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no role named {name}")))
}

/// The role a body describes, its permissions checked.
async fn checked_role(st: &AppState, input: &RoleInput) -> Result<Role, ApiError> {
    let role = input
        .parse(st.limits.max_items)
        .map_err(ApiError::Validation)?;
    let names: Vec<String> = role.permissions.iter().cloned().collect();
    let known = st.repo.existing_permissions(&names).await?;
    let fields: Vec<FieldError> = input
        .permissions
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, p)| {
            let name = p.name.as_ref()?;
            (!known.contains(name)).then(|| {
                FieldError::new(
                    format!("permissions[{i}].name"),
                    format!("no permission named {name}"),
                )
            })
        })
        .collect();
    if fields.is_empty() {
        Ok(role)
    } else {
        Err(ApiError::Validation(fields))
    }
}

async fn stored_role(st: &AppState, name: &str) -> Result<RoleDto, ApiError> {
    let role = st
        .repo
        .role(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no role named {name}")))?;
    let mut dtos = role_dtos(st, std::slice::from_ref(&role)).await?;
    dtos.pop()
        .ok_or_else(|| ApiError::NotFound(format!("no role named {name}")))
}

/// `POST /roles`.
pub async fn create_role(
    State(st): State<AppState>,
    _who: Can<Modify>,
    Body(input): Body<RoleInput>,
) -> Result<Response, ApiError> {
    let role = checked_role(&st, &input).await?;
    st.repo.create_role(&role).await?;
    Ok(created(
        "roles",
        &role.name,
        Json(stored_role(&st, &role.name).await?),
    ))
}

/// `PUT /roles`.
pub async fn update_role(
    State(st): State<AppState>,
    _who: Can<Modify>,
    Body(input): Body<RoleInput>,
) -> Result<Response, ApiError> {
    let role = checked_role(&st, &input).await?;
    let was_created = st.repo.save_role(&role).await?;
    let body = Json(stored_role(&st, &role.name).await?);
    Ok(if was_created {
        created("roles", &role.name, body)
    } else {
        body.into_response()
    })
}

fn removed(what: &str, name: &str, r: Removed, holders: &str) -> Result<StatusCode, ApiError> {
    match r {
        Removed::Done => Ok(StatusCode::OK),
        Removed::Missing => Err(ApiError::NotFound(format!("no {what} named {name}"))),
        Removed::InUse(n) => Err(ApiError::Conflict(format!(
            "the {what} {name} cannot be deleted: {n} {holders}"
        ))),
    }
}

/// `DELETE /roles/{name}`.
pub async fn remove_role(
    State(st): State<AppState>,
    _who: Can<Delete>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let r = st.repo.delete_role(&name).await?;
    removed("role", &name, r, "users hold it")
}

/// `GET /permissions`.
pub async fn permissions_page(
    State(st): State<AppState>,
    _who: Can<View>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let list = ListParams::parse(
        &query_pairs(uri.query()),
        &super::paging::<()>(&st.limits, &[]),
    )?;
    let (permissions, total) = st.repo.permissions_page(list.page).await?;
    let headers = list.headers(&format!("{API}/permissions"), total);
    let body: Vec<PermissionDto> = permissions.iter().map(PermissionDto::from).collect();
    Ok((headers, Json(body)).into_response())
}

async fn stored_permission(st: &AppState, name: &str) -> Result<PermissionDto, ApiError> {
    st.repo
        .permission(name)
        .await?
        .map(|p| PermissionDto::from(&p))
        .ok_or_else(|| ApiError::NotFound(format!("no permission named {name}")))
}

/// `GET /permissions/{name}`.
pub async fn one_permission(
    State(st): State<AppState>,
    _who: Can<View>,
    Path(name): Path<String>,
) -> Result<Json<PermissionDto>, ApiError> {
    stored_permission(&st, &name).await.map(Json)
}

/// `POST /permissions`.
pub async fn create_permission(
    State(st): State<AppState>,
    _who: Can<Modify>,
    Body(input): Body<PermissionInput>,
) -> Result<Response, ApiError> {
    let p = input
        .parse(st.limits.max_items)
        .map_err(ApiError::Validation)?;
    st.repo.create_permission(&p).await?;
    Ok(created(
        "permissions",
        &p.name,
        Json(stored_permission(&st, &p.name).await?),
    ))
}

/// `PUT /permissions`.
pub async fn update_permission(
    State(st): State<AppState>,
    _who: Can<Modify>,
    Body(input): Body<PermissionInput>,
) -> Result<Response, ApiError> {
    let p = input
        .parse(st.limits.max_items)
        .map_err(ApiError::Validation)?;
    let was_created = st.repo.save_permission(&p).await?;
    let body = Json(stored_permission(&st, &p.name).await?);
    Ok(if was_created {
        created("permissions", &p.name, body)
    } else {
        body.into_response()
    })
}

/// `DELETE /permissions/{name}`.
pub async fn remove_permission(
    State(st): State<AppState>,
    _who: Can<Delete>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let r = st.repo.delete_permission(&name).await?;
    removed("permission", &name, r, "roles grant it")
}
