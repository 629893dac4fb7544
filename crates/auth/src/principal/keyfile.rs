//! The gateway's Ed25519 key pair: PEM files, generation, and key ids.
//!
//! The private key is PKCS#8 (`-----BEGIN PRIVATE KEY-----`, what `openssl genpkey
//! -algorithm ED25519` writes), the public key SubjectPublicKeyInfo (`-----BEGIN PUBLIC
//! KEY-----`). A key's id is its RFC 7638 JWK thumbprint (SHA-256, base64url), so gateway and
//! services agree on it without configuration, and a rotation is: generate a new pair, add
//! the new public key to every service's trusted list, switch the gateways, then drop the old
//! public key.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a key could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("not a PEM `{expected}` block")]
    NotPem { expected: &'static str },
    #[error("not an Ed25519 key")]
    NotEd25519,
    #[error("key generation failed")]
    Generation,
}

/// A private key that signs principals.
pub struct SigningKey {
    pub(crate) encoding: EncodingKey,
    pub kid: String,
    pub public: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A public key whose principals are trusted.
#[derive(Clone)]
pub struct TrustedKey {
    pub kid: String,
    pub public: [u8; 32],
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The key id of an Ed25519 public key: its RFC 7638 thumbprint.
pub fn kid_for(public: &[u8; 32]) -> String {
    let jwk = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public)
    );
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, jwk.as_bytes()).as_ref())
}

/// Reads a PKCS#8 PEM Ed25519 private key.
pub fn parse_private_pem(pem: &str) -> Result<SigningKey, KeyFileError> {
    let der = pem_block(pem, "PRIVATE KEY")?;
    let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| KeyFileError::NotEd25519)?;
    let public: [u8; 32] = pair
        .public_key()
        .as_ref()
        .try_into()
        .map_err(|_| KeyFileError::NotEd25519)?;
    Ok(SigningKey {
        encoding: EncodingKey::from_ed_der(&der),
        kid: kid_for(&public),
        public,
    })
}

/// Reads an SPKI PEM Ed25519 public key.
pub fn parse_public_pem(pem: &str) -> Result<TrustedKey, KeyFileError> {
    let der = pem_block(pem, "PUBLIC KEY")?;
    let raw = der
        .strip_prefix(&SPKI_PREFIX[..])
        .filter(|k| k.len() == 32)
        .ok_or(KeyFileError::NotEd25519)?;
    let mut public = [0u8; 32];
    public.copy_from_slice(raw);
    Ok(trusted(public))
}

pub(crate) fn trusted(public: [u8; 32]) -> TrustedKey {
    TrustedKey {
        kid: kid_for(&public),
        public,
    }
}

/// The SPKI PEM of a raw Ed25519 public key.
pub fn public_pem(public: &[u8; 32]) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(public);
    to_pem("PUBLIC KEY", &der)
}

/// A new key pair as (private PKCS#8 PEM, public SPKI PEM).
pub fn generate_pem() -> Result<(String, String), KeyFileError> {
    let pair = Ed25519KeyPair::generate().map_err(|_| KeyFileError::Generation)?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyFileError::Generation)?;
    let public: [u8; 32] = pair
        .public_key()
        .as_ref()
        .try_into()
        .map_err(|_| KeyFileError::Generation)?;
    Ok((to_pem("PRIVATE KEY", pkcs8.as_ref()), public_pem(&public)))
}

/// Generates a key pair and writes both files (the private one readable by its owner only,
/// 0600), replacing what was there. Returns the new key id.
pub fn generate_keypair_files(private: &Path, public: &Path) -> Result<String, KeyFileError> {
    let (private_pem, public_pem) = generate_pem()?;
    write_atomic(private, private_pem.as_bytes(), 0o600)?;
    write_atomic(public, public_pem.as_bytes(), 0o644)?;
    Ok(parse_private_pem(&private_pem)?.kid)
}

/// Makes sure a key pair exists (what `tis up` calls on first start): generates one when the
/// private key file is missing, rewrites a missing public file from the private key, and
/// returns the key id.
pub fn ensure_keypair_files(private: &Path, public: &Path) -> Result<String, KeyFileError> {
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        })
    };
    if !private.exists() {
        return generate_keypair_files(private, public);
    }
    let key = parse_private_pem(&read(private)?)?;
    if !public.exists() {
        write_atomic(public, public_pem(&key.public).as_bytes(), 0o644)?;
    }
    Ok(key.kid)
}

/// Reads a private key file.
pub fn read_private(path: &Path) -> Result<SigningKey, KeyFileError> {
    let pem = fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_private_pem(&pem)
}

/// Reads a public key file.
pub fn read_public(path: &Path) -> Result<TrustedKey, KeyFileError> {
    let pem = fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_public_pem(&pem)
}

fn pem_block(pem: &str, label: &'static str) -> Result<Vec<u8>, KeyFileError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or(KeyFileError::NotPem { expected: label })?;
    let body = &pem[start + begin.len()..];
    let stop = body
        .find(&end)
        .ok_or(KeyFileError::NotPem { expected: label })?;
    let b64: String = body[..stop].split_whitespace().collect();
    STANDARD
        .decode(b64)
        .map_err(|_| KeyFileError::NotPem { expected: label })
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Temporary file with `mode`, fsync, rename: never a half-written key, never a moment when
/// the private key is readable by others.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyFileError> {
    let io_err = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(io_err)?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        fastrand::u64(..)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_files_parse_and_the_private_key_is_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let private = dir.path().join("keys/principal.key");
        let public = dir.path().join("keys/principal.pub");
        let kid = generate_keypair_files(&private, &public).expect("generate");
        let mode = fs::metadata(&private).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_private(&private).expect("private").kid, kid);
        assert_eq!(read_public(&public).expect("public").kid, kid);
        assert_eq!(kid.len(), 43);
    }

    #[test]
    fn ensure_keeps_an_existing_pair_and_restores_a_missing_public_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let private = dir.path().join("p.key");
        let public = dir.path().join("p.pub");
        let first = ensure_keypair_files(&private, &public).expect("first");
        fs::remove_file(&public).expect("rm");
        let second = ensure_keypair_files(&private, &public).expect("second");
        assert_eq!(first, second);
        assert_eq!(read_public(&public).expect("public").kid, first);
    }

    #[test]
    fn other_keys_and_garbage_are_refused() {
        assert!(matches!(
            parse_public_pem("hello"),
            Err(KeyFileError::NotPem { .. })
        ));
        let rsa_like = to_pem("PUBLIC KEY", &[0x30, 0x82, 0x01, 0x22]);
        assert!(matches!(
            parse_public_pem(&rsa_like),
            Err(KeyFileError::NotEd25519)
        ));
        let bad_private = to_pem("PRIVATE KEY", &[1, 2, 3]);
        assert!(matches!(
            parse_private_pem(&bad_private),
            Err(KeyFileError::NotEd25519)
        ));
    }
}
