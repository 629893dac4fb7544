//! A shared secret presented as `Authorization: Bearer <secret>`: the credential of the
//! gateway's admin writes (`gateway.admin_token_file`), which `tis up` generates in its data
//! folder and sends with its announcements, and `tis ctl` reads from there.
//!
//! The secret is kept in a file (one line, surrounding whitespace ignored, at least
//! [`MIN_LEN`] characters) that only the processes sharing it can read; it is compared in
//! constant time (SHA-256 of both sides, then a constant-time comparison of the digests, so
//! neither the content nor the length of the secret leaks through timing).

use std::io::Write;
use std::path::{Path, PathBuf};

use http::HeaderMap;

/// The shortest secret accepted: 128 bits of hex.
pub const MIN_LEN: usize = 32;

/// A shared secret, held as its SHA-256 digest.
#[derive(Clone)]
pub struct StaticToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(…)")
    }
}

/// A token file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StaticTokenError {
    #[error("{path}: cannot be read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the token must be at least {MIN_LEN} characters (one line)")]
    TooShort { path: PathBuf },
}

/// How a request's credential compares with the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// No bearer credential.
    Missing,
    /// A bearer credential that is not the token.
    Wrong,
    /// The token.
    Right,
}

impl StaticToken {
    /// The token `secret` (tests; production reads a file).
    pub fn new(secret: &str) -> StaticToken {
        StaticToken {
            digest: digest(secret.trim().as_bytes()),
        }
    }

    /// Reads the token from `path`.
    pub fn read(path: &Path) -> Result<StaticToken, StaticTokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| StaticTokenError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let secret = text.trim();
        if secret.len() < MIN_LEN || secret.contains(char::is_whitespace) {
            return Err(StaticTokenError::TooShort {
                path: path.to_path_buf(),
            });
        }
        Ok(StaticToken::new(secret))
    }

    /// Writes a new random token (256 bits, hex) to `path`, readable by its owner only,
    /// unless the file exists. Returns whether it wrote one.
    pub fn ensure_file(path: &Path) -> Result<bool, StaticTokenError> {
        let io = |source| StaticTokenError::Io {
            path: path.to_path_buf(),
            source,
        };
        if path.exists() {
            return Ok(false);
        }
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| io(std::io::Error::other("no random numbers")))?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        file.write_all(format!("{secret}\n").as_bytes())
            .map_err(io)?;
        Ok(true)
    }

    /// Whether `presented` is the token, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let theirs = digest(presented.trim().as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.digest, &theirs).is_ok()
    }

    /// What the request's `Authorization: Bearer` credential is.
    pub fn presented(&self, headers: &HeaderMap) -> Presented {
        match crate::headers::bearer_token(headers) {
            Ok(token) if self.matches(token) => Presented::Right,
            Ok(_) => Presented::Wrong,
            Err(crate::AuthError::MissingToken) => Presented::Missing,
            Err(_) => Presented::Wrong,
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_owner_only_and_matches_only_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("admin.token");
        assert!(StaticToken::ensure_file(&path).expect("written"));
        assert!(!StaticToken::ensure_file(&path).expect("kept"), "kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let secret = std::fs::read_to_string(&path).expect("read");
        let token = StaticToken::read(&path).expect("token");
        assert!(token.matches(&secret));
        assert!(!token.matches("wrong"));
        assert!(!token.matches(&secret.trim()[1..]));

        let mut headers = HeaderMap::new();
        assert_eq!(token.presented(&headers), Presented::Missing);
        headers.insert(
            http::header::AUTHORIZATION,
            "Bearer nope".parse().expect("value"),
        );
        assert_eq!(token.presented(&headers), Presented::Wrong);
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {}", secret.trim()).parse().expect("value"),
        );
        assert_eq!(token.presented(&headers), Presented::Right);
    }

    #[test]
    fn a_short_token_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("admin.token");
        std::fs::write(&path, "secret\n").expect("write");
        assert!(matches!(
            StaticToken::read(&path),
            Err(StaticTokenError::TooShort { .. })
        ));
    }
}
