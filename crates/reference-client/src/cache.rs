//! What a remembered answer is worth as it ages.
//!
//! Entries are keyed by question: the type, whether the key is a code or an id, whether the
//! record itself or only its existence was asked, and the key. A "yes" (the record exists, or
//! the record itself), on a timeline from the moment Reference gave it (defaults):
//!
//! ```text
//! fetched      +60 s (fresh_for)    +11 min (+ stale_while_revalidate)      +12 h (stale_if_error)
//!    │ fresh: answer │ answer at once,    │ ask first (one call per key);        │ gone: a miss;
//!    │ from memory   │ one background call│ Reference down → answer, stale       │ Reference down → unknown
//! ```
//!
//! - **fresh**: answered from memory, no call.
//! - **revalidate**: answered from memory at once; one background call refreshes it. Not
//!   degraded: reference data minutes old is what any cache hands out.
//! - **must refresh**: too old to use while Reference may be up; the caller waits for a call
//!   (joining the one in flight, if any). Only if that call fails is the old answer used,
//!   marked stale (`reference-stale`).
//! - **expired**: past `stale_if_error` nothing is used; the key is a miss, and with
//!   Reference down its answer is unknown (`dependency_unavailable`).
//!
//! `stale_if_error` ends every window: with a bound shorter than `fresh_for`, an answer is
//! fresh until the bound and then gone.
//!
//! After a failed call for a key the entry remembers when; for `retry_after_failure` (1 s)
//! the key is answered stale at once instead of each caller waiting for another call that
//! would most likely fail too. Any answer used after a failed refresh is stale until a call
//! succeeds.
//!
//! "No such record" is a **negative** entry: fresh for `negative_for` (default zero: not
//! remembered), then expired; never used stale.
//!
//! Ages are measured on tokio's clock, so paused-clock tests can walk the timeline; moka's own
//! (real-time) expiry only bounds memory, as a backstop at `stale_if_error`.

use std::sync::Arc;
use std::time::Duration;

use moka::Expiry;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::ReferenceClientConfig;
use crate::types::{By, RefType};

/// Whether a question asks for the record or only whether it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Want {
    Exists,
    Record,
}

/// One question about one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub of: RefType,
    pub by: By,
    pub want: Want,
    pub key: Arc<str>,
}

/// What Reference said about a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Known {
    /// It exists (an existence question).
    Exists,
    /// The record (a record question).
    Record(Arc<Value>),
    /// It does not exist.
    Missing,
}

/// One cache entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub known: Known,
    /// When Reference gave this answer.
    pub fetched_at: Instant,
    /// When the last call to refresh it failed, if one has since it was fetched.
    pub failed_at: Option<Instant>,
    /// The entry's weight against `max_entries`: one, plus one per KiB of a record.
    pub weight: u32,
}

impl Entry {
    /// An answer given at `now`; `json_bytes` is the size of a record's JSON.
    pub fn new(known: Known, json_bytes: usize, now: Instant) -> Self {
        let weight = u32::try_from(1 + json_bytes / 1024).unwrap_or(u32::MAX);
        Entry {
            known,
            fetched_at: now,
            failed_at: None,
            weight,
        }
    }

    fn recently_failed(&self, now: Instant, w: &Windows) -> bool {
        self.failed_at
            .is_some_and(|at| now.saturating_duration_since(at) < w.retry_after_failure)
    }
}

/// The durations of the timeline, copied out of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub fresh_for: Duration,
    pub stale_while_revalidate: Duration,
    pub stale_if_error: Duration,
    pub negative_for: Duration,
    pub retry_after_failure: Duration,
}

impl From<&ReferenceClientConfig> for Windows {
    fn from(c: &ReferenceClientConfig) -> Self {
        Windows {
            fresh_for: c.fresh_for,
            stale_while_revalidate: c.stale_while_revalidate,
            stale_if_error: c.stale_if_error,
            negative_for: c.negative_for,
            retry_after_failure: c.retry_after_failure,
        }
    }
}

impl Windows {
    /// When a "yes" stops being fresh.
    fn fresh_until(&self) -> Duration {
        self.fresh_for.min(self.stale_if_error)
    }

    /// When a "yes" stops being answered at once.
    fn revalidate_until(&self) -> Duration {
        (self.fresh_for + self.stale_while_revalidate).min(self.stale_if_error)
    }

    /// How much of a fresh answer's window is left at `age`.
    pub fn fresh_left(&self, age: Duration) -> Duration {
        self.fresh_until().saturating_sub(age)
    }
}

/// What to do with an entry now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answer from the entry; no call.
    Fresh,
    /// Answer from the entry; start a background refresh unless one runs.
    Revalidate,
    /// Answer from the entry, stale, without calling: a call just failed.
    ServeStale,
    /// Call first (or join the call in flight); answer stale only if it fails.
    MustRefresh,
    /// Unusable: treat as a miss.
    Expired,
}

/// The verdict for `entry` at `now` (see the module documentation).
pub fn verdict(entry: &Entry, now: Instant, w: &Windows) -> Verdict {
    let age = now.saturating_duration_since(entry.fetched_at);
    match entry.known {
        Known::Missing => {
            if age < w.negative_for {
                Verdict::Fresh
            } else {
                Verdict::Expired
            }
        }
        Known::Exists | Known::Record(_) => {
            if age >= w.stale_if_error {
                Verdict::Expired
            } else if age < w.fresh_until() {
                Verdict::Fresh
            } else if entry.recently_failed(now, w) {
                Verdict::ServeStale
            } else if age < w.revalidate_until() {
                Verdict::Revalidate
            } else {
                Verdict::MustRefresh
            }
        }
    }
}

/// moka's memory backstop: a "yes" leaves memory (real time) once it could no longer be used
/// even stale; a "no" once it is no longer fresh. A failed refresh (which rewrites the entry)
/// does not extend its life; a new answer from Reference does.
pub struct Lifetime(pub Windows);

impl Expiry<Key, Entry> for Lifetime {
    fn expire_after_create(
        &self,
        _key: &Key,
        value: &Entry,
        _now: std::time::Instant,
    ) -> Option<Duration> {
        Some(match value.known {
            Known::Exists | Known::Record(_) => self.0.stale_if_error,
            Known::Missing => self.0.negative_for,
        })
    }

    fn expire_after_update(
        &self,
        key: &Key,
        value: &Entry,
        now: std::time::Instant,
        current: Option<Duration>,
    ) -> Option<Duration> {
        if value.failed_at.is_some() {
            current
        } else {
            self.expire_after_create(key, value, now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> Windows {
        Windows::from(&ReferenceClientConfig::default())
    }

    fn yes_at(now: Instant) -> Entry {
        Entry::new(Known::Exists, 0, now)
    }

    #[tokio::test(start_paused = true)]
    async fn a_yes_walks_from_fresh_to_expired() {
        let w = windows();
        let t0 = Instant::now();
        let e = yes_at(t0);
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert_eq!(verdict(&e, at(0), &w), Verdict::Fresh);
        assert_eq!(verdict(&e, at(59), &w), Verdict::Fresh);
        assert_eq!(verdict(&e, at(60), &w), Verdict::Revalidate);
        assert_eq!(verdict(&e, at(659), &w), Verdict::Revalidate);
        assert_eq!(verdict(&e, at(660), &w), Verdict::MustRefresh);
        assert_eq!(verdict(&e, at(43_199), &w), Verdict::MustRefresh);
        assert_eq!(verdict(&e, at(43_200), &w), Verdict::Expired);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_bound_shorter_than_the_fresh_window_ends_it() {
        let w = Windows {
            stale_if_error: Duration::from_secs(10),
            ..windows()
        };
        let t0 = Instant::now();
        let e = yes_at(t0);
        assert_eq!(verdict(&e, t0 + Duration::from_secs(9), &w), Verdict::Fresh);
        assert_eq!(
            verdict(&e, t0 + Duration::from_secs(10), &w),
            Verdict::Expired
        );
        assert_eq!(w.fresh_left(Duration::from_secs(4)), Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failed_refresh_the_entry_is_used_stale_for_a_moment() {
        let w = windows();
        let t0 = Instant::now();
        let mut e = yes_at(t0);
        e.failed_at = Some(t0 + Duration::from_secs(700));
        assert_eq!(
            verdict(&e, t0 + Duration::from_millis(700_500), &w),
            Verdict::ServeStale
        );
        assert_eq!(
            verdict(&e, t0 + Duration::from_secs(702), &w),
            Verdict::MustRefresh
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_no_is_not_remembered_by_default_and_never_stale() {
        let t0 = Instant::now();
        let e = Entry::new(Known::Missing, 0, t0);
        assert_eq!(verdict(&e, t0, &windows()), Verdict::Expired);
        let w = Windows {
            negative_for: Duration::from_secs(5),
            ..windows()
        };
        assert_eq!(verdict(&e, t0 + Duration::from_secs(4), &w), Verdict::Fresh);
        assert_eq!(
            verdict(&e, t0 + Duration::from_secs(5), &w),
            Verdict::Expired
        );
    }

    #[test]
    fn a_record_weighs_one_more_per_kib() {
        let now = Instant::now();
        assert_eq!(Entry::new(Known::Exists, 0, now).weight, 1);
        let record = Known::Record(Arc::new(Value::Null));
        assert_eq!(Entry::new(record, 3000, now).weight, 3);
    }
}
