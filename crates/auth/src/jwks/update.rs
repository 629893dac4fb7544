//! How the key set changes: the single-flight fetch, the unknown-`kid` path and its rate
//! limit, applying a fetched set, recording success and failure (with back-off), and the
//! persisted last-good set (see the module documentation of `jwks`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::status::Confirmed;
use super::{Flight, JwksCache, Snapshot, lock, store};
use crate::clock;
use crate::error::FetchError;
use crate::keys::{self, KeyMap};
use crate::metrics;

impl JwksCache {
    /// Fetches the keys now, or joins the fetch already in flight. Nothing happens until the
    /// future is polled (inside a tokio runtime).
    pub fn refresh(&self) -> impl Future<Output = Result<(), Arc<FetchError>>> + Send + 'static {
        let this = self.clone();
        async move { this.flight().await }
    }

    pub(super) fn flight(&self) -> Flight {
        let mut slot = lock(&self.0.inflight);
        if let Some(flight) = slot.as_ref() {
            return flight.clone();
        }
        let inner = Arc::clone(&self.0);
        // The slot stays locked until the flight is stored, so the task cannot clear it first.
        let task = tokio::spawn(async move {
            let result = JwksCache(Arc::clone(&inner)).fetch_and_apply().await;
            *lock(&inner.inflight) = None;
            result
        });
        let flight: Flight = futures::FutureExt::shared(Box::pin(async move {
            match task.await {
                Ok(result) => result,
                Err(e) => Err(Arc::new(FetchError::Task(e.to_string()))),
            }
        }) as BoxFuture<'static, _>);
        *slot = Some(flight.clone());
        flight
    }

    /// The unknown-`kid` path: joins a fetch in flight, or starts one unless one was started
    /// for this reason less than `unknown_kid_interval` ago.
    pub(super) async fn refresh_for_unknown_kid(&self) {
        if let Some(flight) = self.extra_fetch(metrics::unknown_kid_refresh) {
            let _ = flight.await;
        }
    }

    /// A verified token issued after the last failed fetch: the provider was up when it
    /// signed it, so the keys are fetched now instead of at the end of the back-off (up to
    /// `backoff_max`, during which the status would keep saying that login is unavailable).
    /// Nothing happens unless fetching is failing; at most one such fetch per
    /// `unknown_kid_interval`, shared with the unknown-`kid` path. The caller does not wait.
    pub(crate) fn note_token_issued(&self, iat: Option<u64>) {
        if !self.0.failing.load(Ordering::Relaxed) {
            return;
        }
        let Some(iat) = iat else { return };
        let failed_at = lock(&self.0.progress)
            .last_attempt
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        if iat <= failed_at || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        // The flight is a spawned task: dropping its handle does not cancel the fetch.
        let _ = self.extra_fetch(metrics::recovery_refresh);
    }

    /// Joins the fetch in flight, or starts one unless an extra (unscheduled) fetch was
    /// started less than `unknown_kid_interval` ago; `count` records a started one.
    fn extra_fetch(&self, count: impl FnOnce(&str)) -> Option<Flight> {
        let mut last = lock(&self.0.unknown_kid_last);
        let now = self.0.clock.now();
        let in_flight = lock(&self.0.inflight).clone();
        match in_flight {
            Some(flight) => Some(flight),
            None if last.is_some_and(|t| {
                now.saturating_duration_since(t) < self.0.timing.unknown_kid_interval
            }) =>
            {
                None
            }
            None => {
                *last = Some(now);
                count(&self.0.issuer);
                Some(self.flight())
            }
        }
    }

    async fn fetch_and_apply(&self) -> Result<(), Arc<FetchError>> {
        let inner = &self.0;
        let fetched =
            match tokio::time::timeout(inner.timing.fetch_timeout, inner.source.fetch()).await {
                Err(_) => Err(FetchError::Timeout(inner.timing.fetch_timeout)),
                Ok(result) => result,
            };
        let parsed = fetched.and_then(|doc| {
            let (keys, skipped) =
                keys::parse_jwks(&doc, &inner.accepted).map_err(|m| FetchError::Invalid {
                    url: inner.source.describe(),
                    message: m.into(),
                })?;
            for s in &skipped {
                tracing::debug!(kid = ?s.kid, reason = s.reason, "skipped a key of the JWKS");
            }
            if keys.is_empty() {
                return Err(FetchError::NoUsableKeys {
                    url: inner.source.describe(),
                });
            }
            Ok((keys, doc))
        });
        let result = match parsed {
            Ok((keys, doc)) => {
                self.apply(keys);
                self.persist(doc).await;
                self.record_success();
                Ok(())
            }
            Err(err) => {
                self.record_failure(&err);
                Err(Arc::new(err))
            }
        };
        self.publish();
        result
    }

    /// Installs a freshly fetched set, keeping the `Arc`s of unchanged keys so that verified
    /// tokens cached under them stay valid.
    fn apply(&self, fresh: KeyMap) {
        let old = self.0.snapshot.load();
        let mut keys = KeyMap::with_capacity(fresh.len());
        for (kid, key) in fresh {
            let kept = old.keys.get(&kid).filter(|k| k.jwk == key.jwk).cloned();
            keys.insert(kid, kept.unwrap_or(key));
        }
        let added: Vec<&String> = keys.keys().filter(|k| !old.keys.contains_key(*k)).collect();
        let removed: Vec<&String> = old.keys.keys().filter(|k| !keys.contains_key(*k)).collect();
        if !added.is_empty() || !removed.is_empty() {
            tracing::info!(issuer = %self.0.issuer, added = ?added, removed = ?removed,
                "identity provider signing keys changed");
        }
        let now = self.0.clock.now();
        self.0.snapshot.store(Arc::new(Snapshot {
            keys,
            confirmed: Some(Confirmed {
                at: now,
                before: Duration::ZERO,
                wall: self.0.clock.wall(),
            }),
        }));
    }

    fn record_success(&self) {
        let mut p = lock(&self.0.progress);
        p.consecutive_failures = 0;
        p.last_attempt = Some(self.0.clock.wall());
        p.next_attempt = self.0.clock.now() + self.0.timing.refresh_interval;
        p.successes += 1;
        self.0.failing.store(false, Ordering::Relaxed);
        metrics::refresh_result(&self.0.issuer, true);
    }

    fn record_failure(&self, err: &FetchError) {
        let mut p = lock(&self.0.progress);
        p.consecutive_failures = p.consecutive_failures.saturating_add(1);
        p.last_attempt = Some(self.0.clock.wall());
        p.last_error = Some(err.to_string());
        let delay = self.0.timing.backoff(p.consecutive_failures);
        p.next_attempt = self.0.clock.now() + delay;
        p.failures += 1;
        self.0.failing.store(true, Ordering::Relaxed);
        metrics::refresh_result(&self.0.issuer, false);
        tracing::warn!(issuer = %self.0.issuer, error.message = %err,
            failures = p.consecutive_failures, retry_in_ms = delay.as_millis() as u64,
            "fetching the identity provider's keys failed; keeping the last good keys");
    }

    /// When the background task should fetch next.
    pub(crate) fn next_attempt(&self) -> Instant {
        lock(&self.0.progress).next_attempt
    }

    pub(super) fn load_persisted(&self) {
        let Some(path) = &self.0.keys_file else {
            return;
        };
        let persisted = match store::load(path, &self.0.issuer) {
            Ok(Some(p)) => p,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error.message = %err, "ignoring the persisted identity provider keys");
                return;
            }
        };
        let keys = match keys::parse_jwks(&persisted.jwks, &self.0.accepted) {
            Ok((keys, _)) if !keys.is_empty() => keys,
            _ => {
                tracing::warn!(path = %path.display(), "the persisted key file holds no usable key");
                return;
            }
        };
        let wall = clock::from_unix_secs(persisted.confirmed_at);
        // A confirmation "in the future" (clock stepped back) counts as just now.
        let age = self.0.clock.wall().duration_since(wall).unwrap_or_default();
        tracing::info!(path = %path.display(), keys = keys.len(), age_s = age.as_secs(),
            "loaded the last good identity provider keys");
        self.0.snapshot.store(Arc::new(Snapshot {
            keys,
            confirmed: Some(Confirmed {
                at: self.0.clock.now(),
                before: age,
                wall,
            }),
        }));
    }

    async fn persist(&self, jwks: serde_json::Value) {
        let Some(path) = self.0.keys_file.clone() else {
            return;
        };
        let record = store::PersistedKeys::new(&self.0.issuer, self.0.clock.unix_secs(), jwks);
        let written =
            tokio::task::spawn_blocking(move || store::save(&path, &record).map(|()| path)).await;
        match written {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                tracing::warn!(error.message = %err, "could not persist the identity provider keys")
            }
            Err(err) => tracing::warn!(error.message = %err, "the key persisting task failed"),
        }
    }
}
