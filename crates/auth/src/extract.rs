//! Authentication as an axum extractor, for services.
//!
//! A service builds one [`Authenticator`] at start-up and puts it in its state (anything
//! that implements `FromRef<S> for Authenticator`, e.g. with `#[derive(FromRef)]`); handlers
//! take [`Authenticated`]:
//!
//! ```ignore
//! async fn list_grades(Authenticated(who): Authenticated) -> Result<Json<Vec<Grade>>, ApiError> {
//!     who.require_authority("reference:view:entities")?;
//!     Ok(Json(grades_visible_to(&who).await?))
//! }
//! ```
//!
//! What it accepts, in order:
//! 1. `TIS-Principal`: verified against the gateway's public keys, this service's name as
//!    audience. A request carrying a bad principal is refused: it is never "upgraded" by also
//!    looking at an access token.
//! 2. Otherwise, when access tokens are enabled, `Authorization: Bearer` (or the legacy
//!    `OIDC_access_token`), verified through the JWKS cache, and the profile from the
//!    configured [`ProfileSource`] (a batch job calling the service directly).
//! 3. Otherwise 401 `missing_token`.
//!
//! Degradations carried by the principal (and `idp` when the keys are degraded,
//! `profile-stale` when the profile is stale) are marked on the request, so the response
//! carries `TIS-Degraded`. The principal is also stored in the request extensions, so a
//! second extraction in the same request costs nothing.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use http::HeaderMap;
use http::request::Parts;

use crate::error::AuthError;
use crate::principal::{AuthenticatedBy, PRINCIPAL_HEADER, Principal, PrincipalVerifier};
use crate::profile_source::ProfileSource;
use tis_core::Degradation;

use crate::verify::AccessTokenVerifier;

/// Authenticates requests (see the module documentation). Cheap to clone.
#[derive(Clone)]
pub struct Authenticator(Arc<Inner>);

struct Inner {
    principals: Option<PrincipalVerifier>,
    access: Option<(AccessTokenVerifier, Arc<dyn ProfileSource>)>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("principals", &self.0.principals)
            .field("access_tokens", &self.0.access.as_ref().map(|(v, _)| v))
            .finish()
    }
}

impl Authenticator {
    /// Accepts gateway principals only.
    pub fn new(principals: PrincipalVerifier) -> Self {
        Authenticator(Arc::new(Inner {
            principals: Some(principals),
            access: None,
        }))
    }

    /// Accepts identity-provider access tokens only (with profiles from `profiles`).
    pub fn access_tokens_only(
        verifier: AccessTokenVerifier,
        profiles: Arc<dyn ProfileSource>,
    ) -> Self {
        Authenticator(Arc::new(Inner {
            principals: None,
            access: Some((verifier, profiles)),
        }))
    }

    /// Also accepts identity-provider access tokens when no principal is sent.
    pub fn with_access_tokens(
        self,
        verifier: AccessTokenVerifier,
        profiles: Arc<dyn ProfileSource>,
    ) -> Self {
        Authenticator(Arc::new(Inner {
            principals: self.0.principals.clone(),
            access: Some((verifier, profiles)),
        }))
    }

    /// Authenticates a request by its headers.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let principal_header = headers.get(PRINCIPAL_HEADER);
        if let (Some(value), Some(verifier)) = (principal_header, &self.0.principals) {
            let token = value
                .to_str()
                .map_err(|_| AuthError::Malformed("TIS-Principal is not visible ASCII"))?;
            let principal = verifier.verify(token.trim())?;
            for d in &principal.degraded {
                tis_core::context::relay_degraded(d);
            }
            if principal.stale {
                tis_core::context::mark_degraded(Degradation::ProfileStale);
            }
            return Ok(principal);
        }
        let Some((verifier, profiles)) = &self.0.access else {
            return Err(AuthError::MissingToken);
        };
        let token = crate::headers::bearer_token(headers)?;
        let verified = verifier.verify(token).await?;
        let resolved = profiles.profile(token, &verified.claims).await?;
        let mut principal = Principal::new(resolved.profile, AuthenticatedBy::AccessToken);
        principal.stale = resolved.stale;
        if verified.degraded {
            principal.mark_degraded(Degradation::Idp);
        }
        if resolved.stale {
            principal.mark_degraded(Degradation::ProfileStale);
            tis_core::context::mark_degraded(Degradation::ProfileStale);
        }
        Ok(principal)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl std::ops::Deref for Authenticated {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    Authenticator: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Authenticated(p.clone()));
        }
        let auth = Authenticator::from_ref(state);
        let principal = auth.authenticate(&parts.headers).await?;
        parts.extensions.insert(principal.clone());
        Ok(Authenticated(principal))
    }
}
