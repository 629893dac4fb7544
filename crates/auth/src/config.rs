//! Configuration of token verification and of the principal token.
//!
//! Both structs follow the house rules: `#[serde(deny_unknown_fields, default)]`, a `Default`,
//! durations as humantime strings (`"5m"`, `"12h"`), no environment reads. They are embedded
//! in a binary's `Config` (`[auth]`, `[principal]`) and checked once with `validate` when the
//! components are built, so a bad value is an error naming the key at start-up.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer, Serialize};

/// The largest clock skew we accept between us and the identity provider. Beyond a minute the
/// "expired" check stops meaning much, and a wrong clock should be fixed, not tolerated.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The longest lifetime of a `TIS-Principal` token (ARCHITECTURE §4).
pub const MAX_PRINCIPAL_LIFETIME: Duration = Duration::from_secs(60);

/// How access tokens from the identity provider are verified and its keys kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The issuer, exactly as in the tokens' `iss`: `https://host/realms/lin` for Keycloak.
    pub issuer: String,
    /// Accepted audiences: a token passes when its `aud` names one of them, or, failing that,
    /// when its `azp` (Keycloak's "authorised party", the client id) does. A string or a list.
    #[serde(deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    /// Fetch keys from here instead of the `jwks_uri` of the issuer's discovery document.
    pub jwks_uri: Option<String>,
    /// Where the last good key set is persisted, so that a restart while the identity
    /// provider is down still verifies tokens. `None` keeps keys in memory only.
    pub keys_file: Option<PathBuf>,
    /// How often keys are re-fetched while all is well.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// At most one refresh per this interval is triggered by tokens with an unknown `kid`.
    #[serde(with = "humantime_serde")]
    pub unknown_kid_interval: Duration,
    /// How long keys stay trusted without being re-confirmed by a successful fetch.
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
    /// Timeout of one discovery + JWKS fetch.
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
    /// First retry delay after a failed fetch; doubles per failure, with jitter.
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    /// The longest retry delay.
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Tolerance for clock differences on `exp`, `nbf` and `iat`; at most 60 s.
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
    /// Tokens longer than this are refused before any parsing.
    pub max_token_bytes: usize,
    /// Signature algorithms accepted. HMAC and `none` can never be configured.
    pub algorithms: Vec<String>,
    /// Verified tokens remembered (by SHA-256) so that a repeated token costs a hash and a
    /// lookup; 0 disables the cache.
    pub cache_capacity: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: String::new(),
            audience: Vec::new(),
            jwks_uri: None,
            keys_file: None,
            refresh_interval: Duration::from_secs(5 * 60),
            unknown_kid_interval: Duration::from_secs(10),
            grace: Duration::from_secs(12 * 3600),
            fetch_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_secs(1),
            // Short enough that the status notices the provider's return within seconds
            // even without new tokens (see `note_token_issued`); a JWKS GET every 15 s per
            // process is nothing to a provider.
            backoff_max: Duration::from_secs(15),
            clock_skew: Duration::from_secs(30),
            max_token_bytes: 8 * 1024,
            algorithms: ["RS256", "PS256", "ES256", "EdDSA"]
                .map(String::from)
                .to_vec(),
            cache_capacity: 10_000,
        }
    }
}

/// A configuration value that cannot be used; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: `{key}` {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(key: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            key,
            problem: problem.into(),
        }
    }
}

impl AuthConfig {
    /// Checks the values and returns the accepted algorithms (the first problem, if any; see
    /// [`problems`](Self::problems) for all of them).
    pub fn validate(&self) -> Result<Vec<Algorithm>, ConfigError> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => parse_algorithms(&self.algorithms, "auth.algorithms"),
        }
    }

    /// Every problem with the values, each naming its key (`auth.<key>`).
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        if self.issuer.trim().is_empty() {
            out.push(ConfigError::new("auth.issuer", "must be set"));
        }
        if self.audience.iter().all(|a| a.trim().is_empty()) {
            out.push(ConfigError::new(
                "auth.audience",
                "must name at least one audience",
            ));
        }
        if self.clock_skew > MAX_CLOCK_SKEW {
            out.push(ConfigError::new("auth.clock_skew", "must be at most 60s"));
        }
        if self.max_token_bytes < 256 || self.max_token_bytes > 1024 * 1024 {
            out.push(ConfigError::new(
                "auth.max_token_bytes",
                "must be between 256 and 1048576",
            ));
        }
        for (key, d) in [
            ("auth.refresh_interval", self.refresh_interval),
            ("auth.unknown_kid_interval", self.unknown_kid_interval),
            ("auth.grace", self.grace),
            ("auth.fetch_timeout", self.fetch_timeout),
            ("auth.backoff_initial", self.backoff_initial),
            ("auth.backoff_max", self.backoff_max),
        ] {
            if d.is_zero() {
                out.push(ConfigError::new(key, "must be longer than zero"));
            }
        }
        if self.grace < self.refresh_interval {
            out.push(ConfigError::new(
                "auth.grace",
                "must be at least auth.refresh_interval",
            ));
        }
        if let Err(e) = parse_algorithms(&self.algorithms, "auth.algorithms") {
            out.push(e);
        }
        out
    }

    /// Where the identity provider's keys are fetched from: `jwks_uri`, else the issuer's
    /// discovery document. With the key naming it.
    pub fn key_source(&self) -> (&'static str, &str) {
        match &self.jwks_uri {
            Some(uri) => ("auth.jwks_uri", uri),
            None => ("auth.issuer", &self.issuer),
        }
    }
}

/// Parses configured algorithm names, refusing the ones that must never verify an IdP token.
pub(crate) fn parse_algorithms(
    names: &[String],
    key: &'static str,
) -> Result<Vec<Algorithm>, ConfigError> {
    let mut out = Vec::new();
    for name in names {
        let alg: Algorithm = name
            .parse()
            .map_err(|_| ConfigError::new(key, format!("names an unknown algorithm {name:?}")))?;
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(ConfigError::new(
                key,
                format!("{name}: shared-secret algorithms are not accepted"),
            ));
        }
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    if out.is_empty() {
        return Err(ConfigError::new(key, "must name at least one algorithm"));
    }
    Ok(out)
}

/// The `TIS-Principal` token: the gateway signs it, services verify it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrincipalConfig {
    /// `iss` of minted principals, and the only issuer a verifier accepts.
    pub issuer: String,
    /// A verifier's own service name: principals must carry it in `aud`.
    pub audience: String,
    /// Lifetime of minted principals; at most 60 s.
    #[serde(with = "humantime_serde")]
    pub lifetime: Duration,
    /// The gateway's Ed25519 private key, PKCS#8 PEM file.
    pub signing_key_file: Option<PathBuf>,
    /// The same, inline (PEM text); used when `signing_key_file` is not set.
    pub signing_key_pem: Option<String>,
    /// Public keys (SPKI PEM files) whose principals are trusted: several during a rotation.
    pub trusted_key_files: Vec<PathBuf>,
    /// The same, inline.
    pub trusted_keys_pem: Vec<String>,
    /// Tolerance for clock differences between gateway and service; at most 60 s.
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
    /// Principal tokens longer than this are refused before parsing. Principals carry a whole
    /// profile (permissions and their policies), so this is larger than for access tokens.
    pub max_token_bytes: usize,
    /// Verified principals remembered by SHA-256; 0 disables the cache.
    pub cache_capacity: u64,
}

impl Default for PrincipalConfig {
    fn default() -> Self {
        PrincipalConfig {
            issuer: "tis-gateway".into(),
            audience: String::new(),
            lifetime: Duration::from_secs(30),
            signing_key_file: None,
            signing_key_pem: None,
            trusted_key_files: Vec::new(),
            trusted_keys_pem: Vec::new(),
            clock_skew: Duration::from_secs(5),
            max_token_bytes: 64 * 1024,
            cache_capacity: 10_000,
        }
    }
}

impl PrincipalConfig {
    pub(crate) fn validate_common(&self) -> Result<(), ConfigError> {
        match self.common_problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// Every problem with the values both sides use, each naming its key
    /// (`principal.<key>`).
    pub fn common_problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        if self.issuer.trim().is_empty() {
            out.push(ConfigError::new("principal.issuer", "must be set"));
        }
        if self.clock_skew > MAX_CLOCK_SKEW {
            out.push(ConfigError::new(
                "principal.clock_skew",
                "must be at most 60s",
            ));
        }
        if self.lifetime.is_zero() || self.lifetime > MAX_PRINCIPAL_LIFETIME {
            out.push(ConfigError::new(
                "principal.lifetime",
                "must be between 1s and 60s",
            ));
        }
        if self.max_token_bytes < 256 {
            out.push(ConfigError::new(
                "principal.max_token_bytes",
                "must be at least 256",
            ));
        }
        out
    }

    /// Every problem for the side that signs (the gateway): the common ones, and a key.
    pub fn signer_problems(&self) -> Vec<ConfigError> {
        let mut out = self.common_problems();
        if self.signing_key_file.is_none() && self.signing_key_pem.is_none() {
            out.push(ConfigError::new(
                "principal.signing_key_file",
                "must be set to mint principals (or principal.signing_key_pem)",
            ));
        }
        out
    }

    /// Every problem for a side that verifies (a service): the common ones, its audience
    /// and at least one trusted key.
    pub fn verifier_problems(&self) -> Vec<ConfigError> {
        let mut out = self.common_problems();
        if self.audience.trim().is_empty() {
            out.push(ConfigError::new(
                "principal.audience",
                "must name this service",
            ));
        }
        if self.trusted_key_files.is_empty() && self.trusted_keys_pem.is_empty() {
            out.push(ConfigError::new(
                "principal.trusted_key_files",
                "must name at least one gateway public key (or principal.trusted_keys_pem)",
            ));
        }
        out
    }
}

impl ConfigError {
    /// The problem as a sentence whose key sits under `section` (`gateway`,
    /// `reference.access_tokens`): `` `gateway.auth.issuer` must be set ``. `strip` is the
    /// prefix the key carries here (`auth.`) and the section replaces.
    pub fn under(&self, section: &str, strip: &str) -> String {
        let key = self.key.strip_prefix(strip).unwrap_or(self.key);
        format!("`{section}.{key}` {}", self.problem)
    }
}

/// Accepts `"a"` as well as `["a", "b"]`.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> AuthConfig {
        AuthConfig {
            issuer: "http://127.0.0.1:1/realms/lin".into(),
            audience: vec!["tis".into()],
            ..AuthConfig::default()
        }
    }

    #[test]
    fn the_defaults_need_only_an_issuer_and_an_audience() {
        assert!(AuthConfig::default().validate().is_err());
        let algs = valid().validate().expect("valid");
        assert_eq!(
            algs,
            vec![
                Algorithm::RS256,
                Algorithm::PS256,
                Algorithm::ES256,
                Algorithm::EdDSA
            ]
        );
    }

    #[test]
    fn a_clock_skew_over_a_minute_is_refused() {
        let cfg = AuthConfig {
            clock_skew: Duration::from_secs(61),
            ..valid()
        };
        assert_eq!(cfg.validate().unwrap_err().key, "auth.clock_skew");
    }

    #[test]
    fn hmac_and_none_can_never_be_configured() {
        for bad in ["HS256", "none", "RS1"] {
            let cfg = AuthConfig {
                algorithms: vec![bad.into()],
                ..valid()
            };
            assert_eq!(cfg.validate().unwrap_err().key, "auth.algorithms", "{bad}");
        }
    }

    #[test]
    fn durations_are_humantime_and_audience_may_be_a_string() {
        let cfg: AuthConfig = serde_json::from_value(serde_json::json!({
            "issuer": "http://idp/realms/lin",
            "audience": "api-tokens",
            "grace": "6h",
            "refresh_interval": "1m"
        }))
        .expect("parses");
        assert_eq!(cfg.audience, vec!["api-tokens"]);
        assert_eq!(cfg.grace, Duration::from_secs(6 * 3600));
        assert_eq!(cfg.refresh_interval, Duration::from_secs(60));
        assert_eq!(cfg.unknown_kid_interval, Duration::from_secs(10));
    }

    #[test]
    fn both_structs_load_through_tis_core_config_layers() {
        #[derive(Debug, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        struct Top {
            auth: AuthConfig,
            principal: PrincipalConfig,
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("tis.toml");
        std::fs::write(
            &file,
            "[auth]\nissuer = \"http://idp/realms/lin\"\naudience = \"tis\"\ngrace = \"6h\"\n\
             keys_file = \"/var/lib/tis/jwks.json\"\n[principal]\naudience = \"tcs\"\nlifetime = \"20s\"\n",
        )
        .expect("write");
        let cfg: Top = tis_core::config::load(Some(&file)).expect("loads");
        assert_eq!(cfg.auth.grace, Duration::from_secs(6 * 3600));
        assert_eq!(
            cfg.auth.keys_file.as_deref(),
            Some(std::path::Path::new("/var/lib/tis/jwks.json"))
        );
        assert_eq!(cfg.auth.jwks_uri, None);
        assert!(cfg.auth.validate().is_ok());
        assert_eq!(cfg.principal.lifetime, Duration::from_secs(20));
        assert_eq!(cfg.principal.issuer, "tis-gateway");
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = serde_json::from_value::<AuthConfig>(serde_json::json!({"isuer": "x"}))
            .expect_err("misspelt key");
        assert!(err.to_string().contains("isuer"), "{err}");
    }

    #[test]
    fn a_principal_lifetime_over_a_minute_is_refused() {
        let cfg = PrincipalConfig {
            lifetime: Duration::from_secs(61),
            ..PrincipalConfig::default()
        };
        assert_eq!(cfg.validate_common().unwrap_err().key, "principal.lifetime");
    }
}
