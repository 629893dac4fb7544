//! `[profile]`: the Profile service's configuration.
//!
//! Every key has a default except two that cannot have one: the gateway's public key
//! (`principal.trusted_key_files` or `principal.trusted_keys_pem`), and the identity
//! provider (`access_tokens`), because `/userinfo` verifies the caller's own access token
//! before any principal exists. Without either the instance refuses to start.
//!
//! ```toml
//! [profile]
//! listen = "127.0.0.1:8082"
//! database = { url = "sqlite://profile.db" }
//! principal = { trusted_key_files = ["keys/gateway.pub.pem"] }
//! access_tokens = { issuer = "http://127.0.0.1:8090/realms/lin", audience = "tis" }
//! [profile.reference]                 # where Reference is, to check designated bodies
//! discovery = { kind = "static", addrs = ["127.0.0.1:8088"] }
//! known_codes_for = "10m"
//! [profile.reference.mesh]
//! per_try_timeout = "2s"
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tis_auth::{AuthConfig, PrincipalConfig};
use tis_core::DrainConfig;
pub use tis_mesh::DiscoveryConfig;
use tis_mesh::MeshConfig;
use tis_store::DbConfig;

/// The audience principals for this service must carry.
pub const AUDIENCE: &str = "profile";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    pub database: DbConfig,
    pub drain: DrainConfig,
    /// `size` when a list request gives none.
    pub default_page_size: u64,
    /// The largest `size` accepted; more is a 400.
    pub max_page_size: u64,
    /// The most items in one list input (designated bodies, roles, trainee registrations…);
    /// more is a 400.
    pub max_items: usize,
    /// The largest request body, in bytes; more is a 413.
    pub body_limit: usize,
    /// How gateway principals are verified (`audience` defaults to `profile`).
    pub principal: PrincipalConfig,
    /// The identity provider whose access tokens `/userinfo` verifies (required). Every
    /// other endpoint accepts them too, with the profile read from this service's database.
    pub access_tokens: Option<AuthConfig>,
    /// How Reference is reached to check designated-body codes.
    pub reference: ReferenceClientConfig,
    /// Load the demo roles, permissions and users once the database is migrated (`tis up`).
    pub demo_data: bool,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DbConfig {
                url: "sqlite://profile.db".into(),
                ..DbConfig::default()
            },
            drain: DrainConfig::default(),
            default_page_size: 20,
            max_page_size: 500,
            max_items: 1000,
            body_limit: 1024 * 1024,
            principal: PrincipalConfig {
                audience: AUDIENCE.into(),
                ..PrincipalConfig::default()
            },
            access_tokens: None,
            reference: ReferenceClientConfig::default(),
            demo_data: false,
        }
    }
}

/// `[profile.reference]`: the client of Reference's `POST /reference/api/dbcs/exists/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceClientConfig {
    /// Where the Reference instances are.
    pub discovery: DiscoveryConfig,
    /// How Reference is called: timeouts, breakers, retries (tis-mesh).
    pub mesh: MeshConfig,
    /// How long a code Reference confirmed is trusted without asking again. While Reference
    /// is down, a write naming only codes confirmed this recently is still accepted.
    #[serde(with = "humantime_serde")]
    pub known_codes_for: Duration,
    /// The most confirmed codes remembered.
    pub known_codes_capacity: u64,
}

impl Default for ReferenceClientConfig {
    fn default() -> Self {
        ReferenceClientConfig {
            discovery: DiscoveryConfig::default(),
            mesh: MeshConfig::default(),
            known_codes_for: Duration::from_secs(10 * 60),
            known_codes_capacity: 10_000,
        }
    }
}

/// A value that cannot be used; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: `profile.{key}` {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: &'static str,
}

impl ProfileConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, problem| Err(ConfigError { key, problem });
        if self.max_page_size == 0 {
            return bad("max_page_size", "must be at least 1");
        }
        if self.default_page_size == 0 || self.default_page_size > self.max_page_size {
            return bad("default_page_size", "must be between 1 and max_page_size");
        }
        if self.max_items == 0 {
            return bad("max_items", "must be at least 1");
        }
        if self.body_limit < 1024 {
            return bad("body_limit", "must be at least 1024 bytes");
        }
        if self.access_tokens.is_none() {
            return bad(
                "access_tokens",
                "must be set: /userinfo verifies the caller's access token against the identity provider",
            );
        }
        match &self.reference.discovery {
            DiscoveryConfig::Dns { host, port } if host.trim().is_empty() || *port == 0 => {
                return bad("reference.discovery", "needs a host and a port above zero");
            }
            DiscoveryConfig::Srv { name } if name.trim().is_empty() => {
                return bad("reference.discovery", "needs an SRV name");
            }
            _ => {}
        }
        if self.reference.known_codes_capacity == 0 {
            return bad("reference.known_codes_capacity", "must be at least 1");
        }
        if let Err(e) = self.reference.mesh.validate() {
            return bad("reference.mesh", e.problem);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_idp() -> ProfileConfig {
        ProfileConfig {
            access_tokens: Some(AuthConfig {
                issuer: "http://127.0.0.1:1/realms/lin".into(),
                audience: vec!["tis".into()],
                ..AuthConfig::default()
            }),
            ..ProfileConfig::default()
        }
    }

    #[test]
    fn an_empty_section_has_the_documented_defaults_and_unknown_keys_are_refused() {
        let cfg: ProfileConfig = toml::from_str("").expect("defaults");
        assert_eq!(cfg, ProfileConfig::default());
        assert_eq!(cfg.principal.audience, "profile");
        assert_eq!(cfg.reference.known_codes_for, Duration::from_secs(600));
        let err = toml::from_str::<ProfileConfig>("max_page = 5").expect_err("unknown");
        assert!(err.to_string().contains("max_page"), "{err}");
    }

    #[test]
    fn without_an_identity_provider_the_instance_refuses_to_start() {
        let err = ProfileConfig::default().validate().expect_err("no idp");
        assert_eq!(err.key, "access_tokens");
        with_idp().validate().expect("valid");
    }

    #[test]
    fn reference_discovery_parses_and_must_name_something() {
        let cfg: ProfileConfig = toml::from_str(
            "[reference]\ndiscovery = { kind = \"dns\", host = \"\", port = 8088 }\nknown_codes_for = \"1m\"",
        )
        .expect("parses");
        assert_eq!(cfg.reference.known_codes_for, Duration::from_secs(60));
        let cfg = ProfileConfig {
            reference: cfg.reference,
            ..with_idp()
        };
        assert_eq!(
            cfg.validate().expect_err("empty host").key,
            "reference.discovery"
        );
    }
}
