//! The last good key set on disk.
//!
//! Written after every successful fetch that changed the keys or is due for a re-stamp, read
//! once at start-up. The file records *when* the keys were last confirmed by the identity
//! provider, so that the grace period keeps counting across restarts: a process restarted
//! eleven hours into an outage has one hour of grace left, not twelve.
//!
//! The write is atomic: a temporary file in the same folder, `fsync`, `rename` over the old
//! file, then `fsync` of the folder, so that a crash leaves either the old file or the new
//! one, never half of one. A file for another issuer is ignored.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const VERSION: u32 = 1;

/// The persisted form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedKeys {
    pub version: u32,
    pub issuer: String,
    /// When the keys were last confirmed by a successful fetch, Unix seconds.
    pub confirmed_at: u64,
    /// The JWKS as the identity provider published it.
    pub jwks: serde_json::Value,
}

impl PersistedKeys {
    pub fn new(issuer: &str, confirmed_at: u64, jwks: serde_json::Value) -> Self {
        PersistedKeys {
            version: VERSION,
            issuer: issuer.to_owned(),
            confirmed_at,
            jwks,
        }
    }
}

/// Why the persisted keys could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not a tis-auth key file: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path} holds keys of issuer {found:?}, not {expected:?}")]
    OtherIssuer {
        path: PathBuf,
        expected: String,
        found: String,
    },
}

/// Reads the persisted keys; `Ok(None)` when there is no file yet.
pub fn load(path: &Path, issuer: &str) -> Result<Option<PersistedKeys>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let keys: PersistedKeys = serde_json::from_slice(&bytes).map_err(|e| StoreError::Invalid {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if keys.version != VERSION {
        return Err(StoreError::Invalid {
            path: path.to_owned(),
            message: format!("version {}", keys.version),
        });
    }
    if keys.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(StoreError::OtherIssuer {
            path: path.to_owned(),
            expected: issuer.to_owned(),
            found: keys.issuer,
        });
    }
    Ok(Some(keys))
}

/// Writes the keys atomically (see the module documentation).
pub fn save(path: &Path, keys: &PersistedKeys) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "jwks".into());
    let tmp = dir.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let bytes = serde_json::to_vec_pretty(keys).map_err(io::Error::other)?;
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("jwks.json");
        let keys = PersistedKeys::new("http://idp/realms/lin", 42, serde_json::json!({"keys":[]}));
        save(&path, &keys).expect("save");
        save(&path, &keys).expect("save over");
        assert_eq!(
            load(&path, "http://idp/realms/lin").expect("load"),
            Some(keys)
        );
        let names: Vec<_> = fs::read_dir(path.parent().expect("dir"))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec!["jwks.json"]);
    }

    #[test]
    fn a_missing_file_is_no_keys_and_another_issuers_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jwks.json");
        assert!(load(&path, "x").expect("no file").is_none());
        save(
            &path,
            &PersistedKeys::new("http://a", 1, serde_json::json!({})),
        )
        .expect("save");
        assert!(matches!(
            load(&path, "http://b"),
            Err(StoreError::OtherIssuer { .. })
        ));
        fs::write(&path, b"{not json").expect("write");
        assert!(matches!(
            load(&path, "http://a"),
            Err(StoreError::Invalid { .. })
        ));
    }
}
