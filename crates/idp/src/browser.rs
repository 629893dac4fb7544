//! What browser sign-in remembers: SSO sessions, login pages in progress ("tabs") and
//! authorization codes, all in memory.
//!
//! - An **SSO session** is what the `KEYCLOAK_SESSION` cookie names: a user signed in to a
//!   realm at `auth_time`, with a session id (`sid`) that every token of it carries. The
//!   cookie holds a random 256-bit secret, not the `sid` (which clients see in tokens). A
//!   session ends at logout, at `session_max_lifetime` after `auth_time`, or when a replayed
//!   code revokes it.
//! - A **tab** is one login page shown: the validated authorization request waiting for a
//!   username and password. The page's form posts to a URL carrying the tab's random id,
//!   and the browser must also send the `AUTH_SESSION_ID` cookie set with the page; a tab is
//!   used once (a wrong password shows the page again under a new tab id).
//! - An **authorization code** is random (256 bits), single-use, lives
//!   `authorization_code_lifetime` (60 s), and is bound to the client, the redirect URI, the
//!   PKCE challenge, the nonce and the session. A used code is remembered until it would
//!   have expired, so that a replay is recognised (and revokes the session).
//!
//! Each table is bounded ([`MAX_ENTRIES`]); expired entries are swept when a table is full,
//! and if it is still full the entry closest to expiry is evicted. Nothing is persisted: a
//! restart of `tis idp` forgets every SSO session, pending login and code, so browser users
//! sign in again: their refresh tokens (marked `browser` inside) are refused once their
//! session is unknown, as Keycloak refuses those of a lost user session. Acceptable for the
//! local provider, since Keycloak is the production one. Password-grant logins keep their
//! refresh tokens across a restart, as before.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use uuid::Uuid;

/// The most entries each table holds.
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// A random 256-bit value, base64url (43 characters).
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets without an early exit.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A validated authorization request, as the login page keeps it.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub realm: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The S256 PKCE challenge, when the client sent one.
    pub code_challenge: Option<String>,
    /// `login_hint`, shown in the username field.
    pub login_hint: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SsoSession {
    pub realm: String,
    pub sid: String,
    pub user_id: Uuid,
    pub auth_time: u64,
    /// When the session ends whatever happens (`auth_time + session_max_lifetime`).
    pub ends: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Tab {
    pub request: AuthRequest,
    /// The value of the `AUTH_SESSION_ID` cookie this tab was shown with.
    pub browser: String,
    pub expires: u64,
}

/// What an authorization code stands for.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub request: AuthRequest,
    pub sid: String,
    pub user_id: Uuid,
    pub auth_time: u64,
    pub expires: u64,
}

#[derive(Debug, Clone)]
struct CodeEntry {
    grant: CodeGrant,
    used: bool,
}

/// Why a code was not redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CodeRefused {
    /// Unknown, expired or from another realm.
    Invalid,
    /// Already used: the session it started must be revoked.
    Replayed { sid: String, session_end: u64 },
}

#[derive(Debug, Default)]
pub(crate) struct BrowserState {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Cookie secret → session.
    sessions: HashMap<String, SsoSession>,
    /// Tab id → tab.
    tabs: HashMap<String, Tab>,
    /// Code → what it grants.
    codes: HashMap<String, CodeEntry>,
}

/// Makes room for one more entry in `map`: sweeps what `expiry` says is over, then, if
/// still full, evicts the entry closest to its end.
fn make_room<V>(map: &mut HashMap<String, V>, now: u64, expiry: impl Fn(&V) -> u64) {
    if map.len() < MAX_ENTRIES {
        return;
    }
    map.retain(|_, v| expiry(v) > now);
    if map.len() >= MAX_ENTRIES
        && let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| expiry(v))
            .map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
}

impl BrowserState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an SSO session; returns the cookie secret naming it.
    pub fn start_session(&self, session: SsoSession, now: u64) -> String {
        let secret = random_token();
        let mut inner = self.lock();
        make_room(&mut inner.sessions, now, |s| s.ends);
        inner.sessions.insert(secret.clone(), session);
        secret
    }

    /// The live session the cookie secret names in `realm`.
    pub fn session(&self, realm: &str, secret: &str, now: u64) -> Option<SsoSession> {
        let mut inner = self.lock();
        let s = inner.sessions.get(secret)?.clone();
        if s.ends <= now {
            inner.sessions.remove(secret);
            return None;
        }
        (s.realm == realm).then_some(s)
    }

    /// Whether session `sid` is still signed in.
    pub fn session_alive(&self, sid: &str, now: u64) -> bool {
        self.lock()
            .sessions
            .values()
            .any(|s| s.sid == sid && s.ends > now)
    }

    /// Ends session `sid`: forgets its cookie and every code it issued that is not used yet.
    pub fn end_session(&self, sid: &str) {
        let mut inner = self.lock();
        inner.sessions.retain(|_, s| s.sid != sid);
        inner.codes.retain(|_, c| c.grant.sid != sid);
    }

    /// Keeps a login page's request; returns the tab id.
    pub fn open_tab(&self, tab: Tab, now: u64) -> String {
        let id = random_token();
        let mut inner = self.lock();
        make_room(&mut inner.tabs, now, |t| t.expires);
        inner.tabs.insert(id.clone(), tab);
        id
    }

    /// Takes tab `id` (it is single-use) if it is live, of `realm`, and was opened by the
    /// browser holding `browser` (the `AUTH_SESSION_ID` cookie). A mismatched cookie leaves
    /// the tab in place, so a forged post cannot spend the user's page.
    pub fn take_tab(&self, realm: &str, id: &str, browser: Option<&str>, now: u64) -> Option<Tab> {
        let mut inner = self.lock();
        let tab = inner.tabs.get(id)?;
        if tab.expires <= now {
            inner.tabs.remove(id);
            return None;
        }
        let owner = browser.is_some_and(|b| same_secret(b, &tab.browser));
        if !owner || tab.request.realm != realm {
            return None;
        }
        inner.tabs.remove(id)
    }

    /// Issues a code for `grant`.
    pub fn issue_code(&self, grant: CodeGrant, now: u64) -> String {
        let code = random_token();
        let mut inner = self.lock();
        make_room(&mut inner.codes, now, |c| c.grant.expires);
        inner
            .codes
            .insert(code.clone(), CodeEntry { grant, used: false });
        code
    }

    /// Redeems `code` once. `session_end` computes a session's end from its `auth_time`.
    pub fn redeem_code(
        &self,
        realm: &str,
        code: &str,
        now: u64,
        session_end: impl Fn(u64) -> u64,
    ) -> Result<CodeGrant, CodeRefused> {
        let mut inner = self.lock();
        let entry = inner.codes.get_mut(code).ok_or(CodeRefused::Invalid)?;
        if entry.grant.request.realm != realm {
            return Err(CodeRefused::Invalid);
        }
        if entry.used {
            return Err(CodeRefused::Replayed {
                sid: entry.grant.sid.clone(),
                session_end: session_end(entry.grant.auth_time),
            });
        }
        entry.used = true;
        if entry.grant.expires <= now {
            return Err(CodeRefused::Invalid);
        }
        Ok(entry.grant.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthRequest {
        AuthRequest {
            realm: "lin".into(),
            client_id: "web".into(),
            redirect_uri: "http://h/cb".into(),
            scope: "openid".into(),
            state: None,
            nonce: None,
            code_challenge: None,
            login_hint: None,
        }
    }

    #[test]
    fn random_tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert!(same_secret(&a, &a.clone()) && !same_secret(&a, &b) && !same_secret(&a, "x"));
    }

    #[test]
    fn a_code_is_single_use_and_a_replay_names_its_session() {
        let s = BrowserState::default();
        let grant = CodeGrant {
            request: request(),
            sid: "sid1".into(),
            user_id: Uuid::nil(),
            auth_time: 5,
            expires: 100,
        };
        let code = s.issue_code(grant, 10);
        assert_eq!(
            s.redeem_code("other", &code, 11, |t| t + 1000).unwrap_err(),
            CodeRefused::Invalid
        );
        assert!(s.redeem_code("lin", &code, 11, |t| t + 1000).is_ok());
        assert_eq!(
            s.redeem_code("lin", &code, 12, |t| t + 1000).unwrap_err(),
            CodeRefused::Replayed {
                sid: "sid1".into(),
                session_end: 1005
            }
        );
        assert_eq!(
            s.redeem_code("lin", "nope", 12, |t| t).unwrap_err(),
            CodeRefused::Invalid
        );
    }

    #[test]
    fn a_tab_is_taken_once_and_only_with_its_cookie() {
        let s = BrowserState::default();
        let tab = Tab {
            request: request(),
            browser: "cookie".into(),
            expires: 100,
        };
        let id = s.open_tab(tab, 0);
        assert!(s.take_tab("lin", &id, None, 1).is_none());
        assert!(s.take_tab("lin", &id, Some("other"), 1).is_none());
        assert!(s.take_tab("lin", &id, Some("cookie"), 1).is_some());
        assert!(s.take_tab("lin", &id, Some("cookie"), 1).is_none());
    }

    #[test]
    fn tables_are_bounded() {
        let s = BrowserState::default();
        for i in 0..(MAX_ENTRIES as u64 + 5) {
            let tab = Tab {
                request: request(),
                browser: "c".into(),
                expires: 1000 + i,
            };
            s.open_tab(tab, 0);
        }
        assert_eq!(s.lock().tabs.len(), MAX_ENTRIES);
    }
}
