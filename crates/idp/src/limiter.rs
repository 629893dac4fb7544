//! A failed-login limiter, per username.
//!
//! After `max` failed logins for one username within `window`, further attempts are refused
//! without checking the password until the window ends. Only failures count, so a script
//! that logs in correctly a thousand times is never locked out; that is why this is a small
//! counter and not governor, which cannot look at a key's state without spending a cell.
//!
//! The key is the username as typed (lower-cased), whether or not such a user exists, so
//! locking reveals nothing about which users exist. A locked user gets the same answer as a
//! wrong password, as Keycloak's brute-force detection does. The table is bounded: past
//! `MAX_TRACKED` names, new names are not tracked (expired entries are swept first).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
pub(crate) struct FailedLogins {
    max: u32,
    window: u64,
    inner: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: u64,
}

impl FailedLogins {
    /// `max == 0` turns the limiter off.
    pub fn new(max: u32, window: Duration) -> Self {
        FailedLogins {
            max,
            window: window.as_secs().max(1),
            inner: Mutex::new(HashMap::new()),
        }
    }

    fn key(realm: &str, username: &str) -> String {
        format!("{realm}\0{}", username.to_lowercase())
    }

    /// Whether attempts for this username are refused now.
    pub fn is_locked(&self, realm: &str, username: &str, now: u64) -> bool {
        if self.max == 0 {
            return false;
        }
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .get(&Self::key(realm, username))
            .is_some_and(|f| f.count >= self.max && now < f.since + self.window)
    }

    /// Counts a failed attempt.
    pub fn failed(&self, realm: &str, username: &str, now: u64) {
        if self.max == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = Self::key(realm, username);
        if !inner.contains_key(&key) && inner.len() >= MAX_TRACKED {
            let window = self.window;
            inner.retain(|_, f| now < f.since + window);
            if inner.len() >= MAX_TRACKED {
                return;
            }
        }
        let entry = inner.entry(key).or_insert(Failures {
            count: 0,
            since: now,
        });
        if now >= entry.since + self.window {
            *entry = Failures {
                count: 0,
                since: now,
            };
        }
        entry.count = entry.count.saturating_add(1);
    }

    /// A successful login clears the username's failures.
    pub fn succeeded(&self, realm: &str, username: &str) {
        if self.max == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.remove(&Self::key(realm, username));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_locks_after_max_failures_and_unlocks_after_the_window() {
        let l = FailedLogins::new(3, Duration::from_secs(60));
        for t in 0..3 {
            assert!(!l.is_locked("lin", "admin", t));
            l.failed("lin", "admin", t);
        }
        assert!(l.is_locked("lin", "ADMIN", 3), "names are case-insensitive");
        assert!(
            !l.is_locked("lin", "observer", 3),
            "other users are unaffected"
        );
        assert!(
            !l.is_locked("other", "admin", 3),
            "other realms are unaffected"
        );
        assert!(!l.is_locked("lin", "admin", 60));
    }

    #[test]
    fn a_success_clears_the_count_and_zero_turns_it_off() {
        let l = FailedLogins::new(2, Duration::from_secs(60));
        l.failed("lin", "a", 0);
        l.succeeded("lin", "a");
        l.failed("lin", "a", 1);
        assert!(!l.is_locked("lin", "a", 2));
        let off = FailedLogins::new(0, Duration::from_secs(60));
        for t in 0..100 {
            off.failed("lin", "a", t);
        }
        assert!(!off.is_locked("lin", "a", 100));
    }
}
