//! [`ProfileClient`]: the cache in front of Profile, and the single-flight of its calls.
//!
//! A lookup classifies the user's entry ([`crate::cache::verdict`]) and either answers from
//! memory, or answers and starts a background refresh, or waits for a call. Calls are
//! single-flight per user: the first request that needs one spawns it as a task and records
//! it in `flights`; every other request for that user, until it finishes, awaits the same
//! shared result (a *join*). The task, not the request, owns the call, so a caller that gives
//! up (its own deadline, a dropped connection) neither cancels the call for the others nor
//! wastes it: its answer is cached either way. The task writes the cache *before* leaving
//! `flights`, so a request never finds neither.
//!
//! Invalidation bumps a generation number; a call that started before it does not write its
//! (possibly outdated) answer into the cache, though its waiters still get it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use moka::future::Cache;
use tis_auth::{AccessClaims, ProfileError, ProfileSource, ResolvedProfile};
use tis_mesh::{Discovery, ServiceClient};
use tokio::time::Instant;

use crate::cache::{Entry, Known, Lifetime, Verdict, Windows, verdict};
use crate::config::{ConfigError, ProfileClientConfig};
use crate::error::ClientError;
use crate::fetch::{Fetch, FetchFailure, Fetched, HttpFetch, UserKey};
use crate::metrics::{self, CacheStats, Counters, Lookup};

type Flight = Shared<BoxFuture<'static, Result<Fetched, FetchFailure>>>;

/// The cached Profile client. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct ProfileClient {
    inner: Arc<Inner>,
}

struct Inner {
    windows: Windows,
    cache: Cache<UserKey, Entry>,
    fetch: Arc<dyn Fetch>,
    flights: Mutex<HashMap<UserKey, Flight>>,
    generation: AtomicU64,
    counters: Counters,
    service: Option<ServiceClient>,
}

impl std::fmt::Debug for ProfileClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileClient")
            .field("windows", &self.inner.windows)
            .field("entries", &self.inner.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl ProfileClient {
    /// Calls Profile at the endpoints `discovery` publishes (the gateway passes its registry's
    /// discovery for `profile`). Must be called inside a Tokio runtime.
    pub fn new(
        config: &ProfileClientConfig,
        discovery: impl Discovery,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let service =
            ServiceClient::new(tis_core::service::PROFILE, config.mesh.clone(), discovery)
                .map_err(|e| ConfigError::new("mesh", format!("`{}` {}", e.key, e.problem)))?;
        let fetch = HttpFetch::new(
            service.clone(),
            &config.userinfo_path,
            config.timeout,
            config.max_response_bytes,
        );
        Ok(Self::assemble(config, Arc::new(fetch), Some(service)))
    }

    /// Calls Profile at the endpoints of `config.discovery`.
    pub async fn from_config(config: &ProfileClientConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let ctx = tis_mesh::DiscoveryContext {
            registry: None,
            dns: config.mesh.dns.clone(),
        };
        let discovery = config
            .discovery
            .start(tis_core::service::PROFILE, &ctx)
            .await
            .map_err(|e| ConfigError::new("discovery", e.problem))?;
        Self::new(config, discovery)
    }

    /// Fetches through `fetch` instead of HTTP (tests; other transports).
    pub fn with_fetch(
        config: &ProfileClientConfig,
        fetch: Arc<dyn Fetch>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::assemble(config, fetch, None))
    }

    fn assemble(
        config: &ProfileClientConfig,
        fetch: Arc<dyn Fetch>,
        service: Option<ServiceClient>,
    ) -> Self {
        metrics::describe();
        let windows = Windows::from(config);
        let cache = Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(|_k: &UserKey, v: &Entry| v.weight)
            .expire_after(Lifetime(windows))
            .support_invalidation_closures()
            .build();
        ProfileClient {
            inner: Arc::new(Inner {
                windows,
                cache,
                fetch,
                flights: Mutex::new(HashMap::new()),
                generation: AtomicU64::new(0),
                counters: Counters::default(),
                service,
            }),
        }
    }

    /// The mesh client calling Profile (endpoints and breakers, for status pages); `None`
    /// when built [`with_fetch`](Self::with_fetch).
    pub fn service(&self) -> Option<&ServiceClient> {
        self.inner.service.as_ref()
    }

    /// The counters, and the cache's size now.
    pub fn stats(&self) -> CacheStats {
        let c = &self.inner.cache;
        self.inner
            .counters
            .snapshot(c.entry_count(), c.weighted_size())
    }

    /// The profile of the user `claims` names, fetched with their `access_token` when the
    /// cache cannot answer (see [`crate::cache`] for when).
    pub async fn resolve(
        &self,
        access_token: &str,
        claims: &AccessClaims,
    ) -> Result<ResolvedProfile, ClientError> {
        self.resolve_with(Arc::from(access_token), claims).await
    }

    /// Forgets everything known about `user` (under every issuer), so that the next request
    /// asks Profile. Calls in flight when this is called answer their waiters but do not
    /// refill the cache.
    pub fn invalidate(&self, user: &str) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        let user = user.to_owned();
        if let Err(e) = self
            .inner
            .cache
            .invalidate_entries_if(move |k, _| k.user.eq_ignore_ascii_case(&user))
        {
            tracing::warn!(error.message = %e, "profile cache invalidation failed; clearing it all");
            self.inner.cache.invalidate_all();
        }
    }

    /// Forgets every user.
    pub fn invalidate_all(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.cache.invalidate_all();
    }

    async fn resolve_with(
        &self,
        token: Arc<str>,
        claims: &AccessClaims,
    ) -> Result<ResolvedProfile, ClientError> {
        let user = claims
            .preferred_username
            .as_deref()
            .or_else(|| claims.user_name())
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| ClientError::NoProfile(String::new()))?;
        let key = UserKey::new(&claims.iss, user);
        let inner = &self.inner;
        if let Some(entry) = inner.cache.get(&key).await {
            let stale = entry.failed_at.is_some();
            match verdict(&entry, Instant::now(), &inner.windows) {
                Verdict::Fresh => {
                    let what = match entry.known {
                        Known::Profile(_) => Lookup::Hit,
                        _ => Lookup::Negative,
                    };
                    inner.counters.lookup(what);
                    let age = Instant::now().saturating_duration_since(entry.fetched_at);
                    let left = inner.windows.fresh_for.saturating_sub(age);
                    return answer(&key, &entry.known, stale, left);
                }
                Verdict::Revalidate => {
                    // The call runs as its own task; nobody waits for it here.
                    let (_background, _) = self.flight(&key, token);
                    let what = if stale {
                        Lookup::Stale
                    } else {
                        Lookup::Revalidate
                    };
                    inner.counters.lookup(what);
                    return answer(&key, &entry.known, stale, Duration::ZERO);
                }
                Verdict::ServeStale => {
                    inner.counters.lookup(Lookup::Stale);
                    return answer(&key, &entry.known, true, Duration::ZERO);
                }
                Verdict::MustRefresh => {
                    return match self.wait_for_call(&key, token).await {
                        Ok(fetched) => {
                            inner.counters.lookup(Lookup::Miss);
                            from_fetched(&key, fetched, inner.windows.fresh_for)
                        }
                        Err(failure) => {
                            tracing::warn!(user.name = %key.user, error.message = %failure,
                                "Profile unreachable; serving the cached profile marked stale");
                            inner.counters.lookup(Lookup::Stale);
                            answer(&key, &entry.known, true, Duration::ZERO)
                        }
                    };
                }
                Verdict::Expired => {}
            }
        }
        inner.counters.lookup(Lookup::Miss);
        match self.wait_for_call(&key, token).await {
            Ok(fetched) => from_fetched(&key, fetched, inner.windows.fresh_for),
            Err(failure) => {
                tracing::warn!(user.name = %key.user, error.message = %failure,
                    "Profile unreachable and no usable profile cached");
                Err(ClientError::Unavailable(failure.0))
            }
        }
    }

    async fn wait_for_call(&self, key: &UserKey, token: Arc<str>) -> Result<Fetched, FetchFailure> {
        let (flight, joined) = self.flight(key, token);
        if joined {
            self.inner.counters.joined();
        }
        flight.await
    }

    /// The call in flight for `key`, or a new one; and whether it was already in flight.
    fn flight(&self, key: &UserKey, token: Arc<str>) -> (Flight, bool) {
        let mut flights = self.inner.flights.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = flights.get(key) {
            return (f.clone(), true);
        }
        let inner = Arc::clone(&self.inner);
        let k = key.clone();
        let generation = inner.generation.load(Ordering::SeqCst);
        let task = tokio::spawn(async move {
            let result = inner.fetch.fetch(&k, token).await;
            inner.record(&k, &result, generation).await;
            inner
                .flights
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&k);
            result
        });
        let flight = async move {
            task.await
                .unwrap_or_else(|e| Err(FetchFailure(format!("the call task failed: {e}"))))
        }
        .boxed()
        .shared();
        flights.insert(key.clone(), flight.clone());
        (flight, false)
    }
}

impl Inner {
    /// Writes a call's outcome into the cache (unless invalidated meanwhile).
    async fn record(&self, key: &UserKey, result: &Result<Fetched, FetchFailure>, generation: u64) {
        let current = || self.generation.load(Ordering::SeqCst) == generation;
        let now = Instant::now();
        let key_bytes = key.issuer.len() + key.user.len();
        match result {
            Ok(fetched) => {
                let (label, entry) = match fetched {
                    Fetched::Profile { profile, bytes } => (
                        "profile",
                        Entry::new(Known::Profile(Arc::clone(profile)), *bytes, key_bytes, now),
                    ),
                    Fetched::NoProfile => (
                        "no_profile",
                        Entry::new(Known::NoProfile, 0, key_bytes, now),
                    ),
                    Fetched::Inactive => {
                        ("inactive", Entry::new(Known::Inactive, 0, key_bytes, now))
                    }
                };
                self.counters.fetched(label);
                if current() {
                    self.cache.insert(key.clone(), entry).await;
                }
            }
            Err(failure) => {
                self.counters.fetched("failed");
                tracing::warn!(user.name = %key.user, error.message = %failure, "profile call failed");
                if current()
                    && let Some(mut entry) = self.cache.get(key).await
                    && matches!(entry.known, Known::Profile(_))
                {
                    entry.failed_at = Some(now);
                    self.cache.insert(key.clone(), entry).await;
                }
            }
        }
        metrics::set_size(self.cache.entry_count(), self.cache.weighted_size());
    }
}

/// An answer from the cache; `fresh_for` is what is left of the entry's fresh window.
fn answer(
    key: &UserKey,
    known: &Known,
    stale: bool,
    fresh_for: Duration,
) -> Result<ResolvedProfile, ClientError> {
    match known {
        Known::Profile(p) => Ok(ResolvedProfile {
            profile: (**p).clone(),
            stale,
            fresh_for: Some(fresh_for),
        }),
        Known::NoProfile => Err(ClientError::NoProfile(key.user.to_string())),
        Known::Inactive => Err(ClientError::Inactive(key.user.to_string())),
    }
}

/// An answer just fetched from Profile: fresh for the whole window.
fn from_fetched(
    key: &UserKey,
    fetched: Fetched,
    fresh_for: Duration,
) -> Result<ResolvedProfile, ClientError> {
    match fetched {
        Fetched::Profile { profile, .. } => Ok(ResolvedProfile {
            profile: Arc::unwrap_or_clone(profile),
            stale: false,
            fresh_for: Some(fresh_for),
        }),
        Fetched::NoProfile => Err(ClientError::NoProfile(key.user.to_string())),
        Fetched::Inactive => Err(ClientError::Inactive(key.user.to_string())),
    }
}

impl ProfileSource for ProfileClient {
    /// The profile through the cache, asking Profile with the caller's access token.
    fn profile<'a>(
        &'a self,
        token: &'a str,
        claims: &'a AccessClaims,
    ) -> BoxFuture<'a, Result<ResolvedProfile, ProfileError>> {
        Box::pin(async move {
            self.resolve(token, claims)
                .await
                .map_err(ProfileError::from)
        })
    }
}

#[cfg(test)]
mod tests;
