//! Why no profile could be had, one variant per condition, and its HTTP answer.
//!
//! | variant | status | code | when |
//! |---|---|---|---|
//! | `NoProfile` | 403 | `no_profile` | Profile has no user of that name (or the token names none) |
//! | `Inactive` | 403 | `inactive_user` | the user exists but is not active |
//! | `Unavailable` | 503 + `Retry-After` | `authorisation_unavailable` | Profile cannot be reached (or answered unusably) and nothing usable is cached |
//!
//! Never a 401 (the caller's token was fine) and never a 500.
//!
//! Through tis-auth's [`ProfileSource`](tis_auth::ProfileSource) trait the same three
//! conditions arrive as [`ProfileError`] and answer with the same codes.

use http::StatusCode;
use tis_auth::ProfileError;
use tis_core::HttpError;
use tis_core::error::code;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("user {0:?} has no TIS profile")]
    NoProfile(String),
    #[error("user {0:?} is not active in TIS")]
    Inactive(String),
    #[error("the authorisation service is unavailable: {0}")]
    Unavailable(String),
}

impl ClientError {
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::NoProfile(_) => code::NO_PROFILE,
            ClientError::Inactive(_) => code::INACTIVE_USER,
            ClientError::Unavailable(_) => code::AUTHORISATION_UNAVAILABLE,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ClientError::NoProfile(_) | ClientError::Inactive(_) => StatusCode::FORBIDDEN,
            ClientError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON error answer. The message of `Unavailable` does not leak the cause (logged
    /// instead): callers only need to know to retry.
    pub fn to_http(&self) -> HttpError {
        match self {
            ClientError::Unavailable(_) => HttpError::unavailable(
                code::AUTHORISATION_UNAVAILABLE,
                "the authorisation service is unavailable; try again shortly",
            )
            .with_retry_after(5),
            other => HttpError::new(other.status(), other.code(), other.to_string()),
        }
    }
}

impl From<ClientError> for HttpError {
    fn from(err: ClientError) -> Self {
        err.to_http()
    }
}

impl From<ClientError> for ProfileError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::NoProfile(user) => ProfileError::NoProfile(user),
            ClientError::Inactive(user) => ProfileError::Inactive(user),
            ClientError::Unavailable(why) => ProfileError::Unavailable(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_condition_has_its_status_and_code() {
        let cases = [
            (ClientError::NoProfile("a".into()), 403, "no_profile"),
            (ClientError::Inactive("a".into()), 403, "inactive_user"),
            (
                ClientError::Unavailable("refused".into()),
                503,
                "authorisation_unavailable",
            ),
        ];
        for (err, status, code) in cases {
            let http = err.to_http();
            assert_eq!((http.status.as_u16(), http.code.as_ref()), (status, code));
        }
        assert_eq!(
            ClientError::Unavailable("x".into())
                .to_http()
                .retry_after_secs,
            Some(5)
        );
    }

    #[test]
    fn through_tis_auth_a_missing_or_inactive_user_is_a_403_and_an_outage_a_503() {
        let unknown: tis_auth::AuthError =
            ProfileError::from(ClientError::Inactive("a".into())).into();
        assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
        let down: tis_auth::AuthError =
            ProfileError::from(ClientError::Unavailable("x".into())).into();
        assert_eq!(down.code(), "authorisation_unavailable");
    }
}
