//! `GET|POST /realms/{realm}/protocol/openid-connect/userinfo`.
//!
//! The access token must be one this realm issued, unexpired, with a published key. The
//! answer is built from the user as the realm file has it now (as Keycloak does), so a user
//! disabled since the token was issued gets 401.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, header};
use tis_core::extract::Path;
use uuid::Uuid;

use super::Idp;
use super::error::OAuthError;
use crate::tokens::Rejected;
use crate::tokens::claims::{PresentedAccess, Subject};

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

pub(crate) async fn userinfo(
    State(idp): State<Arc<Idp>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let realm = idp.realm(&realm)?;
    let name = realm.name.as_str();
    let token =
        bearer(&headers).ok_or_else(|| OAuthError::invalid_token(name, "Token not provided"))?;
    let claims: PresentedAccess = idp
        .tokens
        .verify(realm, token, "Bearer")
        .map_err(|reason| {
            tracing::debug!(error.message = %reason, "userinfo refused a token");
            match reason {
                Rejected::Expired => OAuthError::invalid_token(name, "Token is not active"),
                _ => OAuthError::invalid_token(name, "Token verification failed"),
            }
        })?;
    let id = Uuid::parse_str(&claims.sub).ok();
    let subject = id
        .and_then(|id| realm.user_by_id(&id))
        .filter(|u| u.entry.enabled)
        .map(|u| Subject::User(u))
        .or_else(|| {
            id.and_then(|id| realm.service_account(&id))
                .filter(|c| c.entry.enabled && c.entry.client_id == claims.azp)
                .map(|c| Subject::ServiceAccount(c))
        })
        .ok_or_else(|| OAuthError::invalid_token(name, "User not found or disabled"))?;
    Ok(Json(subject.profile()).into_response())
}
