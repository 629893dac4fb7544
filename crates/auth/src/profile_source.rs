//! Where a principal's profile comes from when a service is called with a raw identity
//! provider token instead of a gateway principal (a batch job calling a service directly).
//!
//! The gateway and the Profile service's cached client implement [`ProfileSource`] over the
//! real Profile data; [`RoleCatalogue`](crate::catalogue::RoleCatalogue) implements it from
//! the token's realm roles alone, so that a service can authorise without any other service
//! being up (the 2020 `/etl/api` path of TCS did the same with `hasRole('ETL')`).

use futures::future::BoxFuture;

use crate::claims::AccessClaims;
use crate::error::AuthError;
use crate::principal::UserProfile;

/// A resolved profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedProfile {
    pub profile: UserProfile,
    /// Served from stale data because the source of truth was unreachable.
    pub stale: bool,
    /// How much longer this answer is current at its source (a cache's remaining freshness;
    /// zero when it was served while being revalidated or stale); `None` when it does not
    /// age (a static catalogue). Whoever keeps the answer (the gateway's per-token reuse)
    /// must not keep it longer, so that a change in Profile reaches a live session within
    /// the fresh window.
    pub fresh_for: Option<std::time::Duration>,
}

/// Why no profile could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The identity provider knows the user but TIS does not: 403 `no_profile`.
    #[error("user {0:?} has no TIS profile")]
    NoProfile(String),
    /// The user's TIS profile is switched off: 403 `inactive_user`.
    #[error("user {0:?} is inactive")]
    Inactive(String),
    /// The source of profiles is unreachable and nothing usable is cached: 503, never 401.
    #[error("profiles unavailable: {0}")]
    Unavailable(String),
}

impl From<ProfileError> for AuthError {
    fn from(err: ProfileError) -> Self {
        match err {
            ProfileError::NoProfile(user) => AuthError::NoProfile(user),
            ProfileError::Inactive(user) => AuthError::InactiveUser(user),
            ProfileError::Unavailable(_) => AuthError::ProfileUnavailable,
        }
    }
}

/// A source of user profiles for verified access tokens.
///
/// `token` is the caller's raw access token, already verified: a source that asks the
/// Profile service (`/userinfo` authenticates the user by it) forwards it; `claims` are its
/// verified claims.
pub trait ProfileSource: Send + Sync + 'static {
    fn profile<'a>(
        &'a self,
        token: &'a str,
        claims: &'a AccessClaims,
    ) -> BoxFuture<'a, Result<ResolvedProfile, ProfileError>>;
}
