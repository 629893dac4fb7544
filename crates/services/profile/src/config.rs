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
//! stale_if_error = "12h"              # see tis_reference_client::ReferenceClientConfig
//! [profile.reference.mesh]
//! per_try_timeout = "2s"
//! ```

pub use tis_mesh::DiscoveryConfig;
pub use tis_reference_client::ReferenceClientConfig;

/// The audience principals for this service must carry.
pub const AUDIENCE: &str = tis_core::service::PROFILE;

tis_service_kit::service_config! {
    /// `[profile]`: the keys every service section has (see [`tis_service_kit::config`]), and
    /// how Reference is reached.
    pub struct ProfileConfig(tis_core::service::PROFILE) checked by problems {
        /// How Reference is reached to check designated-body codes (tis-reference-client).
        pub reference: ReferenceClientConfig = ReferenceClientConfig::default(),
    }
}

/// Profile's own checks: the identity provider must be set (`/userinfo` verifies the
/// caller's access token), and the Reference client's section must be usable.
fn problems(cfg: &ProfileConfig) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.access_tokens.is_none() {
        out.push(
            "`profile.access_tokens` must be set: /userinfo verifies the caller's access token against the identity provider".into(),
        );
    }
    for e in cfg.reference.problems() {
        out.push(format!("`profile.reference.{}` {}", e.key, e.problem));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tis_auth::AuthConfig;
    use tis_service_kit::config::ServiceConfig;

    fn with_idp() -> ProfileConfig {
        ProfileConfig {
            access_tokens: Some(AuthConfig {
                issuer: "http://127.0.0.1:1/realms/lin".into(),
                audience: vec!["tis".into()],
                ..AuthConfig::default()
            }),
            principal: tis_auth::PrincipalConfig {
                trusted_keys_pem: vec!["(the gateway's public key)".into()],
                ..ProfileConfig::default().principal
            },
            ..ProfileConfig::default()
        }
    }

    #[test]
    fn an_empty_section_has_the_documented_defaults_and_unknown_keys_are_refused() {
        let cfg: ProfileConfig = toml::from_str("").expect("defaults");
        assert_eq!(cfg, ProfileConfig::default());
        assert_eq!(cfg.principal.audience, "profile");
        assert_eq!(cfg.reference, ReferenceClientConfig::default());
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
        .expect("parses, the former key included");
        assert_eq!(cfg.reference.stale_if_error, Duration::from_secs(60));
        let cfg = ProfileConfig {
            reference: cfg.reference,
            ..with_idp()
        };
        let err = cfg.validate().expect_err("empty host").to_string();
        assert!(err.contains("profile.reference.discovery"), "{err}");
    }
}
