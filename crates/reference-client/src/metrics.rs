//! The client's counters: exported to Prometheus through the `metrics` crate (described and
//! registered at zero when the first client is built), and kept in atomics for
//! [`ReferenceClient::stats`](crate::ReferenceClient::stats) (status pages, tests).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `reference_client_lookups_total` | counter | `outcome`: `hit` (fresh), `revalidate` (used while a background call refreshes it), `stale` (used after Reference failed), `negative` (a remembered "no"), `miss` (asked Reference), `unknown` (Reference failed and nothing usable was remembered) — one per key asked |
//! | `reference_client_calls_total` | counter | `outcome`: `ok`, `failed` — batched calls to Reference |
//! | `reference_client_singleflight_joins_total` | counter | — keys that waited on a call already in flight |
//! | `reference_client_entries` | gauge | — answers remembered |
//! | `reference_client_weight` | gauge | — their weight against `max_entries` |

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

pub const LOOKUPS: &str = "reference_client_lookups_total";
pub const CALLS: &str = "reference_client_calls_total";
pub const JOINS: &str = "reference_client_singleflight_joins_total";
pub const ENTRIES: &str = "reference_client_entries";
pub const WEIGHT: &str = "reference_client_weight";

const LOOKUP_OUTCOMES: [&str; 6] = ["hit", "revalidate", "stale", "negative", "miss", "unknown"];
const CALL_OUTCOMES: [&str; 2] = ["ok", "failed"];

/// Describes every metric and registers it at zero, once per process.
pub(crate) fn describe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tis_core::metrics::handle();
        metrics::describe_counter!(
            LOOKUPS,
            "Keys looked up in the Reference client's cache, by outcome."
        );
        metrics::describe_counter!(CALLS, "Batched calls to Reference, by outcome.");
        metrics::describe_counter!(
            JOINS,
            "Keys whose look-up joined a call to Reference already in flight."
        );
        metrics::describe_gauge!(
            ENTRIES,
            "Answers of Reference the client remembers (existence or record)."
        );
        metrics::describe_gauge!(
            WEIGHT,
            "The weight of the remembered answers against max_entries (one each, plus one per KiB of a record)."
        );
        for outcome in LOOKUP_OUTCOMES {
            metrics::counter!(LOOKUPS, "outcome" => outcome).absolute(0);
        }
        for outcome in CALL_OUTCOMES {
            metrics::counter!(CALLS, "outcome" => outcome).absolute(0);
        }
        metrics::counter!(JOINS).absolute(0);
        set_size(0, 0);
    });
}

/// How a key was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Revalidate,
    Stale,
    Negative,
    Miss,
    Unknown,
}

impl Lookup {
    fn label(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Revalidate => "revalidate",
            Lookup::Stale => "stale",
            Lookup::Negative => "negative",
            Lookup::Miss => "miss",
            Lookup::Unknown => "unknown",
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
    pub unknown: u64,
    /// Batched calls made to Reference (successful or not).
    pub calls: u64,
    pub failed_calls: u64,
    pub singleflight_joins: u64,
    /// Answers remembered (approximate: moka counts lazily).
    pub entries: u64,
    pub weight: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    hits: AtomicU64,
    revalidations: AtomicU64,
    stale: AtomicU64,
    negative: AtomicU64,
    misses: AtomicU64,
    unknown: AtomicU64,
    calls: AtomicU64,
    failed: AtomicU64,
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
            Lookup::Unknown => &self.unknown,
        };
        n.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(LOOKUPS, "outcome" => what.label()).increment(1);
    }

    pub fn called(&self, ok: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let outcome = if ok { "ok" } else { "failed" };
        metrics::counter!(CALLS, "outcome" => outcome).increment(1);
    }

    pub fn joined(&self, n: usize) {
        self.joins.fetch_add(n as u64, Ordering::Relaxed);
        metrics::counter!(JOINS).increment(n as u64);
    }

    pub fn snapshot(&self, entries: u64, weight: u64) -> CacheStats {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            revalidations: get(&self.revalidations),
            stale_serves: get(&self.stale),
            negative_hits: get(&self.negative),
            misses: get(&self.misses),
            unknown: get(&self.unknown),
            calls: get(&self.calls),
            failed_calls: get(&self.failed),
            singleflight_joins: get(&self.joins),
            entries,
            weight,
        }
    }
}

pub(crate) fn set_size(entries: u64, weight: u64) {
    metrics::gauge!(ENTRIES).set(entries as f64);
    metrics::gauge!(WEIGHT).set(weight as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_described_and_present_at_zero_before_any_lookup() {
        describe();
        let text = tis_core::metrics::handle().render();
        for name in [LOOKUPS, CALLS, JOINS, ENTRIES, WEIGHT] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}:\n{text}");
        }
        assert!(
            text.contains("reference_client_lookups_total{outcome=\"unknown\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("reference_client_calls_total{outcome=\"failed\"} 0"),
            "{text}"
        );
    }
}
