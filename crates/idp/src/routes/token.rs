//! `POST /realms/{realm}/protocol/openid-connect/token`: the four grants.
//!
//! Order of checks, each failing with its own OAuth2 error: realm (404) → body (415/413/400)
//! → `grant_type` (400) → client authentication (401) → grant allowed for the client (400
//! `unauthorized_client`) → the grant's own checks (400 `invalid_grant`, `invalid_scope`).
//!
//! The password grant resists username enumeration: an unknown user costs one argon2
//! verification against the realm's decoy hash, exactly like a wrong password, and both get
//! "Invalid user credentials". "Account disabled" is said only after the right password.
//!
//! The authorization code grant redeems a code of the browser sign-in (see
//! `routes::authorize`) once: a second use is `invalid_grant` and revokes the session the
//! code started (RFC 6749 §4.1.2); the code must be presented by the client it was issued
//! to, with the same `redirect_uri`, within its lifetime, with the PKCE `code_verifier`
//! matching the challenge (and without one when there was no challenge, so a verifier
//! cannot be added after the fact), and its session must still be signed in.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde::Serialize;
use tis_core::extract::Path;
use uuid::Uuid;

use super::Idp;
use super::authorize::pkce_matches;
use super::error::OAuthError;
use super::form::{Form, presented_client};
use crate::browser::CodeRefused;
use crate::realm::{Client, GrantType, Realm};
use crate::tokens::claims::{RefreshClaims, Subject};
use crate::tokens::scope::Scope;
use crate::tokens::{Grant, Issued, Session};

/// The longest username echoed into a log line.
const LOGGED_NAME_CHARS: usize = 64;

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
    refresh_expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(rename = "not-before-policy")]
    not_before_policy: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_state: Option<String>,
    scope: String,
}

pub(crate) async fn token(
    State(idp): State<Arc<Idp>>,
    Path(realm): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    req: Request,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr);
    let (grant, result) = match idp.realm(&realm) {
        Ok(realm) => grant(&idp, realm, peer, req).await,
        Err(e) => (None, Err(e)),
    };
    if let Some(g) = grant {
        let outcome = match &result {
            Ok(_) => "issued",
            Err(e) => e.error,
        };
        metrics::counter!("idp_token_requests_total", "realm" => realm, "grant" => g.as_str(), "outcome" => outcome).increment(1);
    }
    match result {
        Ok(issued) => respond(issued),
        Err(e) => e.into_response(),
    }
}

fn respond(issued: Issued) -> Response {
    let (refresh_token, refresh_expires_in) = match issued.refresh {
        Some((t, ttl)) => (Some(t), ttl),
        None => (None, 0),
    };
    let body = TokenResponse {
        access_token: issued.access_token,
        expires_in: issued.expires_in,
        refresh_expires_in,
        refresh_token,
        token_type: "Bearer",
        id_token: issued.id_token,
        not_before_policy: 0,
        session_state: issued.session,
        scope: issued.scope,
    };
    let mut res = Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// Runs the grant; also returns which grant it was, once known, for the metrics.
async fn grant(
    idp: &Idp,
    realm: &Realm,
    peer: Option<SocketAddr>,
    req: Request,
) -> (Option<GrantType>, Result<Issued, OAuthError>) {
    let headers = req.headers().clone();
    let form = match Form::read(req).await {
        Ok(f) => f,
        Err(e) => return (None, Err(e)),
    };
    let grant_type = match form.get("grant_type") {
        None => {
            let e = OAuthError::invalid_request("Missing form parameter: grant_type");
            return (None, Err(e));
        }
        Some(g) => match GrantType::parse(g) {
            Some(g) => g,
            None => {
                let e = OAuthError::unsupported_grant_type("Unsupported grant_type");
                return (None, Err(e));
            }
        },
    };
    let result = async {
        let presented = presented_client(&realm.name, &headers, &form)?;
        let client = idp.authenticate_client(realm, presented).await?;
        if !client.allows(grant_type) {
            return Err(OAuthError::unauthorized_client(format!(
                "Client not allowed to use the {} grant",
                grant_type.as_str()
            )));
        }
        match grant_type {
            GrantType::AuthorizationCode => authorization_code(idp, realm, &client, &form),
            GrantType::Password => password(idp, realm, &client, &form, peer).await,
            GrantType::ClientCredentials => client_credentials(idp, realm, &client, &form),
            GrantType::RefreshToken => refresh(idp, realm, &client, &form),
        }
    }
    .await;
    (Some(grant_type), result)
}

fn scope(requested: Option<&str>) -> Result<Scope, OAuthError> {
    Scope::parse(requested).map_err(|s| OAuthError::invalid_scope(format!("Invalid scopes: {s}")))
}

fn issue(idp: &Idp, grant: Grant<'_>) -> Result<Issued, OAuthError> {
    idp.tokens
        .issue(grant)
        .map_err(|e| OAuthError::server_error(format!("could not sign the token: {e}")))
}

async fn password(
    idp: &Idp,
    realm: &Realm,
    client: &Client,
    form: &Form,
    peer: Option<SocketAddr>,
) -> Result<Issued, OAuthError> {
    let username = form.require("username")?;
    let password = form
        .secret("password")
        .ok_or_else(|| OAuthError::invalid_request("Missing parameter: password"))?;
    let scope = scope(form.get("scope"))?;
    let shown: String = username.chars().take(LOGGED_NAME_CHARS).collect();
    let source = peer.map(|p| p.ip().to_string()).unwrap_or_default();
    let refused = || OAuthError::invalid_grant("Invalid user credentials");

    let now = idp.tokens.now();
    if idp.limiter.is_locked(&realm.name, username, now) {
        tracing::warn!(user.name = %shown, source.ip = %source, "login refused: too many failed attempts");
        return Err(refused());
    }
    let user = realm.user(username);
    let phc = user.map_or_else(
        || realm.decoy_hash.clone(),
        |u| u.entry.password_hash.clone(),
    );
    let matched = idp.verifier.verify(password, phc).await;
    let Some(user) = user.filter(|_| matched) else {
        idp.limiter.failed(&realm.name, username, now);
        tracing::info!(user.name = %shown, source.ip = %source, "login failed: invalid user credentials");
        return Err(refused());
    };
    if !user.entry.enabled {
        tracing::info!(user.name = %shown, "login refused: account disabled");
        return Err(OAuthError::invalid_grant("Account disabled"));
    }
    idp.limiter.succeeded(&realm.name, username);
    tracing::info!(user.name = %shown, client.id = %client.entry.client_id, "login");
    issue(
        idp,
        Grant {
            realm,
            client,
            subject: Subject::User(user),
            scope: &scope,
            session: Some(Session::start(now)),
            with_refresh: client.allows(GrantType::RefreshToken),
            nonce: None,
        },
    )
}

fn authorization_code(
    idp: &Idp,
    realm: &Realm,
    client: &Client,
    form: &Form,
) -> Result<Issued, OAuthError> {
    let code = form.require("code")?;
    let now = idp.tokens.now();
    let refused = || OAuthError::invalid_grant("Code not valid");
    let grant = idp
        .browser
        .redeem_code(&realm.name, code, now, |t| idp.session_end(t))
        .map_err(|r| {
            if let CodeRefused::Replayed { sid, session_end } = r {
                tracing::warn!(client.id = %client.entry.client_id, session.id = %sid, "authorization code replayed; its session is revoked");
                idp.end_session(&sid, session_end);
            }
            refused()
        })?;
    let request = &grant.request;
    if request.client_id != client.entry.client_id {
        tracing::warn!(client.id = %client.entry.client_id, "authorization code of another client refused");
        return Err(refused());
    }
    if form.get("redirect_uri") != Some(request.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant("Incorrect redirect_uri"));
    }
    match (&request.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !pkce_matches(verifier, challenge) {
                return Err(OAuthError::invalid_grant(
                    "PKCE verification failed: Code mismatch",
                ));
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                "PKCE code verifier not specified",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "PKCE code verifier specified but challenge not present in authorization",
            ));
        }
        (None, None) => {}
    }
    if idp.ledger.is_revoked(&grant.sid) || !idp.browser.session_alive(&grant.sid, now) {
        return Err(OAuthError::invalid_grant("Session not active"));
    }
    let user = realm
        .user_by_id(&grant.user_id)
        .filter(|u| u.entry.enabled)
        .ok_or_else(|| OAuthError::invalid_grant("User not found or disabled"))?;
    let scope = scope(Some(&request.scope))?;
    tracing::info!(user.name = %user.entry.username, client.id = %client.entry.client_id, "authorization code redeemed");
    issue(
        idp,
        Grant {
            realm,
            client,
            subject: Subject::User(user),
            scope: &scope,
            session: Some(Session {
                id: grant.sid.clone(),
                auth_time: grant.auth_time,
                browser: true,
            }),
            with_refresh: client.allows(GrantType::RefreshToken),
            nonce: request.nonce.as_deref(),
        },
    )
}

fn client_credentials(
    idp: &Idp,
    realm: &Realm,
    client: &Client,
    form: &Form,
) -> Result<Issued, OAuthError> {
    let scope = scope(form.get("scope"))?;
    // RFC 6749 §4.4.3: no refresh token; a service account simply asks again.
    issue(
        idp,
        Grant {
            realm,
            client,
            subject: Subject::ServiceAccount(client),
            scope: &scope,
            session: None,
            with_refresh: false,
            nonce: None,
        },
    )
}

fn refresh(idp: &Idp, realm: &Realm, client: &Client, form: &Form) -> Result<Issued, OAuthError> {
    let token = form.require("refresh_token")?;
    let claims: RefreshClaims = idp
        .tokens
        .verify(realm, token, "Refresh")
        .map_err(|reason| {
            tracing::info!(error.message = %reason, "refresh token refused");
            OAuthError::invalid_grant("Invalid refresh token")
        })?;
    if claims.azp != client.entry.client_id {
        return Err(OAuthError::invalid_grant(
            "Invalid refresh token. Token client and authorized client don't match",
        ));
    }
    let scope = Scope::parse(Some(&claims.scope))
        .and_then(|s| s.narrow(form.get("scope")))
        .map_err(|s| OAuthError::invalid_scope(format!("Invalid scopes: {s}")))?;
    let user = Uuid::parse_str(&claims.sub)
        .ok()
        .and_then(|id| realm.user_by_id(&id))
        .ok_or_else(|| OAuthError::invalid_grant("Invalid refresh token"))?;
    if !user.entry.enabled {
        return Err(OAuthError::invalid_grant("Account disabled"));
    }
    let now = idp.tokens.now();
    if claims.browser && !idp.browser.session_alive(&claims.sid, now) {
        tracing::info!(user.name = %user.entry.username, session.id = %claims.sid, "refresh token of an ended SSO session refused");
        return Err(OAuthError::invalid_grant("Session not active"));
    }
    let session_end = claims.auth_time + idp.tokens.lifetimes.session_max.as_secs();
    idp.ledger
        .consume(&claims.jti, &claims.sid, claims.exp, session_end, now)
        .map_err(|stale| {
            tracing::warn!(user.name = %user.entry.username, error.message = %stale, "refresh token refused");
            OAuthError::invalid_grant("Stale token")
        })?;
    issue(
        idp,
        Grant {
            realm,
            client,
            subject: Subject::User(user),
            scope: &scope,
            session: Some(Session {
                id: claims.sid,
                auth_time: claims.auth_time,
                browser: claims.browser,
            }),
            with_refresh: true,
            nonce: None,
        },
    )
}
