//! Sessions and sign-ins under way, in the application's own database (any instance serves
//! any session; a restart signs nobody out).
//!
//! The browser holds only a random 256-bit value (`TIS_SESSION`, or `TIS_LOGIN` while signing
//! in); the table holds its SHA-256, the tokens, the CSRF token and the expiry. A forged value
//! finds no row; a value replayed after logout finds none either (the row is deleted).
//! Expired rows are removed as new ones are written.

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
        let mut q = Sql::new(
            r#"SELECT id_hash AS "id_hash", csrf AS "csrf", user_name AS "user_name", access_token AS "access_token", access_expires AS "access_expires", refresh_token AS "refresh_token", refresh_expires AS "refresh_expires", id_token AS "id_token", expires AS "expires" FROM web_session WHERE id_hash = "#,
        );
        q.bind(hash(cookie)).push(" AND expires >= ").bind(now());
        // The primary: a session refreshed a moment ago must be read as it is now.
        Ok(self.db.write().fetch_all_as(q).await?.pop())
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
            .push(" WHERE id_hash = ")
            .bind(&session.id_hash);
        self.db.write().execute(q).await?;
        session.access_token = tokens.access_token.clone();
        session.access_expires = access_expires;
        session.refresh_token = refresh;
        session.refresh_expires = refresh_expires;
        session.id_token = id_token;
        Ok(())
    }

    /// Ends a session.
    pub async fn delete(&self, id_hash: &str) -> Result<(), StoreError> {
        let mut q = Sql::new("DELETE FROM web_session WHERE id_hash = ");
        q.bind(id_hash);
        self.db.write().execute(q).await.map(|_| ())
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
}
