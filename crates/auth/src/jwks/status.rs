//! Trust state of the key set, the grace maths, and the snapshot shown on status pages.
//!
//! # The grace maths
//!
//! Let `age` be the time since the key set was last confirmed by a successful fetch (counted
//! across restarts: the persisted file records the confirmation time). Then:
//!
//! ```text
//! no keys at all                                   → empty     (503 idp_unavailable)
//! age > grace                                      → expired   (503 idp_unavailable)
//! age > refresh_interval + fetch_timeout,
//!   or the most recent fetch failed                → degraded  (verified, TIS-Degraded: idp)
//! otherwise                                        → ok
//! ```
//!
//! `refresh_interval + fetch_timeout` is the oldest a healthy set can be: the background task
//! refreshes at `refresh_interval` and a fetch may take up to `fetch_timeout`. Past that the
//! identity provider has been unreachable for at least one refresh, which is worth telling
//! users (new logins will fail) but not worth refusing their tokens. Past the grace, keys the
//! provider may have revoked could be verifying forged tokens, so we stop trusting them and
//! say that the fault is ours (503), not the caller's (401).

use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

/// When a key set was last confirmed: `before` ahead of the monotonic instant `at`. Keys
/// loaded from disk carry the age they already had, which the monotonic clock of this
/// process could not represent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Confirmed {
    pub at: Instant,
    pub before: Duration,
    pub wall: SystemTime,
}

impl Confirmed {
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.at) + self.before
    }
}

/// Whether the key set may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Recently confirmed by the identity provider.
    Ok,
    /// Within grace, but the identity provider could not be reached lately.
    Degraded,
    /// Not confirmed for longer than the grace: tokens are refused with 503.
    Expired,
    /// No keys were ever obtained.
    Empty,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Ok => "ok",
            KeyState::Degraded => "degraded",
            KeyState::Expired => "expired",
            KeyState::Empty => "empty",
        }
    }

    /// Whether tokens may be verified with the keys.
    pub fn is_trusted(self) -> bool {
        matches!(self, KeyState::Ok | KeyState::Degraded)
    }

    pub const ALL: [KeyState; 4] = [
        KeyState::Ok,
        KeyState::Degraded,
        KeyState::Expired,
        KeyState::Empty,
    ];
}

/// The timing parameters of the key lifecycle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub refresh_interval: Duration,
    pub unknown_kid_interval: Duration,
    pub grace: Duration,
    pub fetch_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Timing {
    /// The state of a key set (see the module documentation).
    pub fn state(
        &self,
        has_keys: bool,
        confirmed: Option<&Confirmed>,
        failing: bool,
        now: Instant,
    ) -> KeyState {
        if !has_keys {
            return KeyState::Empty;
        }
        let Some(confirmed) = confirmed else {
            return KeyState::Expired;
        };
        let age = confirmed.age(now);
        if age > self.grace {
            KeyState::Expired
        } else if failing || age > self.refresh_interval + self.fetch_timeout {
            KeyState::Degraded
        } else {
            KeyState::Ok
        }
    }

    /// The delay before retry number `failures` (1 = after the first failure): doubling from
    /// `backoff_initial` up to `backoff_max`, then "equal jitter": half of it fixed, half
    /// random, so that many gateways that lost the IdP together do not return together,
    /// yet none retries sooner than half the nominal delay.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let nominal = self
            .backoff_initial
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.backoff_max);
        let half = nominal / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// One key, as shown on the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub key_type: crate::keys::KeyType,
    pub algorithms: Vec<String>,
}

/// A snapshot of the key lifecycle, for status pages and `/api/status`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    pub issuer: String,
    /// Where keys are fetched from.
    pub source: String,
    pub state: KeyState,
    pub keys: Vec<KeyInfo>,
    /// Seconds since the keys were last confirmed by the identity provider.
    pub key_age_seconds: Option<u64>,
    /// Seconds of grace left before tokens are refused.
    pub grace_remaining_seconds: Option<u64>,
    /// Unix seconds of the last successful fetch (or of the persisted confirmation).
    pub last_success_unix: Option<u64>,
    pub last_attempt_unix: Option<u64>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub refresh_successes: u64,
    pub refresh_failures: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing {
            refresh_interval: Duration::from_secs(300),
            unknown_kid_interval: Duration::from_secs(10),
            grace: Duration::from_secs(12 * 3600),
            fetch_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn state_follows_the_age_of_the_keys() {
        let t = timing();
        let now = Instant::now();
        let at = |age: u64| Confirmed {
            at: now,
            before: Duration::from_secs(age),
            wall: SystemTime::now(),
        };
        assert_eq!(t.state(false, None, false, now), KeyState::Empty);
        assert_eq!(t.state(true, Some(&at(0)), false, now), KeyState::Ok);
        assert_eq!(t.state(true, Some(&at(0)), true, now), KeyState::Degraded);
        assert_eq!(t.state(true, Some(&at(305)), false, now), KeyState::Ok);
        assert_eq!(
            t.state(true, Some(&at(306)), false, now),
            KeyState::Degraded
        );
        assert_eq!(
            t.state(true, Some(&at(12 * 3600)), false, now),
            KeyState::Degraded
        );
        assert_eq!(
            t.state(true, Some(&at(12 * 3600 + 1)), false, now),
            KeyState::Expired
        );
    }

    #[test]
    fn backoff_doubles_within_bounds_with_jitter() {
        let t = timing();
        for failures in 1..40 {
            let nominal = Duration::from_secs(1u64 << (failures - 1).min(10)).min(t.backoff_max);
            let d = t.backoff(failures);
            assert!(d >= nominal / 2 && d <= nominal, "{failures}: {d:?}");
        }
    }
}
