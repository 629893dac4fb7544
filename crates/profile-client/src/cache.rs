//! What a cached answer is worth as it ages.
//!
//! Entries are keyed by user (issuer + `preferred_username`), never by token: a user's new
//! token (every few minutes) finds their cached profile, and a flood of tokens cannot flood
//! the cache. A profile entry, on a timeline from the moment Profile answered (defaults):
//!
//! ```text
//! fetched        +60 s (fresh_for)     +6 min (+ stale_while_revalidate)      +12 h (stale_if_error)
//!    │ fresh: answer │ answer at once,     │ ask first (one call per user);       │ gone: a miss;
//!    │ from cache    │ one background call │ Profile down → answer stale: true    │ Profile down → 503
//! ```
//!
//! - **fresh**: answered from memory, no call.
//! - **revalidate**: answered from memory at once; one background call refreshes it (later
//!   requests in the window do not start another while it runs). Nothing is degraded: the
//!   data is minutes old, as any cache's is.
//! - **must refresh**: the data is too old to hand out while Profile may be up; the request
//!   waits for a call (joining the one in flight, if any). Only if that call fails is the old
//!   profile answered, with `stale: true` (the gateway's `TIS-Degraded: profile-stale`).
//! - **expired**: past the stale-if-error bound nothing is served; the user is a miss.
//!
//! After a failed call for a user the entry remembers when; for `retry_after_failure` (1 s)
//! requests for that user are answered stale at once instead of each waiting for another
//! call that would most likely fail too. Any answer served after a failed refresh is marked
//! stale, whatever its window, until a call succeeds.
//!
//! "No such user" and "inactive" answers are **negative** entries: fresh for `negative_for`
//! (5 s), then expired. They are never served stale: after 5 s the user is asked about again,
//! and if Profile is down meanwhile the answer is 503, not a stale 403.
//!
//! Ages are measured on tokio's clock, so paused-clock tests can walk the timeline; moka's own
//! (real-time) expiry only bounds memory, as a backstop at `stale_if_error`.

use std::sync::Arc;
use std::time::Duration;

use moka::Expiry;

use tis_auth::UserProfile;
use tokio::time::Instant;

use crate::config::ProfileClientConfig;
use crate::fetch::UserKey;

/// What is remembered about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    Profile(Arc<UserProfile>),
    NoProfile,
    Inactive,
}

/// One cache entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub known: Known,
    /// When Profile gave this answer.
    pub fetched_at: Instant,
    /// When the last call to refresh it failed, if one has since it was fetched.
    pub failed_at: Option<Instant>,
    /// Estimated bytes held (the cache's weight).
    pub weight: u32,
}

/// Fixed cost of an entry beyond its profile's JSON: key, bookkeeping, allocations.
const ENTRY_OVERHEAD: usize = 256;

impl Entry {
    pub fn new(known: Known, json_bytes: usize, key_bytes: usize, now: Instant) -> Self {
        let weight = u32::try_from(json_bytes + key_bytes + ENTRY_OVERHEAD).unwrap_or(u32::MAX);
        Entry {
            known,
            fetched_at: now,
            failed_at: None,
            weight,
        }
    }

    fn recently_failed(&self, now: Instant, cfg: &Windows) -> bool {
        self.failed_at
            .is_some_and(|at| now.saturating_duration_since(at) < cfg.retry_after_failure)
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

impl From<&ProfileClientConfig> for Windows {
    fn from(c: &ProfileClientConfig) -> Self {
        Windows {
            fresh_for: c.fresh_for,
            stale_while_revalidate: c.stale_while_revalidate,
            stale_if_error: c.stale_if_error,
            negative_for: c.negative_for,
            retry_after_failure: c.retry_after_failure,
        }
    }
}

/// What to do with an entry now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answer from the entry; no call.
    Fresh,
    /// Answer from the entry; start a background refresh unless one runs.
    Revalidate,
    /// Answer from the entry without calling: a call just failed.
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
        Known::NoProfile | Known::Inactive => {
            if age < w.negative_for {
                Verdict::Fresh
            } else {
                Verdict::Expired
            }
        }
        Known::Profile(_) => {
            if age < w.fresh_for {
                Verdict::Fresh
            } else if age >= w.stale_if_error {
                Verdict::Expired
            } else if entry.recently_failed(now, w) {
                Verdict::ServeStale
            } else if age < w.fresh_for + w.stale_while_revalidate {
                Verdict::Revalidate
            } else {
                Verdict::MustRefresh
            }
        }
    }
}

/// moka's memory backstop: a profile leaves memory (real time) once it could no longer be
/// served even stale; a negative answer once it is no longer fresh. A failed refresh (which
/// rewrites the entry) does not extend its life; a new answer from Profile does.
pub struct Lifetime(pub Windows);

impl Expiry<UserKey, Entry> for Lifetime {
    fn expire_after_create(
        &self,
        _key: &UserKey,
        value: &Entry,
        _now: std::time::Instant,
    ) -> Option<Duration> {
        Some(match value.known {
            Known::Profile(_) => self.0.stale_if_error,
            Known::NoProfile | Known::Inactive => self.0.negative_for,
        })
    }

    fn expire_after_update(
        &self,
        key: &UserKey,
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
        Windows::from(&ProfileClientConfig::default())
    }

    fn profile_at(now: Instant) -> Entry {
        Entry::new(
            Known::Profile(Arc::new(UserProfile::named("admin"))),
            100,
            10,
            now,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_profile_walks_from_fresh_to_expired() {
        let w = windows();
        let t0 = Instant::now();
        let e = profile_at(t0);
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert_eq!(verdict(&e, at(0), &w), Verdict::Fresh);
        assert_eq!(verdict(&e, at(59), &w), Verdict::Fresh);
        assert_eq!(verdict(&e, at(60), &w), Verdict::Revalidate);
        assert_eq!(verdict(&e, at(359), &w), Verdict::Revalidate);
        assert_eq!(verdict(&e, at(360), &w), Verdict::MustRefresh);
        assert_eq!(verdict(&e, at(43_199), &w), Verdict::MustRefresh);
        assert_eq!(verdict(&e, at(43_200), &w), Verdict::Expired);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failed_refresh_the_entry_is_served_stale_for_a_moment() {
        let w = windows();
        let t0 = Instant::now();
        let mut e = profile_at(t0);
        e.failed_at = Some(t0 + Duration::from_secs(400));
        assert_eq!(
            verdict(&e, t0 + Duration::from_millis(400_500), &w),
            Verdict::ServeStale
        );
        assert_eq!(
            verdict(&e, t0 + Duration::from_secs(402), &w),
            Verdict::MustRefresh
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_negative_answer_lives_five_seconds_and_is_never_stale() {
        let w = windows();
        let t0 = Instant::now();
        let e = Entry::new(Known::Inactive, 0, 10, t0);
        assert_eq!(verdict(&e, t0 + Duration::from_secs(4), &w), Verdict::Fresh);
        assert_eq!(
            verdict(&e, t0 + Duration::from_secs(5), &w),
            Verdict::Expired
        );
    }

    #[test]
    fn weight_counts_the_profile_json() {
        let e = Entry::new(Known::NoProfile, 1000, 20, Instant::now());
        assert_eq!(e.weight, 1276);
    }
}
