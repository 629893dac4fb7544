//! `GET|POST /realms/{realm}/protocol/openid-connect/logout`, as Keycloak answers it.
//!
//! - **RP-initiated logout** (OIDC RP-Initiated Logout 1.0): `id_token_hint` (an ID token
//!   this realm issued, expired or not) names the session to end; `client_id` may come with
//!   it or instead of it; `post_logout_redirect_uri` must be one of that client's
//!   `post_logout_redirect_uris`, compared exactly, and `state` is passed back on it. An
//!   unregistered URI or a bad hint is an error page, never a redirect. Without an
//!   `id_token_hint` the browser is asked to confirm (a form carrying a one-time token
//!   bound to its session cookie), so that a link on another site cannot sign a user out.
//! - **Back-channel style** (Keycloak's adapters): `POST` with `refresh_token` and the
//!   client's credentials (`client_secret_basic` or `client_secret_post`, nothing for a
//!   public client) ends that token's session; 204, or an OAuth2 JSON error.
//!
//! Ending a session forgets its SSO cookie and unused codes and revokes every refresh token
//! of it (the ledger); access tokens already issued live out their few minutes.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use tis_core::extract::Path;

use super::Idp;
use super::authorize::{SESSION_COOKIE, cookie, redirect, with_query};
use super::error::OAuthError;
use super::form::{Form, presented_client};
use super::page;
use crate::browser::{AuthRequest, Tab};
use crate::realm::{Client, Realm};
use crate::tokens::claims::{PresentedId, RefreshClaims};

pub(crate) async fn logout(
    State(idp): State<Arc<Idp>>,
    Path(realm): Path<String>,
    req: Request,
) -> Response {
    let Some(realm) = idp.realms.get(&realm) else {
        return page::error(
            StatusCode::NOT_FOUND,
            "Realm not found",
            "This sign-out address names no realm.",
        );
    };
    let headers = req.headers().clone();
    let is_post = req.method() == Method::POST;
    let query = Form::parse(req.uri().query().unwrap_or("").as_bytes());
    let form = if is_post {
        Form::read(req).await
    } else {
        query
    };
    let form = match form {
        Ok(f) => f,
        Err(e) => return page::error(StatusCode::BAD_REQUEST, "Invalid request", &e.description),
    };
    if is_post && form.get("refresh_token").is_some() {
        return match back_channel(&idp, realm, &headers, &form).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => e.into_response(),
        };
    }
    if is_post && let Some(confirm) = form.get("confirm") {
        return confirmed(&idp, realm, &headers, confirm);
    }
    rp_initiated(&idp, realm, &headers, &form)
}

/// Keycloak's `POST …/logout` with a refresh token and client credentials.
async fn back_channel(
    idp: &Idp,
    realm: &Realm,
    headers: &HeaderMap,
    form: &Form,
) -> Result<(), OAuthError> {
    let presented = presented_client(&realm.name, headers, form)?;
    let client = idp.authenticate_client(realm, presented).await?;
    let token = form.require("refresh_token")?;
    let claims: RefreshClaims = idp
        .tokens
        .verify(realm, token, "Refresh")
        .map_err(|reason| {
            tracing::info!(error.message = %reason, "logout refused a refresh token");
            OAuthError::invalid_grant("Invalid refresh token")
        })?;
    if claims.azp != client.entry.client_id {
        return Err(OAuthError::invalid_grant(
            "Invalid refresh token. Token client and authorized client don't match",
        ));
    }
    tracing::info!(client.id = %client.entry.client_id, session.id = %claims.sid, "logout (refresh token)");
    idp.end_session(&claims.sid, idp.session_end(claims.auth_time));
    Ok(())
}

/// Where to send the browser afterwards, checked against the client's registered URIs;
/// the error is the message for the error page.
fn post_logout_target<'a>(
    client: Option<&Client>,
    form: &'a Form,
) -> Result<Option<&'a str>, &'static str> {
    let Some(uri) = form.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    let Some(client) = client else {
        return Err("Missing parameters: id_token_hint or client_id");
    };
    if client
        .entry
        .post_logout_redirect_uris
        .iter()
        .any(|u| u == uri)
    {
        Ok(Some(uri))
    } else {
        tracing::warn!(client.id = %client.entry.client_id, "logout with an unregistered post_logout_redirect_uri");
        Err("Invalid redirect uri")
    }
}

/// After the session ended: back to the client with its `state`, or "you have signed out".
fn done(idp: &Idp, realm: &Realm, target: Option<&str>, state: Option<&str>) -> Response {
    let mut res = match target {
        Some(uri) => {
            let params: Vec<(&str, &str)> = state.map(|s| ("state", s)).into_iter().collect();
            redirect(&with_query(uri, &params))
        }
        None => page::signed_out(),
    };
    res.headers_mut().append(
        header::SET_COOKIE,
        idp.set_cookie(&realm.name, SESSION_COOKIE, None),
    );
    res
}

fn rp_initiated(idp: &Idp, realm: &Realm, headers: &HeaderMap, form: &Form) -> Response {
    let bad = |m: &str| page::error(StatusCode::BAD_REQUEST, "Invalid request", m);
    let hint: Option<PresentedId> = match form.get("id_token_hint") {
        None => None,
        Some(t) => match idp.tokens.verify_allowing_expired(realm, t, "ID") {
            Ok(c) => Some(c),
            Err(reason) => {
                tracing::info!(error.message = %reason, "logout refused an id_token_hint");
                return bad("Invalid parameter: id_token_hint");
            }
        },
    };
    let client_id = match (form.get("client_id"), &hint) {
        (Some(c), Some(h)) if c != h.azp => {
            return bad("Parameter client_id different from the authorized party");
        }
        (Some(c), _) => Some(c.to_owned()),
        (None, Some(h)) => Some(h.azp.clone()),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => match realm.client(id).filter(|c| c.entry.enabled) {
            Some(c) => Some(c.clone()),
            None => return bad("Client not found"),
        },
        None => None,
    };
    let target = match post_logout_target(client.as_deref(), form) {
        Ok(t) => t,
        Err(message) => return bad(message),
    };
    let state = form.get("state");
    let now = idp.tokens.now();
    if let Some(hint) = hint {
        tracing::info!(client.id = %hint.azp, session.id = %hint.sid, "logout (id_token_hint)");
        idp.end_session(&hint.sid, now + idp.tokens.lifetimes.session_max.as_secs());
        return done(idp, realm, target, state);
    }
    // No hint: ask the browser, bound to its session cookie.
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return done(idp, realm, target, state);
    };
    if idp.browser.session(&realm.name, secret, now).is_none() {
        return done(idp, realm, target, state);
    }
    let confirm = idp.browser.open_tab(
        Tab {
            request: AuthRequest {
                realm: realm.name.clone(),
                client_id: client_id.unwrap_or_default(),
                redirect_uri: target.unwrap_or_default().to_owned(),
                scope: String::new(),
                state: state.map(str::to_owned),
                nonce: None,
                code_challenge: None,
                login_hint: None,
            },
            browser: secret.to_owned(),
            expires: now + idp.login_timeout.as_secs(),
        },
        now,
    );
    let action = format!(
        "{}protocol/openid-connect/logout",
        idp.cookie_path(&realm.name)
    );
    page::confirm_logout(&action, &confirm, target)
}

/// The confirmation form's post.
fn confirmed(idp: &Idp, realm: &Realm, headers: &HeaderMap, confirm: &str) -> Response {
    let now = idp.tokens.now();
    let secret = cookie(headers, SESSION_COOKIE);
    let Some(tab) = idp.browser.take_tab(&realm.name, confirm, secret, now) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "Sign-out expired",
            "This sign-out request is not valid any more. Sign out again from the application.",
        );
    };
    if let Some(session) = secret.and_then(|s| idp.browser.session(&realm.name, s, now)) {
        tracing::info!(session.id = %session.sid, "logout (confirmed)");
        idp.end_session(&session.sid, session.ends);
    }
    let r = tab.request;
    let target = (!r.redirect_uri.is_empty()).then_some(r.redirect_uri.as_str());
    done(idp, realm, target, r.state.as_deref())
}
