//! `/roles`, `/restricted-roles` and `/permissions`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /roles?page=&size=&excludeRestricted=` | `RoleDTO`s by name (each with its permissions), `X-Total-Count`, `Link` |
//! | `GET /restricted-roles` | the names of the restricted roles (the original's `Set<String>`) |
//! | `GET /roles/{name}` | one role, or 404 |
//! | `POST /roles` | create, or replace the role of that name (the original's `save`): 201 + `Location`; unknown permissions 400 |
//! | `PUT /roles` | replace the role (its permissions too): 200; or create it: 201 |
//! | `DELETE /roles/{name}` | 204; 404; 409 while a user holds it (the original's `validateBeforeDelete`) |
//! | `GET /permissions?page=&size=` | `PermissionDTO`s by name, `X-Total-Count`, `Link` |
//! | `GET /permissions/{name}` | one permission, or 404 |
//! | `POST`/`PUT /permissions` | create, or replace the permission of that name: 201 either way (the original's `PUT` was its `POST`) |
//! | `DELETE /permissions/{name}` | 204; 404; 409 while a role grants it |
//!
//! Names are looked up ignoring case when no name matches exactly, as the original's MySQL
//! collation compared them; a write naming an existing role or permission in another case
//! replaces it under its stored name. Writes answer the original's `X-profileApp-alert` and
//! `-params` headers where it sent them, and its validation body beside the standard one.
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

use tis_service_kit::http::api::{Api, Body as Doc, Method};

use super::dto::{PermissionDto, RoleDto};
use super::input::{PermissionInput, RoleInput};
use super::original;
use super::{API, AppState, DELETE, MODIFY, Paths, VIEW, many, one, op, paged, segment};

pub(super) fn routes(api: Api<AppState>, p: Paths) -> Api<AppState> {
    let api = api
        .add(
            Method::Get,
            &p("/roles"),
            roles_page,
            paged(
                op("Role", "A page of roles, by name", VIEW),
                &["excludeRestricted"],
            )
            .returns(200, many("RoleDto")),
        )
        .add(
            Method::Post,
            &p("/roles"),
            create_role,
            op("Role", "Creates a role", MODIFY)
                .body(one("RoleDto"))
                .returns(201, one("RoleDto"))
                .idempotent(),
        )
        .add(
            Method::Put,
            &p("/roles"),
            update_role,
            op("Role", "Replaces a role, or creates it (201)", MODIFY)
                .body(one("RoleDto"))
                .returns(200, one("RoleDto"))
                .idempotent(),
        )
        .add(
            Method::Get,
            &p("/roles/{name}"),
            one_role,
            op("Role", "A role by name", VIEW)
                .path("name")
                .returns(200, one("RoleDto")),
        )
        .add(
            Method::Delete,
            &p("/roles/{name}"),
            remove_role,
            op("Role", "Deletes a role nobody holds", DELETE)
                .path("name")
                .returns(204, Doc::None),
        )
        .add(
            Method::Get,
            &p("/restricted-roles"),
            restricted,
            op("Role", "The names of the restricted roles", VIEW).returns(200, Doc::Strings),
        );
    api.add(
        Method::Get,
        &p("/permissions"),
        permissions_page,
        paged(
            op("Permission", "A page of permissions, by name", VIEW),
            &[],
        )
        .returns(200, many("PermissionDto")),
    )
    .add(
        Method::Post,
        &p("/permissions"),
        create_permission,
        op("Permission", "Creates a permission", MODIFY)
            .body(one("PermissionDto"))
            .returns(201, one("PermissionDto"))
            .idempotent(),
    )
    .add(
        Method::Put,
        &p("/permissions"),
        update_permission,
        op("Permission", "Replaces a permission, or creates it", MODIFY)
            .body(one("PermissionDto"))
            .returns(201, one("PermissionDto"))
            .idempotent(),
    )
    .add(
        Method::Get,
        &p("/permissions/{name}"),
        one_permission,
        op("Permission", "A permission by name", VIEW)
            .path("name")
            .returns(200, one("PermissionDto")),
    )
    .add(
        Method::Delete,
        &p("/permissions/{name}"),
        remove_permission,
        op("Permission", "Deletes a permission no role grants", DELETE)
            .path("name")
            .returns(204, Doc::None),
    )
}
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
pub async fn roles_page(State(st): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
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
pub async fn restricted(State(st): State<AppState>) -> Result<Json<Vec<String>>, ApiError> {
    let roles = st.repo.restricted_roles().await?;
    Ok(Json(roles.into_iter().map(|r| r.name).collect()))
}

/// `GET /roles/{name}`.
pub async fn one_role(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<RoleDto>, ApiError> {
    let role = st
        .repo
        .role_ignoring_case(&name)
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

/// Writes the role a body describes, replacing the one of that name (ignoring case, keeping
/// its stored name) or creating it; answers the response, `created` or not.
async fn save_role(st: &AppState, input: &RoleInput) -> Result<(Response, bool), ApiError> {
    let mut role = checked_role(st, input).await?;
    if let Some(stored) = st.repo.role_ignoring_case(&role.name).await? {
        role.name = stored.name;
    }
    let was_created = st.repo.save_role(&role).await?;
    let body = Json(stored_role(st, &role.name).await?);
    Ok((
        if was_created {
            created("roles", &role.name, body)
        } else {
            body.into_response()
        },
        was_created,
    ))
}

/// `POST /roles`: 201 whether created or replaced, as the original's `save`.
pub async fn create_role(State(st): State<AppState>, Body(input): Body<RoleInput>) -> Response {
    original::answer(
        "roleDTO",
        async {
            let (mut res, _) = save_role(&st, &input).await?;
            *res.status_mut() = StatusCode::CREATED;
            let name = input.name.as_deref().unwrap_or_default().trim();
            original::alert(&mut res, "role", "created", name);
            Ok(res)
        }
        .await,
    )
}

/// `PUT /roles`.
pub async fn update_role(State(st): State<AppState>, Body(input): Body<RoleInput>) -> Response {
    original::answer(
        "roleDTO",
        async {
            let (mut res, was_created) = save_role(&st, &input).await?;
            let name = input.name.as_deref().unwrap_or_default().trim();
            let action = if was_created { "created" } else { "updated" };
            original::alert(&mut res, "role", action, name);
            Ok(res)
        }
        .await,
    )
}

fn removed(what: &str, name: &str, r: Removed, holders: &str) -> Result<StatusCode, ApiError> {
    match r {
        Removed::Done => Ok(StatusCode::NO_CONTENT),
        Removed::Missing => Err(ApiError::NotFound(format!("no {what} named {name}"))),
        Removed::InUse(n) => Err(ApiError::Conflict(format!(
            "the {what} {name} cannot be deleted: {n} {holders}"
        ))),
    }
}

/// `DELETE /roles/{name}`.
pub async fn remove_role(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let name = match st.repo.role_ignoring_case(&name).await? {
        Some(role) => role.name,
        None => name,
    };
    let r = st.repo.delete_role(&name).await?;
    removed("role", &name, r, "users hold it")
}

/// `GET /permissions`.
pub async fn permissions_page(State(st): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
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
        .permission_ignoring_case(name)
        .await?
        .map(|p| PermissionDto::from(&p))
        .ok_or_else(|| ApiError::NotFound(format!("no permission named {name}")))
}

/// `GET /permissions/{name}`.
pub async fn one_permission(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<PermissionDto>, ApiError> {
    stored_permission(&st, &name).await.map(Json)
}

/// Writes the permission a body describes, replacing the one of that name (ignoring case,
/// keeping its stored name) or creating it: 201 either way, as the original's `POST` (which
/// its `PUT` called).
async fn save_permission(st: &AppState, input: &PermissionInput) -> Response {
    original::answer(
        "permissionDTO",
        async {
            let mut p = input
                .parse(st.limits.max_items)
                .map_err(ApiError::Validation)?;
            if let Some(stored) = st.repo.permission_ignoring_case(&p.name).await? {
                p.name = stored.name;
            }
            st.repo.save_permission(&p).await?;
            let mut res = created(
                "permissions",
                &p.name,
                Json(stored_permission(st, &p.name).await?),
            );
            original::alert(&mut res, "permission", "created", &p.name);
            Ok(res)
        }
        .await,
    )
}

/// `POST /permissions`.
pub async fn create_permission(
    State(st): State<AppState>,
    Body(input): Body<PermissionInput>,
) -> Response {
    save_permission(&st, &input).await
}

/// `PUT /permissions`.
pub async fn update_permission(
    State(st): State<AppState>,
    Body(input): Body<PermissionInput>,
) -> Response {
    save_permission(&st, &input).await
}

/// `DELETE /permissions/{name}`.
pub async fn remove_permission(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let name = match st.repo.permission_ignoring_case(&name).await? {
        Some(p) => p.name,
        None => name,
    };
    let r = st.repo.delete_permission(&name).await?;
    removed("permission", &name, r, "roles grant it")
}
