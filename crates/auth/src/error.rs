//! Why a request was not authenticated or not authorised, and how that is answered.
//!
//! [`AuthError`] has one variant per condition so callers and tests can match on exactly what
//! failed; [`AuthError::to_http`] is the single place that chooses the status and the
//! stable error code of the JSON body:
//!
//! | status | codes |
//! |---|---|
//! | 400 | `conflicting_tokens` |
//! | 401 | `missing_token`, `malformed_token`, `token_too_large`, `wrong_token_type`, `unsupported_critical_header`, `algorithm_not_allowed`, `unknown_key`, `bad_signature`, `missing_claim`, `wrong_issuer`, `wrong_audience`, `token_expired`, `token_not_yet_valid`, `token_lifetime_too_long` |
//! | 403 | `forbidden` ("missing permission `x`"), `no_profile`, `inactive_user` |
//! | 503 | `idp_unavailable` (keys beyond their grace, or none yet), `authorisation_unavailable` |
//!
//! Key lifecycle failures ([`FetchError`]) never reach a client directly: they are logged,
//! counted and shown on the status page, and only surface as `idp_unavailable` once the
//! grace is spent.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tis_core::HttpError;
use tis_core::error::code;

/// Where two different tokens came from, for the message: `two Authorization headers`, or
/// `Authorization and OIDC_access_token`.
fn conflict(first: &str, second: &str) -> String {
    if first == second {
        format!("two {first} headers")
    } else {
        format!("{first} and {second}")
    }
}

/// A request that could not be authenticated or authorised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no access token: send `Authorization: Bearer <token>`")]
    MissingToken,
    /// Two different tokens, in the headers named (the same name twice: two such headers).
    #[error("two different tokens were sent ({})", conflict(.0, .1))]
    ConflictingTokens(&'static str, &'static str),
    #[error("the token is {len} bytes, over the limit of {max}")]
    TokenTooLarge { len: usize, max: usize },
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    #[error("the token type {0:?} is not accepted here")]
    WrongTokenType(String),
    /// The header's name stays in the value (for logs); the message never echoes what the
    /// caller wrote.
    #[error("the token requires understanding a header (`crit`) we do not")]
    UnsupportedCritical(String),
    #[error("the signature algorithm {0:?} is not accepted")]
    AlgorithmNotAllowed(String),
    #[error("the algorithm {alg} does not fit key {kid:?}")]
    KeyAlgorithmMismatch { kid: String, alg: String },
    #[error("the token names no signing key (`kid`)")]
    MissingKeyId,
    /// The `kid` stays in the value (for logs); the message never echoes what the caller
    /// wrote.
    #[error("the token's signing key (`kid`) is not known")]
    UnknownKey(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the token has no `{0}` claim")]
    MissingClaim(String),
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is not meant for this service")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token lives longer than {max_secs}s")]
    LifetimeTooLong { max_secs: u64 },
    /// The identity provider's keys are beyond their grace (or were never fetched): we cannot
    /// tell a good token from a forged one, and that is our problem, not the caller's.
    #[error("the identity provider's signing keys are unavailable{}", age_note(.key_age))]
    IdpUnavailable { key_age: Option<Duration> },
    #[error("missing permission `{0}`")]
    Forbidden(String),
    #[error("user {0:?} has no TIS profile")]
    NoProfile(String),
    #[error("user {0:?} is inactive in TIS")]
    InactiveUser(String),
    #[error("the authorisation service is unavailable")]
    ProfileUnavailable,
}

fn age_note(age: &Option<Duration>) -> String {
    match age {
        Some(age) => format!(" (last confirmed {}s ago)", age.as_secs()),
        None => " (none were ever fetched)".into(),
    }
}

impl AuthError {
    /// The stable machine-readable code of this error (also the `outcome` label of metrics).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => code::MISSING_TOKEN,
            AuthError::ConflictingTokens(..) => code::CONFLICTING_TOKENS,
            AuthError::TokenTooLarge { .. } => code::TOKEN_TOO_LARGE,
            AuthError::Malformed(_) => code::MALFORMED_TOKEN,
            AuthError::WrongTokenType(_) => code::WRONG_TOKEN_TYPE,
            AuthError::UnsupportedCritical(_) => code::UNSUPPORTED_CRITICAL_HEADER,
            AuthError::AlgorithmNotAllowed(_) | AuthError::KeyAlgorithmMismatch { .. } => {
                code::ALGORITHM_NOT_ALLOWED
            }
            AuthError::MissingKeyId | AuthError::UnknownKey(_) => code::UNKNOWN_KEY,
            AuthError::BadSignature => code::BAD_SIGNATURE,
            AuthError::MissingClaim(_) => code::MISSING_CLAIM,
            AuthError::WrongIssuer => code::WRONG_ISSUER,
            AuthError::WrongAudience => code::WRONG_AUDIENCE,
            AuthError::Expired => code::TOKEN_EXPIRED,
            AuthError::NotYetValid => code::TOKEN_NOT_YET_VALID,
            AuthError::LifetimeTooLong { .. } => code::TOKEN_LIFETIME_TOO_LONG,
            AuthError::IdpUnavailable { .. } => code::IDP_UNAVAILABLE,
            AuthError::Forbidden(_) => code::FORBIDDEN,
            AuthError::NoProfile(_) => code::NO_PROFILE,
            AuthError::InactiveUser(_) => code::INACTIVE_USER,
            AuthError::ProfileUnavailable => code::AUTHORISATION_UNAVAILABLE,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::ConflictingTokens(..) => StatusCode::BAD_REQUEST,
            AuthError::Forbidden(_) | AuthError::NoProfile(_) | AuthError::InactiveUser(_) => {
                StatusCode::FORBIDDEN
            }
            AuthError::IdpUnavailable { .. } | AuthError::ProfileUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The one mapping from an authentication failure to the JSON error answer.
    pub fn to_http(&self) -> HttpError {
        let err = HttpError::new(self.status(), self.code(), self.to_string());
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            err.with_retry_after(5)
        } else {
            err
        }
    }
}

impl From<AuthError> for HttpError {
    fn from(err: AuthError) -> Self {
        err.to_http()
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        self.to_http().into_response()
    }
}

/// Why one fetch of the identity provider's keys failed. Good keys are never replaced by
/// the result of a failed fetch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("GET {url}: {message}")]
    Transport { url: String, message: String },
    #[error("GET {url}: status {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: the response is over {max} bytes")]
    TooLarge { url: String, max: usize },
    #[error("GET {url}: not a valid document: {message}")]
    Invalid { url: String, message: String },
    #[error("the discovery document names issuer {found:?}, not {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("{url}: no usable signing key in the key set")]
    NoUsableKeys { url: String },
    #[error("the fetch took longer than {0:?}")]
    Timeout(Duration),
    #[error("the fetch task failed: {0}")]
    Task(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_beyond_grace_are_a_503_not_a_401() {
        let err = AuthError::IdpUnavailable {
            key_age: Some(Duration::from_secs(50_000)),
        }
        .to_http();
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.code, "idp_unavailable");
        assert_eq!(err.retry_after_secs, Some(5));
        assert!(err.message.contains("50000s"), "{}", err.message);
    }

    #[test]
    fn a_missing_permission_is_a_403_naming_it() {
        let err = AuthError::Forbidden("tcs:view:entities".into()).to_http();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        assert_eq!(err.code, "forbidden");
        assert_eq!(err.message, "missing permission `tcs:view:entities`");
    }

    #[test]
    fn token_failures_are_401s_with_their_own_codes() {
        for (err, code) in [
            (AuthError::MissingToken, "missing_token"),
            (AuthError::Expired, "token_expired"),
            (AuthError::BadSignature, "bad_signature"),
            (AuthError::WrongIssuer, "wrong_issuer"),
            (AuthError::WrongAudience, "wrong_audience"),
            (AuthError::Malformed("x"), "malformed_token"),
            (
                AuthError::TokenTooLarge { len: 9, max: 8 },
                "token_too_large",
            ),
            (AuthError::UnknownKey("k".into()), "unknown_key"),
        ] {
            let http = err.to_http();
            assert_eq!(http.status, StatusCode::UNAUTHORIZED, "{code}");
            assert_eq!(http.code, code);
        }
    }

    #[test]
    fn what_the_caller_wrote_in_the_header_is_never_echoed() {
        let evil = "<script>alert(1)</script>";
        for err in [
            AuthError::UnknownKey(evil.into()),
            AuthError::UnsupportedCritical(evil.into()),
        ] {
            let http = err.to_http();
            assert!(!http.message.contains("script"), "{}", http.message);
        }
    }
}
