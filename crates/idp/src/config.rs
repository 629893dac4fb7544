//! The `[idp]` configuration section.
//!
//! Every key has a default, so an empty section runs a provider on `127.0.0.1:8180` with the
//! realm file and key folder under `data/idp/`. Durations are humantime strings (`"5m"`).
//! [`IdpConfig::validate`] refuses combinations that would make tokens outlive the key that
//! signed them, so a bad file fails at start-up rather than as odd 401s an hour later.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tis_core::DrainConfig;

/// The signature algorithm of newly generated signing keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// RSA 2048 with SHA-256, Keycloak's default and what every verifier accepts.
    #[default]
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::EdDSA => "EdDSA",
        }
    }

    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The development identity provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdpConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The URL clients use to reach this provider (`https://login.example.org`), when it is not
    /// `http://<listen address>` (behind a proxy, in a container). Issuers are
    /// `<public_url>/realms/<realm>`. A path prefix is kept in URLs but not served: a proxy in
    /// front must strip it.
    pub public_url: Option<String>,
    /// The TOML file with the realms, their users and clients.
    pub realm_file: PathBuf,
    /// The folder holding the signing keys (created 0700; keys are 0600 PKCS#8 PEM).
    pub key_dir: PathBuf,
    /// The algorithm of new signing keys. Changing it rotates at the next start.
    pub algorithm: SigningAlgorithm,
    /// Lifetime of access tokens (and ID tokens).
    #[serde(with = "humantime_serde")]
    pub access_token_lifetime: Duration,
    /// Lifetime of a refresh token; each refresh issues a new one.
    #[serde(with = "humantime_serde")]
    pub refresh_token_lifetime: Duration,
    /// The longest a login can be kept alive by refreshing (Keycloak's "SSO Session Max").
    #[serde(with = "humantime_serde")]
    pub session_max_lifetime: Duration,
    /// How long a replaced signing key stays published after a rotation. Must be at least the
    /// access-token lifetime, so that every token still alive can be verified.
    #[serde(with = "humantime_serde")]
    pub rotation_overlap: Duration,
    /// Rotate the signing key automatically when it is this old. Off when absent.
    #[serde(with = "humantime_serde", default)]
    pub rotation_interval: Option<Duration>,
    /// How often the key folder is checked for a rotation made by another process (`tis idp
    /// rotate-keys`), for a due automatic rotation, and for retired keys to delete.
    #[serde(with = "humantime_serde")]
    pub key_check_interval: Duration,
    /// Failed logins for one username within `failed_login_window` before further attempts
    /// are refused without checking the password. 0 turns the limiter off.
    pub max_failed_logins: u32,
    /// The window of the failed-login limiter, and how long a locked username stays locked.
    #[serde(with = "humantime_serde")]
    pub failed_login_window: Duration,
    /// How long an authorization code can be exchanged at the token endpoint (Keycloak's
    /// "Client Login Timeout"). Codes are single-use and live in memory.
    #[serde(with = "humantime_serde")]
    pub authorization_code_lifetime: Duration,
    /// How long a login page stays usable before the form must be started again from the
    /// application (Keycloak's "Login timeout").
    #[serde(with = "humantime_serde")]
    pub login_timeout: Duration,
    /// Shutdown drain.
    pub drain: DrainConfig,
}

impl Default for IdpConfig {
    fn default() -> Self {
        IdpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8180)),
            public_url: None,
            realm_file: PathBuf::from(".tis/idp/realms.toml"),
            key_dir: PathBuf::from(".tis/idp/keys"),
            algorithm: SigningAlgorithm::RS256,
            access_token_lifetime: Duration::from_secs(5 * 60),
            refresh_token_lifetime: Duration::from_secs(30 * 60),
            session_max_lifetime: Duration::from_secs(10 * 3600),
            rotation_overlap: Duration::from_secs(3600),
            rotation_interval: None,
            key_check_interval: Duration::from_secs(5),
            max_failed_logins: 10,
            failed_login_window: Duration::from_secs(60),
            authorization_code_lifetime: Duration::from_secs(60),
            login_timeout: Duration::from_secs(30 * 60),
            drain: DrainConfig::default(),
        }
    }
}

/// A configuration that cannot work; the message names the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid idp configuration: `{key}` {problem}")]
pub struct InvalidConfig {
    pub key: &'static str,
    pub problem: String,
}

fn invalid(key: &'static str, problem: impl Into<String>) -> InvalidConfig {
    InvalidConfig {
        key,
        problem: problem.into(),
    }
}

impl IdpConfig {
    /// Checks what serde cannot: lifetimes that fit together and a usable public URL.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if self.access_token_lifetime < Duration::from_secs(1) {
            return Err(invalid("access_token_lifetime", "must be at least 1s"));
        }
        if self.refresh_token_lifetime < Duration::from_secs(1) {
            return Err(invalid("refresh_token_lifetime", "must be at least 1s"));
        }
        if self.session_max_lifetime < self.refresh_token_lifetime {
            return Err(invalid(
                "session_max_lifetime",
                "must be at least refresh_token_lifetime",
            ));
        }
        if self.rotation_overlap < self.access_token_lifetime {
            return Err(invalid(
                "rotation_overlap",
                "must be at least access_token_lifetime, or tokens would outlive their key",
            ));
        }
        if let Some(every) = self.rotation_interval
            && every < Duration::from_secs(1)
        {
            return Err(invalid("rotation_interval", "must be at least 1s"));
        }
        if self.key_check_interval < Duration::from_millis(10) {
            return Err(invalid("key_check_interval", "must be at least 10ms"));
        }
        if self.authorization_code_lifetime < Duration::from_secs(1)
            || self.authorization_code_lifetime > Duration::from_secs(600)
        {
            return Err(invalid(
                "authorization_code_lifetime",
                "must be between 1s and 10m (RFC 6749 §4.1.2)",
            ));
        }
        if self.login_timeout < Duration::from_secs(10) {
            return Err(invalid("login_timeout", "must be at least 10s"));
        }
        if let Some(url) = &self.public_url {
            check_public_url(url).map_err(|p| invalid("public_url", p))?;
        }
        Ok(())
    }
}

fn check_public_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("`{url}` must start with http:// or https://")),
    }
    if uri.authority().is_none() {
        return Err(format!("`{url}` has no host"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(format!("`{url}` must not have a query or fragment"));
    }
    Ok(())
}

/// The base URL issuers are built on: the configured public URL without its trailing slash,
/// or `http://<bound address>` with an unspecified address (`0.0.0.0`, `::`) replaced by
/// loopback, since no client can connect to `0.0.0.0`.
pub fn base_url(public_url: Option<&str>, bound: SocketAddr) -> String {
    if let Some(url) = public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let mut addr = bound;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_gives_the_documented_defaults() {
        let cfg: IdpConfig = toml::from_str("").unwrap();
        assert_eq!(cfg, IdpConfig::default());
        assert_eq!(cfg.listen.port(), 8180);
        assert_eq!(cfg.access_token_lifetime, Duration::from_secs(300));
        assert_eq!(cfg.refresh_token_lifetime, Duration::from_secs(1800));
        assert!(cfg.rotation_overlap > cfg.access_token_lifetime);
        assert_eq!(cfg.rotation_interval, None);
        cfg.validate().unwrap();
    }

    #[test]
    fn durations_are_humantime_strings_and_unknown_keys_are_refused() {
        let cfg: IdpConfig = toml::from_str(
            "access_token_lifetime = \"1m\"\nrotation_interval = \"1day\"\nalgorithm = \"ES256\"\n",
        )
        .unwrap();
        assert_eq!(cfg.access_token_lifetime, Duration::from_secs(60));
        assert_eq!(cfg.rotation_interval, Some(Duration::from_secs(86400)));
        assert_eq!(cfg.algorithm, SigningAlgorithm::ES256);
        let err = toml::from_str::<IdpConfig>("acces_token_lifetime = \"1m\"\n").unwrap_err();
        assert!(err.to_string().contains("acces_token_lifetime"), "{err}");
    }

    #[test]
    fn the_defaults_survive_a_round_trip_through_toml() {
        let text = toml::to_string(&IdpConfig::default()).unwrap();
        let back: IdpConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, IdpConfig::default());
    }

    #[test]
    fn an_overlap_shorter_than_the_access_lifetime_is_refused() {
        let cfg = IdpConfig {
            rotation_overlap: Duration::from_secs(60),
            ..IdpConfig::default()
        };
        assert_eq!(cfg.validate().unwrap_err().key, "rotation_overlap");
    }

    #[test]
    fn a_public_url_must_be_http_or_https() {
        for bad in ["ftp://x", "not a url", "http://h/p?q=1", "/relative"] {
            let cfg = IdpConfig {
                public_url: Some(bad.into()),
                ..IdpConfig::default()
            };
            assert_eq!(cfg.validate().unwrap_err().key, "public_url", "{bad}");
        }
    }

    #[test]
    fn the_base_url_replaces_an_unspecified_address_with_loopback() {
        let any: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        assert_eq!(base_url(None, any), "http://127.0.0.1:9000");
        let v6: SocketAddr = "[::]:9000".parse().unwrap();
        assert_eq!(base_url(None, v6), "http://[::1]:9000");
        assert_eq!(
            base_url(Some("https://login.example.org/auth/"), any),
            "https://login.example.org/auth"
        );
    }
}
