//! Steps 4 and 5: who is calling (authentication), and what they may do (authorisation
//! context).
//!
//! **Authentication** verifies the access token locally with tis-auth (`Authorization:
//! Bearer`, or the legacy `OIDC_access_token`) against the cached, persisted JWKS. A 401
//! body says which check failed (`missing_token`, `token_expired`, `bad_signature`,
//! `wrong_audience`…); keys beyond their grace are a 503 `idp_unavailable` (our fault, not
//! the caller's); keys within grace while the IdP is unreachable verify normally and mark the
//! request `TIS-Degraded: idp` (tis-auth marks the request context).
//!
//! **Authorisation context** resolves the caller's `UserProfile` through a
//! [`ProfileSource`]: today tis-auth's static `RoleCatalogue` from the token's realm roles;
//! in issue 5 the cache-fronted Profile client, behind the same trait. The resolved
//! principal is reused for the same token for `principal_reuse` (10 s), so a busy session
//! costs one resolution per interval — but never past the freshness the profile source
//! gives its answer (`ResolvedProfile::fresh_for`): a role removed in Profile stops
//! granting access within the Profile client's fresh window, not that window plus the reuse.
//!
//! Tokens are remembered by a keyed 64-bit hash (SipHash with a per-process random key);
//! every hit is also checked against the verified claims, so even a hash collision cannot
//! hand one user another's principal.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use tis_auth::{
    AccessClaims, AccessTokenVerifier, AuthError, AuthenticatedBy, Principal, ProfileSource,
    VerifiedToken,
};
use tis_core::Degradation;
use tis_mesh::BoxError;

/// What authentication established, for the later steps.
#[derive(Debug, Clone)]
pub struct Verified {
    pub token: VerifiedToken,
    /// The token's keyed hash, for the caches of later steps.
    pub key: u64,
}

/// Step 4: authentication.
pub struct Authenticate {
    verifier: AccessTokenVerifier,
    hasher: RandomState,
}

impl Authenticate {
    pub fn new(verifier: AccessTokenVerifier) -> Self {
        Authenticate {
            verifier,
            hasher: RandomState::new(),
        }
    }
}

impl Authenticate {
    /// Verifies the request's access token (within `deadline` when keys must be fetched).
    pub async fn verify(
        &self,
        headers: &http::HeaderMap,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Verified, BoxError> {
        let raw = tis_auth::bearer_token(headers)?;
        let key = self.hasher.hash_one(raw);
        let token = super::deadline::within(
            deadline,
            "the identity provider's keys",
            self.verifier.verify(raw),
        )
        .await?;
        Ok(Verified { token, key })
    }
}

/// A resolved principal, remembered per token until `until`.
struct Resolved {
    claims: Arc<AccessClaims>,
    principal: Arc<Principal>,
    /// `principal_reuse` after resolution, or sooner when the profile source said its
    /// answer was current for less (a cached profile near the end of its fresh window, or
    /// one served while being revalidated: not reused at all).
    until: tokio::time::Instant,
}

/// Step 5: the authorisation context.
pub struct Authorise {
    profiles: Arc<dyn ProfileSource>,
    cache: Cache<(u64, bool), Arc<Resolved>>,
    reuse: Duration,
}

impl Authorise {
    pub fn new(profiles: Arc<dyn ProfileSource>, reuse: Duration) -> Self {
        Authorise {
            profiles,
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(reuse)
                .build(),
            reuse,
        }
    }

    async fn resolve(&self, raw: &str, verified: &Verified) -> Result<Arc<Principal>, AuthError> {
        let token = &verified.token;
        let key = (verified.key, token.degraded);
        if let Some(hit) = self.cache.get(&key)
            && tokio::time::Instant::now() < hit.until
            && (Arc::ptr_eq(&hit.claims, &token.claims) || *hit.claims == *token.claims)
        {
            return Ok(hit.principal.clone());
        }
        let resolved = self.profiles.profile(raw, &token.claims).await?;
        let keep = resolved.fresh_for.map_or(self.reuse, |f| f.min(self.reuse));
        let mut principal = Principal::new(resolved.profile, AuthenticatedBy::AccessToken);
        principal.stale = resolved.stale;
        if token.degraded {
            principal.mark_degraded(Degradation::Idp);
        }
        if resolved.stale {
            principal.mark_degraded(Degradation::ProfileStale);
        }
        let principal = Arc::new(principal);
        if !keep.is_zero() {
            self.cache.insert(
                key,
                Arc::new(Resolved {
                    claims: token.claims.clone(),
                    principal: principal.clone(),
                    until: tokio::time::Instant::now() + keep,
                }),
            );
        }
        Ok(principal)
    }
}

impl Authorise {
    /// The caller's principal (marks the request `profile-stale` when it was stale).
    pub async fn authorise(
        &self,
        headers: &http::HeaderMap,
        verified: &Verified,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Arc<Principal>, BoxError> {
        let raw = tis_auth::bearer_token(headers)?;
        let principal = super::deadline::within(
            deadline,
            "the caller's profile",
            self.resolve(raw, verified),
        )
        .await?;
        if principal.stale {
            tis_core::context::mark_degraded(Degradation::ProfileStale);
        }
        Ok(principal)
    }
}
