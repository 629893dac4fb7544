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

use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use tis_mesh::DiscoveryConfig;
use tis_mesh::MeshConfig;

/// The audience principals for this service must carry.
pub const AUDIENCE: &str = "profile";

tis_service_kit::service_config! {
    /// `[profile]`: the keys every service section has (see [`tis_service_kit::config`]), and
    /// how Reference is reached.
    pub struct ProfileConfig("profile") checked by problems {
        /// How Reference is reached to check designated-body codes.
        pub reference: ReferenceClientConfig = ReferenceClientConfig::default(),
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

/// Profile's own checks: the identity provider must be set (`/userinfo` verifies the
/// caller's access token), and the Reference client must name somewhere to call.
fn problems(cfg: &ProfileConfig) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.access_tokens.is_none() {
        out.push(
            "`profile.access_tokens` must be set: /userinfo verifies the caller's access token against the identity provider".into(),
        );
    }
    match &cfg.reference.discovery {
        DiscoveryConfig::Dns { host, port } if host.trim().is_empty() || *port == 0 => {
            out.push("`profile.reference.discovery` needs a host and a port above zero".into());
        }
        DiscoveryConfig::Srv { name } if name.trim().is_empty() => {
            out.push("`profile.reference.discovery` needs an SRV name".into());
        }
        _ => {}
    }
    if cfg.reference.known_codes_capacity == 0 {
        out.push("`profile.reference.known_codes_capacity` must be at least 1".into());
    }
    if let Err(e) = cfg.reference.mesh.validate() {
        out.push(format!("`profile.reference.mesh` {}", e.problem));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_auth::AuthConfig;
    use tis_service_kit::config::ServiceConfig;

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
        assert!(err.to_string().contains("profile.access_tokens"), "{err}");
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
        let err = cfg.validate().expect_err("empty host").to_string();
        assert!(err.contains("profile.reference.discovery"), "{err}");
    }
}
