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

use aws_lc_rs::signature::ParsedPublicKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::jws;
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
pub struct VerificationKey {
    pub kid: String,
    pub key_type: KeyType,
    /// The algorithms this key may verify, already narrowed by configuration.
    pub algorithms: Vec<Algorithm>,
    /// jsonwebtoken's form of the key, for the before/after benchmark's old path only.
    #[cfg(feature = "test-util")]
    pub(crate) decoding: jsonwebtoken::DecodingKey,
    /// One aws-lc-rs key per algorithm in `algorithms`, parsed once when the key set is
    /// loaded, so that verifying a token never parses a key (see `jws`).
    pub(crate) parsed: Vec<(Algorithm, ParsedPublicKey)>,
    /// The JWK as published, for persistence and to notice a changed key under an old kid.
    pub(crate) jwk: serde_json::Value,
}

impl VerificationKey {
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    /// The parsed key that verifies `alg`, if this key may verify it.
    pub(crate) fn parsed_for(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.parsed
            .iter()
            .find_map(|(a, k)| (*a == alg).then_some(k))
    }
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("key_type", &self.key_type)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
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
    // The public key material aws-lc-rs parses: `n` and `e`, or the point / raw key.
    let material: Material;
    let (key_type, family) = match f.kty.as_str() {
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
            material = Material::Rsa { n, e };
            (KeyType::Rsa, family.to_vec())
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
            material = Material::Point(point);
            (key_type, vec![alg])
        }
        "OKP" => {
            if f.crv.as_deref() != Some("Ed25519") {
                return Err("unsupported OKP curve");
            }
            let x = decode_b64(f.x.as_deref()).ok_or("OKP key without x")?;
            if x.len() != 32 {
                return Err("Ed25519 key of the wrong length");
            }
            material = Material::Point(x);
            (KeyType::Ed25519, vec![Algorithm::EdDSA])
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
    let mut parsed = Vec::with_capacity(algorithms.len());
    for alg in &algorithms {
        let key = match &material {
            Material::Rsa { n, e } => jws::rsa_key(n, e, *alg),
            Material::Point(public) => jws::point_key(public, *alg),
        };
        parsed.push((*alg, key.ok_or("the public key does not parse")?));
    }
    Ok(VerificationKey {
        kid,
        key_type,
        algorithms,
        #[cfg(feature = "test-util")]
        decoding: match &material {
            Material::Rsa { n, e } => jsonwebtoken::DecodingKey::from_rsa_raw_components(n, e),
            Material::Point(p) if key_type == KeyType::Ed25519 => {
                jsonwebtoken::DecodingKey::from_ed_der(p)
            }
            Material::Point(p) => jsonwebtoken::DecodingKey::from_ec_der(p),
        },
        parsed,
        jwk: jwk.clone(),
    })
}

enum Material {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Point(Vec<u8>),
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
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
        };
        let p256 = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("p256");
        let point = p256.public_key().as_ref();
        let (x, y) = (
            URL_SAFE_NO_PAD.encode(&point[1..33]),
            URL_SAFE_NO_PAD.encode(&point[33..]),
        );
        let ec = parse_jwk(
            &json!({"kty":"EC","kid":"e","crv":"P-256","x":x,"y":y}),
            ALL,
        )
        .expect("ec");
        assert_eq!(ec.algorithms, vec![Algorithm::ES256]);
        assert!(ec.parsed_for(Algorithm::ES256).is_some());
        let ed25519 = Ed25519KeyPair::generate().expect("ed25519");
        let ed_x = URL_SAFE_NO_PAD.encode(ed25519.public_key().as_ref());
        let ed = parse_jwk(
            &json!({"kty":"OKP","kid":"d","crv":"Ed25519","x":ed_x}),
            ALL,
        )
        .expect("ed");
        assert_eq!(ed.algorithms, vec![Algorithm::EdDSA]);
        let wrong = parse_jwk(
            &json!({"kty":"EC","kid":"e","crv":"P-256","x":x,"y":y,"alg":"RS256"}),
            ALL,
        );
        assert!(wrong.is_err());
    }

    #[test]
    fn a_point_off_the_curve_is_skipped_when_the_set_is_loaded() {
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let bad = parse_jwk(
            &json!({"kty":"EC","kid":"e","crv":"P-256","x":x,"y":x}),
            ALL,
        );
        assert_eq!(bad.err(), Some("the public key does not parse"));
    }

    #[test]
    fn a_document_without_keys_is_not_a_jwks() {
        assert!(parse_jwks(&json!({"foo":1}), ALL).is_err());
        let (keys, _) = parse_jwks(&json!({"keys":[]}), ALL).expect("empty but valid");
        assert!(keys.is_empty());
    }
}
