//! Minting and verifying `TIS-Principal` tokens.
//!
//! A principal token is a JWS: header `{"alg":"EdDSA","typ":"tis-principal+jwt","kid":<the
//! signing key's thumbprint>}`, claims `iss` (the gateway), `aud` (the target service, or
//! the services it will forward to), `sub` (the user), `iat`, `exp` (at most 60 s later),
//! the `UserProfile` fields in their original JSON names, `stale` and `degraded`.
//!
//! Verification runs the same front end as access tokens (size first, then the header: the
//! `typ` must say principal, the `alg` must be EdDSA) against a fixed list of trusted public
//! keys, so there is nothing to fetch and no way to be made to fetch. A principal whose
//! lifetime is over the limit is refused even when validly signed: a leaked long-lived
//! principal would be a bearer credential we cannot revoke.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};

use super::keyfile::{self, KeyFileError, SigningKey, TrustedKey};
use super::{AuthenticatedBy, Principal, UserProfile};
use crate::cache::VerifiedCache;
use crate::claims::{Audience, check_times, numeric_date};
use crate::clock::Clock;
use crate::config::{ConfigError, MAX_PRINCIPAL_LIFETIME, PrincipalConfig};
use crate::error::AuthError;
use crate::jws;
use crate::keys::{KeyType, VerificationKey};
use crate::metrics::{self, TokenKind};
use crate::token::{self, PRINCIPAL_TYP, TypPolicy};

/// The claims of a principal token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrincipalClaims {
    #[serde(default)]
    pub iss: String,
    #[serde(default = "no_audience")]
    pub aud: Audience,
    #[serde(default)]
    pub sub: String,
    #[serde(default, deserialize_with = "numeric_date")]
    pub iat: u64,
    #[serde(default, deserialize_with = "numeric_date")]
    pub exp: u64,
    #[serde(flatten)]
    pub profile: UserProfile,
    /// The profile came from stale data.
    #[serde(default)]
    pub stale: bool,
    /// Degradations to propagate.
    #[serde(default)]
    pub degraded: Vec<String>,
}

fn no_audience() -> Audience {
    Audience::Many(Vec::new())
}

/// Why the principal components could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PrincipalSetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("principal key: {0}")]
    Key(#[from] KeyFileError),
}

/// Signing a principal failed (a bug or a broken key, never the caller's fault).
#[derive(Debug, thiserror::Error)]
#[error("signing the principal failed: {0}")]
pub struct SignError(String);

/// Mints principal tokens (the gateway).
pub struct PrincipalSigner {
    key: SigningKey,
    issuer: String,
    lifetime: Duration,
    clock: Clock,
    header: Header,
}

impl std::fmt::Debug for PrincipalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalSigner")
            .field("kid", &self.key.kid)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl PrincipalSigner {
    /// From `signing_key_file` (or `signing_key_pem`), `issuer` and `lifetime`.
    pub fn from_config(config: &PrincipalConfig) -> Result<Self, PrincipalSetupError> {
        config.validate_common()?;
        let key = match (&config.signing_key_file, &config.signing_key_pem) {
            (Some(path), _) => keyfile::read_private(path)?,
            (None, Some(pem)) => keyfile::parse_private_pem(pem)?,
            (None, None) => {
                return Err(ConfigError::new(
                    "principal.signing_key_file",
                    "must be set to mint principals",
                )
                .into());
            }
        };
        Ok(Self::new(
            key,
            &config.issuer,
            config.lifetime,
            Clock::system(),
        ))
    }

    /// A signer with an explicit key and clock; `lifetime` is capped at 60 s.
    pub fn new(key: SigningKey, issuer: &str, lifetime: Duration, clock: Clock) -> Self {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(PRINCIPAL_TYP.to_owned());
        header.kid = Some(key.kid.clone());
        PrincipalSigner {
            key,
            issuer: issuer.to_owned(),
            lifetime: lifetime.min(MAX_PRINCIPAL_LIFETIME),
            clock,
            header,
        }
    }

    pub fn kid(&self) -> &str {
        &self.key.kid
    }

    /// The public key services must trust, as PEM.
    pub fn public_pem(&self) -> String {
        keyfile::public_pem(&self.key.public)
    }

    /// Mints a principal for `audience` (the target service, plus any it forwards to).
    pub fn mint(&self, principal: &Principal, audience: &[&str]) -> Result<String, SignError> {
        let now = self.clock.unix_secs();
        let claims = PrincipalClaims {
            iss: self.issuer.clone(),
            aud: Audience::Many(audience.iter().map(|a| (*a).to_owned()).collect()),
            sub: principal.profile.user_name.clone(),
            iat: now,
            exp: now + self.lifetime.as_secs(),
            profile: UserProfile::clone(&principal.profile),
            stale: principal.stale,
            degraded: principal.degraded.clone(),
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key.encoding)
            .map_err(|e| SignError(e.to_string()))
    }
}

/// Verifies principal tokens (every service). Cheap to clone.
#[derive(Clone)]
pub struct PrincipalVerifier(Arc<Inner>);

struct Inner {
    keys: HashMap<String, Arc<VerificationKey>>,
    issuer: String,
    audience: String,
    skew: u64,
    max_bytes: usize,
    cache: VerifiedCache<Principal>,
    clock: Clock,
    /// The counter of the outcome of nearly every request, kept (`metrics::verifications`).
    verified: ::metrics::Counter,
}

impl std::fmt::Debug for PrincipalVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalVerifier")
            .field("audience", &self.0.audience)
            .field("kids", &self.0.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl PrincipalVerifier {
    /// From `trusted_key_files` and `trusted_keys_pem`, `issuer` and `audience`.
    pub fn from_config(config: &PrincipalConfig) -> Result<Self, PrincipalSetupError> {
        let mut keys = Vec::new();
        for path in &config.trusted_key_files {
            keys.push(keyfile::read_public(path)?);
        }
        for pem in &config.trusted_keys_pem {
            keys.push(keyfile::parse_public_pem(pem)?);
        }
        Self::with_keys(config, keys, Clock::system())
    }

    /// A verifier trusting `keys`, with an explicit clock.
    pub fn with_keys(
        config: &PrincipalConfig,
        keys: Vec<TrustedKey>,
        clock: Clock,
    ) -> Result<Self, PrincipalSetupError> {
        config.validate_common()?;
        if config.audience.trim().is_empty() {
            return Err(ConfigError::new("principal.audience", "must name this service").into());
        }
        if keys.is_empty() {
            return Err(ConfigError::new(
                "principal.trusted_key_files",
                "must name at least one gateway public key",
            )
            .into());
        }
        metrics::describe();
        let mut by_kid = HashMap::with_capacity(keys.len());
        for k in keys {
            let parsed =
                jws::point_key(&k.public, Algorithm::EdDSA).ok_or(KeyFileError::NotEd25519)?;
            let key = VerificationKey {
                kid: k.kid.clone(),
                key_type: KeyType::Ed25519,
                algorithms: vec![Algorithm::EdDSA],
                #[cfg(feature = "test-util")]
                decoding: jsonwebtoken::DecodingKey::from_ed_der(&k.public),
                parsed: vec![(Algorithm::EdDSA, parsed)],
                jwk: serde_json::Value::Null,
            };
            by_kid.insert(k.kid, Arc::new(key));
        }
        let keys = by_kid;
        Ok(PrincipalVerifier(Arc::new(Inner {
            keys,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            skew: config.clock_skew.as_secs(),
            max_bytes: config.max_token_bytes,
            cache: VerifiedCache::new(config.cache_capacity),
            clock,
            verified: metrics::verifications(TokenKind::Principal, "ok"),
        })))
    }

    /// Verifies a principal token.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let result = self.verify_inner(token);
        match &result {
            Ok(_) => self.0.verified.increment(1),
            Err(e) => metrics::verification(TokenKind::Principal, e.code()),
        }
        result
    }

    fn verify_inner(&self, token: &str) -> Result<Principal, AuthError> {
        let inner = &self.0;
        token::check_size(token, inner.max_bytes)?;
        let now = inner.clock.unix_secs();
        let hash = VerifiedCache::<Principal>::hash(token);
        if let Some(entry) = inner.cache.get(&hash) {
            if now > entry.exp.saturating_add(inner.skew) {
                inner.cache.remove(&hash);
                return Err(AuthError::Expired);
            }
            return Ok((*entry.value).clone());
        }
        let head = token::inspect(
            token,
            inner.max_bytes,
            TypPolicy::Principal,
            &[Algorithm::EdDSA],
        )?;
        let key = inner
            .keys
            .get(&head.kid)
            .ok_or_else(|| AuthError::UnknownKey(head.kid.chars().take(64).collect()))?;
        let parsed = key
            .parsed_for(Algorithm::EdDSA)
            .ok_or_else(|| AuthError::AlgorithmNotAllowed("EdDSA".into()))?;
        let payload = jws::verify_signature(token, parsed)?;
        let claims: PrincipalClaims = jws::parse_claims(&payload)?;
        let looks_default = claims.iss.is_empty()
            || claims.exp == 0
            || matches!(&claims.aud, Audience::Many(v) if v.is_empty());
        if looks_default && let Some(missing) = jws::first_missing(&payload) {
            return Err(AuthError::MissingClaim(missing.into()));
        }
        if claims.iss != inner.issuer {
            return Err(AuthError::WrongIssuer);
        }
        if !claims.aud.contains(&inner.audience) {
            return Err(AuthError::WrongAudience);
        }
        if claims.iat == 0 {
            return Err(AuthError::MissingClaim("iat".into()));
        }
        check_times(now, inner.skew, claims.exp, None, Some(claims.iat))?;
        if claims.exp.saturating_sub(claims.iat) > MAX_PRINCIPAL_LIFETIME.as_secs() {
            return Err(AuthError::LifetimeTooLong {
                max_secs: MAX_PRINCIPAL_LIFETIME.as_secs(),
            });
        }
        let principal = Principal {
            profile: Arc::new(claims.profile),
            stale: claims.stale,
            degraded: claims.degraded,
            by: AuthenticatedBy::Gateway,
            token: Some(Arc::from(token)),
        };
        inner.cache.insert(
            hash,
            Arc::new(principal.clone()),
            Arc::from(head.kid),
            Arc::clone(key),
            claims.exp,
            now,
        );
        Ok(principal)
    }
}
