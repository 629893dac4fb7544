//! Signing keys as published in a JWKS, and which algorithms each may verify.
//!
//! The algorithm is bound to the key, never taken from the token alone: an RSA key verifies
//! only RS*/PS* (and only the one named by its `alg`, when it names one), a P-256 key only
//! ES256, an Ed25519 key only EdDSA. Symmetric (`oct`) keys are never loaded, so a token
//! "signed" with HS256 using a public key as the secret has nothing to verify against.
//! Encryption keys (`use: enc`, such as the RSA-OAEP key Keycloak publishes beside its
//! signing key) and keys we cannot use are skipped, not fatal: one odd key must not cost us
//! the others. A key set with no usable key at all is a failed fetch.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::token::MAX_KID_LEN;

/// More keys than this in one set is not a real key set; the rest are ignored.
const MAX_KEYS: usize = 64;

/// The kind of a verification key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum KeyType {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "EC P-256")]
    P256,
    #[serde(rename = "EC P-384")]
    P384,
    #[serde(rename = "Ed25519")]
    Ed25519,
}

/// One key that may verify signatures.
#[derive(Debug)]
pub struct VerificationKey {
    pub kid: String,
    pub key_type: KeyType,
    /// The algorithms this key may verify, already narrowed by configuration.
    pub algorithms: Vec<Algorithm>,
    pub(crate) decoding: DecodingKey,
    /// The JWK as published, for persistence and to notice a changed key under an old kid.
    pub(crate) jwk: serde_json::Value,
}

impl VerificationKey {
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }
}

/// The keys of one set, by `kid`.
pub type KeyMap = HashMap<String, Arc<VerificationKey>>;

/// Why one JWK was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub kid: Option<String>,
    pub reason: &'static str,
}

#[derive(Deserialize)]
struct JwkFields {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

/// Parses a JWKS document. `Err` when it is not a JWKS at all; otherwise the usable keys
/// (possibly none) and the reasons others were skipped.
pub fn parse_jwks(
    doc: &serde_json::Value,
    accepted: &[Algorithm],
) -> Result<(KeyMap, Vec<Skipped>), &'static str> {
    let keys = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("no `keys` array")?;
    let mut map = KeyMap::new();
    let mut skipped = Vec::new();
    for jwk in keys.iter().take(MAX_KEYS) {
        match parse_jwk(jwk, accepted) {
            Ok(key) => {
                if map.contains_key(&key.kid) {
                    skipped.push(Skipped {
                        kid: Some(key.kid.clone()),
                        reason: "duplicate kid",
                    });
                } else {
                    map.insert(key.kid.clone(), Arc::new(key));
                }
            }
            Err(reason) => skipped.push(Skipped {
                kid: jwk.get("kid").and_then(|k| k.as_str()).map(str::to_owned),
                reason,
            }),
        }
    }
    Ok((map, skipped))
}

/// Parses one JWK into a verification key.
pub fn parse_jwk(
    jwk: &serde_json::Value,
    accepted: &[Algorithm],
) -> Result<VerificationKey, &'static str> {
    let f: JwkFields = serde_json::from_value(jwk.clone()).map_err(|_| "not a JWK")?;
    let kid = f.kid.clone().ok_or("no kid")?;
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err("kid empty or too long");
    }
    if f.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("not a signing key (use)");
    }
    if f.key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Err("not a verification key (key_ops)");
    }
    let named: Option<Algorithm> = match f.alg.as_deref() {
        None => None,
        Some(a) => Some(a.parse().map_err(|_| "alg not a signature algorithm")?),
    };
    let (key_type, family, decoding) = match f.kty.as_str() {
        "RSA" => {
            let n = decode_b64(f.n.as_deref()).ok_or("RSA key without n")?;
            let e = decode_b64(f.e.as_deref()).ok_or("RSA key without e")?;
            let n_bits = significant_bits(&n);
            if n_bits < 2048 {
                return Err("RSA modulus shorter than 2048 bits");
            }
            let family = [
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ];
            let key = DecodingKey::from_rsa_raw_components(&n, &e);
            (KeyType::Rsa, family.to_vec(), key)
        }
        "EC" => {
            let (key_type, alg, len) = match f.crv.as_deref() {
                Some("P-256") => (KeyType::P256, Algorithm::ES256, 32),
                Some("P-384") => (KeyType::P384, Algorithm::ES384, 48),
                _ => return Err("unsupported EC curve"),
            };
            let x = decode_b64(f.x.as_deref()).ok_or("EC key without x")?;
            let y = decode_b64(f.y.as_deref()).ok_or("EC key without y")?;
            if x.len() != len || y.len() != len {
                return Err("EC coordinates of the wrong length");
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (key_type, vec![alg], DecodingKey::from_ec_der(&point))
        }
        "OKP" => {
            if f.crv.as_deref() != Some("Ed25519") {
                return Err("unsupported OKP curve");
            }
            let x = decode_b64(f.x.as_deref()).ok_or("OKP key without x")?;
            if x.len() != 32 {
                return Err("Ed25519 key of the wrong length");
            }
            (
                KeyType::Ed25519,
                vec![Algorithm::EdDSA],
                DecodingKey::from_ed_der(&x),
            )
        }
        "oct" => return Err("symmetric keys are never used"),
        _ => return Err("unsupported kty"),
    };
    let algorithms: Vec<Algorithm> = family
        .into_iter()
        .filter(|a| named.is_none_or(|n| n == *a))
        .filter(|a| accepted.contains(a))
        .collect();
    if algorithms.is_empty() {
        return Err("no accepted algorithm fits this key");
    }
    Ok(VerificationKey {
        kid,
        key_type,
        algorithms,
        decoding,
        jwk: jwk.clone(),
    })
}

fn decode_b64(s: Option<&str>) -> Option<Vec<u8>> {
    let s = s?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
        .filter(|v| !v.is_empty())
}

fn significant_bits(be: &[u8]) -> usize {
    match be.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (be.len() - i - 1) * 8 + (8 - be[i].leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: &[Algorithm] = &[
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ];

    fn rsa_n() -> String {
        let mut n = vec![0xC5u8; 256];
        n[255] = 0x01;
        URL_SAFE_NO_PAD.encode(n)
    }

    #[test]
    fn an_rsa_key_verifies_only_rsa_algorithms_accepted_by_configuration() {
        let k =
            parse_jwk(&json!({"kty":"RSA","kid":"r","n":rsa_n(),"e":"AQAB"}), ALL).expect("rsa");
        assert_eq!(k.algorithms, vec![Algorithm::RS256, Algorithm::PS256]);
        assert!(!k.allows(Algorithm::ES256));
        let named = parse_jwk(
            &json!({"kty":"RSA","kid":"r","n":rsa_n(),"e":"AQAB","alg":"PS256"}),
            ALL,
        )
        .expect("rsa");
        assert_eq!(named.algorithms, vec![Algorithm::PS256]);
    }

    #[test]
    fn keycloaks_encryption_key_and_symmetric_keys_are_skipped() {
        let doc = json!({"keys":[
            {"kty":"RSA","kid":"enc","use":"enc","alg":"RSA-OAEP","n":rsa_n(),"e":"AQAB"},
            {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"sig","use":"sig","alg":"RS256","n":rsa_n(),"e":"AQAB"},
            {"kty":"RSA","kid":"small","n":"AQAB","e":"AQAB"},
            "not an object"
        ]});
        let (keys, skipped) = parse_jwks(&doc, ALL).expect("a jwks");
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["sig"]);
        assert_eq!(skipped.len(), 4);
    }

    #[test]
    fn curves_bind_their_algorithm() {
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let ec = parse_jwk(
            &json!({"kty":"EC","kid":"e","crv":"P-256","x":x,"y":x}),
            ALL,
        )
        .expect("ec");
        assert_eq!(ec.algorithms, vec![Algorithm::ES256]);
        let ed = parse_jwk(&json!({"kty":"OKP","kid":"d","crv":"Ed25519","x":x}), ALL).expect("ed");
        assert_eq!(ed.algorithms, vec![Algorithm::EdDSA]);
        let wrong = parse_jwk(
            &json!({"kty":"EC","kid":"e","crv":"P-256","x":x,"y":x,"alg":"RS256"}),
            ALL,
        );
        assert!(wrong.is_err());
    }

    #[test]
    fn a_document_without_keys_is_not_a_jwks() {
        assert!(parse_jwks(&json!({"foo":1}), ALL).is_err());
        let (keys, _) = parse_jwks(&json!({"keys":[]}), ALL).expect("empty but valid");
        assert!(keys.is_empty());
    }
}
