//! [`ReferenceClient`]: the cache in front of Reference, and the single-flight of its calls.
//!
//! A question names a type, whether its keys are codes or ids, and the keys. Each key's entry
//! is classified ([`crate::cache::verdict`]): answered from memory, answered with a background
//! refresh, or waiting for a call. The keys that need a call are asked together, in batches of
//! `max_batch`, and every call is single-flight per key: the first question that needs a key
//! spawns the call as a task and records it in `flights`; any other question about that key,
//! until the call finishes, awaits the same shared result (a *join*). The task, not the
//! question, owns the call, so a caller that gives up (its deadline, a dropped connection)
//! neither cancels the call for the others nor wastes it: its answers are remembered either
//! way. The task writes the cache *before* leaving `flights`, so a question never finds
//! neither.
//!
//! A waiting caller waits no longer than its own request's deadline (tis-core's request
//! context); past it, the keys it waited for count as failed for it.
//!
//! Invalidation bumps a generation number; a call that started before it does not write its
//! (possibly outdated) answers into the cache, though its waiters still get them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, join_all};
use moka::future::Cache;
use serde_json::Value;
use tis_auth::Credential;
use tis_core::context::RequestContext;
use tis_core::service;
use tis_mesh::{Discovery, ServiceClient};
use tokio::time::Instant;

use crate::cache::{Entry, Key, Known, Lifetime, Verdict, Want, Windows, verdict};
use crate::config::{ConfigError, ReferenceClientConfig};
use crate::error::ReferenceUnavailable;
use crate::fetch::{Answers, Fetch, FetchFailure, HttpFetch, Question};
use crate::metrics::{self, CacheStats, Counters, Lookup as Counted};
use crate::types::{Answer, By, Lookup, RefType};

type Flight = Shared<BoxFuture<'static, Result<Arc<Answers>, FetchFailure>>>;

/// The cached Reference client. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct ReferenceClient {
    inner: Arc<Inner>,
}

struct Inner {
    windows: Windows,
    cache: Cache<Key, Entry>,
    fetch: Arc<dyn Fetch>,
    flights: Mutex<HashMap<Key, Flight>>,
    generation: AtomicU64,
    counters: Counters,
    service: Option<ServiceClient>,
    max_batch: usize,
}

impl std::fmt::Debug for ReferenceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceClient")
            .field("windows", &self.inner.windows)
            .field("entries", &self.inner.cache.entry_count())
            .finish_non_exhaustive()
    }
}

/// What a key's answer is, before it is shaped for the caller.
#[derive(Debug, Clone)]
enum Got {
    Known { known: Known, stale: bool },
    Unknown(String),
}

impl ReferenceClient {
    /// Calls Reference at the endpoints `discovery` publishes. Must be called inside a Tokio
    /// runtime.
    pub fn new(
        config: &ReferenceClientConfig,
        discovery: impl Discovery,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let service = ServiceClient::new(service::REFERENCE, config.mesh.clone(), discovery)
            .map_err(|e| ConfigError::new("mesh", format!("`{}` {}", e.key, e.problem)))?;
        let fetch = HttpFetch::new(
            service.clone(),
            &config.api,
            config.timeout,
            config.max_response_bytes,
        );
        Ok(Self::assemble(config, Arc::new(fetch), Some(service)))
    }

    /// Calls Reference at the endpoints of `config.discovery`.
    pub async fn from_config(config: &ReferenceClientConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let ctx = tis_mesh::DiscoveryContext {
            registry: None,
            dns: config.mesh.dns.clone(),
        };
        let discovery = config
            .discovery
            .start(service::REFERENCE, &ctx)
            .await
            .map_err(|e| ConfigError::new("discovery", e.problem))?;
        Self::new(config, discovery)
    }

    /// Fetches through `fetch` instead of HTTP (tests; other transports).
    pub fn with_fetch(
        config: &ReferenceClientConfig,
        fetch: Arc<dyn Fetch>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::assemble(config, fetch, None))
    }

    fn assemble(
        config: &ReferenceClientConfig,
        fetch: Arc<dyn Fetch>,
        service: Option<ServiceClient>,
    ) -> Self {
        metrics::describe();
        let windows = Windows::from(config);
        let cache = Cache::builder()
            .max_capacity(config.max_entries)
            .weigher(|_k: &Key, v: &Entry| v.weight)
            .expire_after(Lifetime(windows))
            .support_invalidation_closures()
            .build();
        ReferenceClient {
            inner: Arc::new(Inner {
                windows,
                cache,
                fetch,
                flights: Mutex::new(HashMap::new()),
                generation: AtomicU64::new(0),
                counters: Counters::default(),
                service,
                max_batch: config.max_batch,
            }),
        }
    }

    /// The mesh client calling Reference (endpoints and breakers, for status pages); `None`
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

    /// Which of `keys` (codes or ids, as `by` says) of type `of` exist. Reference is asked,
    /// with `credential`, only about the keys the cache cannot answer.
    pub async fn exist<I, S>(
        &self,
        of: RefType,
        by: By,
        keys: I,
        credential: Option<&Credential>,
    ) -> Existence
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let q = Question {
            of,
            by,
            want: Want::Exists,
        };
        let (got, cause) = self.ask(q, keys, credential).await;
        let items = got
            .into_iter()
            .map(|(k, g)| {
                let answer = match g {
                    Got::Known {
                        known: Known::Missing,
                        ..
                    } => Answer::Missing,
                    Got::Known { stale, .. } => Answer::Exists { stale },
                    Got::Unknown(_) => Answer::Unknown,
                };
                (k.to_string(), answer)
            })
            .collect();
        Checked {
            of,
            by,
            items,
            cause,
        }
    }

    /// [`exist`](Self::exist) by code.
    pub async fn codes_exist<I, S>(
        &self,
        of: RefType,
        codes: I,
        credential: Option<&Credential>,
    ) -> Existence
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.exist(of, By::Code, codes, credential).await
    }

    /// [`exist`](Self::exist) by id.
    pub async fn ids_exist<I, S>(
        &self,
        of: RefType,
        ids: I,
        credential: Option<&Credential>,
    ) -> Existence
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.exist(of, By::Id, ids, credential).await
    }

    /// The records of type `of` named by `keys` (codes or ids, as `by` says), as Reference's
    /// JSON.
    pub async fn records<I, S>(
        &self,
        of: RefType,
        by: By,
        keys: I,
        credential: Option<&Credential>,
    ) -> Records
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let q = Question {
            of,
            by,
            want: Want::Record,
        };
        let (got, cause) = self.ask(q, keys, credential).await;
        let items = got
            .into_iter()
            .map(|(k, g)| {
                let lookup = match g {
                    Got::Known {
                        known: Known::Record(record),
                        stale,
                    } => Lookup::Found { record, stale },
                    Got::Known { .. } => Lookup::Missing,
                    Got::Unknown(_) => Lookup::Unknown,
                };
                (k.to_string(), lookup)
            })
            .collect();
        Checked {
            of,
            by,
            items,
            cause,
        }
    }

    /// One record of type `of` by its code.
    pub async fn record_by_code(
        &self,
        of: RefType,
        code: &str,
        credential: Option<&Credential>,
    ) -> Lookup<Arc<Value>> {
        self.records(of, By::Code, [code], credential)
            .await
            .items
            .remove(code)
            .unwrap_or(Lookup::Unknown)
    }

    /// Forgets every answer about type `of`, so that the next question asks Reference. Calls
    /// in flight answer their waiters but do not refill the cache.
    pub fn invalidate(&self, of: RefType) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = self
            .inner
            .cache
            .invalidate_entries_if(move |k, _| k.of == of)
        {
            tracing::warn!(error.message = %e, "reference cache invalidation failed; clearing it all");
            self.inner.cache.invalidate_all();
        }
    }

    /// Forgets everything.
    pub fn invalidate_all(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.cache.invalidate_all();
    }

    /// Each distinct key's answer, and the cause of the first failure if any key is unknown.
    async fn ask<I, S>(
        &self,
        q: Question,
        keys: I,
        credential: Option<&Credential>,
    ) -> (BTreeMap<Arc<str>, Got>, Option<String>)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let inner = &*self.inner;
        let key = |k: &Arc<str>| Key {
            of: q.of,
            by: q.by,
            want: q.want,
            key: k.clone(),
        };
        let mut out = BTreeMap::new();
        // Keys that need a call, with what is remembered of them (used if the call fails).
        let mut wait: Vec<(Arc<str>, Option<Entry>)> = Vec::new();
        let mut background: Vec<Arc<str>> = Vec::new();
        let now = Instant::now();
        let mut seen = HashSet::new();
        for k in keys {
            let k: Arc<str> = Arc::from(k.as_ref());
            if !seen.insert(k.clone()) {
                continue;
            }
            let Some(entry) = inner.cache.get(&key(&k)).await else {
                wait.push((k, None));
                continue;
            };
            let stale = entry.failed_at.is_some();
            let answered = |out: &mut BTreeMap<Arc<str>, Got>, stale: bool| {
                out.insert(
                    k.clone(),
                    Got::Known {
                        known: entry.known.clone(),
                        stale,
                    },
                );
            };
            match verdict(&entry, now, &inner.windows) {
                Verdict::Fresh => {
                    inner.counters.lookup(match entry.known {
                        Known::Missing => Counted::Negative,
                        _ => Counted::Hit,
                    });
                    answered(&mut out, stale);
                }
                Verdict::Revalidate => {
                    inner.counters.lookup(if stale {
                        Counted::Stale
                    } else {
                        Counted::Revalidate
                    });
                    answered(&mut out, stale);
                    background.push(k);
                }
                Verdict::ServeStale => {
                    inner.counters.lookup(Counted::Stale);
                    answered(&mut out, true);
                }
                Verdict::MustRefresh => wait.push((k, Some(entry))),
                Verdict::Expired => wait.push((k, None)),
            }
        }
        if wait.is_empty() && background.is_empty() {
            return (out, None);
        }

        let waits = self.flights(q, &wait, background, credential);
        let deadline = RequestContext::current().and_then(|c| c.deadline());
        let results = join_all(waits.into_iter().map(|(keys, flight)| async move {
            let result = match deadline {
                Some(d) => tokio::time::timeout_at(d, flight)
                    .await
                    .unwrap_or_else(|_| {
                        Err(FetchFailure(
                            "the request's deadline passed while Reference was asked".into(),
                        ))
                    }),
                None => flight.await,
            };
            (keys, result)
        }))
        .await;

        let mut cause = None;
        for (keys, result) in results {
            for (k, remembered) in keys {
                let got = match &result {
                    Ok(answers) => match answers.get(&k) {
                        Some(fetched) => {
                            inner.counters.lookup(Counted::Miss);
                            Got::Known {
                                known: fetched.known.clone(),
                                stale: false,
                            }
                        }
                        None => fallback(
                            inner,
                            remembered,
                            format!("Reference's answer left out {:?}", &*k),
                        ),
                    },
                    Err(failure) => fallback(inner, remembered, failure.0.clone()),
                };
                if let Got::Unknown(why) = &got {
                    cause.get_or_insert_with(|| why.clone());
                }
                out.insert(k, got);
            }
        }
        (out, cause)
    }

    /// Starts (or joins) the calls `wait` needs, and starts background refreshes of
    /// `background` (in the same calls when there are some to wait for). Returns what to await:
    /// each flight with the waiting keys it answers.
    #[allow(clippy::type_complexity)]
    fn flights(
        &self,
        q: Question,
        wait: &[(Arc<str>, Option<Entry>)],
        background: Vec<Arc<str>>,
        credential: Option<&Credential>,
    ) -> Vec<(Vec<(Arc<str>, Option<Entry>)>, Flight)> {
        let inner = &self.inner;
        let key = |k: &Arc<str>| Key {
            of: q.of,
            by: q.by,
            want: q.want,
            key: k.clone(),
        };
        let mut out: Vec<(Vec<(Arc<str>, Option<Entry>)>, Flight)> = Vec::new();
        let mut flights = inner.flights.lock().unwrap_or_else(|p| p.into_inner());
        let mut to_call: Vec<(Arc<str>, Option<Entry>)> = Vec::new();
        let mut joined = 0;
        for (k, remembered) in wait {
            match flights.get(&key(k)) {
                Some(f) => {
                    joined += 1;
                    out.push((vec![(k.clone(), remembered.clone())], f.clone()));
                }
                None => to_call.push((k.clone(), remembered.clone())),
            }
        }
        if joined > 0 {
            inner.counters.joined(joined);
        }
        let refresh: Vec<Arc<str>> = background
            .into_iter()
            .filter(|k| !flights.contains_key(&key(k)))
            .collect();
        let mut batches: Vec<(Vec<Arc<str>>, Vec<(Arc<str>, Option<Entry>)>)> = Vec::new();
        if to_call.is_empty() {
            for chunk in refresh.chunks(inner.max_batch) {
                batches.push((chunk.to_vec(), Vec::new()));
            }
        } else {
            let waiting: Vec<Arc<str>> = to_call.iter().map(|(k, _)| k.clone()).collect();
            let all: Vec<Arc<str>> = waiting.into_iter().chain(refresh).collect();
            let mut waiters = to_call.into_iter().peekable();
            for chunk in all.chunks(inner.max_batch) {
                let mut mine = Vec::new();
                while let Some((k, _)) = waiters.peek() {
                    if !chunk.contains(k) {
                        break;
                    }
                    mine.extend(waiters.next());
                }
                batches.push((chunk.to_vec(), mine));
            }
        }
        for (keys, waiters) in batches {
            let flight = self.start(q, keys.clone(), credential.cloned());
            for k in &keys {
                flights.insert(key(k), flight.clone());
            }
            if !waiters.is_empty() {
                out.push((waiters, flight));
            }
        }
        out
    }

    /// Spawns one call for `keys`; the caller registers it in `flights` (under the lock).
    fn start(&self, q: Question, keys: Vec<Arc<str>>, credential: Option<Credential>) -> Flight {
        let inner = Arc::clone(&self.inner);
        let generation = inner.generation.load(Ordering::SeqCst);
        // The call keeps the starter's trace (its `traceparent`), not its deadline or marks:
        // the call is shared and has a deadline of its own.
        let ctx = RequestContext::current()
            .map(|c| RequestContext::new(c.request_id().to_owned(), c.trace(), None));
        let call = async move {
            let result = inner
                .fetch
                .fetch(q, keys.clone(), credential)
                .await
                .map(Arc::new);
            inner.record(q, &keys, &result, generation).await;
            {
                let mut flights = inner.flights.lock().unwrap_or_else(|p| p.into_inner());
                for k in keys {
                    flights.remove(&Key {
                        of: q.of,
                        by: q.by,
                        want: q.want,
                        key: k,
                    });
                }
            }
            result
        };
        let task = match ctx {
            Some(ctx) => tokio::spawn(ctx.scope(call)),
            None => tokio::spawn(call),
        };
        async move {
            task.await
                .unwrap_or_else(|e| Err(FetchFailure(format!("the call task failed: {e}"))))
        }
        .boxed()
        .shared()
    }
}

/// A key whose call failed: its remembered "yes" used stale, or unknown.
fn fallback(inner: &Inner, remembered: Option<Entry>, why: String) -> Got {
    match remembered {
        Some(entry) if !matches!(entry.known, Known::Missing) => {
            inner.counters.lookup(Counted::Stale);
            Got::Known {
                known: entry.known,
                stale: true,
            }
        }
        _ => {
            inner.counters.lookup(Counted::Unknown);
            Got::Unknown(why)
        }
    }
}

impl Inner {
    /// Writes a call's outcome into the cache (unless invalidated meanwhile).
    async fn record(
        &self,
        q: Question,
        keys: &[Arc<str>],
        result: &Result<Arc<Answers>, FetchFailure>,
        generation: u64,
    ) {
        let current = || self.generation.load(Ordering::SeqCst) == generation;
        let now = Instant::now();
        let key = |k: &Arc<str>| Key {
            of: q.of,
            by: q.by,
            want: q.want,
            key: k.clone(),
        };
        self.counters.called(result.is_ok());
        if let Err(failure) = result {
            tracing::warn!(reference.type = q.of.plural, error.message = %failure,
                "a call to Reference failed");
        }
        for k in keys {
            let answer = result.as_ref().ok().and_then(|a| a.get(k));
            match answer {
                Some(fetched) if current() => {
                    if fetched.known == Known::Missing && self.windows.negative_for.is_zero() {
                        self.cache.invalidate(&key(k)).await;
                    } else {
                        let entry = Entry::new(fetched.known.clone(), fetched.bytes, now);
                        self.cache.insert(key(k), entry).await;
                    }
                }
                Some(_) => {}
                None => {
                    if current()
                        && let Some(mut entry) = self.cache.get(&key(k)).await
                        && !matches!(entry.known, Known::Missing)
                    {
                        entry.failed_at = Some(now);
                        self.cache.insert(key(k), entry).await;
                    }
                }
            }
        }
        metrics::set_size(self.cache.entry_count(), self.cache.weighted_size());
    }
}

/// The answers to one question, by key, as asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<T> {
    pub of: RefType,
    pub by: By,
    items: BTreeMap<String, T>,
    cause: Option<String>,
}

/// Which keys exist.
pub type Existence = Checked<Answer>;
/// The records, as Reference's JSON.
pub type Records = Checked<Lookup<Arc<Value>>>;

/// What [`Checked`] needs of an answer.
pub trait HasAnswer {
    fn answer_of(&self) -> Answer;
}

impl HasAnswer for Answer {
    fn answer_of(&self) -> Answer {
        *self
    }
}

impl<T> HasAnswer for Lookup<T> {
    fn answer_of(&self) -> Answer {
        self.answer()
    }
}

impl<T: HasAnswer> Checked<T> {
    /// The answer for `key` (`None`: it was not asked).
    pub fn get(&self, key: &str) -> Option<&T> {
        self.items.get(key)
    }

    /// Every key asked (once each) with its answer, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.items.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The answers, by key.
    pub fn into_map(self) -> BTreeMap<String, T> {
        self.items
    }

    /// The keys Reference said do not exist.
    pub fn missing(&self) -> Vec<&str> {
        self.keys_where(|a| a == Answer::Missing)
    }

    /// The keys nobody could answer for.
    pub fn unknown(&self) -> Vec<&str> {
        self.keys_where(|a| a == Answer::Unknown)
    }

    /// Whether any answer comes from a stale snapshot.
    pub fn is_stale(&self) -> bool {
        self.items.values().any(|a| a.answer_of().is_stale())
    }

    fn keys_where(&self, f: impl Fn(Answer) -> bool) -> Vec<&str> {
        self.items
            .iter()
            .filter(|(_, a)| f(a.answer_of()))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// The rule every write follows: when any key is unknown, the write must not go on
    /// ([`ReferenceUnavailable`]: 503 `dependency_unavailable`); otherwise the keys that do not
    /// exist (empty: all do), with the request marked `reference-stale` when any answer came
    /// from a stale snapshot.
    pub fn settle(&self) -> Result<Vec<&str>, ReferenceUnavailable> {
        let unknown = self.unknown();
        if !unknown.is_empty() {
            return Err(ReferenceUnavailable {
                what: format!(
                    "{} {}s {}",
                    self.of.plural,
                    self.by.label(),
                    unknown.join(", ")
                ),
                cause: self.cause.clone().unwrap_or_else(|| "no answer".to_owned()),
            });
        }
        if self.is_stale() {
            tis_core::context::mark_degraded(tis_core::Degradation::ReferenceStale);
        }
        Ok(self.missing())
    }
}

#[cfg(test)]
mod tests;
