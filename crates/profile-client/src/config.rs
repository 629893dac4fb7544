//! `ProfileClientConfig`: where Profile is, how it is called, and how long answers are kept.
//!
//! ```toml
//! [gateway.profile]                   # wherever the embedding binary puts it
//! fresh_for = "60s"                   # answer from cache without asking Profile
//! stale_while_revalidate = "5m"       # then answer at once and refresh in the background
//! stale_if_error = "12h"              # the oldest profile served while Profile is down
//! negative_for = "5s"                 # "no such user" / "inactive" remembered this long
//! discovery = { kind = "static", addrs = ["127.0.0.1:8082"] }
//! [gateway.profile.mesh]              # tis_mesh::MeshConfig overrides
//! per_try_timeout = "2s"
//! ```
//!
//! See [`crate::cache`] for what each duration means on a timeline.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tis_mesh::MeshConfig;

use tis_mesh::DiscoveryConfig;

/// The path of Profile's user-info endpoint.
pub const USERINFO_PATH: &str = "/profile/api/userinfo";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileClientConfig {
    /// Where the Profile instances are (ignored when a discovery is passed to
    /// [`ProfileClient::new`](crate::ProfileClient::new)).
    pub discovery: DiscoveryConfig,
    /// How Profile is called: timeouts, breakers, retries (tis-mesh).
    pub mesh: MeshConfig,
    /// The user-info path on a Profile instance.
    pub userinfo_path: String,
    /// A profile this young is served without asking Profile.
    #[serde(with = "humantime_serde")]
    pub fresh_for: Duration,
    /// After `fresh_for`, for this long, a profile is served at once while one background
    /// call refreshes it.
    #[serde(with = "humantime_serde")]
    pub stale_while_revalidate: Duration,
    /// The oldest a profile may be (since Profile last confirmed it) and still be served, marked
    /// stale, when Profile cannot be reached. Counted from the fetch, so it includes the two
    /// windows above.
    #[serde(with = "humantime_serde")]
    pub stale_if_error: Duration,
    /// How long "no such user" and "inactive" answers are remembered.
    #[serde(with = "humantime_serde")]
    pub negative_for: Duration,
    /// After a failed call for a user, Profile is not asked again for that user for this long;
    /// meanwhile the stale profile is served at once instead of each request waiting for a
    /// call that will most likely fail too.
    #[serde(with = "humantime_serde")]
    pub retry_after_failure: Duration,
    /// The longest one call to Profile may take, retries included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The memory the cache may hold, in (estimated) bytes of profiles.
    pub max_bytes: u64,
    /// The largest `/userinfo` body accepted.
    pub max_response_bytes: usize,
}

impl Default for ProfileClientConfig {
    fn default() -> Self {
        ProfileClientConfig {
            discovery: DiscoveryConfig::default(),
            mesh: MeshConfig::default(),
            userinfo_path: USERINFO_PATH.into(),
            fresh_for: Duration::from_secs(60),
            stale_while_revalidate: Duration::from_secs(5 * 60),
            stale_if_error: Duration::from_secs(12 * 3600),
            negative_for: Duration::from_secs(5),
            retry_after_failure: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            max_bytes: 64 * 1024 * 1024,
            max_response_bytes: 1024 * 1024,
        }
    }
}

/// A value that cannot be used; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: `profile_client.{key}` {problem}")]
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

impl ProfileClientConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.discovery
            .validate()
            .map_err(|e| ConfigError::new("discovery", e.problem))?;
        if !self.userinfo_path.starts_with('/') {
            return Err(ConfigError::new("userinfo_path", "must start with `/`"));
        }
        if self.stale_if_error < self.fresh_for + self.stale_while_revalidate {
            return Err(ConfigError::new(
                "stale_if_error",
                "must be at least fresh_for + stale_while_revalidate",
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::new("timeout", "must be longer than zero"));
        }
        if self.max_bytes < 64 * 1024 {
            return Err(ConfigError::new("max_bytes", "must be at least 65536"));
        }
        if self.max_response_bytes < 1024 {
            return Err(ConfigError::new(
                "max_response_bytes",
                "must be at least 1024",
            ));
        }
        self.mesh
            .validate()
            .map_err(|e| ConfigError::new("mesh", format!("`{}` {}", e.key, e.problem)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_has_the_documented_defaults() {
        let cfg: ProfileClientConfig = toml::from_str("").expect("defaults");
        assert_eq!(cfg, ProfileClientConfig::default());
        assert_eq!(cfg.fresh_for, Duration::from_secs(60));
        assert_eq!(cfg.stale_if_error, Duration::from_secs(43_200));
        assert_eq!(cfg.negative_for, Duration::from_secs(5));
        cfg.validate().expect("valid");
    }

    #[test]
    fn durations_are_humantime_and_typos_are_refused() {
        let cfg: ProfileClientConfig =
            toml::from_str("fresh_for = \"30s\"\nstale_if_error = \"1h\"").expect("parses");
        assert_eq!(cfg.fresh_for, Duration::from_secs(30));
        let err = toml::from_str::<ProfileClientConfig>("fresh_four = \"30s\"").expect_err("typo");
        assert!(err.to_string().contains("fresh_four"), "{err}");
    }

    #[test]
    fn a_stale_bound_shorter_than_the_fresh_windows_is_refused() {
        let cfg = ProfileClientConfig {
            stale_if_error: Duration::from_secs(30),
            ..ProfileClientConfig::default()
        };
        assert_eq!(cfg.validate().expect_err("too short").key, "stale_if_error");
    }
}
