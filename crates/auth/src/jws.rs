//! The signature check of a compact JWS against a key parsed once, and the claims checks
//! that used to be jsonwebtoken's.
//!
//! jsonwebtoken's `decode` did, per token: decode and parse the header a second time (the
//! front end in `token` already did), clone the key's bytes into a boxed verifier, parse the
//! public key (for RSA: build the key and its Montgomery context from `n` and `e`, about a
//! quarter of an RS256 verification), verify, then parse the claims twice (once into the
//! claims type, once for its own validation). Here the key is an aws-lc-rs
//! [`ParsedPublicKey`] built once per JWK and algorithm (`keys`), the signature is decoded
//! onto the stack, and the claims are parsed once; the presence of `exp`, `iss` and `aud`
//! is only re-read when the parsed claims look like their defaults.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::AuthError;

/// The largest signature we decode: RSA-8192 (1,024 bytes).
const MAX_SIGNATURE: usize = 1024;

/// Builds the parsed key for one algorithm from an RSA key's `n` and `e`.
pub(crate) fn rsa_key(n: &[u8], e: &[u8], alg: Algorithm) -> Option<ParsedPublicKey> {
    let params: &'static signature::RsaParameters = match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    };
    RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(params)
        .ok()
}

/// Builds the parsed key of an EC point (`0x04 || x || y`) or an Ed25519 key (32 bytes).
pub(crate) fn point_key(public: &[u8], alg: Algorithm) -> Option<ParsedPublicKey> {
    let verification: &'static dyn signature::VerificationAlgorithm = match alg {
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        _ => return None,
    };
    ParsedPublicKey::new(verification, public).ok()
}

/// Verifies the signature of `token` (already through `token::inspect`) with `key`, and
/// returns the decoded payload (JSON bytes), read only after the signature verified.
pub(crate) fn verify_signature(token: &str, key: &ParsedPublicKey) -> Result<Vec<u8>, AuthError> {
    let (message, sig_b64) = token
        .rsplit_once('.')
        .ok_or(AuthError::Malformed("not three dot-separated segments"))?;
    let (_, payload_b64) = message
        .split_once('.')
        .ok_or(AuthError::Malformed("not three dot-separated segments"))?;
    // An oversized signature cannot verify with any key we load.
    if sig_b64.len() > MAX_SIGNATURE.div_ceil(3) * 4 {
        return Err(AuthError::BadSignature);
    }
    let mut sig = [0u8; MAX_SIGNATURE];
    let len = URL_SAFE_NO_PAD
        .decode_slice(sig_b64, &mut sig)
        .map_err(|_| AuthError::Malformed("a segment is not base64url"))?;
    key.verify_sig(message.as_bytes(), &sig[..len])
        .map_err(|_| AuthError::BadSignature)?;
    URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| AuthError::Malformed("a segment is not base64url"))
}

/// Parses the claims of a verified payload.
pub(crate) fn parse_claims<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, AuthError> {
    serde_json::from_slice(payload)
        .map_err(|_| AuthError::Malformed("the claims are not a JSON object of the expected shape"))
}

/// Which of the required claims are present (non-null), read again from the payload. Only
/// called when the parsed claims cannot tell (a claim equal to its default).
pub(crate) fn first_missing(payload: &[u8]) -> Option<&'static str> {
    #[derive(Deserialize)]
    struct Present {
        #[serde(default)]
        exp: Option<IgnoredAny>,
        #[serde(default)]
        iss: Option<IgnoredAny>,
        #[serde(default)]
        aud: Option<IgnoredAny>,
    }
    let p: Present = serde_json::from_slice(payload).ok()?;
    if p.exp.is_none() {
        Some("exp")
    } else if p.iss.is_none() {
        Some("iss")
    } else if p.aud.is_none() {
        Some("aud")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_claims_are_named_and_null_counts_as_missing() {
        assert_eq!(first_missing(br#"{"iss":"i","aud":"a"}"#), Some("exp"));
        assert_eq!(first_missing(br#"{"exp":1,"aud":"a"}"#), Some("iss"));
        assert_eq!(
            first_missing(br#"{"exp":1,"iss":"i","aud":null}"#),
            Some("aud")
        );
        assert_eq!(first_missing(br#"{"exp":0,"iss":"","aud":[]}"#), None);
    }

    #[test]
    fn segments_that_are_not_base64url_or_too_long_never_verify() {
        use aws_lc_rs::signature::KeyPair;
        let pair = signature::Ed25519KeyPair::generate().expect("key");
        let key = point_key(pair.public_key().as_ref(), Algorithm::EdDSA).expect("parses");
        assert_eq!(
            verify_signature("e30.e30.!!", &key),
            Err(AuthError::Malformed("a segment is not base64url"))
        );
        let long = format!("e30.e30.{}", "A".repeat(2000));
        assert_eq!(verify_signature(&long, &key), Err(AuthError::BadSignature));
        assert_eq!(
            verify_signature("e30.e30.AAAA", &key),
            Err(AuthError::BadSignature)
        );
    }
}
