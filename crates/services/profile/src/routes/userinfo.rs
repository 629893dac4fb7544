//! The authorisation context: `/userinfo` (and its deprecated alias `/userupdate`), and the
//! two directory look-ups other services made (`/users`, `/users/ro-user/{dbc}`).
//!
//! `/userinfo` is called by the gateway (through tis-profile-client) on a user's behalf,
//! before any principal exists, so it authenticates the user's own access token here
//! (`Authorization: Bearer` or `OIDC_access_token`) against the identity provider's keys and
//! looks up `preferred_username` in this database. It depends on nothing else: not on the
//! gateway, not on a profile cache, not on another service. Answers:
//!
//! | case | status | code |
//! |---|---|---|
//! | active user | 200 | the `UserProfile` |
//! | no such user | 404 | `no_profile` |
//! | user not active | 403 | `inactive_user` |
//! | no or bad token | 401 | tis-auth's codes (`missing_token`, `bad_signature`…) |
//! | identity provider's keys beyond grace | 503 | `idp_unavailable` |

use axum::Json;
use axum::extract::State;
use http::{HeaderMap, Uri};
use tis_core::extract::Path;
use tis_core::paging::query_pairs;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Method, Op};

use super::dto::{Href, SelfLink, UserInfoDto, UserInfoResponse, UserListResponse};
use super::{API, AppState, Paths, one, op};
use crate::error::ApiError;
use crate::repo::ProfileLookup;

pub(super) fn routes(api: Api<AppState>, p: Paths) -> Api<AppState> {
    let me = |summary: &str| {
        Op::new("UserProfile", summary)
            .guard(Guard::Open)
            .returns(200, one("UserInfoDto"))
    };
    api.add(
        Method::Get,
        &p("/userinfo"),
        userinfo,
        me("The caller's UserProfile, from their own access token (Authorization: Bearer, or the OIDC_access_token header)"),
    )
    .add(
        Method::Get,
        &p("/userupdate"),
        userupdate,
        me("Deprecated alias of /userinfo"),
    )
    .add(
        Method::Get,
        &p("/users"),
        users_by_dbcs,
        op(
            "UserProfile",
            "Active users whose designated bodies are exactly these (holding one of the permissions, when given)",
            "profile:get:users",
        )
        .query(&["designatedBodyCode", "permissions"])
        .returns(200, one("UserListResponse")),
    )
    .add(
        Method::Get,
        &p("/users/ro-user/{designatedBodyCode}"),
        responsible_officer,
        op(
            "UserProfile",
            "The Responsible Officer of a designated body",
            "profile:get:ro:user",
        )
        .path("designatedBodyCode")
        .returns(200, one("UserInfoDto")),
    )
}

/// The original's `ProfileInfoVM`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInfo {
    active_profiles: Vec<&'static str>,
    ribbon_env: Option<&'static str>,
}

/// `GET /profile-info`: the running profiles (here: the database backend), no ribbon.
pub async fn profile_info(State(st): State<AppState>) -> Json<ProfileInfo> {
    Json(ProfileInfo {
        active_profiles: vec![st.repo.db().backend().as_str()],
        ribbon_env: None,
    })
}

/// `GET /userinfo`: the caller's `UserProfile`.
pub async fn userinfo(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<UserInfoDto>, ApiError> {
    let verified = st.userinfo.verify_headers(&headers).await?;
    let user = verified
        .claims
        .user_name()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| crate::error::no_profile(""))?;
    match st.repo.user_profile(user).await? {
        ProfileLookup::Found(profile) => Ok(Json(UserInfoDto::from(*profile))),
        ProfileLookup::Inactive => Err(crate::error::inactive(user)),
        ProfileLookup::Missing => Err(crate::error::no_profile(user)),
    }
}

/// `GET /userupdate`: deprecated since the original's 3.0.0; the same as `/userinfo`.
pub async fn userupdate(
    state: State<AppState>,
    headers: HeaderMap,
) -> Result<Json<UserInfoDto>, ApiError> {
    userinfo(state, headers).await
}

/// Comma-separated values of every occurrence of `name`, trimmed, without empties.
fn list(params: &[(String, String)], name: &str) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `GET /users?designatedBodyCode=a,b&permissions=x,y`: active users whose designated bodies
/// are exactly the given set (holding one of the permissions, when given), by first name.
pub async fn users_by_dbcs(
    State(st): State<AppState>,
    uri: Uri,
) -> Result<Json<UserListResponse>, ApiError> {
    let params = query_pairs(uri.query());
    let mut dbcs = list(&params, "designatedBodyCode");
    if dbcs.is_empty() {
        return Err(ApiError::bad_query("`designatedBodyCode` is required"));
    }
    dbcs.sort();
    dbcs.dedup();
    let permissions = list(&params, "permissions");
    if dbcs.len() > st.limits.max_items || permissions.len() > st.limits.max_items {
        return Err(ApiError::bad_query(format!(
            "at most {} designated bodies and {0} permissions",
            st.limits.max_items
        )));
    }
    let users = st.repo.users_with_exact_dbcs(&dbcs, &permissions).await?;
    let href = match uri.query() {
        Some(q) => format!("{API}/users?{q}"),
        None => format!("{API}/users"),
    };
    Ok(Json(UserListResponse {
        total: users.len(),
        users: users.iter().map(UserInfoResponse::from).collect(),
        links: SelfLink {
            this: Href { href },
        },
    }))
}

/// `GET /users/ro-user/{dbc}`: the Responsible Officer of a designated body, as a
/// `UserProfile`; 404 when it has none.
pub async fn responsible_officer(
    State(st): State<AppState>,
    Path(dbc): Path<String>,
) -> Result<Json<UserInfoDto>, ApiError> {
    let user = st.repo.responsible_officer(&dbc).await?.ok_or_else(|| {
        ApiError::NotFound(format!("designated body {dbc} has no Responsible Officer"))
    })?;
    Ok(Json(UserInfoDto::from(st.repo.profile_of(&user).await?)))
}
