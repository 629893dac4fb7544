//! The key folder on disk: one PKCS#8 PEM file per key (`<kid>.pem`, mode 0600) and a
//! manifest (`keys.json`) saying which key signs and until when each replaced key stays
//! published.
//!
//! ```json
//! {"keys":[{"kid":"Vb0…","alg":"RS256","created_at":1767225600,"retire_at":1767229200},
//!          {"kid":"q3L…","alg":"RS256","created_at":1767229200}]}
//! ```
//!
//! Invariants: exactly one record has no `retire_at` (the active key); a PEM file is written
//! before the manifest that names it, and the manifest is replaced by rename, so a reader
//! never sees a record without its key. Every change holds an exclusive `flock` on
//! `.lock` and every read a shared one, so `tis idp rotate-keys` in another process and a
//! running provider cannot interleave. Everything here blocks: callers use `spawn_blocking`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{KeyError, KeyMaterial};
use crate::config::SigningAlgorithm;

const MANIFEST: &str = "keys.json";
const LOCK: &str = ".lock";

/// One key in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: SigningAlgorithm,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// When this replaced key leaves the JWKS; absent for the active key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_at: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    keys: Vec<KeyRecord>,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key that signs from now on.
    pub active: String,
    /// The key it replaced, which stays published until `retire_at`.
    pub previous: Option<String>,
    pub retire_at: Option<u64>,
}

/// The keys read from the folder, and the manifest text they came from (to notice changes).
pub(crate) struct Loaded {
    pub keys: Vec<KeyMaterial>,
    pub manifest_text: String,
}

#[derive(Debug, Clone)]
pub(crate) struct KeyFolder {
    dir: PathBuf,
}

impl KeyFolder {
    pub fn new(dir: &Path) -> Self {
        KeyFolder {
            dir: dir.to_path_buf(),
        }
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> KeyError {
        let path = path.to_path_buf();
        move |source| KeyError::Io { path, source }
    }

    fn lock(&self, exclusive: bool) -> Result<File, KeyError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(self.io(&self.dir))?;
        let path = self.dir.join(LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(self.io(&path))?;
        if exclusive {
            file.lock().map_err(self.io(&path))?;
        } else {
            file.lock_shared().map_err(self.io(&path))?;
        }
        Ok(file)
    }

    fn read_manifest(&self) -> Result<Option<(Manifest, String)>, KeyError> {
        let path = self.dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(&path)(e)),
        };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| KeyError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if let Some(bad) = manifest.keys.iter().find(|k| !safe_kid(&k.kid)) {
            return Err(KeyError::Manifest {
                path,
                message: format!("`{}` is not a key id", bad.kid),
            });
        }
        if manifest
            .keys
            .iter()
            .filter(|k| k.retire_at.is_none())
            .count()
            != 1
        {
            return Err(KeyError::Manifest {
                path,
                message: "exactly one key must be active (without retire_at)".into(),
            });
        }
        Ok(Some((manifest, text)))
    }

    /// Replaces `name` in the folder atomically (write a temporary file, then rename).
    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), KeyError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(self.io(&tmp))?;
        file.write_all(bytes).map_err(self.io(&tmp))?;
        file.sync_all().map_err(self.io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(self.io(&path))
    }

    fn write_manifest(&self, manifest: &Manifest) -> Result<String, KeyError> {
        let text = serde_json::to_string_pretty(manifest).map_err(|e| KeyError::Manifest {
            path: self.dir.join(MANIFEST),
            message: e.to_string(),
        })?;
        self.write_atomic(MANIFEST, text.as_bytes())?;
        Ok(text)
    }

    /// Generates a key, writes its PEM, and returns its record (not yet in the manifest).
    fn new_key(&self, alg: SigningAlgorithm, now: u64) -> Result<KeyRecord, KeyError> {
        let pem = to_pem(&generate(alg)?);
        let kid = KeyMaterial::from_pem(None, alg, pem.as_bytes(), None)?.kid;
        self.write_atomic(&format!("{kid}.pem"), pem.as_bytes())?;
        tracing::info!(key.id = %kid, key.alg = %alg, "generated a signing key");
        Ok(KeyRecord {
            kid,
            alg,
            created_at: now,
            retire_at: None,
        })
    }

    fn load_records(&self, manifest: &Manifest) -> Result<Vec<KeyMaterial>, KeyError> {
        manifest
            .keys
            .iter()
            .map(|r| {
                let path = self.dir.join(format!("{}.pem", r.kid));
                let pem = std::fs::read(&path).map_err(self.io(&path))?;
                KeyMaterial::from_pem(Some(&r.kid), r.alg, &pem, r.retire_at)
            })
            .collect()
    }

    /// Reads the folder, creating the first key if there is none, rotating if the active
    /// key's algorithm is not `alg`, and deleting keys whose overlap is over.
    pub fn open(&self, alg: SigningAlgorithm, overlap: u64, now: u64) -> Result<Loaded, KeyError> {
        let _lock = self.lock(true)?;
        let (mut manifest, before) = match self.read_manifest()? {
            Some((m, text)) => (m.clone(), Some((m, text))),
            None => (
                Manifest {
                    keys: vec![self.new_key(alg, now)?],
                },
                None,
            ),
        };
        if active(&manifest).is_some_and(|a| a.alg != alg) {
            tracing::info!(key.alg = %alg, "the configured algorithm changed; rotating");
            rotate_in(&mut manifest, self.new_key(alg, now)?, now + overlap);
        }
        self.prune_in(&mut manifest, now);
        let manifest_text = match before {
            Some((unchanged, text)) if unchanged == manifest => text,
            _ => self.write_manifest(&manifest)?,
        };
        Ok(Loaded {
            keys: self.load_records(&manifest)?,
            manifest_text,
        })
    }

    /// Reads the folder as it is, or `None` when the manifest is what `known` already says.
    pub fn load_if_changed(&self, known: &str) -> Result<Option<Loaded>, KeyError> {
        let _lock = self.lock(false)?;
        match self.read_manifest()? {
            Some((_, text)) if text == known => Ok(None),
            Some((manifest, text)) => Ok(Some(Loaded {
                keys: self.load_records(&manifest)?,
                manifest_text: text,
            })),
            None => Err(KeyError::NoKeys {
                path: self.dir.clone(),
            }),
        }
    }

    /// Makes a new active key of `alg`; the previous one retires at `now + overlap`.
    pub fn rotate(
        &self,
        alg: SigningAlgorithm,
        overlap: u64,
        now: u64,
    ) -> Result<Rotation, KeyError> {
        let _lock = self.lock(true)?;
        let mut manifest = self.read_manifest()?.map(|(m, _)| m).unwrap_or_default();
        let new = self.new_key(alg, now)?;
        let rotation = rotate_in(&mut manifest, new, now + overlap);
        self.prune_in(&mut manifest, now);
        self.write_manifest(&manifest)?;
        Ok(rotation)
    }

    /// Rotates if the active key is at least `max_age` seconds old; returns what it did.
    pub fn rotate_if_older(
        &self,
        max_age: u64,
        alg: SigningAlgorithm,
        overlap: u64,
        now: u64,
    ) -> Result<Option<Rotation>, KeyError> {
        {
            let _lock = self.lock(false)?;
            let due = self
                .read_manifest()?
                .and_then(|(m, _)| active(&m).map(|a| a.created_at.saturating_add(max_age) <= now));
            if due != Some(true) {
                return Ok(None);
            }
        }
        // Two processes may both find it due; the second rotation is harmless (one more key
        // in the overlap), and the exclusive lock keeps each one whole.
        self.rotate(alg, overlap, now).map(Some)
    }

    /// Deletes keys whose overlap is over. Returns whether anything was removed.
    pub fn prune(&self, now: u64) -> Result<bool, KeyError> {
        let _lock = self.lock(true)?;
        let Some((mut manifest, _)) = self.read_manifest()? else {
            return Ok(false);
        };
        let before = manifest.keys.len();
        self.prune_in(&mut manifest, now);
        if manifest.keys.len() == before {
            return Ok(false);
        }
        self.write_manifest(&manifest)?;
        Ok(true)
    }

    /// Drops retired records from `manifest` and deletes their files. The manifest must be
    /// written afterwards by the caller; a crash in between leaves a record without its
    /// file only for a key that was retired anyway, and the next prune finishes the job.
    fn prune_in(&self, manifest: &mut Manifest, now: u64) {
        manifest.keys.retain(|k| match k.retire_at {
            Some(at) if at <= now => {
                let path = self.dir.join(format!("{}.pem", k.kid));
                if let Err(e) = std::fs::remove_file(&path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(key.id = %k.kid, error.message = %e, "could not delete a retired key");
                }
                tracing::info!(key.id = %k.kid, "retired a signing key");
                false
            }
            _ => true,
        });
    }
}

fn active(manifest: &Manifest) -> Option<&KeyRecord> {
    manifest.keys.iter().find(|k| k.retire_at.is_none())
}

fn rotate_in(manifest: &mut Manifest, new: KeyRecord, retire_at: u64) -> Rotation {
    let mut previous = None;
    for k in manifest.keys.iter_mut().filter(|k| k.retire_at.is_none()) {
        k.retire_at = Some(retire_at);
        previous = Some(k.kid.clone());
    }
    let rotation = Rotation {
        active: new.kid.clone(),
        retire_at: previous.as_ref().map(|_| retire_at),
        previous,
    };
    manifest.keys.push(new);
    rotation
}

/// Key ids are base64url thumbprints; anything else could name a file outside the folder.
fn safe_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 128
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new private key as PKCS#8 DER.
pub(crate) fn generate(alg: SigningAlgorithm) -> Result<Vec<u8>, KeyError> {
    let fail = |_| KeyError::Generate(alg);
    Ok(match alg {
        SigningAlgorithm::RS256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(fail)?;
            pair.as_der().map_err(fail)?.as_ref().to_vec()
        }
        SigningAlgorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(fail)?
            .to_pkcs8v1()
            .map_err(fail)?
            .as_ref()
            .to_vec(),
        // PKCS#8 v1 (without the public key): the form jsonwebtoken reads.
        SigningAlgorithm::EdDSA => Ed25519KeyPair::generate()
            .map_err(fail)?
            .to_pkcs8v1()
            .map_err(fail)?
            .as_ref()
            .to_vec(),
    })
}

/// PKCS#8 DER as PEM (`PRIVATE KEY`, 64-column base64).
pub(crate) fn to_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

#[cfg(test)]
mod tests;
