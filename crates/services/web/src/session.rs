//! Sessions and sign-ins under way, in the application's own database (any instance serves
//! any session; a restart signs nobody out).
//!
//! The browser holds only a random 256-bit value (`TIS_SESSION`, or `TIS_LOGIN` while signing
//! in); the table holds its SHA-256, the tokens, the CSRF token and the expiry. A forged value
//! finds no row; a value replayed after logout finds none either (the row is deleted).
//! Expired rows are removed as new ones are written.
//!
//! # Refreshing tokens once
//!
//! A refresh token is single-use: a second redemption is, to the identity provider, a stolen
//! token, and it revokes the session (`tis idp` does, as OAuth 2.1 recommends). Several
//! requests of one session find its access token due for refresh at the same moment (a page
//! and the next one, two tabs), on one instance or on several. So a refresh is taken by one
//! request only: in an instance, [`RefreshFlights`] lets one request of a session refresh and
//! the others wait for its outcome; across instances, the row's `refreshing_until` is a lease
//! ([`Sessions::claim_refresh`]): the instance that sets it redeems the token and stores the
//! new tokens; the others read them from the row when they appear. When the provider does not
//! answer, the row says so (`refresh_failed_at_ms`): the requests that waited for that refresh
//! take its outcome and go on with the tokens they have, on every instance, instead of calling
//! the provider again one after the other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::Digest as _;
use tis_store::{Db, Sql, StoreError};

use crate::oidc::Tokens;

pub const SESSION_COOKIE: &str = "TIS_SESSION";
pub const LOGIN_COOKIE: &str = "TIS_LOGIN";

/// A signed-in session.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub id_hash: String,
    pub csrf: String,
    pub user_name: String,
    pub access_token: String,
    pub access_expires: i64,
    pub refresh_token: Option<String>,
    pub refresh_expires: Option<i64>,
    pub id_token: String,
    pub expires: i64,
    /// When the last refresh found the provider unavailable (Unix milliseconds).
    #[serde(default)]
    pub refresh_failed_at_ms: Option<i64>,
}

/// A sign-in under way.
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
}

/// 256 random bits, base64url.
pub fn random() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a cookie value.
pub fn hash(value: &str) -> String {
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time equality (CSRF tokens, state, nonce).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix milliseconds.
pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

/// The session and sign-in tables. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Db,
    lifetime: i64,
}

/// How long a sign-in may take, from the redirect to the provider to the callback.
const LOGIN_LIFETIME: i64 = 15 * 60;

impl Sessions {
    pub fn new(db: Db, lifetime: std::time::Duration) -> Sessions {
        Sessions {
            db,
            lifetime: i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2),
        }
    }

    /// Records a sign-in; returns the `TIS_LOGIN` cookie value.
    pub async fn start_login(&self, login: &Login) -> Result<String, StoreError> {
        let cookie = random();
        let now = now();
        let mut gc = Sql::new("DELETE FROM web_login WHERE expires < ");
        gc.bind(now);
        self.db.write().execute(gc).await?;
        let mut q = Sql::new(
            "INSERT INTO web_login (id_hash, state, nonce, verifier, return_to, expires) VALUES (",
        );
        q.bind(hash(&cookie))
            .push(", ")
            .bind(&login.state)
            .push(", ")
            .bind(&login.nonce)
            .push(", ")
            .bind(&login.verifier)
            .push(", ")
            .bind(&login.return_to)
            .push(", ")
            .bind(now + LOGIN_LIFETIME)
            .push(")");
        self.db.write().execute(q).await?;
        Ok(cookie)
    }

    /// The sign-in of this `TIS_LOGIN` value, used up (a callback can be taken once).
    pub async fn take_login(&self, cookie: &str) -> Result<Option<Login>, StoreError> {
        let key = hash(cookie);
        let mut q = Sql::new(
            r#"SELECT state AS "state", nonce AS "nonce", verifier AS "verifier", return_to AS "return_to" FROM web_login WHERE id_hash = "#,
        );
        q.bind(&key).push(" AND expires >= ").bind(now());
        let found: Option<Login> = self.db.write().fetch_all_as(q).await?.pop();
        let mut del = Sql::new("DELETE FROM web_login WHERE id_hash = ");
        del.bind(&key);
        self.db.write().execute(del).await?;
        Ok(found)
    }

    /// Starts a session for `user_name` with `tokens`; returns the `TIS_SESSION` value.
    pub async fn create(
        &self,
        user_name: &str,
        tokens: &Tokens,
        id_token: &str,
    ) -> Result<String, StoreError> {
        let cookie = random();
        let now = now();
        let mut gc = Sql::new("DELETE FROM web_session WHERE expires < ");
        gc.bind(now);
        self.db.write().execute(gc).await?;
        let (access_expires, refresh_expires) = expiries(tokens, now);
        let mut q = Sql::new(
            "INSERT INTO web_session (id_hash, csrf, user_name, access_token, access_expires, refresh_token, refresh_expires, id_token, created, expires) VALUES (",
        );
        q.bind(hash(&cookie))
            .push(", ")
            .bind(random())
            .push(", ")
            .bind(user_name)
            .push(", ")
            .bind(&tokens.access_token)
            .push(", ")
            .bind(access_expires)
            .push(", ")
            .bind(tokens.refresh_token.clone())
            .push(", ")
            .bind(refresh_expires)
            .push(", ")
            .bind(id_token)
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now + self.lifetime)
            .push(")");
        self.db.write().execute(q).await?;
        Ok(cookie)
    }

    /// The live session of this `TIS_SESSION` value.
    pub async fn load(&self, cookie: &str) -> Result<Option<Session>, StoreError> {
        self.load_hashed(&hash(cookie)).await
    }

    /// The live session stored under `id_hash`.
    async fn load_hashed(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let mut q = Sql::new(
            r#"SELECT id_hash AS "id_hash", csrf AS "csrf", user_name AS "user_name", access_token AS "access_token", access_expires AS "access_expires", refresh_token AS "refresh_token", refresh_expires AS "refresh_expires", id_token AS "id_token", expires AS "expires", refresh_failed_at_ms AS "refresh_failed_at_ms" FROM web_session WHERE id_hash = "#,
        );
        q.bind(id_hash).push(" AND expires >= ").bind(now());
        // The primary: a session refreshed a moment ago must be read as it is now.
        Ok(self.db.write().fetch_all_as(q).await?.pop())
    }

    /// Takes the refresh of `session`'s tokens for `lease` seconds, unless another request
    /// (of any instance) has it, has already done it, or found the provider unavailable at or
    /// after `since_ms` (when this request began to wait): see [`Claim`]. `session` is the
    /// session as this request read it; its access token tells whether the row has moved on.
    pub async fn claim_refresh(
        &self,
        session: &Session,
        lease: i64,
        since_ms: i64,
    ) -> Result<Claim, StoreError> {
        let now = now();
        let mut q = Sql::new("UPDATE web_session SET refreshing_until = ");
        q.bind(now + lease)
            .push(" WHERE id_hash = ")
            .bind(&session.id_hash)
            .push(" AND access_token = ")
            .bind(&session.access_token)
            .push(" AND expires >= ")
            .bind(now)
            .push(" AND (refreshing_until IS NULL OR refreshing_until < ")
            .bind(now)
            .push(") AND (refresh_failed_at_ms IS NULL OR refresh_failed_at_ms < ")
            .bind(since_ms)
            .push(")");
        if self.db.write().execute(q).await? == 1 {
            return Ok(Claim::Mine);
        }
        Ok(match self.load_hashed(&session.id_hash).await? {
            None => Claim::Gone,
            Some(now) if now.access_token != session.access_token => Claim::Refreshed(now),
            Some(now) if now.refresh_failed_at_ms.is_some_and(|at| at >= since_ms) => Claim::Failed,
            Some(_) => Claim::Busy,
        })
    }

    /// Gives up the refresh [`claim_refresh`](Self::claim_refresh) took; `unavailable`: because
    /// the provider could not be reached, which the requests waiting for it then take as
    /// their outcome too ([`Claim::Failed`]).
    pub async fn release_refresh(
        &self,
        session: &Session,
        unavailable: bool,
    ) -> Result<(), StoreError> {
        let mut q = Sql::new("UPDATE web_session SET refreshing_until = NULL");
        if unavailable {
            q.push(", refresh_failed_at_ms = ").bind(now_ms());
        }
        q.push(" WHERE id_hash = ")
            .bind(&session.id_hash)
            .push(" AND access_token = ")
            .bind(&session.access_token);
        self.db.write().execute(q).await.map(|_| ())
    }

    /// Replaces the session's tokens after a refresh.
    pub async fn update_tokens(
        &self,
        session: &mut Session,
        tokens: &Tokens,
    ) -> Result<(), StoreError> {
        let (access_expires, refresh_expires) = expiries(tokens, now());
        let refresh = tokens
            .refresh_token
            .clone()
            .or(session.refresh_token.take());
        let id_token = tokens
            .id_token
            .clone()
            .unwrap_or_else(|| session.id_token.clone());
        let mut q = Sql::new("UPDATE web_session SET access_token = ");
        q.bind(&tokens.access_token)
            .push(", access_expires = ")
            .bind(access_expires)
            .push(", refresh_token = ")
            .bind(refresh.clone())
            .push(", refresh_expires = ")
            .bind(refresh_expires)
            .push(", id_token = ")
            .bind(&id_token)
            .push(", refreshing_until = NULL, refresh_failed_at_ms = NULL WHERE id_hash = ")
            .bind(&session.id_hash);
        self.db.write().execute(q).await?;
        session.access_token = tokens.access_token.clone();
        session.access_expires = access_expires;
        session.refresh_token = refresh;
        session.refresh_expires = refresh_expires;
        session.id_token = id_token;
        session.refresh_failed_at_ms = None;
        Ok(())
    }

    /// Ends a session.
    pub async fn delete(&self, id_hash: &str) -> Result<(), StoreError> {
        let mut q = Sql::new("DELETE FROM web_session WHERE id_hash = ");
        q.bind(id_hash);
        self.db.write().execute(q).await.map(|_| ())
    }
}

/// What [`Sessions::claim_refresh`] found.
#[derive(Debug)]
pub enum Claim {
    /// This request refreshes; the others wait until it stores the new tokens or its lease
    /// ends.
    Mine,
    /// Another request (of this instance or another) is refreshing: wait, then claim again.
    Busy,
    /// The tokens were refreshed meanwhile: the session as it is now.
    Refreshed(Session),
    /// The session has ended (signed out, or revoked by a failed refresh).
    Gone,
    /// The refresh this request waited for found the provider unavailable: go on with the
    /// tokens it has.
    Failed,
}

/// One refresh at a time per session in this instance: the requests of a session that find
/// its tokens due queue here, so that each one after the first reads the outcome the first
/// stored in the row (new tokens, or [`Claim::Failed`]) without polling the database for it.
/// Entries go when their last request does. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RefreshFlights(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl RefreshFlights {
    /// Waits for the session's flight: the refresh is this request's while it holds it.
    pub async fn join(&self, id_hash: &str) -> FlightGuard {
        let flight = {
            let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            map.entry(id_hash.to_owned()).or_default().clone()
        };
        FlightGuard {
            guard: Some(flight.lock_owned().await),
            key: id_hash.to_owned(),
            flights: self.clone(),
        }
    }

    /// How many sessions have a flight under way or waited for (for tests).
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no session has a flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A session's flight, held: see [`RefreshFlights::join`].
#[derive(Debug)]
pub struct FlightGuard {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    key: String,
    flights: RefreshFlights,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        self.guard = None;
        let mut map = self
            .flights
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map's own reference left: nobody holds or waits for this flight.
        if map
            .get(&self.key)
            .is_some_and(|f| Arc::strong_count(f) == 1)
        {
            map.remove(&self.key);
        }
    }
}

fn expiries(tokens: &Tokens, now: i64) -> (i64, Option<i64>) {
    let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX / 4);
    let access = now + secs(tokens.expires_in);
    let refresh = tokens
        .refresh_expires_in
        .filter(|s| *s > 0)
        .map(|s| now + secs(s));
    (access, refresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_random_256_bits_and_stored_only_hashed() {
        let (a, b) = (random(), random());
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).expect("base64").len(), 32);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }

    #[tokio::test]
    async fn a_sessions_refreshes_queue_one_at_a_time_and_the_flight_goes_with_the_last() {
        let flights = RefreshFlights::default();
        let first = flights.join("s").await;
        let waiting = {
            let flights = flights.clone();
            tokio::spawn(async move { drop(flights.join("s").await) })
        };
        // Another session is not held up.
        drop(flights.join("other").await);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        assert_eq!(flights.len(), 1);
        drop(first);
        waiting
            .await
            .expect("the second goes on once the first is done");
        assert!(flights.is_empty(), "no flight left behind");
    }
}
