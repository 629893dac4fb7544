//! Passwords and client secrets: argon2id PHC strings, checked off the async runtime.
//!
//! A verification costs tens of milliseconds of CPU and ~19 MiB of memory by design, so it
//! runs on the blocking pool, and a semaphore caps how many run at once: a burst of logins
//! then queues instead of starving the runtime or eating the machine's memory.
//!
//! Clear-text secrets travel only inside [`Secret`], whose `Debug` prints `[redacted]`, so a
//! stray `?request` in a log line cannot leak one.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, Params, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

/// A clear-text password or client secret. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The clear text, for hashing or sending to an identity provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A PHC string that is not an argon2 hash this crate can check.
#[derive(Debug, thiserror::Error)]
#[error("not an argon2 PHC string ({reason})")]
pub struct InvalidHash {
    reason: String,
}

/// Hashing failed (a parameter out of range; with the defaults, never).
#[derive(Debug, thiserror::Error)]
#[error("could not hash the secret: {0}")]
pub struct HashFailed(String);

/// Hashes `secret` with argon2id and the crate's default parameters (OWASP's: 19 MiB, 2
/// passes, 1 lane) and a random salt. This is what `tis idp hash-password` should print.
pub fn hash(secret: &Secret) -> Result<String, HashFailed> {
    hash_with(secret, Params::default())
}

/// Hashes with explicit argon2 parameters; tests use cheap ones to stay fast.
pub fn hash_with(secret: &Secret, params: Params) -> Result<String, HashFailed> {
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    argon
        .hash_password(secret.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashFailed(e.to_string()))
}

/// Checks that `phc` is an argon2 PHC string with a salt and a hash, so that a typo in the
/// realm file is found at start-up, not at the first login.
pub fn check_phc(phc: &str) -> Result<(), InvalidHash> {
    let parsed = PasswordHash::new(phc).map_err(|e| InvalidHash {
        reason: e.to_string(),
    })?;
    let alg = parsed.algorithm.as_str();
    if !alg.starts_with("argon2") {
        return Err(InvalidHash {
            reason: format!("algorithm `{alg}`"),
        });
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(InvalidHash {
            reason: "no salt or no hash".into(),
        });
    }
    Params::try_from(&parsed).map_err(|e| InvalidHash {
        reason: e.to_string(),
    })?;
    Ok(())
}

/// A hash of a random secret with the same parameters as `like` (or the defaults), checked
/// when a username is unknown so that "no such user" costs what "wrong password" costs.
pub fn decoy_like(like: Option<&str>) -> Result<String, HashFailed> {
    let params = like
        .and_then(|phc| PasswordHash::new(phc).ok())
        .and_then(|p| Params::try_from(&p).ok())
        .unwrap_or_default();
    let random = Secret::new(uuid::Uuid::new_v4().to_string());
    hash_with(&random, params)
}

fn verify_blocking(secret: &Secret, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(secret.expose().as_bytes(), &parsed)
        .is_ok()
}

/// Runs verifications on the blocking pool, a bounded number at a time.
#[derive(Debug, Clone)]
pub struct Verifier {
    permits: Arc<Semaphore>,
}

impl Verifier {
    /// At most `concurrency` verifications run at once (at least 1).
    pub fn new(concurrency: usize) -> Self {
        Verifier {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// One verification per core: argon2 is CPU-bound, more would only queue in the kernel.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Whether `secret` matches `phc`. Any failure (a malformed hash, a cancelled task) is a
    /// mismatch: a login is never let through by an error.
    pub async fn verify(&self, secret: Secret, phc: String) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || verify_blocking(&secret, &phc))
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
pub(crate) fn cheap_params() -> Params {
    // 8 KiB, one pass: fast enough to hash dozens of times per test.
    Params::new(8, 1, 1, None).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_secret_and_nothing_else() {
        let phc = hash_with(&Secret::new("tis"), cheap_params()).unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("tis$"), "{phc}");
        check_phc(&phc).unwrap();
        let v = Verifier::new(1);
        assert!(v.verify(Secret::new("tis"), phc.clone()).await);
        assert!(!v.verify(Secret::new("TIS"), phc.clone()).await);
        assert!(!v.verify(Secret::new("tis"), "garbage".into()).await);
    }

    #[test]
    fn the_default_parameters_are_owasps() {
        let phc = hash(&Secret::new("x")).unwrap();
        assert!(phc.contains("m=19456,t=2,p=1"), "{phc}");
    }

    #[test]
    fn malformed_or_foreign_hashes_are_refused() {
        assert!(check_phc("tis").is_err());
        assert!(check_phc("$2b$12$abcdefghijklmnopqrstuv").is_err());
        assert!(check_phc("$argon2id$v=19$m=8,t=1,p=1").is_err());
    }

    #[test]
    fn a_decoy_uses_the_parameters_of_the_hash_it_imitates() {
        let real = hash_with(&Secret::new("x"), cheap_params()).unwrap();
        let decoy = decoy_like(Some(&real)).unwrap();
        assert!(decoy.contains("m=8,t=1,p=1"), "{decoy}");
    }

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
    }
}
