//! Passwords and client secrets: argon2id PHC strings, checked off the async runtime.
//!
//! Keycloak's PBKDF2 credentials (a realm export's `pbkdf2`, `pbkdf2-sha256`,
//! `pbkdf2-sha512`) are kept as they are, in the same PHC shape
//! (`$pbkdf2-sha256$i=27500$<salt>$<derived key>`, unpadded base64) and checked as Keycloak
//! checks them: PBKDF2-HMAC over the password's UTF-8 bytes, deriving as many bytes as the
//! stored key has, compared in constant time. Keycloak pads a password shorter than 14
//! characters with NULs when configured to (`max-padding-length`, FIPS); HMAC pads its key
//! with zeros to the block size anyway, so the padded and unpadded passwords derive the same
//! key and no padding is needed here.
//!
//! A verification costs tens of milliseconds of CPU and ~19 MiB of memory by design, so it
//! runs on the blocking pool, and a semaphore caps how many run at once: a burst of logins
//! then queues instead of starving the runtime or eating the machine's memory.
//!
//! Clear-text secrets travel only inside [`Secret`], whose `Debug` prints `[redacted]`, so a
//! stray `?request` in a log line cannot leak one.

use std::num::NonZeroU32;
use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, Params, PasswordHasher, PasswordVerifier};
use aws_lc_rs::pbkdf2;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
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

/// A PHC string that is not an argon2 or PBKDF2 hash this crate can check.
#[derive(Debug, thiserror::Error)]
#[error("not an argon2 or pbkdf2 PHC string ({reason})")]
pub struct InvalidHash {
    reason: String,
}

impl InvalidHash {
    fn new(reason: impl Into<String>) -> Self {
        InvalidHash {
            reason: reason.into(),
        }
    }
}

/// The PBKDF2 variants Keycloak ships, by the names its credentials carry
/// (`credentialData.algorithm`), which are also the PHC identifiers used here.
pub const PBKDF2_ALGORITHMS: [&str; 3] = ["pbkdf2", "pbkdf2-sha256", "pbkdf2-sha512"];

fn pbkdf2_algorithm(name: &str) -> Option<pbkdf2::Algorithm> {
    match name {
        "pbkdf2" => Some(pbkdf2::PBKDF2_HMAC_SHA1),
        "pbkdf2-sha256" => Some(pbkdf2::PBKDF2_HMAC_SHA256),
        "pbkdf2-sha512" => Some(pbkdf2::PBKDF2_HMAC_SHA512),
        _ => None,
    }
}

/// A PBKDF2 hash taken apart: `$<algorithm>$i=<iterations>$<salt>$<derived key>`.
struct Pbkdf2Hash<'a> {
    name: &'a str,
    algorithm: pbkdf2::Algorithm,
    iterations: NonZeroU32,
    salt: Vec<u8>,
    key: Vec<u8>,
}

impl<'a> Pbkdf2Hash<'a> {
    /// `None` when `phc` is not a PBKDF2 string at all; an error when it is one, malformed.
    fn parse(phc: &'a str) -> Option<Result<Self, InvalidHash>> {
        let mut parts = phc.split('$');
        let (Some(""), Some(name)) = (parts.next(), parts.next()) else {
            return None;
        };
        if !name.starts_with("pbkdf2") {
            return None;
        }
        let parsed = (|| {
            let algorithm = pbkdf2_algorithm(name).ok_or_else(|| {
                InvalidHash::new(format!(
                    "algorithm `{name}`; pbkdf2 is one of {}",
                    PBKDF2_ALGORITHMS.join(", ")
                ))
            })?;
            let (Some(params), Some(salt), Some(key), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(InvalidHash::new(
                    "expected $<algorithm>$i=<n>$<salt>$<hash>",
                ));
            };
            let iterations = params
                .strip_prefix("i=")
                .and_then(|n| n.parse::<NonZeroU32>().ok())
                .ok_or_else(|| InvalidHash::new(format!("iterations `{params}`, not i=<n ≥ 1>")))?;
            let salt = B64
                .decode(salt)
                .map_err(|e| InvalidHash::new(format!("salt: {e}")))?;
            let key = B64
                .decode(key)
                .map_err(|e| InvalidHash::new(format!("hash: {e}")))?;
            if key.is_empty() {
                return Err(InvalidHash::new("no hash"));
            }
            Ok(Pbkdf2Hash {
                name,
                algorithm,
                iterations,
                salt,
                key,
            })
        })();
        Some(parsed)
    }

    fn verify(&self, secret: &Secret) -> bool {
        pbkdf2::verify(
            self.algorithm,
            self.iterations,
            &self.salt,
            secret.expose().as_bytes(),
            &self.key,
        )
        .is_ok()
    }
}

/// A PBKDF2 credential as this crate stores it: `algorithm` one of [`PBKDF2_ALGORITHMS`],
/// the salt and the derived key as bytes (Keycloak's `secretData`, base64-decoded). Checked:
/// an unknown algorithm, zero iterations or an empty key is an error.
pub fn pbkdf2_phc(
    algorithm: &str,
    iterations: u32,
    salt: &[u8],
    key: &[u8],
) -> Result<String, InvalidHash> {
    let phc = format!(
        "${algorithm}$i={iterations}${}${}",
        B64.encode(salt),
        B64.encode(key)
    );
    match Pbkdf2Hash::parse(&phc) {
        Some(Ok(_)) => Ok(phc),
        Some(Err(e)) => Err(e),
        None => Err(InvalidHash::new(format!("algorithm `{algorithm}`"))),
    }
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
    if let Some(pbkdf2) = Pbkdf2Hash::parse(phc) {
        return pbkdf2.map(|_| ());
    }
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
    if let Some(Some(Ok(real))) = like.map(Pbkdf2Hash::parse) {
        // Same algorithm, iterations and key length; a random salt and key that no password
        // derives (in practice).
        let random = |n: usize| {
            let mut bytes = vec![0; n];
            aws_lc_rs::rand::fill(&mut bytes).map(|()| bytes)
        };
        let failed = |_| HashFailed("no random bytes".into());
        let salt = random(real.salt.len().max(16)).map_err(failed)?;
        let key = random(real.key.len()).map_err(failed)?;
        return pbkdf2_phc(real.name, real.iterations.get(), &salt, &key)
            .map_err(|e| HashFailed(e.to_string()));
    }
    let params = like
        .and_then(|phc| PasswordHash::new(phc).ok())
        .and_then(|p| Params::try_from(&p).ok())
        .unwrap_or_default();
    let random = Secret::new(uuid::Uuid::new_v4().to_string());
    hash_with(&random, params)
}

fn verify_blocking(secret: &Secret, phc: &str) -> bool {
    if let Some(pbkdf2) = Pbkdf2Hash::parse(phc) {
        return pbkdf2.is_ok_and(|h| h.verify(secret));
    }
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

    /// RFC 6070's first PBKDF2-HMAC-SHA1 vector and RFC 7914's PBKDF2-HMAC-SHA256 vector:
    /// the algorithms behind Keycloak's names are the ones they say.
    #[tokio::test]
    async fn pbkdf2_hashes_verify_the_published_vectors() {
        let hex = |s: &str| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect::<Vec<u8>>()
        };
        let sha1 = pbkdf2_phc(
            "pbkdf2",
            1,
            b"salt",
            &hex("0c60c80f961f0e71f3a9b524af6012062fe037a6"),
        )
        .unwrap();
        assert_eq!(sha1, "$pbkdf2$i=1$c2FsdA$DGDID5YfDnHzqbUkr2ASBi/gN6Y");
        let sha256 = pbkdf2_phc(
            "pbkdf2-sha256",
            1,
            b"salt",
            &hex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"),
        )
        .unwrap();
        let v = Verifier::new(1);
        for phc in [&sha1, &sha256] {
            check_phc(phc).unwrap();
            assert!(
                v.verify(
                    Secret::new(if phc == &sha1 { "password" } else { "passwd" }),
                    phc.to_string()
                )
                .await,
                "{phc}"
            );
            assert!(
                !v.verify(Secret::new("Password"), phc.to_string()).await,
                "{phc}"
            );
        }
        // A NUL-padded password (Keycloak's `max-padding-length`) derives the same key.
        assert!(
            v.verify(Secret::new("password\0\0\0\0\0\0"), sha1.clone())
                .await
        );
    }

    #[test]
    fn malformed_pbkdf2_hashes_are_refused_by_what_is_wrong() {
        let err = |phc: &str| check_phc(phc).unwrap_err().to_string();
        assert!(err("$pbkdf2-sha1$i=1$c2FsdA$AAAA").contains("`pbkdf2-sha1`"));
        assert!(err("$pbkdf2-sha256$i=0$c2FsdA$AAAA").contains("iterations"));
        assert!(err("$pbkdf2-sha256$i=1$c2FsdA$").contains("no hash"));
        assert!(err("$pbkdf2-sha256$i=1$c2FsdA").contains("expected"));
        assert!(err("$pbkdf2-sha256$i=1$c2F!dA$AAAA").contains("salt"));
    }

    #[tokio::test]
    async fn a_pbkdf2_decoy_costs_what_the_real_hash_costs_and_matches_nothing() {
        let real = pbkdf2_phc("pbkdf2-sha512", 7, b"0123456789abcdef", &[1; 64]).unwrap();
        let decoy = decoy_like(Some(&real)).unwrap();
        assert!(decoy.starts_with("$pbkdf2-sha512$i=7$"), "{decoy}");
        assert_ne!(decoy, real);
        let key = decoy.rsplit('$').next().unwrap();
        assert_eq!(B64.decode(key).unwrap().len(), 64);
        assert!(!Verifier::new(1).verify(Secret::new(""), decoy).await);
    }

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
    }
}
