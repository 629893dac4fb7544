//! The provider's HTTP endpoints, where Keycloak puts them:
//!
//! ```text
//! GET       /realms/{realm}/.well-known/openid-configuration   discovery
//! GET       /realms/{realm}/protocol/openid-connect/certs      JWKS
//! POST      /realms/{realm}/protocol/openid-connect/token      authorization_code, password, client_credentials, refresh_token
//! GET|POST  /realms/{realm}/protocol/openid-connect/userinfo   Bearer access token → claims
//! GET|POST  /realms/{realm}/protocol/openid-connect/auth       authorization request → login page or code
//! POST      /realms/{realm}/login-actions/authenticate         the login form's post (?tab_id=…)
//! GET|POST  /realms/{realm}/protocol/openid-connect/logout     RP-initiated and refresh-token logout
//! GET       /resources/tis/login.css                           the login page's style sheet
//! ```
//!
//! The app wraps this router with `tis_core::http::standard`.
//!
//! # Layout
//! - [`error`]: OAuth2 error answers and their statuses.
//! - [`form`]: the form body and client credentials.
//! - [`token`]: the token endpoint.
//! - [`userinfo`]: the userinfo endpoint.
//! - [`authorize`]: the authorization endpoint and the login form (browser sign-in).
//! - [`logout`]: the end-session endpoint.
//! - [`page`]: the HTML pages and their security headers.

pub(crate) mod authorize;
pub(crate) mod error;
pub(crate) mod form;
pub(crate) mod logout;
pub(crate) mod page;
pub(crate) mod token;
pub(crate) mod userinfo;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::routing::post;
use http::{HeaderValue, header};
use serde_json::json;
use tis_core::extract::Path;

use crate::browser::BrowserState;
use crate::limiter::FailedLogins;
use crate::password::Verifier;
use crate::realm::{Client, GrantType, Realm, Realms};
use crate::tokens::TokenService;
use crate::tokens::ledger::RefreshLedger;
use crate::tokens::scope;
use error::OAuthError;
use form::PresentedClient;

/// Everything the endpoints share.
#[derive(Debug)]
pub(crate) struct Idp {
    pub realms: Realms,
    pub tokens: TokenService,
    pub verifier: Verifier,
    pub limiter: FailedLogins,
    pub ledger: RefreshLedger,
    /// SSO sessions, login pages in progress and authorization codes (in memory).
    pub browser: BrowserState,
    /// How long an authorization code can be redeemed.
    pub code_lifetime: Duration,
    /// How long a login page stays usable.
    pub login_timeout: Duration,
}

impl Idp {
    fn realm(&self, name: &str) -> Result<&Arc<Realm>, OAuthError> {
        self.realms
            .get(name)
            .ok_or_else(OAuthError::realm_not_found)
    }

    /// Checks a client's credentials: the client exists and is enabled, and a confidential
    /// client's secret matches. Every failure is the same `invalid_client`.
    async fn authenticate_client(
        &self,
        realm: &Realm,
        presented: PresentedClient,
    ) -> Result<Arc<Client>, OAuthError> {
        let refused = || {
            OAuthError::invalid_client(&realm.name, "Invalid client or Invalid client credentials")
        };
        let client = realm
            .client(&presented.client_id)
            .filter(|c| c.entry.enabled)
            .ok_or_else(refused)?;
        if let Some(phc) = &client.entry.secret_hash {
            let Some(secret) = presented.secret else {
                return Err(OAuthError::invalid_client(
                    &realm.name,
                    "Client secret not provided in request",
                ));
            };
            if !self.verifier.verify(secret, phc.clone()).await {
                tracing::info!(client.id = %client.entry.client_id, "client authentication failed");
                return Err(refused());
            }
        }
        Ok(client.clone())
    }
}

pub(crate) fn router(idp: Arc<Idp>) -> Router {
    const OIDC: &str = "/realms/{realm}/protocol/openid-connect";
    Router::new()
        .route(
            "/realms/{realm}/.well-known/openid-configuration",
            get(discovery),
        )
        .route(&format!("{OIDC}/certs"), get(certs))
        .route(&format!("{OIDC}/token"), post(token::token))
        .route(
            &format!("{OIDC}/userinfo"),
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(
            &format!("{OIDC}/auth"),
            get(authorize::authorize).post(authorize::authorize),
        )
        .route(
            "/realms/{realm}/login-actions/authenticate",
            post(authorize::authenticate),
        )
        .route(
            &format!("{OIDC}/logout"),
            get(logout::logout).post(logout::logout),
        )
        .route("/resources/tis/login.css", get(page::login_css))
        .with_state(idp)
}

async fn discovery(
    State(idp): State<Arc<Idp>>,
    Path(realm): Path<String>,
) -> Result<Response, OAuthError> {
    let realm = idp.realm(&realm)?;
    let issuer = idp.tokens.issuer(&realm.name);
    let oidc = format!("{issuer}/protocol/openid-connect");
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{oidc}/auth"),
        "token_endpoint": format!("{oidc}/token"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "end_session_endpoint": format!("{oidc}/logout"),
        "jwks_uri": format!("{oidc}/certs"),
        "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": idp.tokens.keys.algorithms(),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": scope::SUPPORTED,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "typ", "azp", "sid", "scope",
            "auth_time", "nonce", "at_hash",
            "preferred_username", "given_name", "family_name", "name", "email",
            "email_verified", "realm_access", "resource_access"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
    });
    Ok(Json(doc).into_response())
}

/// The JWKS. Verifiers cache it themselves; we say `no-cache` (as Keycloak does) so that a
/// rotation is seen at the next fetch.
async fn certs(
    State(idp): State<Arc<Idp>>,
    Path(realm): Path<String>,
) -> Result<Response, OAuthError> {
    idp.realm(&realm)?;
    let mut res = Json(idp.tokens.keys.jwks()).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}
