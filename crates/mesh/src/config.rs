//! Configuration of one service client: what the gateway (or a service calling another) puts
//! under `[…mesh]` for each downstream service.
//!
//! Every struct denies unknown keys and defaults every field, so a file only names what it
//! changes, and a typo is an error naming the key. Durations are humantime strings (`"250ms"`).
//! [`MeshConfig::validate`] rejects values that parse but make no sense (a zero concurrency
//! limit, a success rate above 1), so a bad file fails at start-up rather than at the first
//! request.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything about how one downstream service is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeshConfig {
    /// Longest wait for the response headers of one try. A try that times out counts as a
    /// failure of its endpoint and may be retried elsewhere.
    #[serde(with = "humantime_serde")]
    pub per_try_timeout: Duration,
    /// Longest wait for a TCP connection to be established.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Speak HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1.
    pub h2c: bool,
    /// Requests to this service in flight at once; the excess is shed with `Overloaded`.
    pub max_concurrency: usize,
    /// Largest request body kept in memory so that the request can be retried; larger bodies
    /// are streamed and never retried.
    pub retry_body_limit: usize,
    /// How long an idle pooled connection is kept. Keep it below the idle time after which
    /// the endpoints close a connection (TIS services: `header_read_timeout`, 10 s, which
    /// hyper also applies to the wait for the next request): a connection the endpoint is
    /// closing just as the pool hands it out fails its request ("connection closed before
    /// message completed").
    #[serde(with = "humantime_serde")]
    pub pool_idle_timeout: Duration,
    /// Idle pooled connections kept per endpoint.
    pub pool_max_idle_per_endpoint: usize,
    pub balancer: BalancerConfig,
    pub breaker: BreakerConfig,
    pub health_check: HealthCheckConfig,
    pub retry: RetryConfig,
    pub latency_timeout: LatencyTimeoutConfig,
    pub dns: DnsConfig,
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            per_try_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            h2c: false,
            max_concurrency: 256,
            retry_body_limit: 64 * 1024,
            pool_idle_timeout: Duration::from_secs(5),
            pool_max_idle_per_endpoint: 64,
            balancer: BalancerConfig::default(),
            breaker: BreakerConfig::default(),
            health_check: HealthCheckConfig::default(),
            retry: RetryConfig::default(),
            latency_timeout: LatencyTimeoutConfig::default(),
            dns: DnsConfig::default(),
        }
    }
}

/// Peak-EWMA parameters of the balancer (see [`crate::balance`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BalancerConfig {
    /// The latency assumed for an endpoint before it has answered anything.
    #[serde(with = "humantime_serde")]
    pub default_rtt: Duration,
    /// How fast a peak is forgotten: after one `decay` a sample weighs `1/e` of what it did.
    #[serde(with = "humantime_serde")]
    pub decay: Duration,
}

impl Default for BalancerConfig {
    fn default() -> Self {
        BalancerConfig {
            default_rtt: Duration::from_millis(30),
            decay: Duration::from_secs(10),
        }
    }
}

/// When an endpoint is ejected and how it comes back (see [`crate::breaker`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Trip after this many failures in a row.
    pub consecutive_failures: u32,
    /// Trip when the success rate over `window` falls below this (0.0–1.0)…
    pub min_success_rate: f64,
    /// …provided at least this many responses were seen in the window.
    pub min_requests: u32,
    /// The sliding window of the success rate.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Time ejected before the first probe.
    #[serde(with = "humantime_serde")]
    pub probation: Duration,
    /// The probation doubles after each failed probe, up to this.
    #[serde(with = "humantime_serde")]
    pub max_probation: Duration,
    /// Each probation is stretched or shrunk at random by up to this fraction (0.0–1.0), so
    /// that many clients do not probe a recovering endpoint in step.
    pub jitter: f64,
    /// Response statuses that count as a failure of the endpoint. Connection errors and
    /// timeouts always do; a 4xx never should.
    pub failure_statuses: Vec<u16>,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            consecutive_failures: 3,
            min_success_rate: 0.8,
            min_requests: 5,
            window: Duration::from_secs(10),
            probation: Duration::from_secs(1),
            max_probation: Duration::from_secs(60),
            jitter: 0.1,
            failure_statuses: vec![502, 503, 504],
        }
    }
}

/// Active health checks of every endpoint (see [`crate::health`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    pub enabled: bool,
    /// Path asked with `GET`; any 2xx passes.
    pub path: String,
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            enabled: true,
            path: "/health/ready".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        }
    }
}

/// Retries and their budget (see [`crate::retry`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retries of one request at most (so `max_retries + 1` tries).
    pub max_retries: u32,
    /// Retries allowed as a percentage of requests, over `budget_window`.
    pub budget_percent: f64,
    /// Retries allowed each second whatever the traffic, so that a quiet client can retry.
    pub min_retries_per_second: u32,
    /// How long a request counts towards the budget (1–60 s).
    #[serde(with = "humantime_serde")]
    pub budget_window: Duration,
    /// Response statuses worth another try.
    pub retry_statuses: Vec<u16>,
    /// Pause before retrying when no other endpoint is available (doubles each retry).
    #[serde(with = "humantime_serde")]
    pub backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 2,
            budget_percent: 20.0,
            min_retries_per_second: 10,
            budget_window: Duration::from_secs(10),
            retry_statuses: vec![502, 503, 504],
            backoff: Duration::from_millis(20),
        }
    }
}

/// Per-try timeouts derived from the service's observed latency (see [`crate::latency`]):
/// a try of a request that may be retried elsewhere is cut after
/// `max(floor, multiplier × p99)` instead of waiting `per_try_timeout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyTimeoutConfig {
    pub enabled: bool,
    /// The shortest early timeout, whatever the p99.
    #[serde(with = "humantime_serde")]
    pub floor: Duration,
    /// The early timeout is this many times the service's p99 (at least 1).
    pub multiplier: f64,
    /// The p99 covers the last one to two windows (1–60 s).
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

impl Default for LatencyTimeoutConfig {
    fn default() -> Self {
        LatencyTimeoutConfig {
            enabled: true,
            floor: Duration::from_millis(100),
            multiplier: 3.0,
            window: Duration::from_secs(10),
        }
    }
}

/// DNS discovery (see [`crate::discover::dns`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// How often names are resolved again.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            refresh_interval: Duration::from_secs(5),
        }
    }
}

/// A configuration value that parses but cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mesh configuration: `{key}` {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: &'static str,
}

impl MeshConfig {
    /// Rejects values that would make the client useless or panic.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key, problem| Err(ConfigError { key, problem });
        let nonzero = [
            ("per_try_timeout", self.per_try_timeout),
            ("connect_timeout", self.connect_timeout),
            ("balancer.default_rtt", self.balancer.default_rtt),
            ("balancer.decay", self.balancer.decay),
            ("breaker.window", self.breaker.window),
            ("breaker.probation", self.breaker.probation),
            ("health_check.interval", self.health_check.interval),
            ("health_check.timeout", self.health_check.timeout),
            ("dns.refresh_interval", self.dns.refresh_interval),
        ];
        for (key, d) in nonzero {
            if d.is_zero() {
                return err(key, "must be longer than zero");
            }
        }
        if self.max_concurrency == 0 {
            return err("max_concurrency", "must be at least 1");
        }
        if self.breaker.consecutive_failures == 0 {
            return err("breaker.consecutive_failures", "must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.breaker.min_success_rate) {
            return err("breaker.min_success_rate", "must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&self.breaker.jitter) {
            return err("breaker.jitter", "must be between 0 and 1");
        }
        if self.breaker.max_probation < self.breaker.probation {
            return err(
                "breaker.max_probation",
                "must not be shorter than probation",
            );
        }
        if !self.health_check.path.starts_with('/') {
            return err("health_check.path", "must start with '/'");
        }
        if !(0.0..=1000.0).contains(&self.retry.budget_percent) {
            return err("retry.budget_percent", "must be between 0 and 1000");
        }
        let w = self.retry.budget_window;
        if w < Duration::from_secs(1) || w > Duration::from_secs(60) {
            return err("retry.budget_window", "must be between 1s and 60s");
        }
        let lt = &self.latency_timeout;
        if lt.floor.is_zero() {
            return err("latency_timeout.floor", "must be longer than zero");
        }
        if !(lt.multiplier >= 1.0 && lt.multiplier.is_finite()) {
            return err("latency_timeout.multiplier", "must be at least 1");
        }
        if lt.window < Duration::from_secs(1) || lt.window > Duration::from_secs(60) {
            return err("latency_timeout.window", "must be between 1s and 60s");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_documented_defaults() {
        let cfg: MeshConfig = toml::from_str("").expect("parses");
        assert_eq!(cfg, MeshConfig::default());
        assert_eq!(cfg.breaker.consecutive_failures, 3);
        assert_eq!(cfg.breaker.failure_statuses, vec![502, 503, 504]);
        assert_eq!(cfg.health_check.path, "/health/ready");
        assert_eq!(cfg.retry.budget_percent, 20.0);
        assert_eq!(cfg.retry.min_retries_per_second, 10);
        cfg.validate().expect("defaults are valid");
    }

    #[test]
    fn durations_are_humantime_strings_and_unknown_keys_are_rejected() {
        let cfg: MeshConfig = toml::from_str(
            "per_try_timeout = \"250ms\"\nh2c = true\n[breaker]\nprobation = \"2s\"\n",
        )
        .expect("parses");
        assert_eq!(cfg.per_try_timeout, Duration::from_millis(250));
        assert!(cfg.h2c);
        assert_eq!(cfg.breaker.probation, Duration::from_secs(2));
        assert_eq!(cfg.breaker.consecutive_failures, 3);

        let err = toml::from_str::<MeshConfig>("[breaker]\nprobaton = \"2s\"\n")
            .expect_err("a typo must not pass");
        assert!(err.to_string().contains("probaton"), "{err}");
    }

    #[test]
    fn nonsense_values_are_refused_with_the_key_named() {
        let cfg = MeshConfig {
            max_concurrency: 0,
            ..MeshConfig::default()
        };
        assert_eq!(cfg.validate().expect_err("zero").key, "max_concurrency");
        let mut cfg = MeshConfig::default();
        cfg.breaker.min_success_rate = 80.0;
        assert_eq!(
            cfg.validate().expect_err("percent").key,
            "breaker.min_success_rate"
        );
        let mut cfg = MeshConfig::default();
        cfg.retry.budget_window = Duration::from_secs(120);
        assert_eq!(
            cfg.validate().expect_err("window").key,
            "retry.budget_window"
        );
        let mut cfg = MeshConfig::default();
        cfg.latency_timeout.multiplier = 0.5;
        assert_eq!(
            cfg.validate().expect_err("multiplier").key,
            "latency_timeout.multiplier"
        );
    }

    #[test]
    fn pooled_connections_are_dropped_before_tis_services_close_them() {
        // Chaos finding 6: with a 60 s pool and services closing idle connections after
        // 10 s, a request now and then met a connection being closed under it.
        let service_idle_close = tis_core::server::DrainConfig::default().header_read_timeout;
        assert!(MeshConfig::default().pool_idle_timeout * 2 <= service_idle_close);
    }
}
