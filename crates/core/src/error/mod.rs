//! The JSON error shape of every TIS endpoint, and the one type that renders it.
//!
//! ```json
//! {"error":{"code":"not_found","message":"grade 7 does not exist","requestId":"…","degraded":[],
//!           "fields":[{"field":"code","message":"must not be blank"}]}}
//! ```
//!
//! Which error type to use where:
//! - libraries return small `thiserror` types, one per condition, so callers can match;
//! - each service has an `ApiError` enum that says what went wrong in its own terms and
//!   converts into [`HttpError`], the single place a status code and error code are chosen;
//! - binaries and start-up code use `anyhow` with context.
//!
//! `requestId` and `degraded` are filled from the current [`RequestContext`], so no handler
//! has to thread them through. The codes themselves are constants of [`code`], each spelled
//! once.

use std::borrow::Cow;
use std::fmt;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::context::RequestContext;

pub mod code;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `not_found`, `no_healthy_endpoints`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What was degraded while this request was served.
    #[serde(default)]
    pub degraded: Vec<String>,
    /// Per-field validation errors (JHipster's `fieldErrors`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// One invalid field of a request body or query.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error answer: a status, a code, a message, and optionally field errors and a
/// `Retry-After`.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    pub fields: Vec<FieldError>,
    pub retry_after_secs: Option<u32>,
}

impl HttpError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        HttpError {
            status,
            code: code.into(),
            message: message.into(),
            fields: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        HttpError {
            fields,
            ..Self::new(StatusCode::BAD_REQUEST, code::VALIDATION_FAILED, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code::CONFLICT, message)
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message).with_retry_after(1)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL_ERROR,
            message,
        )
    }

    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.fields = fields;
        self
    }

    pub fn with_retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The body this error renders, with the current request's id and degradations.
    pub fn body(&self) -> ErrorBody {
        let ctx = RequestContext::current();
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                request_id: ctx.as_ref().map(|c| c.request_id().to_owned()),
                degraded: ctx.map(|c| c.degraded()).unwrap_or_default(),
                fields: self.fields.clone(),
            },
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for HttpError {}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(error.code = %self.code, error.message = %self.message, "request failed");
        }
        let mut res = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, www_authenticate(&self.code));
        }
        res
    }
}

/// The challenge of a 401 (RFC 6750 §3): `Bearer` alone when no token came (§3.1: no error
/// code then), `error="invalid_token"` when one came and was refused (malformed, expired,
/// wrong signature, issuer or audience…). The details stay in the JSON body; nothing of the
/// caller's token is echoed.
fn www_authenticate(code: &str) -> HeaderValue {
    if code == code::MISSING_TOKEN {
        HeaderValue::from_static("Bearer")
    } else {
        HeaderValue::from_static("Bearer error=\"invalid_token\"")
    }
}

/// The router's answer to a path it does not know.
pub async fn not_found() -> HttpError {
    HttpError::not_found("no resource at this path")
}

/// The router's answer to a known path with a method it does not serve.
pub async fn method_not_allowed() -> HttpError {
    HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        code::METHOD_NOT_ALLOWED,
        "this path does not accept that method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace_context::TraceContext;
    use http_body_util::BodyExt;

    #[test]
    fn a_401_challenges_with_bearer_and_says_invalid_token_when_one_was_refused() {
        let res = HttpError::new(StatusCode::UNAUTHORIZED, code::MISSING_TOKEN, "no token")
            .into_response();
        assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let res = HttpError::new(StatusCode::UNAUTHORIZED, code::TOKEN_EXPIRED, "expired")
            .into_response();
        assert_eq!(
            res.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        let res = HttpError::not_found("x").into_response();
        assert!(!res.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[tokio::test]
    async fn an_error_carries_the_request_id_degradations_and_retry_after() {
        let ctx = RequestContext::new("req-1".into(), TraceContext::new_root(), None);
        ctx.mark_degraded(crate::degradation::Degradation::Idp);
        let res = ctx
            .scope(async {
                HttpError::unavailable(code::IDP_UNAVAILABLE, "login is down").into_response()
            })
            .await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let body: ErrorBody = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(body.error.code, "idp_unavailable");
        assert_eq!(body.error.request_id.as_deref(), Some("req-1"));
        assert_eq!(body.error.degraded, vec!["idp"]);
    }
}
