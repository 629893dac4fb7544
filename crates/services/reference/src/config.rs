//! `[reference]`: the Reference service's configuration.
//!
//! Every key has a default, so an empty section runs an instance on `127.0.0.1:0` with an
//! SQLite file `reference.db` in the working folder, migrated at start. Only the gateway's
//! public key (`principal.trusted_key_files` or `principal.trusted_keys_pem`) must be given:
//! without it no request can be authenticated, and the instance refuses to start.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use tis_auth::{AuthConfig, PrincipalConfig};
use tis_core::DrainConfig;
use tis_store::DbConfig;

/// The audience principals for this service must carry.
pub const AUDIENCE: &str = "reference";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    pub database: DbConfig,
    pub drain: DrainConfig,
    /// `size` when a list request gives none.
    pub default_page_size: u64,
    /// The largest `size` accepted; more is a 400.
    pub max_page_size: u64,
    /// The most items in a bulk body, an `exists` list or an `in` list; more is a 400.
    pub max_items: usize,
    /// The largest request body, in bytes; more is a 413.
    pub body_limit: usize,
    /// How gateway principals are verified (`audience` defaults to `reference`).
    pub principal: PrincipalConfig,
    /// When set, identity-provider access tokens are accepted too (a batch job calling the
    /// service directly), with permissions from the built-in role catalogue.
    pub access_tokens: Option<AuthConfig>,
    /// Load the demo data into empty tables once the database is migrated (`tis up`).
    pub demo_data: bool,
}

impl Default for ReferenceConfig {
    fn default() -> Self {
        ReferenceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DbConfig {
                url: "sqlite://reference.db".into(),
                ..DbConfig::default()
            },
            drain: DrainConfig::default(),
            default_page_size: 20,
            max_page_size: 500,
            max_items: 1000,
            body_limit: 2 * 1024 * 1024,
            principal: PrincipalConfig {
                audience: AUDIENCE.into(),
                ..PrincipalConfig::default()
            },
            access_tokens: None,
            demo_data: false,
        }
    }
}

/// A value that cannot be used; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: `reference.{key}` {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: &'static str,
}

impl ReferenceConfig {
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_is_valid_and_unknown_keys_are_refused() {
        let cfg: ReferenceConfig = serde_json::from_str("{}").expect("defaults");
        assert_eq!(cfg, ReferenceConfig::default());
        assert_eq!(cfg.principal.audience, "reference");
        cfg.validate().expect("valid");
        let err =
            serde_json::from_str::<ReferenceConfig>(r#"{"max_page":5}"#).expect_err("unknown");
        assert!(err.to_string().contains("max_page"), "{err}");
    }

    #[test]
    fn a_default_page_larger_than_the_maximum_is_refused() {
        let cfg = ReferenceConfig {
            default_page_size: 50,
            max_page_size: 10,
            ..ReferenceConfig::default()
        };
        assert_eq!(cfg.validate().expect_err("bad").key, "default_page_size");
    }
}
