//! The identity provider's signing keys: fetched, cached, persisted, refreshed, trusted for
//! a bounded grace when the provider is unreachable (failure F1).
//!
//! [`JwksCache`] holds the current key set in an `ArcSwap`, so verification reads it without
//! a lock. Every change goes through one fetch path (`refresh`), which is single-flight:
//! concurrent callers share one fetch. Three things call it:
//! - the background task (`refresh.rs`): every `refresh_interval` while healthy, with
//!   exponential back-off and jitter while failing;
//! - a token with an unknown `kid` (a rotation we have not seen yet), at most once per
//!   `unknown_kid_interval`. The limit is what stops a flood of tokens with made-up `kid`s
//!   from becoming a flood of calls to the identity provider: whatever arrives, the provider
//!   sees at most one extra fetch per interval, and requests that arrive while a fetch is in
//!   flight wait for that fetch instead of starting another;
//! - start-up.
//!
//! A fetch that fails, or returns something that is not a key set with at least one usable
//! key, changes nothing but the error shown on the status page. A successful fetch replaces
//! the set whole: new keys are accepted, keys the provider no longer publishes stop being
//! accepted. Trust and the grace maths are in `status.rs`.

mod refresh;
pub mod source;
pub mod status;
pub mod store;
mod update;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures::future::{BoxFuture, Shared};
use jsonwebtoken::Algorithm;
use tis_core::Health;
use tokio::time::Instant;

use crate::clock::{self, Clock};
use crate::config::{AuthConfig, ConfigError};
use crate::error::{AuthError, FetchError};
use crate::keys::{KeyMap, VerificationKey};
use crate::metrics;

pub use source::{HttpKeySource, KeySource};
pub use status::{KeyInfo, KeyState, KeyStatus};

use status::{Confirmed, Timing};

/// The name of the readiness check this cache reports to.
pub const HEALTH_CHECK: &str = "idp-keys";

type Flight = Shared<BoxFuture<'static, Result<(), Arc<FetchError>>>>;

/// The identity provider's keys and their lifecycle. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct JwksCache(Arc<Inner>);

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("issuer", &self.0.issuer)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    issuer: String,
    accepted: Vec<Algorithm>,
    timing: Timing,
    keys_file: Option<PathBuf>,
    source: Arc<dyn KeySource>,
    clock: Clock,
    snapshot: ArcSwap<Snapshot>,
    failing: AtomicBool,
    progress: Mutex<Progress>,
    inflight: Mutex<Option<Flight>>,
    unknown_kid_last: Mutex<Option<Instant>>,
    health: Mutex<Option<Health>>,
}

/// One key set and when it was confirmed.
pub(crate) struct Snapshot {
    keys: KeyMap,
    confirmed: Option<Confirmed>,
}

#[derive(Debug)]
struct Progress {
    consecutive_failures: u32,
    last_error: Option<String>,
    last_attempt: Option<std::time::SystemTime>,
    next_attempt: Instant,
    successes: u64,
    failures: u64,
}

/// What a `kid` lookup found.
pub(crate) enum Lookup {
    /// A trusted key; `true` when the set is degraded.
    Trusted(Arc<VerificationKey>, bool),
    /// The set is trusted but has no such key.
    Unknown,
    /// The set is beyond grace or empty; its age if it has one.
    Untrusted(Option<Duration>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl JwksCache {
    /// A cache fetching over HTTP as configured, with the system clock, loaded from the
    /// persisted keys if any. Nothing is fetched yet: see [`JwksCache::start`].
    pub fn from_config(config: &AuthConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let source = HttpKeySource::new(
            &config.issuer,
            config.jwks_uri.as_deref(),
            config.fetch_timeout,
        )
        .map_err(|e| ConfigError::new("auth.issuer", e.to_string()))?;
        Self::new(config, Arc::new(source), Clock::system())
    }

    /// A cache with its own key source and clock (tests, other transports).
    pub fn new(
        config: &AuthConfig,
        source: Arc<dyn KeySource>,
        clock: Clock,
    ) -> Result<Self, ConfigError> {
        let accepted = config.validate()?;
        metrics::describe();
        let timing = Timing {
            refresh_interval: config.refresh_interval,
            unknown_kid_interval: config.unknown_kid_interval,
            grace: config.grace,
            fetch_timeout: config.fetch_timeout,
            backoff_initial: config.backoff_initial,
            backoff_max: config.backoff_max,
        };
        let inner = Inner {
            issuer: config.issuer.clone(),
            accepted,
            timing,
            keys_file: config.keys_file.clone(),
            source,
            clock,
            snapshot: ArcSwap::from_pointee(Snapshot {
                keys: KeyMap::new(),
                confirmed: None,
            }),
            failing: AtomicBool::new(false),
            progress: Mutex::new(Progress {
                consecutive_failures: 0,
                last_error: None,
                last_attempt: None,
                next_attempt: clock.now(),
                successes: 0,
                failures: 0,
            }),
            inflight: Mutex::new(None),
            unknown_kid_last: Mutex::new(None),
            health: Mutex::new(None),
        };
        let cache = JwksCache(Arc::new(inner));
        cache.load_persisted();
        cache.publish();
        Ok(cache)
    }

    /// Builds the cache from configuration, fetches the keys (waiting for the first fetch
    /// only when no trusted persisted keys exist), and starts the background refresh.
    pub async fn start(config: &AuthConfig) -> Result<Self, ConfigError> {
        let cache = Self::from_config(config)?;
        cache.start_refreshing().await;
        Ok(cache)
    }

    /// The start-up fetch and the background task, for a cache built with [`JwksCache::new`].
    pub async fn start_refreshing(&self) {
        if !self.state().is_trusted()
            && let Err(err) = self.refresh().await
        {
            tracing::warn!(error.message = %err, issuer = %self.0.issuer,
                "identity provider keys unavailable at start-up; tokens are refused with 503 until they are fetched");
        }
        self.spawn_refresher();
    }

    /// Reports the key state to `health` as the readiness check [`HEALTH_CHECK`]: `up` when
    /// ok, `degraded` within grace, `down` when tokens cannot be verified.
    pub fn report_to(&self, health: Health) {
        *lock(&self.0.health) = Some(health);
        self.publish();
    }

    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    pub(crate) fn clock(&self) -> Clock {
        self.0.clock
    }

    /// The state of the key set now.
    pub fn state(&self) -> KeyState {
        let snap = self.0.snapshot.load();
        self.0.timing.state(
            !snap.keys.is_empty(),
            snap.confirmed.as_ref(),
            self.0.failing.load(Ordering::Relaxed),
            self.0.clock.now(),
        )
    }

    /// Looks a `kid` up without fetching.
    pub(crate) fn lookup(&self, kid: &str) -> Lookup {
        let snap = self.0.snapshot.load();
        let now = self.0.clock.now();
        let state = self.0.timing.state(
            !snap.keys.is_empty(),
            snap.confirmed.as_ref(),
            self.0.failing.load(Ordering::Relaxed),
            now,
        );
        if !state.is_trusted() {
            return Lookup::Untrusted(snap.confirmed.as_ref().map(|c| c.age(now)));
        }
        match snap.keys.get(kid) {
            Some(key) => Lookup::Trusted(Arc::clone(key), state == KeyState::Degraded),
            None => Lookup::Unknown,
        }
    }

    /// Whether `key` is still the trusted key for `kid` (for the verified-token cache).
    pub(crate) fn still_trusts(&self, kid: &str, key: &Arc<VerificationKey>) -> Option<bool> {
        match self.lookup(kid) {
            Lookup::Trusted(current, degraded) if Arc::ptr_eq(&current, key) => Some(degraded),
            _ => None,
        }
    }

    /// The key for `kid`, fetching once (rate-limited) if it is unknown or the set is not
    /// trusted. Returns the key and whether the set is degraded.
    pub(crate) async fn key_for(
        &self,
        kid: &str,
    ) -> Result<(Arc<VerificationKey>, bool), AuthError> {
        if let Lookup::Trusted(key, degraded) = self.lookup(kid) {
            return Ok((key, degraded));
        }
        self.refresh_for_unknown_kid().await;
        match self.lookup(kid) {
            Lookup::Trusted(key, degraded) => Ok((key, degraded)),
            Lookup::Unknown => Err(AuthError::UnknownKey(kid.chars().take(64).collect())),
            Lookup::Untrusted(age) => Err(AuthError::IdpUnavailable { key_age: age }),
        }
    }

    /// A snapshot for status pages.
    pub fn status(&self) -> KeyStatus {
        let snap = self.0.snapshot.load();
        let now = self.0.clock.now();
        let p = lock(&self.0.progress);
        let mut keys: Vec<KeyInfo> = snap
            .keys
            .values()
            .map(|k| KeyInfo {
                kid: k.kid.clone(),
                key_type: k.key_type,
                algorithms: k.algorithms.iter().map(|a| format!("{a:?}")).collect(),
            })
            .collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        let age = snap.confirmed.as_ref().map(|c| c.age(now));
        KeyStatus {
            issuer: self.0.issuer.clone(),
            source: self.0.source.describe(),
            state: self.state(),
            keys,
            key_age_seconds: age.map(|a| a.as_secs()),
            grace_remaining_seconds: age.map(|a| self.0.timing.grace.saturating_sub(a).as_secs()),
            last_success_unix: snap.confirmed.as_ref().map(|c| clock::unix_secs(c.wall)),
            last_attempt_unix: p.last_attempt.map(clock::unix_secs),
            last_error: p.last_error.clone(),
            consecutive_failures: p.consecutive_failures,
            refresh_successes: p.successes,
            refresh_failures: p.failures,
        }
    }

    /// Updates the gauges and the readiness check.
    pub(crate) fn publish(&self) {
        let snap = self.0.snapshot.load();
        let age = snap.confirmed.as_ref().map(|c| c.age(self.0.clock.now()));
        let state = self.state();
        metrics::key_gauges(&self.0.issuer, state, snap.keys.len(), age);
        if let Some(health) = lock(&self.0.health).as_ref() {
            let (status, detail) = match state {
                KeyState::Ok => (tis_core::CheckStatus::Up, None),
                KeyState::Degraded => (
                    tis_core::CheckStatus::Degraded,
                    Some(format!(
                        "identity provider unreachable; keys {}s old",
                        age.unwrap_or_default().as_secs()
                    )),
                ),
                KeyState::Expired => (
                    tis_core::CheckStatus::Down,
                    Some("identity provider keys beyond their grace".to_owned()),
                ),
                KeyState::Empty => (
                    tis_core::CheckStatus::Down,
                    Some("no identity provider keys yet".to_owned()),
                ),
            };
            health.set(HEALTH_CHECK, status, detail);
        }
    }
}
