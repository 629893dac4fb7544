//! Signing keys: generated on first start, persisted, rotated with overlap.
//!
//! Rotation must not break a token that is still alive. So a rotation makes a new key the
//! signer at once, and keeps the replaced key in the JWKS for `rotation_overlap` (by default
//! an hour, longer than any access token lives): verifiers that cached the old JWKS keep
//! verifying old tokens, and those that fetch the new one find both keys. When the overlap
//! is over the key leaves the JWKS and its file is deleted.
//!
//! Whether a key is published is decided against the [`Clock`] each time the JWKS is read,
//! so retirement is exact and testable without timers; deleting the file is housekeeping
//! done by [`KeyStore::maintain`]. Another process may rotate the folder (`tis idp
//! rotate-keys` calls [`rotate_keys`]); `maintain` notices the manifest changed and reloads.
//!
//! # Layout
//! - [`folder`]: the files (manifest, PEMs, lock) and key generation.

pub mod folder;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use serde::Serialize;

pub use folder::Rotation;
use folder::{KeyFolder, Loaded};

use crate::clock::{Clock, SystemClock};
use crate::config::{IdpConfig, SigningAlgorithm};

/// A key operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key folder: {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key manifest {path} is not valid: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("the key folder {path} has no keys")]
    NoKeys { path: PathBuf },
    #[error("could not generate a {0} key")]
    Generate(SigningAlgorithm),
    #[error("key {kid} cannot be used: {message}")]
    BadKey { kid: String, message: String },
    #[error("could not sign a token: {0}")]
    Sign(String),
    #[error("a key task was cancelled")]
    Cancelled,
}

/// One key: how to sign with it (while active), its public JWK, and how to verify with it.
pub(crate) struct KeyMaterial {
    pub kid: String,
    pub alg: SigningAlgorithm,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub jwk: Jwk,
    pub retire_at: Option<u64>,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("retire_at", &self.retire_at)
            .finish_non_exhaustive()
    }
}

impl KeyMaterial {
    /// Parses a PKCS#8 PEM. The key id is the JWK's RFC 7638 SHA-256 thumbprint, so a file
    /// that does not match its manifest record (`expected_kid`) is refused.
    pub fn from_pem(
        expected_kid: Option<&str>,
        alg: SigningAlgorithm,
        pem: &[u8],
        retire_at: Option<u64>,
    ) -> Result<KeyMaterial, KeyError> {
        let bad = |message: String| KeyError::BadKey {
            kid: expected_kid.unwrap_or("(new)").to_owned(),
            message,
        };
        let encoding = match alg {
            SigningAlgorithm::RS256 => EncodingKey::from_rsa_pem(pem),
            SigningAlgorithm::ES256 => EncodingKey::from_ec_pem(pem),
            SigningAlgorithm::EdDSA => EncodingKey::from_ed_pem(pem),
        }
        .map_err(|e| bad(format!("not a {alg} PKCS#8 PEM key: {e}")))?;
        let mut jwk = Jwk::from_encoding_key(&encoding, alg.jwt())
            .map_err(|e| bad(format!("no public key: {e}")))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| bad(format!("no thumbprint: {e}")))?;
        if expected_kid.is_some_and(|expected| expected != kid) {
            return Err(bad(format!("the file holds key {kid}")));
        }
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| bad(e.to_string()))?;
        Ok(KeyMaterial {
            kid,
            alg,
            encoding,
            decoding,
            jwk,
            retire_at,
        })
    }

    fn published_at(&self, now: u64) -> bool {
        self.retire_at.is_none_or(|at| now < at)
    }
}

#[derive(Debug)]
struct Ring {
    keys: Vec<Arc<KeyMaterial>>,
    active: Arc<KeyMaterial>,
    manifest_text: String,
}

impl Ring {
    fn new(loaded: Loaded, dir: &Path) -> Result<Ring, KeyError> {
        let keys: Vec<_> = loaded.keys.into_iter().map(Arc::new).collect();
        let active = keys
            .iter()
            .find(|k| k.retire_at.is_none())
            .cloned()
            .ok_or_else(|| KeyError::NoKeys {
                path: dir.to_path_buf(),
            })?;
        Ok(Ring {
            keys,
            active,
            manifest_text: loaded.manifest_text,
        })
    }
}

/// The signing keys of a running provider. Cheap to clone.
#[derive(Debug, Clone)]
pub struct KeyStore(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    folder: KeyFolder,
    dir: PathBuf,
    alg: SigningAlgorithm,
    overlap: u64,
    clock: Arc<dyn Clock>,
    ring: RwLock<Arc<Ring>>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeyError> + Send + 'static,
) -> Result<T, KeyError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| KeyError::Cancelled)?
}

fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl KeyStore {
    /// Opens the key folder, generating the first key (of `alg`) if it is empty.
    pub async fn open(
        dir: &Path,
        alg: SigningAlgorithm,
        overlap: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<KeyStore, KeyError> {
        let folder = KeyFolder::new(dir);
        let (f, now, overlap) = (folder.clone(), clock.unix(), secs(overlap));
        let loaded = blocking(move || f.open(alg, overlap, now)).await?;
        let ring = Ring::new(loaded, dir)?;
        tracing::info!(key.id = %ring.active.kid, key.alg = %alg, keys = ring.keys.len(), "signing keys loaded");
        Ok(KeyStore(Arc::new(Inner {
            folder,
            dir: dir.to_path_buf(),
            alg,
            overlap,
            clock,
            ring: RwLock::new(Arc::new(ring)),
        })))
    }

    fn ring(&self) -> Arc<Ring> {
        self.0
            .ring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Makes a new signing key now; the previous one stays published for the overlap.
    pub async fn rotate(&self) -> Result<Rotation, KeyError> {
        let (f, alg, overlap, now) = (
            self.0.folder.clone(),
            self.0.alg,
            self.0.overlap,
            self.0.clock.unix(),
        );
        let rotation = blocking(move || f.rotate(alg, overlap, now)).await?;
        tracing::info!(key.id = %rotation.active, key.previous = rotation.previous.as_deref().unwrap_or(""), "signing key rotated");
        self.reload().await?;
        Ok(rotation)
    }

    /// Re-reads the folder if its manifest changed (another process rotated). Returns
    /// whether it did. A folder that cannot be read leaves the current keys in place.
    pub async fn reload(&self) -> Result<bool, KeyError> {
        let (f, known) = (self.0.folder.clone(), self.ring().manifest_text.clone());
        let Some(loaded) = blocking(move || f.load_if_changed(&known)).await? else {
            return Ok(false);
        };
        let ring = Ring::new(loaded, &self.0.dir)?;
        tracing::info!(key.id = %ring.active.kid, keys = ring.keys.len(), "signing keys reloaded");
        *self.0.ring.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ring);
        Ok(true)
    }

    /// Periodic housekeeping: rotate when the active key is older than `rotation_interval`,
    /// delete keys whose overlap is over, and pick up changes made by another process.
    pub async fn maintain(&self, rotation_interval: Option<Duration>) -> Result<(), KeyError> {
        let (f, alg, overlap, now) = (
            self.0.folder.clone(),
            self.0.alg,
            self.0.overlap,
            self.0.clock.unix(),
        );
        let interval = rotation_interval.map(secs);
        let rotated = blocking(move || {
            let rotated = match interval {
                Some(age) => f.rotate_if_older(age, alg, overlap, now)?,
                None => None,
            };
            f.prune(now)?;
            Ok(rotated)
        })
        .await?;
        if let Some(r) = rotated {
            tracing::info!(key.id = %r.active, "signing key rotated on schedule");
        }
        self.reload().await.map(|_| ())
    }

    /// The public keys verifiers should accept now: the active key and every replaced key
    /// still within its overlap.
    pub fn jwks(&self) -> JwkSet {
        let now = self.0.clock.unix();
        JwkSet {
            keys: self
                .ring()
                .keys
                .iter()
                .filter(|k| k.published_at(now))
                .map(|k| k.jwk.clone())
                .collect(),
        }
    }

    /// The id of the key that signs new tokens.
    pub fn active_kid(&self) -> String {
        self.ring().active.kid.clone()
    }

    /// The algorithms of the published keys, the signer's first.
    pub fn algorithms(&self) -> Vec<&'static str> {
        let ring = self.ring();
        let now = self.0.clock.unix();
        let mut algs = vec![ring.active.alg.as_str()];
        for k in ring.keys.iter().filter(|k| k.published_at(now)) {
            if !algs.contains(&k.alg.as_str()) {
                algs.push(k.alg.as_str());
            }
        }
        algs
    }

    /// A published key by id; a retired or unknown key is `None`.
    pub(crate) fn published(&self, kid: &str) -> Option<Arc<KeyMaterial>> {
        let now = self.0.clock.unix();
        self.ring()
            .keys
            .iter()
            .find(|k| k.kid == kid && k.published_at(now))
            .cloned()
    }

    /// Signs `claims` with the active key: header `typ: JWT`, `kid`, `alg`.
    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let key = self.ring().active.clone();
        let mut header = Header::new(key.alg.jwt());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

/// Rotates the signing key in `config.key_dir`, from any process (`tis idp rotate-keys`).
/// A running provider on that folder picks the new key up within `key_check_interval`.
pub async fn rotate_keys(config: &IdpConfig) -> Result<Rotation, KeyError> {
    let folder = KeyFolder::new(&config.key_dir);
    let (alg, overlap, now) = (
        config.algorithm,
        secs(config.rotation_overlap),
        SystemClock.unix(),
    );
    blocking(move || folder.rotate(alg, overlap, now)).await
}
