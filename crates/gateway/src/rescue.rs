//! The one place where a failure of the routed path becomes an HTTP answer.
//!
//! Every step of the routed path returns `BoxError`; this function looks at the error's
//! *type* once and picks the status and the stable code of the standard JSON body
//! (`{"error":{"code","message","requestId","degraded":[…]}}`, rendered by
//! `tis_core::HttpError` with the request id and degradations of the current request):
//!
//! | error | status | code |
//! |---|---|---|
//! | [`NoRoute`] | 404 | `not_found` |
//! | [`InvalidTimeout`] | 400 | `invalid_request_timeout` |
//! | [`PayloadTooLarge`], a body over the limit while streaming | 413 | `payload_too_large` |
//! | [`AuthError`] | 401 / 403 / 503 | tis-auth's codes: `missing_token`, `token_expired`, … `idp_unavailable` (see `AuthError::to_http`) |
//! | [`Overloaded`] (the gateway's limit) | 503 + `Retry-After` | `overloaded` |
//! | [`MeshError`] | 503 / 504 / 502 | `no_healthy_endpoints`, `overloaded`, `upstream_unavailable`, `deadline_exceeded`, `upstream_timeout` (see `tis_mesh::error`) |
//! | [`DeadlineExceeded`] (the gateway's own wait) | 504 | `deadline_exceeded` |
//! | anything else | 500 | `internal_error` |

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http_body_util::LengthLimitError;
use tis_auth::AuthError;
use tis_core::HttpError;
use tis_core::error::code;
use tis_mesh::{BoxError, MeshError};

use crate::error::{
    DeadlineExceeded, InvalidTimeout, MintFailed, NoRoute, Overloaded, PayloadTooLarge,
};

/// Maps a failure of the routed path to its answer (see the module documentation).
pub fn rescue(err: BoxError) -> Response {
    to_http(err).into_response()
}

/// The [`HttpError`] for a failure; [`rescue`] renders it.
pub fn to_http(err: BoxError) -> HttpError {
    let err = match err.downcast::<AuthError>() {
        Ok(e) => {
            crate::metrics::auth_failure(e.code());
            return e.to_http();
        }
        Err(e) => e,
    };
    let err = match err.downcast::<MeshError>() {
        Ok(e) => {
            if too_large(&*e) {
                return payload_too_large(None);
            }
            // The body is public: the service by name, never its instances' addresses.
            tracing::warn!(error.code = e.code(), error.message = %e, "upstream call failed");
            let public = e.public_message();
            let mut http = HttpError::from(*e);
            http.message = public;
            return http;
        }
        Err(e) => e,
    };
    if let Some(e) = err.downcast_ref::<NoRoute>() {
        return HttpError::not_found(e.to_string());
    }
    if let Some(e) = err.downcast_ref::<Overloaded>() {
        return HttpError::unavailable(code::OVERLOADED, e.to_string());
    }
    if let Some(e) = err.downcast_ref::<DeadlineExceeded>() {
        return HttpError::new(
            StatusCode::GATEWAY_TIMEOUT,
            code::DEADLINE_EXCEEDED,
            e.to_string(),
        );
    }
    if let Some(e) = err.downcast_ref::<InvalidTimeout>() {
        return HttpError::bad_request(code::INVALID_REQUEST_TIMEOUT, e.to_string());
    }
    if let Some(e) = err.downcast_ref::<PayloadTooLarge>() {
        return payload_too_large(Some(e.limit));
    }
    if too_large(&*err) {
        return payload_too_large(None);
    }
    if let Some(e) = err.downcast_ref::<MintFailed>() {
        tracing::error!(error.message = %e, "principal signing failed");
        return HttpError::internal("the gateway could not sign the request's principal");
    }
    tracing::error!(error.message = %err, "unexpected gateway error");
    HttpError::internal("an unexpected error occurred")
}

fn payload_too_large(limit: Option<usize>) -> HttpError {
    let message = match limit {
        Some(l) => format!("the request body is larger than {l} bytes"),
        None => "the request body is larger than this gateway accepts".to_owned(),
    };
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        code::PAYLOAD_TOO_LARGE,
        message,
    )
}

/// Whether a body length limit is somewhere in the error's causes (a chunked body that grew
/// past `body_limit` while it was being forwarded).
fn too_large(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if e.is::<LengthLimitError>() {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests;
