//! Test helpers (feature `test-util`): signing keys of every supported type, token minting
//! (including forgeries), a scripted key source for paused-clock tests, and a fake identity
//! provider on `127.0.0.1:0` that counts the fetches it serves.
//!
//! Not for production: keys are generated on the fly and nothing here is hardened.

mod fake_idp;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::future::BoxFuture;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::config::AuthConfig;
use crate::error::FetchError;
use crate::jwks::KeySource;

pub use fake_idp::FakeIdp;

/// The audience [`auth_config`] accepts and [`claims`] issues for.
pub const AUDIENCE: &str = "tis-test";

/// A signing key and its public JWK.
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// The public JWK, with `kid`, `alg` and `use: sig`.
    pub jwk: Value,
    /// For RSA keys: the public key as SubjectPublicKeyInfo DER (what an attacker would use
    /// as an HMAC secret).
    pub public_der: Option<Vec<u8>>,
}

/// RSA key generation is slow in debug builds: a few key pairs are made once per process and
/// shared (under different `kid`s where a test needs several).
fn rsa_material(slot: usize) -> &'static (Vec<u8>, Vec<u8>) {
    static POOL: OnceLock<Vec<(Vec<u8>, Vec<u8>)>> = OnceLock::new();
    let pool = POOL.get_or_init(|| {
        (0..3)
            .map(|_| {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa keygen");
                let pkcs8 = pair.as_der().expect("pkcs8").as_ref().to_vec();
                let spki = pair.public_key().as_der().expect("spki").as_ref().to_vec();
                (pkcs8, spki)
            })
            .collect()
    });
    &pool[slot % pool.len()]
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl TestKey {
    /// An RS256 key (from the shared pool slot `slot`).
    pub fn rsa(kid: &str, slot: usize) -> Self {
        Self::rsa_with(kid, slot, Algorithm::RS256)
    }

    /// A PS256 key.
    pub fn rsa_pss(kid: &str, slot: usize) -> Self {
        Self::rsa_with(kid, slot, Algorithm::PS256)
    }

    fn rsa_with(kid: &str, slot: usize, alg: Algorithm) -> Self {
        let (pkcs8, spki) = rsa_material(slot);
        let encoding =
            EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8).as_bytes()).expect("rsa pem");
        let mut key = Self::finish(kid, alg, encoding);
        key.public_der = Some(spki.clone());
        key
    }

    /// An ES256 (P-256) key.
    pub fn ec(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("ec keygen");
        let pkcs8 = pair.to_pkcs8v1().expect("pkcs8");
        Self::finish(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(pkcs8.as_ref()),
        )
    }

    /// An EdDSA (Ed25519) key.
    pub fn ed25519(kid: &str) -> Self {
        let pair = Ed25519KeyPair::generate().expect("ed keygen");
        let pkcs8 = pair.to_pkcs8v1().expect("pkcs8");
        Self::finish(
            kid,
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(pkcs8.as_ref()),
        )
    }

    fn finish(kid: &str, alg: Algorithm, encoding: EncodingKey) -> Self {
        let jwk = Jwk::from_encoding_key(&encoding, alg).expect("jwk");
        let mut jwk = serde_json::to_value(jwk).expect("jwk json");
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        TestKey {
            kid: kid.to_owned(),
            alg,
            encoding,
            jwk,
            public_der: None,
        }
    }

    /// The same key material published under another `kid`.
    pub fn renamed(&self, kid: &str) -> Self {
        let mut jwk = self.jwk.clone();
        jwk["kid"] = json!(kid);
        TestKey {
            kid: kid.to_owned(),
            alg: self.alg,
            encoding: self.encoding.clone(),
            jwk,
            public_der: self.public_der.clone(),
        }
    }

    /// The standard header of this key: `alg`, `kid`, `typ: JWT`.
    pub fn header(&self) -> Header {
        let mut h = Header::new(self.alg);
        h.kid = Some(self.kid.clone());
        h
    }

    /// Signs `claims` with the standard header.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.header(), claims)
    }

    /// Signs `claims` with any header (it need not match the key: that is the point).
    pub fn sign_with(&self, header: &Header, claims: &Value) -> String {
        let header = serde_json::to_value(header).expect("header");
        self.sign_raw(&header, &serde_json::to_vec(claims).expect("claims"))
    }

    /// Signs any header JSON and any payload bytes (not necessarily JSON).
    pub fn sign_raw(&self, header: &Value, payload: &[u8]) -> String {
        let message = format!("{}.{}", b64_json(header), URL_SAFE_NO_PAD.encode(payload));
        let sig =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, self.alg).expect("sign");
        format!("{message}.{sig}")
    }
}

/// base64url of a JSON value.
pub fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"))
}

/// A token with the given raw header and claims and a made-up signature.
pub fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", b64_json(header), b64_json(claims))
}

/// An HS256 token whose HMAC key is `secret` (e.g. a public key), naming `kid`.
pub fn hs256(secret: &[u8], kid: &str, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &h,
        claims,
        &EncodingKey::from_secret(secret).expect("secret"),
    )
    .expect("hs256")
}

/// The PEM form of DER bytes.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    pem(label, der)
}

/// A JWKS document of `keys`.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

/// Keycloak-like claims for [`AUDIENCE`], valid for five minutes from `now`.
pub fn claims(issuer: &str, now: u64) -> Value {
    json!({
        "iss": issuer,
        "aud": ["account", AUDIENCE],
        "azp": AUDIENCE,
        "sub": "f3c1c5e2",
        "typ": "Bearer",
        "iat": now,
        "exp": now + 300,
        "preferred_username": "jdoe",
        "given_name": "Jane",
        "family_name": "Doe",
        "email": "jane.doe@example.org",
        "realm_access": { "roles": ["HEE Admin", "uma_authorization"] },
        "resource_access": { "account": { "roles": ["view-profile"] } },
        "dbc": ["1-AIIDWA"]
    })
}

/// An [`AuthConfig`] for `issuer` and [`AUDIENCE`], keys in memory only.
pub fn auth_config(issuer: &str) -> AuthConfig {
    AuthConfig {
        issuer: issuer.to_owned(),
        audience: vec![AUDIENCE.to_owned()],
        ..AuthConfig::default()
    }
}

/// A key source that answers from a script, counting fetches: the next queued answer if
/// any, else the standing one.
pub struct ScriptedSource {
    standing: Mutex<Result<Value, FetchError>>,
    queued: Mutex<VecDeque<Result<Value, FetchError>>>,
    fetches: AtomicUsize,
    times: Mutex<Vec<tokio::time::Instant>>,
    delay: Mutex<std::time::Duration>,
}

impl ScriptedSource {
    pub fn new(standing: Result<Value, FetchError>) -> Self {
        ScriptedSource {
            standing: Mutex::new(standing),
            queued: Mutex::new(VecDeque::new()),
            fetches: AtomicUsize::new(0),
            times: Mutex::new(Vec::new()),
            delay: Mutex::new(std::time::Duration::ZERO),
        }
    }

    /// A source that always serves `jwks`.
    pub fn serving(jwks: Value) -> Self {
        Self::new(Ok(jwks))
    }

    /// A source that always fails like an unreachable IdP.
    pub fn down() -> Self {
        Self::new(Err(unreachable()))
    }

    pub fn set(&self, answer: Result<Value, FetchError>) {
        *self.standing.lock().expect("lock") = answer;
    }

    pub fn push(&self, answer: Result<Value, FetchError>) {
        self.queued.lock().expect("lock").push_back(answer);
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// When each fetch started (tokio's clock).
    pub fn fetch_times(&self) -> Vec<tokio::time::Instant> {
        self.times.lock().expect("lock").clone()
    }

    /// Makes every fetch take `delay` (on tokio's clock).
    pub fn set_delay(&self, delay: std::time::Duration) {
        *self.delay.lock().expect("lock") = delay;
    }
}

/// The error of an unreachable identity provider.
pub fn unreachable() -> FetchError {
    FetchError::Transport {
        url: "http://idp.invalid/certs".into(),
        message: "connection refused".into(),
    }
}

impl KeySource for ScriptedSource {
    fn fetch(&self) -> BoxFuture<'_, Result<Value, FetchError>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.times
            .lock()
            .expect("lock")
            .push(tokio::time::Instant::now());
        let delay = *self.delay.lock().expect("lock");
        let answer = self
            .queued
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or_else(|| self.standing.lock().expect("lock").clone());
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            answer
        })
    }

    fn describe(&self) -> String {
        "scripted".into()
    }
}
