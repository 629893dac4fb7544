//! The client's counters: exported to Prometheus through the `metrics` crate, and kept in
//! atomics for [`ProfileClient::stats`](crate::ProfileClient::stats) (status pages, tests).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `profile_cache_lookups_total` | counter | `outcome`: `hit` (fresh), `revalidate` (served while a background call refreshes), `stale` (served after Profile failed), `negative` (remembered no-profile/inactive), `miss` |
//! | `profile_cache_refresh_failures_total` | counter | — calls to Profile that failed |
//! | `profile_cache_singleflight_joins_total` | counter | — requests that waited on a call already in flight |
//! | `profile_fetches_total` | counter | `outcome`: `profile`, `no_profile`, `inactive`, `failed` |
//! | `profile_cache_entries` | gauge | — users remembered |
//! | `profile_cache_weight_bytes` | gauge | — estimated bytes held |

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

pub const LOOKUPS: &str = "profile_cache_lookups_total";
pub const REFRESH_FAILURES: &str = "profile_cache_refresh_failures_total";
pub const JOINS: &str = "profile_cache_singleflight_joins_total";
pub const FETCHES: &str = "profile_fetches_total";
pub const ENTRIES: &str = "profile_cache_entries";
pub const WEIGHT: &str = "profile_cache_weight_bytes";

pub(crate) fn describe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        metrics::describe_counter!(LOOKUPS, "Profile cache lookups by outcome.");
        metrics::describe_counter!(
            REFRESH_FAILURES,
            "Calls to Profile's /userinfo that failed."
        );
        metrics::describe_counter!(
            JOINS,
            "Requests that joined a /userinfo call already in flight."
        );
        metrics::describe_counter!(FETCHES, "Calls to Profile's /userinfo by outcome.");
        metrics::describe_gauge!(ENTRIES, "Users whose profile (or absence) is cached.");
        metrics::describe_gauge!(WEIGHT, "Estimated bytes held by the profile cache.");
    });
}

/// How a lookup was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Revalidate,
    Stale,
    Negative,
    Miss,
}

impl Lookup {
    fn label(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Revalidate => "revalidate",
            Lookup::Stale => "stale",
            Lookup::Negative => "negative",
            Lookup::Miss => "miss",
        }
    }
}

/// A copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub revalidations: u64,
    pub stale_serves: u64,
    pub negative_hits: u64,
    pub misses: u64,
    /// Calls made to Profile (successful or not).
    pub fetches: u64,
    pub refresh_failures: u64,
    pub singleflight_joins: u64,
    /// Users remembered (approximate: moka counts lazily).
    pub entries: u64,
    pub weight_bytes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    hits: AtomicU64,
    revalidations: AtomicU64,
    stale: AtomicU64,
    negative: AtomicU64,
    misses: AtomicU64,
    fetches: AtomicU64,
    failures: AtomicU64,
    joins: AtomicU64,
}

impl Counters {
    pub fn lookup(&self, what: Lookup) {
        let n = match what {
            Lookup::Hit => &self.hits,
            Lookup::Revalidate => &self.revalidations,
            Lookup::Stale => &self.stale,
            Lookup::Negative => &self.negative,
            Lookup::Miss => &self.misses,
        };
        n.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(LOOKUPS, "outcome" => what.label()).increment(1);
    }

    pub fn fetched(&self, outcome: &'static str) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(FETCHES, "outcome" => outcome).increment(1);
        if outcome == "failed" {
            self.failures.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(REFRESH_FAILURES).increment(1);
        }
    }

    pub fn joined(&self) {
        self.joins.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(JOINS).increment(1);
    }

    pub fn snapshot(&self, entries: u64, weight_bytes: u64) -> CacheStats {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            revalidations: get(&self.revalidations),
            stale_serves: get(&self.stale),
            negative_hits: get(&self.negative),
            misses: get(&self.misses),
            fetches: get(&self.fetches),
            refresh_failures: get(&self.failures),
            singleflight_joins: get(&self.joins),
            entries,
            weight_bytes,
        }
    }
}

pub(crate) fn set_size(entries: u64, weight_bytes: u64) {
    metrics::gauge!(ENTRIES).set(entries as f64);
    metrics::gauge!(WEIGHT).set(weight_bytes as f64);
}
