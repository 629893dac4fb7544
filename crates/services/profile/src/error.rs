//! What can go wrong in a request, in Profile's own terms, and the one place each is turned
//! into the standard JSON error (`tis_core::HttpError`).
//!
//! | variant | status | code |
//! |---|---|---|
//! | `Validation` | 400 | `validation_failed` (with `fields`) |
//! | `BadQuery` | 400 | `invalid_query` |
//! | `NotFound` | 404 | `not_found` |
//! | `Conflict` | 409 | `conflict` (a duplicate name; a role still held; a permission still granted) |
//! | `NoProfile` | 404 | `no_profile`: `/userinfo` for a user Profile does not know |
//! | `Inactive` | 403 | `inactive_user`: `/userinfo` for a user who is not active |
//! | `ReferenceUnavailable` | 503 + `Retry-After` + `TIS-Degraded: dependency-reference` | `dependency_unavailable`: designated bodies could not be checked |
//! | `Auth` | 400/401/403/503 | from tis-auth (`missing_token`, `forbidden` naming the permission…) |
//! | `Store` | 409/503/500 | from tis-store (`conflict`, `database_unavailable`…) |
//! | `Http` | any | an error already in its final form (extractor rejections) |
//!
//! `TIS-Degraded: dependency-reference` says the outage is Reference's, which every Profile
//! instance shares: the gateway's breakers must not eject this instance for it (tis-mesh's
//! `shared_outage`), or a Reference outage would take every Profile read down with the writes.
//!
//! `no_profile` and `inactive_user` are what the Profile client (tis-profile-client) reads to
//! tell "no such user" and "inactive" from an outage; the gateway answers both with 403.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tis_auth::AuthError;
use tis_core::{FieldError, HttpError};
use tis_store::StoreError;

use crate::reference::ReferenceUnavailable;

/// The degradation a 503 `dependency_unavailable` carries: Reference, shared by every
/// instance, is unavailable (not this instance).
pub const DEGRADED_REFERENCE: &str = "dependency-reference";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid fields: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadQuery(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("user {0:?} has no TIS profile")]
    NoProfile(String),
    #[error("user {0:?} is not active in TIS")]
    Inactive(String),
    #[error(transparent)]
    ReferenceUnavailable(#[from] ReferenceUnavailable),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Http(HttpError),
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn bad_query(message: impl Into<String>) -> Self {
        ApiError::BadQuery(message.into())
    }
}

impl From<tis_core::paging::PagingError> for ApiError {
    fn from(err: tis_core::paging::PagingError) -> Self {
        ApiError::BadQuery(err.to_string())
    }
}

impl From<HttpError> for ApiError {
    fn from(err: HttpError) -> Self {
        ApiError::Http(err)
    }
}

impl From<ApiError> for HttpError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Validation(fields) => HttpError::validation(fields),
            ApiError::BadQuery(message) => HttpError::bad_request("invalid_query", message),
            ApiError::NotFound(message) => HttpError::not_found(message),
            ApiError::Conflict(message) => HttpError::conflict(message),
            e @ ApiError::NoProfile(_) => {
                HttpError::new(StatusCode::NOT_FOUND, "no_profile", e.to_string())
            }
            e @ ApiError::Inactive(_) => {
                HttpError::new(StatusCode::FORBIDDEN, "inactive_user", e.to_string())
            }
            ApiError::ReferenceUnavailable(e) => {
                tis_core::context::mark_degraded(DEGRADED_REFERENCE);
                HttpError::unavailable(
                    "dependency_unavailable",
                    format!(
                        "the designated bodies cannot be checked because Reference is unavailable; try again shortly ({})",
                        e.0
                    ),
                )
            }
            ApiError::Auth(e) => e.to_http(),
            ApiError::Store(e) => e.into_http(),
            ApiError::Http(e) => e,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_condition_has_its_status_and_code() {
        let cases = [
            (
                ApiError::field("name", "must not be blank"),
                400,
                "validation_failed",
            ),
            (ApiError::bad_query("size"), 400, "invalid_query"),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::Conflict("x".into()), 409, "conflict"),
            (ApiError::NoProfile("ghost".into()), 404, "no_profile"),
            (ApiError::Inactive("retired".into()), 403, "inactive_user"),
            (
                ApiError::ReferenceUnavailable(ReferenceUnavailable("down".into())),
                503,
                "dependency_unavailable",
            ),
            (
                ApiError::Auth(AuthError::Forbidden("profile:view:entities".into())),
                403,
                "forbidden",
            ),
            (
                ApiError::Store(StoreError::Unavailable("down".into())),
                503,
                "database_unavailable",
            ),
        ];
        for (err, status, code) in cases {
            let http = HttpError::from(err);
            assert_eq!((http.status.as_u16(), http.code.as_ref()), (status, code));
        }
    }

    #[test]
    fn an_unavailable_reference_is_named_and_retryable() {
        let http = HttpError::from(ApiError::ReferenceUnavailable(ReferenceUnavailable(
            "no healthy endpoint".into(),
        )));
        assert!(http.message.contains("Reference"), "{}", http.message);
        assert_eq!(http.retry_after_secs, Some(1));
    }

    #[tokio::test]
    async fn an_unavailable_reference_is_marked_as_a_shared_outage_not_this_instances() {
        use tis_core::context::RequestContext;
        use tis_core::trace_context::TraceContext;
        let ctx = RequestContext::new("r".into(), TraceContext::new_root(), None);
        ctx.clone()
            .scope(async {
                let _ = HttpError::from(ApiError::ReferenceUnavailable(ReferenceUnavailable(
                    "down".into(),
                )));
            })
            .await;
        assert_eq!(ctx.degraded(), vec![DEGRADED_REFERENCE]);
    }
}
