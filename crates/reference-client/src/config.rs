//! `ReferenceClientConfig`: where Reference is, how it is called, and how long its answers
//! are kept.
//!
//! ```toml
//! [profile.reference]                 # wherever the embedding service puts it
//! discovery = { kind = "static", addrs = ["127.0.0.1:8088"] }
//! fresh_for = "60s"                   # answer from memory without asking Reference
//! stale_while_revalidate = "10m"      # then answer at once and refresh in the background
//! stale_if_error = "12h"              # the oldest answer used, marked stale, while Reference is down
//! negative_for = "0s"                 # "no such code" is not remembered
//! max_entries = 50000
//! [profile.reference.mesh]            # tis_mesh::MeshConfig overrides
//! per_try_timeout = "2s"
//! ```
//!
//! `stale_if_error` bounds every window: `fresh_for` and `stale_while_revalidate` end there at
//! the latest, so a short `stale_if_error` alone is a valid configuration ("never use an
//! answer older than this"). Two keys of the client this one replaced in Profile are still
//! read: `known_codes_for` is `stale_if_error` and `known_codes_capacity` is `max_entries`.
//!
//! See [`crate::cache`] for what each duration means on a timeline.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tis_mesh::{DiscoveryConfig, MeshConfig};

/// Where Reference's API lives on its instances.
pub const API: &str = "/reference/api";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceClientConfig {
    /// Where the Reference instances are (ignored when a discovery is passed to
    /// [`ReferenceClient::new`](crate::ReferenceClient::new)).
    pub discovery: DiscoveryConfig,
    /// How Reference is called: timeouts, breakers, retries (tis-mesh).
    pub mesh: MeshConfig,
    /// Where Reference's API lives on an instance.
    pub api: String,
    /// An answer this young is used without asking Reference.
    #[serde(with = "humantime_serde")]
    pub fresh_for: Duration,
    /// After `fresh_for`, for this long, an answer is used at once while one background call
    /// refreshes it.
    #[serde(with = "humantime_serde")]
    pub stale_while_revalidate: Duration,
    /// The oldest an answer may be (since Reference gave it) and still be used, marked stale,
    /// when Reference cannot be reached. It also ends the two windows above.
    #[serde(with = "humantime_serde", alias = "known_codes_for")]
    pub stale_if_error: Duration,
    /// How long "does not exist" is remembered (never used stale). Zero: not remembered, so a
    /// code created a moment ago is found at once.
    #[serde(with = "humantime_serde")]
    pub negative_for: Duration,
    /// After a failed call for a key, Reference is not asked again for it for this long;
    /// meanwhile its stale answer is used at once.
    #[serde(with = "humantime_serde")]
    pub retry_after_failure: Duration,
    /// The longest one call to Reference may take, retries included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The most answers remembered; a remembered record counts one more for each KiB of its
    /// JSON.
    #[serde(alias = "known_codes_capacity")]
    pub max_entries: u64,
    /// The most codes or ids asked in one call (Reference refuses more than its `max_items`,
    /// and its lists more than its `max_page_size`).
    pub max_batch: usize,
    /// The largest answer read from Reference.
    pub max_response_bytes: usize,
}

impl Default for ReferenceClientConfig {
    fn default() -> Self {
        ReferenceClientConfig {
            discovery: DiscoveryConfig::default(),
            mesh: MeshConfig::default(),
            api: API.into(),
            fresh_for: Duration::from_secs(60),
            stale_while_revalidate: Duration::from_secs(10 * 60),
            stale_if_error: Duration::from_secs(12 * 3600),
            negative_for: Duration::ZERO,
            retry_after_failure: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            max_entries: 50_000,
            max_batch: 200,
            max_response_bytes: 4 * 1024 * 1024,
        }
    }
}

/// A value that cannot be used; the message names the key.
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

impl ReferenceClientConfig {
    /// Every problem of the section, each naming its key (relative to the section).
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        if let Err(e) = self.discovery.validate() {
            out.push(ConfigError::new("discovery", e.problem));
        }
        if !self.api.starts_with('/') || self.api.ends_with('/') {
            out.push(ConfigError::new(
                "api",
                "must start with `/` and not end with one",
            ));
        }
        if self.timeout.is_zero() {
            out.push(ConfigError::new("timeout", "must be longer than zero"));
        }
        if self.max_entries == 0 {
            out.push(ConfigError::new("max_entries", "must be at least 1"));
        }
        if self.max_batch == 0 {
            out.push(ConfigError::new("max_batch", "must be at least 1"));
        }
        if self.max_response_bytes < 1024 {
            out.push(ConfigError::new(
                "max_response_bytes",
                "must be at least 1024",
            ));
        }
        if let Err(e) = self.mesh.validate() {
            out.push(ConfigError::new(
                "mesh",
                format!("`{}` {}", e.key, e.problem),
            ));
        }
        out
    }

    /// The first problem, if any.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_has_the_documented_defaults() {
        let cfg: ReferenceClientConfig = toml::from_str("").expect("defaults");
        assert_eq!(cfg, ReferenceClientConfig::default());
        assert_eq!(cfg.fresh_for, Duration::from_secs(60));
        assert_eq!(cfg.stale_while_revalidate, Duration::from_secs(600));
        assert_eq!(cfg.stale_if_error, Duration::from_secs(43_200));
        assert_eq!(cfg.negative_for, Duration::ZERO);
        assert_eq!(cfg.max_entries, 50_000);
        cfg.validate().expect("valid");
    }

    #[test]
    fn durations_are_humantime_and_typos_are_refused() {
        let cfg: ReferenceClientConfig =
            toml::from_str("fresh_for = \"30s\"\nstale_if_error = \"1h\"").expect("parses");
        assert_eq!(cfg.fresh_for, Duration::from_secs(30));
        let err =
            toml::from_str::<ReferenceClientConfig>("fresh_four = \"30s\"").expect_err("typo");
        assert!(err.to_string().contains("fresh_four"), "{err}");
    }

    #[test]
    fn the_keys_of_profiles_former_client_still_mean_what_they_meant() {
        let cfg: ReferenceClientConfig =
            toml::from_str("known_codes_for = \"10m\"\nknown_codes_capacity = 10000")
                .expect("the former keys");
        assert_eq!(cfg.stale_if_error, Duration::from_secs(600));
        assert_eq!(cfg.max_entries, 10_000);
        cfg.validate().expect("a short stale bound alone is valid");
    }

    #[test]
    fn every_problem_names_its_key() {
        let cfg = ReferenceClientConfig {
            api: "reference/api/".into(),
            timeout: Duration::ZERO,
            max_entries: 0,
            max_batch: 0,
            ..ReferenceClientConfig::default()
        };
        let keys: Vec<&str> = cfg.problems().iter().map(|e| e.key).collect();
        assert_eq!(keys, ["api", "timeout", "max_entries", "max_batch"]);
    }
}
