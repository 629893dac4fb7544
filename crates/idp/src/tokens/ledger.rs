//! Single use of refresh tokens.
//!
//! A refresh token is a signed JWT, so its signature alone would let it be used again and
//! again until it expires. The ledger remembers every used `jti` until that token's `exp`;
//! a second use is refused and, as OAuth 2.1 recommends for refresh-token rotation, revokes
//! the whole login session: one of the two holders is not the user, and we cannot tell which.
//!
//! Memory is bounded by the tokens used within one refresh lifetime; expired entries are
//! swept at most once a minute. The ledger lives in memory: after a restart a used refresh
//! token could be used once more. For a development provider that is an accepted trade.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub(crate) struct RefreshLedger {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Used token id → its expiry.
    used: HashMap<String, u64>,
    /// Revoked session id → the latest expiry of any token of it.
    revoked: HashMap<String, u64>,
    next_sweep: u64,
}

/// Why a refresh token was refused by the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Stale {
    #[error("the refresh token was already used; its session is now revoked")]
    Reused,
    #[error("the session was revoked")]
    SessionRevoked,
}

impl RefreshLedger {
    /// Records the use of token `jti` (valid until `exp`) of session `sid`, or refuses it.
    /// `session_end` is the latest time any token of the session can be valid.
    pub fn consume(
        &self,
        jti: &str,
        sid: &str,
        exp: u64,
        session_end: u64,
        now: u64,
    ) -> Result<(), Stale> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if now >= inner.next_sweep {
            inner.used.retain(|_, e| *e > now);
            inner.revoked.retain(|_, e| *e > now);
            inner.next_sweep = now + 60;
        }
        if inner.revoked.contains_key(sid) {
            return Err(Stale::SessionRevoked);
        }
        if inner.used.contains_key(jti) {
            inner.revoked.insert(sid.to_owned(), session_end);
            return Err(Stale::Reused);
        }
        inner.used.insert(jti.to_owned(), exp);
        Ok(())
    }

    /// Revokes session `sid` (logout, a replayed authorization code): every refresh token of
    /// it is refused from now on. `session_end` is the latest time any of them can be valid.
    pub fn revoke(&self, sid: &str, session_end: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let end = inner.revoked.entry(sid.to_owned()).or_insert(session_end);
        *end = (*end).max(session_end);
    }

    /// Whether session `sid` was revoked.
    pub fn is_revoked(&self, sid: &str) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.revoked.contains_key(sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_token_is_single_use_and_reuse_revokes_its_session() {
        let l = RefreshLedger::default();
        assert_eq!(l.consume("t1", "s", 100, 1000, 10), Ok(()));
        assert_eq!(l.consume("t2", "s", 110, 1000, 20), Ok(()));
        assert_eq!(l.consume("t1", "s", 100, 1000, 30), Err(Stale::Reused));
        assert_eq!(
            l.consume("t3", "s", 120, 1000, 40),
            Err(Stale::SessionRevoked),
            "the successor of a replayed token must die with it"
        );
        assert_eq!(l.consume("u1", "other", 120, 1000, 40), Ok(()));
    }

    #[test]
    fn expired_entries_are_swept() {
        let l = RefreshLedger::default();
        l.consume("t1", "s", 100, 1000, 10).unwrap();
        l.consume("t2", "s2", 5000, 5000, 200).unwrap();
        let inner = l.inner.lock().unwrap();
        assert!(!inner.used.contains_key("t1"));
        assert!(inner.used.contains_key("t2"));
    }
}
