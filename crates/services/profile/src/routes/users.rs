//! `/hee-users`: TIS users, as UMS manages them.
//!
//! | route | answer |
//! |---|---|
//! | `GET /hee-users?search=&page=&size=&sort=` | a Spring `Page` of `HeeUserDTO` (`content`, `totalElements`, …) plus `X-Total-Count` and `Link` |
//! | `GET /hee-users/{name}` | one user (exact name), or 404 |
//! | `GET /hee-users/{name}/ignore-case`, `GET /single-hee-users?username=` | one user, ignoring case / exact |
//! | `GET /hee-users-with-roles/{roleNames}` | the users holding any of the comma-separated roles |
//! | `POST /hee-users` | create: 201 + `Location`; an existing name (ignoring case) is 409 |
//! | `PUT /hee-users` | replace the user of that name, or create it (201) as the original did |
//! | `DELETE /hee-users/{name}` | 200, or 404 |
//!
//! A written user's roles must exist (400 naming `roles[i].name`) and its designated bodies
//! must exist in Reference (400 naming `designatedBodyCodes[i]`; 503
//! `dependency_unavailable` when Reference cannot say and never confirmed them; accepted and
//! marked `TIS-Degraded: reference-stale` when Reference is down but confirmed them before,
//! see tis-reference-client). The code `None` is never checked: it is how the original wrote
//! "no designated body".

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use serde::Deserialize;
use tis_auth::Credential;
use tis_core::FieldError;
use tis_core::extract::{Json as Body, Path, Query};
use tis_core::paging::{ListParams, query_pairs};
use tis_reference_client::RefType;

use super::dto::{HeeUserDto, SpringPage};
use super::input::HeeUserInput;
use super::{API, AppState, Can, Delete, Modify, View};
use crate::domain::{HeeUser, NO_DBC};
use crate::error::ApiError;
use crate::repo::UserQuery;

/// The longest `search`.
const MAX_SEARCH_CHARS: usize = 200;

/// Users as DTOs, their roles as full records (loaded once for all of them).
async fn dtos(st: &AppState, users: &[HeeUser]) -> Result<Vec<HeeUserDto>, ApiError> {
    let role_names: Vec<String> = users.iter().flat_map(|u| u.roles.iter().cloned()).collect();
    let roles = st.repo.roles_named(&role_names).await?;
    let permission_names: Vec<String> = roles
        .iter()
        .flat_map(|r| r.permissions.iter().cloned())
        .collect();
    let permissions = st.repo.permissions_named(&permission_names).await?;
    Ok(users
        .iter()
        .map(|u| HeeUserDto::new(u, &roles, &permissions))
        .collect())
}

async fn one_dto(
    st: &AppState,
    user: Option<HeeUser>,
    name: &str,
) -> Result<Json<HeeUserDto>, ApiError> {
    let user = user.ok_or_else(|| ApiError::NotFound(format!("no user named {name}")))?;
    let mut all = dtos(st, std::slice::from_ref(&user)).await?;
    all.pop()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no user named {name}")))
}

/// `GET /hee-users`.
pub async fn page(
    State(st): State<AppState>,
    _who: Can<View>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let mut search = None;
    let rules = super::paging(&st.limits, UserQuery::SORTABLE);
    let list = ListParams::parse_with(&query_pairs(uri.query()), &rules, |name, value| {
        if name == "search" && search.is_none() {
            if value.chars().count() > MAX_SEARCH_CHARS {
                return Err(ApiError::bad_query(format!(
                    "`search` is longer than {MAX_SEARCH_CHARS} characters"
                )));
            }
            search = Some(value.to_owned());
        }
        Ok(())
    })?;
    let query = UserQuery {
        search,
        sort: list.sort.clone(),
    };
    let (users, total) = st.repo.users_page(&query, list.page).await?;
    let body = SpringPage::new(dtos(&st, &users).await?, list.page, total);
    let headers = list.headers(&format!("{API}/hee-users"), total);
    Ok((headers, Json(body)).into_response())
}

/// `GET /hee-users/{name}`.
pub async fn one(
    State(st): State<AppState>,
    _who: Can<View>,
    Path(name): Path<String>,
) -> Result<Json<HeeUserDto>, ApiError> {
    let user = st.repo.user(&name).await?;
    one_dto(&st, user, &name).await
}

/// `GET /hee-users/{name}/ignore-case`.
pub async fn one_ignoring_case(
    State(st): State<AppState>,
    _who: Can<View>,
    Path(name): Path<String>,
) -> Result<Json<HeeUserDto>, ApiError> {
    let user = st.repo.user_ignoring_case(&name).await?;
    one_dto(&st, user, &name).await
}

#[derive(Debug, Deserialize)]
pub struct Single {
    username: Option<String>,
}

/// `GET /single-hee-users?username=`.
pub async fn single(
    State(st): State<AppState>,
    _who: Can<View>,
    Query(q): Query<Single>,
) -> Result<Json<HeeUserDto>, ApiError> {
    let name = q
        .username
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::bad_query("`username` is required"))?;
    let user = st.repo.user(&name).await?;
    one_dto(&st, user, &name).await
}

/// `GET /hee-users-with-roles/{roleNames}`.
pub async fn with_roles(
    State(st): State<AppState>,
    _who: Can<View>,
    Path(roles): Path<String>,
) -> Result<Json<Vec<HeeUserDto>>, ApiError> {
    let roles: Vec<String> = roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if roles.is_empty() || roles.len() > st.limits.max_items {
        return Err(ApiError::bad_query(format!(
            "name between 1 and {} roles, comma-separated",
            st.limits.max_items
        )));
    }
    let users = st.repo.users_with_roles(&roles).await?;
    Ok(Json(dtos(&st, &users).await?))
}

/// The user a body describes, with its roles and designated bodies checked.
async fn checked(
    st: &AppState,
    credential: Option<&Credential>,
    input: &HeeUserInput,
) -> Result<HeeUser, ApiError> {
    let user = input
        .parse(st.limits.max_items)
        .map_err(ApiError::Validation)?;
    let names: Vec<String> = user.roles.iter().cloned().collect();
    let known = st.repo.existing_roles(&names).await?;
    let mut fields = Vec::new();
    for (i, r) in input.roles.iter().flatten().enumerate() {
        if let Some(name) = &r.name
            && !known.contains(name)
        {
            fields.push(FieldError::new(
                format!("roles[{i}].name"),
                format!("no role named {name}"),
            ));
        }
    }
    if !fields.is_empty() {
        return Err(ApiError::Validation(fields));
    }
    let codes: BTreeSet<String> = user
        .designated_body_codes
        .iter()
        .filter(|c| !c.eq_ignore_ascii_case(NO_DBC))
        .cloned()
        .collect();
    if codes.is_empty() {
        return Ok(user);
    }
    let checked = st
        .reference
        .codes_exist(RefType::DBCS, &codes, credential)
        .await;
    let missing = checked
        .settle()
        .map_err(crate::error::reference_unavailable)?;
    for (i, code) in input.designated_body_codes.iter().flatten().enumerate() {
        if missing.iter().any(|m| *m == code.trim()) {
            fields.push(FieldError::new(
                format!("designatedBodyCodes[{i}]"),
                format!("no designated body with code {}", code.trim()),
            ));
        }
    }
    if fields.is_empty() {
        Ok(user)
    } else {
        Err(ApiError::Validation(fields))
    }
}

async fn written(st: &AppState, name: &str, status: StatusCode) -> Result<Response, ApiError> {
    let stored = st.repo.user(name).await?;
    let Json(dto) = one_dto(st, stored, name).await?;
    let mut res = (status, Json(dto)).into_response();
    if status == StatusCode::CREATED {
        let location = format!("{API}/hee-users/{name}");
        if let Ok(v) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(res)
}

/// `POST /hee-users`.
pub async fn create(
    State(st): State<AppState>,
    who: Can<Modify>,
    headers: HeaderMap,
    Body(input): Body<HeeUserInput>,
) -> Result<Response, ApiError> {
    let credential = Credential::on_behalf_of(&who, &headers);
    let user = checked(&st, credential.as_ref(), &input).await?;
    st.repo.create_user(&user).await?;
    tracing::info!(user.name = %who.who.user_name(), target.user = %user.name, "user created");
    written(&st, &user.name, StatusCode::CREATED).await
}

/// `PUT /hee-users`.
pub async fn update(
    State(st): State<AppState>,
    who: Can<Modify>,
    headers: HeaderMap,
    Body(input): Body<HeeUserInput>,
) -> Result<Response, ApiError> {
    let credential = Credential::on_behalf_of(&who, &headers);
    let user = checked(&st, credential.as_ref(), &input).await?;
    let created = st.repo.save_user(&user).await?;
    tracing::info!(user.name = %who.who.user_name(), target.user = %user.name, created, "user saved");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    written(&st, &user.name, status).await
}

/// `DELETE /hee-users/{name}`.
pub async fn remove(
    State(st): State<AppState>,
    who: Can<Delete>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if st.repo.delete_user(&name).await? {
        tracing::info!(user.name = %who.who.user_name(), target.user = %name, "user deleted");
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::NotFound(format!("no user named {name}")))
    }
}
