//! OAuth2 error answers (RFC 6749 §5.2, RFC 6750 §3).
//!
//! OIDC clients, Keycloak's included, expect `{"error":"…","error_description":"…"}`, not the
//! house error shape, so the provider's endpoints answer with this. Which status goes with
//! which code is decided here and nowhere else:
//!
//! | code | status | when |
//! |---|---|---|
//! | `invalid_request` | 400 | a parameter missing, repeated, or unreadable |
//! | `invalid_client` | 401 + `WWW-Authenticate: Basic` | unknown client, wrong or missing secret |
//! | `invalid_grant` | 400 | bad credentials, disabled account, bad refresh token |
//! | `unauthorized_client` | 400 | the grant is not allowed for this client |
//! | `unsupported_grant_type` | 400 | a grant this provider does not implement |
//! | `invalid_scope` | 400 | an unknown scope, or a refresh widening it |
//! | `invalid_token` | 401 + `WWW-Authenticate: Bearer` | userinfo without a valid access token |
//! | `realm_not_found` | 404 | no such realm |
//! | `invalid_request` | 413 / 415 | body too large / not form-encoded |
//! | `server_error` | 500 | signing failed (a broken key folder), never bad input |

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    challenge: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            challenge: None,
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }

    pub fn invalid_client(realm: &str, d: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", d);
        e.challenge = Some(format!("Basic realm=\"{realm}\""));
        e
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }

    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
    }

    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
    }

    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", d)
    }

    pub fn invalid_token(realm: &str, d: &'static str) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", d);
        e.challenge = Some(format!(
            "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{d}\""
        ));
        e
    }

    pub fn realm_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "realm_not_found",
            "Realm does not exist",
        )
    }

    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        )
    }

    pub fn not_a_form() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "the body must be sent as application/x-www-form-urlencoded",
        )
    }

    pub fn server_error(d: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", d)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(error.code = self.error, error.message = %self.description, "token request failed");
        }
        let body = Body {
            error: self.error,
            error_description: &self.description,
        };
        let mut res = (self.status, Json(body)).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(c) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, c);
        }
        res
    }
}
