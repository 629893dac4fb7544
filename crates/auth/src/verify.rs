//! Verification of identity-provider access tokens, locally, against the cached keys.
//!
//! The order, cheapest and least trusting first:
//! 1. size limit (before hashing or parsing anything);
//! 2. the verified-token cache (SHA-256 of the token), re-checking `exp` and key trust;
//! 3. the front end (`token.rs`): shape, header, `crit`, `typ`, `alg`, `kid`;
//! 4. the key for `kid` (fetching once, rate-limited, if it is unknown) and its trust state:
//!    beyond grace is 503 `idp_unavailable`;
//! 5. the algorithm must be one the key allows (an RS256 key never checks an ES256 or HS256
//!    signature);
//! 6. the signature, with the aws-lc-rs key parsed once per JWK and algorithm (`jws`), then
//!    the claims, parsed once: `exp`, `iss` and `aud` required, `iss` exact;
//! 7. the time checks (`exp`, `nbf`, `iat` with the configured skew, on the injectable
//!    clock) and the audience (`aud`, else Keycloak's `azp`).
//!
//! When the keys are degraded (IdP unreachable, within grace) the request is marked
//! `TIS-Degraded: idp` ([`Degradation::Idp`]) through `tis_core::context::mark_degraded`.

use std::sync::Arc;

use http::HeaderMap;
use jsonwebtoken::Algorithm;
use tis_core::Degradation;

use crate::cache::VerifiedCache;
use crate::claims::{AccessClaims, check_times};
use crate::config::{AuthConfig, ConfigError};
use crate::error::AuthError;
use crate::headers;
use crate::jwks::{JwksCache, Lookup};
use crate::jws;
use crate::keys::VerificationKey;
use crate::metrics::{self, TokenKind};
use crate::token::{self, TokenHead, TypPolicy};

/// A verified access token.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub claims: Arc<AccessClaims>,
    /// The key that verified it.
    pub kid: Arc<str>,
    /// The keys were within grace but not recently confirmed: the identity provider is
    /// unreachable.
    pub degraded: bool,
    /// Served from the verified-token cache.
    pub cached: bool,
}

/// Verifies access tokens of one issuer for one set of audiences. Cheap to clone.
#[derive(Clone)]
pub struct AccessTokenVerifier(Arc<Inner>);

struct Inner {
    keys: JwksCache,
    issuer: String,
    audience: Vec<String>,
    skew: u64,
    max_bytes: usize,
    accepted: Vec<Algorithm>,
    cache: VerifiedCache<AccessClaims>,
    /// The counters of the outcomes of nearly every request: `ok`, then `cached`.
    succeeded: [::metrics::Counter; 2],
}

impl std::fmt::Debug for AccessTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenVerifier")
            .field("issuer", &self.0.keys.issuer())
            .field("audience", &self.0.audience)
            .finish_non_exhaustive()
    }
}

impl AccessTokenVerifier {
    pub fn new(config: &AuthConfig, keys: JwksCache) -> Result<Self, ConfigError> {
        let accepted = config.validate()?;
        metrics::describe();
        Ok(AccessTokenVerifier(Arc::new(Inner {
            keys,
            issuer: config.issuer.clone(),
            audience: config
                .audience
                .iter()
                .filter(|a| !a.trim().is_empty())
                .cloned()
                .collect(),
            skew: config.clock_skew.as_secs(),
            max_bytes: config.max_token_bytes,
            accepted,
            cache: VerifiedCache::new(config.cache_capacity),
            succeeded: ["ok", "cached"].map(|o| metrics::verifications(TokenKind::Access, o)),
        })))
    }

    /// The key cache behind this verifier (for status pages and readiness).
    pub fn keys(&self) -> &JwksCache {
        &self.0.keys
    }

    /// Verifies the token of a request (`Authorization: Bearer` or `OIDC_access_token`).
    pub async fn verify_headers(&self, headers: &HeaderMap) -> Result<VerifiedToken, AuthError> {
        match headers::bearer_token(headers) {
            Ok(token) => self.verify(token).await,
            Err(err) => {
                metrics::verification(TokenKind::Access, err.code());
                Err(err)
            }
        }
    }

    /// Verifies a token, fetching keys once (rate-limited) if its `kid` is unknown.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        let result = match self.verify_now_inner(token) {
            Err(Pending::Refresh(head)) => self.verify_after_refresh(token, head).await,
            Err(Pending::Failed(err)) => Err(err),
            Ok(v) => Ok(v),
        };
        self.finish(result)
    }

    /// Verifies a token with the keys in memory, never fetching: an unknown `kid` is
    /// refused at once. For hot paths without a runtime, benchmarks and fuzzing.
    pub fn verify_now(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        let result = match self.verify_now_inner(token) {
            Err(Pending::Refresh(head)) => Err(match self.0.keys.lookup(&head.kid) {
                Lookup::Untrusted(age) => AuthError::IdpUnavailable { key_age: age },
                _ => AuthError::UnknownKey(head.kid.chars().take(64).collect()),
            }),
            Err(Pending::Failed(err)) => Err(err),
            Ok(v) => Ok(v),
        };
        self.finish(result)
    }

    fn finish(&self, result: Result<VerifiedToken, AuthError>) -> Result<VerifiedToken, AuthError> {
        if let Ok(v) = &result
            && v.degraded
        {
            tis_core::context::mark_degraded(Degradation::Idp);
        }
        if let Err(AuthError::IdpUnavailable { .. }) = &result {
            tis_core::context::mark_degraded(Degradation::Idp);
        }
        match &result {
            Ok(v) => self.0.succeeded[usize::from(v.cached)].increment(1),
            Err(e) => metrics::verification(TokenKind::Access, e.code()),
        }
        result
    }

    fn verify_now_inner(&self, token: &str) -> Result<VerifiedToken, Pending> {
        token::check_size(token, self.0.max_bytes).map_err(Pending::Failed)?;
        let hash = VerifiedCache::<AccessClaims>::hash(token);
        if let Some(hit) = self.cached(&hash) {
            return hit.map_err(Pending::Failed);
        }
        let head = token::inspect(
            token,
            self.0.max_bytes,
            TypPolicy::AccessToken,
            &self.0.accepted,
        )
        .map_err(Pending::Failed)?;
        match self.0.keys.lookup(&head.kid) {
            Lookup::Trusted(key, degraded) => self
                .check_signed(token, &head, &key, degraded, hash)
                .map_err(Pending::Failed),
            Lookup::Unknown | Lookup::Untrusted(_) => Err(Pending::Refresh(head)),
        }
    }

    async fn verify_after_refresh(
        &self,
        token: &str,
        head: TokenHead,
    ) -> Result<VerifiedToken, AuthError> {
        let (key, degraded) = self.0.keys.key_for(&head.kid).await?;
        let hash = VerifiedCache::<AccessClaims>::hash(token);
        self.check_signed(token, &head, &key, degraded, hash)
    }

    fn cached(&self, hash: &[u8; 32]) -> Option<Result<VerifiedToken, AuthError>> {
        let entry = self.0.cache.get(hash)?;
        let now = self.0.keys.clock().unix_secs();
        if now > entry.exp.saturating_add(self.0.skew) {
            self.0.cache.remove(hash);
            return Some(Err(AuthError::Expired));
        }
        match self.0.keys.still_trusts(&entry.kid, &entry.key) {
            Some(degraded) => Some(Ok(VerifiedToken {
                claims: Arc::clone(&entry.value),
                kid: entry.kid.clone(),
                degraded,
                cached: true,
            })),
            None => {
                // The key was removed or replaced, or the set left its grace: verify afresh,
                // which gives the precise answer.
                self.0.cache.remove(hash);
                None
            }
        }
    }

    fn check_signed(
        &self,
        token: &str,
        head: &TokenHead,
        key: &Arc<VerificationKey>,
        degraded: bool,
        hash: [u8; 32],
    ) -> Result<VerifiedToken, AuthError> {
        if !key.allows(head.alg) {
            return Err(AuthError::KeyAlgorithmMismatch {
                kid: head.kid.chars().take(64).collect(),
                alg: format!("{:?}", head.alg),
            });
        }
        let parsed = key
            .parsed_for(head.alg)
            .ok_or_else(|| AuthError::AlgorithmNotAllowed(format!("{:?}", head.alg)))?;
        let payload = jws::verify_signature(token, parsed)?;
        let claims: AccessClaims = jws::parse_claims(&payload)?;
        self.check_claims(&claims, &payload)?;
        let now = self.0.keys.clock().unix_secs();
        check_times(now, self.0.skew, claims.exp, claims.nbf, claims.iat)?;
        claims.check_audience(&self.0.audience)?;
        if degraded {
            self.0.keys.note_token_issued(claims.iat);
        }
        let claims = Arc::new(claims);
        let kid: Arc<str> = Arc::from(head.kid.as_str());
        self.0.cache.insert(
            hash,
            Arc::clone(&claims),
            Arc::clone(&kid),
            Arc::clone(key),
            claims.exp,
            now,
        );
        Ok(VerifiedToken {
            claims,
            kid,
            degraded,
            cached: false,
        })
    }
}

impl AccessTokenVerifier {
    /// What jsonwebtoken's validation checked: `exp`, `iss` and `aud` present, `iss` exact;
    /// and a `sub`.
    /// The parsed claims tell presence unless a claim equals its default (empty `iss`, zero
    /// `exp`, empty `aud`); only then is the payload read again for presence.
    fn check_claims(&self, claims: &AccessClaims, payload: &[u8]) -> Result<(), AuthError> {
        let looks_default = claims.iss.is_empty()
            || claims.exp == 0
            || matches!(&claims.aud, crate::claims::Audience::Many(v) if v.is_empty());
        if looks_default && let Some(missing) = jws::first_missing(payload) {
            return Err(AuthError::MissingClaim(missing.into()));
        }
        if claims.iss != self.0.issuer {
            return Err(AuthError::WrongIssuer);
        }
        // Who the token is about: a token for nobody is not a caller (RFC 9068 §2.2).
        if claims.sub.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(AuthError::MissingClaim("sub".into()));
        }
        Ok(())
    }

    /// The signature and claims step as it was before `jws` (jsonwebtoken's `decode`, which
    /// parses the key per call), for the before/after benchmark only. Same answer, slower.
    #[cfg(feature = "test-util")]
    #[doc(hidden)]
    pub fn verify_now_with_jsonwebtoken(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        token::check_size(token, self.0.max_bytes)?;
        let head = token::inspect(
            token,
            self.0.max_bytes,
            TypPolicy::AccessToken,
            &self.0.accepted,
        )?;
        let Lookup::Trusted(key, degraded) = self.0.keys.lookup(&head.kid) else {
            return Err(AuthError::UnknownKey(head.kid));
        };
        if !key.allows(head.alg) {
            return Err(AuthError::AlgorithmNotAllowed(format!("{:?}", head.alg)));
        }
        let mut validation = jsonwebtoken::Validation::new(head.alg);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[self.0.issuer.as_str()]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
            .map_err(map_jwt_error)?
            .claims;
        let now = self.0.keys.clock().unix_secs();
        check_times(now, self.0.skew, claims.exp, claims.nbf, claims.iat)?;
        claims.check_audience(&self.0.audience)?;
        Ok(VerifiedToken {
            claims: Arc::new(claims),
            kid: Arc::from(head.kid.as_str()),
            degraded,
            cached: false,
        })
    }
}

/// The synchronous part could not finish.
enum Pending {
    /// The key is unknown or untrusted: a (rate-limited) fetch may help.
    Refresh(TokenHead),
    Failed(AuthError),
}

/// Maps jsonwebtoken's errors to ours (the before/after benchmark's old path).
#[cfg(feature = "test-util")]
fn map_jwt_error(err: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => AuthError::AlgorithmNotAllowed("key mismatch".into()),
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim.clone()),
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidClaimFormat(_) => AuthError::Malformed("a claim has the wrong type"),
        // The key cannot check this signature at all (wrong size for the curve, bad modulus).
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => AuthError::BadSignature,
        ErrorKind::Base64(_) => AuthError::Malformed("a segment is not base64url"),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            AuthError::Malformed("the claims are not a JSON object of the expected shape")
        }
        _ => AuthError::Malformed("not a verifiable JWS"),
    }
}
