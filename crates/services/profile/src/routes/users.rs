//! `/hee-users`: TIS users, as UMS manages them.
//!
//! | route | answer |
//! |---|---|
//! | `GET /hee-users?search=&page=&size=&sort=` | a Spring `Page` of `HeeUserDTO` (`content`, `totalElements`, …) plus `X-Total-Count` and `Link` |
//! | `GET /hee-users/{name}`, `GET /single-hee-users?username=` | one user, or 404 |
//! | `GET /hee-users/{name}/ignore-case` | the users so named, as a list |
//! | `GET /hee-users-with-roles/{roleNames}` | `BasicHeeUserDTO`s of the users holding any of the comma-separated roles |
//! | `POST /hee-users` | create, or replace the user of that name (the original's `save`): 201 + `Location` |
//! | `PUT /hee-users` | replace the user of that name (200), or create it (201) as the original did |
//! | `DELETE /hee-users/{name}` | 200, or 404 |
//!
//! Names are compared ignoring case everywhere, as the original's MySQL collation compared
//! them: they are unique ignoring case, and writing `JANE` replaces `jane`, keeping its stored
//! name. Writes answer the original's `X-profileApp-alert`/`-params` headers and its
//! validation body beside the standard one (see [`super::original`]).
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

use tis_auth::Authenticated;
use tis_service_kit::http::api::{Api, Method};

use super::dto::{BasicHeeUserDto, HeeUserDto, SpringPage};
use super::input::HeeUserInput;
use super::original;
use super::{API, AppState, DELETE, MODIFY, Paths, VIEW, many, one, op, paged};
use crate::domain::{HeeUser, NO_DBC};
use crate::error::ApiError;
use crate::repo::UserQuery;

pub(super) fn routes(api: Api<AppState>, p: Paths) -> Api<AppState> {
    let tag = "HeeUser";
    api.add(
        Method::Get,
        &p("/hee-users"),
        page,
        paged(
            op(tag, "A page of users (a Spring Page)", VIEW),
            &["sort", "search"],
        )
        .returns(200, one("HeeUserPage")),
    )
    .add(
        Method::Post,
        &p("/hee-users"),
        create,
        op(tag, "Creates a user", MODIFY)
            .body(one("HeeUserDto"))
            .returns(201, one("HeeUserDto"))
            .idempotent(),
    )
    .add(
        Method::Put,
        &p("/hee-users"),
        update,
        op(tag, "Replaces a user, or creates it (201)", MODIFY)
            .body(one("HeeUserDto"))
            .returns(200, one("HeeUserDto"))
            .idempotent(),
    )
    .add(
        Method::Get,
        &p("/hee-users/{name}"),
        one_user,
        op(tag, "A user by name", VIEW)
            .path("name")
            .returns(200, one("HeeUserDto")),
    )
    .add(
        Method::Delete,
        &p("/hee-users/{name}"),
        remove,
        op(tag, "Deletes a user", DELETE).path("name"),
    )
    .add(
        Method::Get,
        &p("/hee-users/{name}/ignore-case"),
        one_ignoring_case,
        op(tag, "The users so named, ignoring case", VIEW)
            .path("name")
            .returns(200, many("HeeUserDto")),
    )
    .add(
        Method::Get,
        &p("/single-hee-users"),
        single,
        op(tag, "A user by name", VIEW)
            .query(&["username"])
            .returns(200, one("HeeUserDto")),
    )
    .add(
        Method::Get,
        &p("/hee-users-with-roles/{roleNames}"),
        with_roles,
        op(
            tag,
            "The users holding any of these roles (comma-separated)",
            VIEW,
        )
        .path("roleNames")
        .returns(200, many("BasicHeeUserDto")),
    )
}

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
pub async fn page(State(st): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
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

/// `GET /hee-users/{name}`: the name compared ignoring case, as the original's MySQL
/// collation compared it (names are unique ignoring case, so at most one matches).
pub async fn one_user(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<HeeUserDto>, ApiError> {
    let user = st.repo.user_ignoring_case(&name).await?;
    one_dto(&st, user, &name).await
}

/// `GET /hee-users/{name}/ignore-case`: the users so named ignoring case, as a list (the
/// later original's shape; at most one here).
pub async fn one_ignoring_case(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<HeeUserDto>>, ApiError> {
    let users: Vec<HeeUser> = st
        .repo
        .user_ignoring_case(&name)
        .await?
        .into_iter()
        .collect();
    Ok(Json(dtos(&st, &users).await?))
}

#[derive(Debug, Deserialize)]
pub struct Single {
    username: Option<String>,
}

/// `GET /single-hee-users?username=`.
pub async fn single(
    State(st): State<AppState>,
    Query(q): Query<Single>,
) -> Result<Json<HeeUserDto>, ApiError> {
    let name = q
        .username
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::bad_query("`username` is required"))?;
    let user = st.repo.user_ignoring_case(&name).await?;
    one_dto(&st, user, &name).await
}

/// `GET /hee-users-with-roles/{roleNames}`: `BasicHeeUserDTO`s.
pub async fn with_roles(
    State(st): State<AppState>,
    Path(roles): Path<String>,
) -> Result<Json<Vec<BasicHeeUserDto>>, ApiError> {
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
    Ok(Json(users.iter().map(BasicHeeUserDto::from).collect()))
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

async fn written(
    st: &AppState,
    name: &str,
    status: StatusCode,
    action: &str,
) -> Result<Response, ApiError> {
    let stored = st.repo.user(name).await?;
    let Json(dto) = one_dto(st, stored, name).await?;
    let mut res = (status, Json(dto)).into_response();
    if status == StatusCode::CREATED {
        let location = format!("{API}/hee-users/{}", super::segment(name));
        if let Ok(v) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
    }
    original::alert(&mut res, "heeUser", action, name);
    Ok(res)
}

/// Writes the user a body describes, replacing the one of that name ignoring case (whose
/// stored name is kept, as the original's case-insensitive key kept it) or creating it;
/// answers whether it was created.
async fn save(
    st: &AppState,
    who: &tis_auth::Principal,
    headers: &HeaderMap,
    input: &HeeUserInput,
) -> Result<(HeeUser, bool), ApiError> {
    let credential = Credential::on_behalf_of(who, headers);
    let mut user = checked(st, credential.as_ref(), input).await?;
    if let Some(stored) = st.repo.user_ignoring_case(&user.name).await? {
        user.name = stored.name;
    }
    let created = st.repo.save_user(&user).await?;
    tracing::info!(user.name = %who.user_name(), target.user = %user.name, created, "user saved");
    Ok((user, created))
}

/// `POST /hee-users`: creates the user, or, as the original's `save` did, replaces the one of
/// that name; 201 either way.
pub async fn create(
    State(st): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(input): Body<HeeUserInput>,
) -> Response {
    original::answer(
        "heeUserDTO",
        async {
            let (user, _) = save(&st, &who, &headers, &input).await?;
            written(&st, &user.name, StatusCode::CREATED, "created").await
        }
        .await,
    )
}

/// `PUT /hee-users`: replaces the user of that name (200), or creates it (201).
pub async fn update(
    State(st): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Body(input): Body<HeeUserInput>,
) -> Response {
    original::answer(
        "heeUserDTO",
        async {
            let (user, created) = save(&st, &who, &headers, &input).await?;
            if created {
                written(&st, &user.name, StatusCode::CREATED, "created").await
            } else {
                written(&st, &user.name, StatusCode::OK, "updated").await
            }
        }
        .await,
    )
}

/// `DELETE /hee-users/{name}` (the name compared ignoring case).
pub async fn remove(
    State(st): State<AppState>,
    Authenticated(who): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let stored = st
        .repo
        .user_ignoring_case(&name)
        .await?
        .map(|u| u.name)
        .unwrap_or(name);
    if st.repo.delete_user(&stored).await? {
        tracing::info!(user.name = %who.user_name(), target.user = %stored, "user deleted");
        let mut res = StatusCode::OK.into_response();
        original::alert(&mut res, "heeUser", "deleted", &stored);
        Ok(res)
    } else {
        Err(ApiError::NotFound(format!("no user named {stored}")))
    }
}
