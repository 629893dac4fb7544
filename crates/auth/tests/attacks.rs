//! Attacks on access-token verification. Each test fails if its attack succeeds.
//!
//! The identity provider is a real HTTP server on 127.0.0.1:0 (`testing::FakeIdp`), found
//! through discovery as in production, so fetch counts are counts of real requests.

use http::{HeaderMap, HeaderValue};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};
use tis_auth::testing::{self, FakeIdp, TestKey};
use tis_auth::{AccessTokenVerifier, AuthConfig, AuthError, JwksCache};

struct Setup {
    idp: FakeIdp,
    key: TestKey,
    verifier: AccessTokenVerifier,
}

async fn setup_with(config: impl FnOnce(AuthConfig) -> AuthConfig) -> Setup {
    let key = TestKey::rsa("good", 0);
    let idp = FakeIdp::start(testing::jwks(&[&key])).await;
    let config = config(testing::auth_config(&idp.issuer()));
    let cache = JwksCache::start(&config).await.expect("cache");
    let verifier = AccessTokenVerifier::new(&config, cache).expect("verifier");
    Setup { idp, key, verifier }
}

async fn setup() -> Setup {
    setup_with(|c| c).await
}

fn now() -> u64 {
    tis_auth::Clock::system().unix_secs()
}

impl Setup {
    fn claims(&self) -> Value {
        testing::claims(&self.idp.issuer(), now())
    }

    async fn refused(&self, token: &str) -> AuthError {
        match self.verifier.verify(token).await {
            Ok(v) => panic!("the attack succeeded: {:?}", v.claims),
            Err(e) => e,
        }
    }
}

#[tokio::test]
async fn a_genuine_token_verifies() {
    let s = setup().await;
    let v = s
        .verifier
        .verify(&s.key.sign(&s.claims()))
        .await
        .expect("genuine");
    assert_eq!(v.claims.user_name(), Some("jdoe"));
    assert!(!v.degraded);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let s = setup().await;
    for signature in ["", "AAAA"] {
        let token = testing::unsigned(
            &json!({"alg":"none","kid":"good","typ":"JWT"}),
            &s.claims(),
            signature,
        );
        let err = s.refused(&token).await;
        assert!(
            matches!(
                err,
                AuthError::AlgorithmNotAllowed(_) | AuthError::Malformed(_)
            ),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let s = setup().await;
    let spki = s.key.public_der.clone().expect("rsa public key");
    let pem = testing::to_pem("PUBLIC KEY", &spki);
    let n = s.key.jwk["n"].as_str().expect("n").to_owned();
    for secret in [pem.as_bytes(), spki.as_slice(), n.as_bytes()] {
        let token = testing::hs256(secret, "good", &s.claims());
        assert!(matches!(
            s.refused(&token).await,
            AuthError::AlgorithmNotAllowed(_)
        ));
    }
}

#[tokio::test]
async fn a_wrong_issuer_is_refused() {
    let s = setup().await;
    let mut claims = s.claims();
    claims["iss"] = json!("http://evil.example/realms/test");
    assert_eq!(
        s.refused(&s.key.sign(&claims)).await,
        AuthError::WrongIssuer
    );
}

#[tokio::test]
async fn a_wrong_audience_is_refused_even_through_azp() {
    let s = setup().await;
    let mut claims = s.claims();
    claims["aud"] = json!(["account", "other-service"]);
    claims["azp"] = json!("other-client");
    assert_eq!(
        s.refused(&s.key.sign(&claims)).await,
        AuthError::WrongAudience
    );
    claims["azp"] = json!(testing::AUDIENCE);
    s.verifier
        .verify(&s.key.sign(&claims))
        .await
        .expect("azp names us: accepted");
}

#[tokio::test]
async fn a_token_without_aud_is_refused_even_when_azp_matches() {
    let s = setup().await;
    let mut claims = s.claims();
    claims.as_object_mut().expect("object").remove("aud");
    assert_eq!(
        s.refused(&s.key.sign(&claims)).await,
        AuthError::MissingClaim("aud".into())
    );
}

#[tokio::test]
async fn missing_exp_or_iss_is_refused() {
    let s = setup().await;
    for claim in ["exp", "iss"] {
        let mut claims = s.claims();
        claims.as_object_mut().expect("object").remove(claim);
        assert_eq!(
            s.refused(&s.key.sign(&claims)).await,
            AuthError::MissingClaim(claim.into())
        );
    }
}

#[tokio::test]
async fn a_token_without_a_subject_is_refused() {
    let s = setup().await;
    for sub in [None, Some(json!("")), Some(json!("  "))] {
        let mut claims = s.claims();
        match sub {
            None => {
                claims.as_object_mut().expect("object").remove("sub");
            }
            Some(v) => claims["sub"] = v,
        }
        assert_eq!(
            s.refused(&s.key.sign(&claims)).await,
            AuthError::MissingClaim("sub".into())
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let s = setup().await;
    let mut claims = s.claims();
    claims["exp"] = json!(now() - 31);
    assert_eq!(s.refused(&s.key.sign(&claims)).await, AuthError::Expired);
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let s = setup().await;
    let mut claims = s.claims();
    claims["nbf"] = json!(now() + 120);
    assert_eq!(
        s.refused(&s.key.sign(&claims)).await,
        AuthError::NotYetValid
    );
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let s = setup().await;
    let token = s.key.sign(&s.claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = s.claims();
    claims["preferred_username"] = json!("admin");
    claims["realm_access"] = json!({"roles": ["SuperUser"]});
    parts[1] = testing::b64_json(&claims);
    assert_eq!(s.refused(&parts.join(".")).await, AuthError::BadSignature);
}

#[tokio::test]
async fn a_tampered_signature_is_refused() {
    let s = setup().await;
    let token = s.key.sign(&s.claims());
    let (message, sig) = token.rsplit_once('.').expect("three parts");
    let mut sig: Vec<u8> = sig.bytes().collect();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{message}.{}", String::from_utf8(sig).expect("ascii"));
    assert_eq!(s.refused(&tampered).await, AuthError::BadSignature);
}

#[tokio::test]
async fn a_token_signed_by_an_unknown_key_is_refused_after_one_fetch() {
    let s = setup().await;
    let before = s.idp.jwks_fetches();
    let stranger = TestKey::rsa("stranger", 1);
    let err = s.refused(&stranger.sign(&s.claims())).await;
    assert_eq!(err, AuthError::UnknownKey("stranger".into()));
    assert_eq!(s.idp.jwks_fetches(), before + 1);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_makes_at_most_one_fetch_per_interval() {
    let s = setup().await;
    let before = s.idp.jwks_fetches();
    let claims = s.claims();
    // Signatures are never looked at for an unknown kid, so they need not be real.
    let tokens: Vec<String> = (0..10_000)
        .map(|i| {
            let header = json!({"alg": "RS256", "typ": "JWT", "kid": format!("made-up-{i}")});
            testing::unsigned(&header, &claims, "c2lnbmF0dXJl")
        })
        .collect();
    let started = std::time::Instant::now();
    // Half arrive together (they must share a fetch), half one after another (each must be
    // refused without a fetch of its own).
    let (together, one_by_one) = tokens.split_at(5_000);
    let mut results =
        futures::future::join_all(together.iter().map(|t| s.verifier.verify(t))).await;
    for t in one_by_one {
        results.push(s.verifier.verify(t).await);
    }
    let elapsed = started.elapsed();
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(AuthError::UnknownKey(_))))
    );
    let fetches = s.idp.jwks_fetches() - before;
    // The limit is one unknown-kid fetch per 10 s interval (the default).
    let allowed = 1 + (elapsed.as_secs() / 10) as usize;
    assert!(
        fetches >= 1 && fetches <= allowed,
        "{fetches} fetches in {elapsed:?}"
    );
}

#[tokio::test]
async fn concurrent_unknown_kids_share_a_single_fetch() {
    let s = setup().await;
    let before = s.idp.jwks_fetches();
    let stranger = TestKey::rsa("x", 1);
    let claims = s.claims();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let verifier = s.verifier.clone();
            let mut h = stranger.header();
            h.kid = Some(format!("concurrent-{i}"));
            let token = stranger.sign_with(&h, &claims);
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for t in tasks {
        assert!(matches!(
            t.await.expect("task"),
            Err(AuthError::UnknownKey(_))
        ));
    }
    assert_eq!(s.idp.jwks_fetches() - before, 1);
}

#[tokio::test]
async fn kids_with_path_or_sql_characters_are_only_ever_map_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys_file = dir.path().join("jwks.json");
    let s = setup_with(|c| AuthConfig {
        keys_file: Some(keys_file.clone()),
        ..c
    })
    .await;
    let stranger = TestKey::rsa("x", 1);
    for kid in [
        "../../../../etc/passwd",
        "jwks.json",
        "../jwks.json",
        "' OR '1'='1' --",
        "\"; DROP TABLE keys; --",
        "%2e%2e%2f%2e%2e%2f",
        "kid\u{0}null",
        "<script>alert(1)</script>",
    ] {
        let mut h = stranger.header();
        h.kid = Some(kid.to_owned());
        let err = s.refused(&stranger.sign_with(&h, &s.claims())).await;
        assert!(matches!(err, AuthError::UnknownKey(_)), "{kid:?}: {err:?}");
    }
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(files, vec!["jwks.json"]);
    let persisted = std::fs::read_to_string(&keys_file).expect("persisted");
    assert!(!persisted.contains("etc/passwd") && !persisted.contains("DROP"));
}

#[tokio::test]
async fn jku_x5u_and_jwk_headers_are_never_fetched_nor_trusted() {
    let s = setup().await;
    let attacker = TestKey::rsa("attacker", 1);
    s.idp.set_attacker_jwks(testing::jwks(&[&attacker]));
    let mut header = serde_json::to_value(attacker.header()).expect("header");
    header["jku"] = json!(s.idp.attacker_jwks_uri());
    header["x5u"] = json!(s.idp.attacker_jwks_uri());
    header["jwk"] = attacker.jwk.clone();
    let own_kid = attacker.sign_raw(&header, &serde_json::to_vec(&s.claims()).expect("json"));
    assert_eq!(
        s.refused(&own_kid).await,
        AuthError::UnknownKey("attacker".into())
    );
    header["kid"] = json!("good");
    let borrowed_kid = attacker.sign_raw(&header, &serde_json::to_vec(&s.claims()).expect("json"));
    assert_eq!(s.refused(&borrowed_kid).await, AuthError::BadSignature);
    // A genuine token carrying the same headers verifies with our key: they are ignored.
    let mut genuine_header = serde_json::to_value(s.key.header()).expect("header");
    genuine_header["jku"] = json!(s.idp.attacker_jwks_uri());
    genuine_header["x5u"] = json!(s.idp.attacker_jwks_uri());
    let genuine = s.key.sign_raw(
        &genuine_header,
        &serde_json::to_vec(&s.claims()).expect("json"),
    );
    s.verifier.verify(&genuine).await.expect("headers ignored");
    assert_eq!(
        s.idp.attacker_fetches(),
        0,
        "the attacker's key set was fetched"
    );
}

#[tokio::test]
async fn an_oversized_token_is_refused_before_parsing() {
    let s = setup().await;
    let mut claims = s.claims();
    claims["padding"] = json!("x".repeat(9000));
    let big = s.key.sign(&claims);
    assert!(matches!(
        s.refused(&big).await,
        AuthError::TokenTooLarge { .. }
    ));
    let garbage = "%".repeat(10 * 1024 * 1024);
    assert!(matches!(
        s.refused(&garbage).await,
        AuthError::TokenTooLarge { .. }
    ));
}

#[tokio::test]
async fn two_different_tokens_in_the_two_headers_are_refused() {
    let s = setup().await;
    let a = s.key.sign(&s.claims());
    let mut other = s.claims();
    other["preferred_username"] = json!("someone-else");
    let b = s.key.sign(&other);
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {a}")).expect("hv"),
    );
    headers.insert("oidc_access_token", HeaderValue::from_str(&b).expect("hv"));
    let err = s
        .verifier
        .verify_headers(&headers)
        .await
        .expect_err("conflict");
    assert_eq!(
        err,
        AuthError::ConflictingTokens("Authorization", "OIDC_access_token")
    );
    assert_eq!(err.to_http().status, http::StatusCode::BAD_REQUEST);
    headers.insert("oidc_access_token", HeaderValue::from_str(&a).expect("hv"));
    s.verifier
        .verify_headers(&headers)
        .await
        .expect("the same token twice is fine");
}

#[tokio::test]
async fn non_base64_or_non_json_segments_are_refused() {
    let s = setup().await;
    let good = s.key.sign(&s.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let bad_header = format!("!!!.{}.{}", parts[1], parts[2]);
    assert!(matches!(
        s.refused(&bad_header).await,
        AuthError::Malformed(_)
    ));
    let bad_payload = format!("{}.@@@.{}", parts[0], parts[2]);
    assert!(matches!(
        s.refused(&bad_payload).await,
        AuthError::Malformed(_)
    ));
    let header = serde_json::to_value(s.key.header()).expect("header");
    // Validly signed, but the payload is not JSON, or not an object.
    for payload in [&b"not json"[..], b"[1,2,3]", b"\"a string\"", &[0xff, 0xfe]] {
        let token = s.key.sign_raw(&header, payload);
        assert!(
            matches!(s.refused(&token).await, AuthError::Malformed(_)),
            "{payload:?}"
        );
    }
    let not_json_header = format!(
        "{}.{}.{}",
        testing::b64_json(&json!("JWT")),
        parts[1],
        parts[2]
    );
    assert!(matches!(
        s.refused(&not_json_header).await,
        AuthError::Malformed(_)
    ));
}

#[tokio::test]
async fn an_unknown_crit_header_is_refused() {
    let s = setup().await;
    let mut header = serde_json::to_value(s.key.header()).expect("header");
    header["crit"] = json!(["http://example.org/must-understand"]);
    header["http://example.org/must-understand"] = json!(true);
    let token = s
        .key
        .sign_raw(&header, &serde_json::to_vec(&s.claims()).expect("json"));
    assert!(matches!(
        s.refused(&token).await,
        AuthError::UnsupportedCritical(_)
    ));
}

#[tokio::test]
async fn a_key_of_the_wrong_type_for_the_algorithm_is_refused() {
    let s = setup().await;
    let ec = TestKey::ec("ec-key");
    // An ES256 signature presented under the RSA key's kid.
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("good".into());
    let token = ec.sign_with(&h, &s.claims());
    assert!(matches!(
        s.refused(&token).await,
        AuthError::KeyAlgorithmMismatch { .. }
    ));
    // An RSA key published for RS256 never checks PS256, even with its own material.
    let pss = TestKey::rsa_pss("good", 0);
    assert!(matches!(
        s.refused(&pss.sign(&s.claims())).await,
        AuthError::KeyAlgorithmMismatch { .. }
    ));
    // An EdDSA header under the RSA kid.
    let ed = TestKey::ed25519("good");
    assert!(matches!(
        s.refused(&ed.sign(&s.claims())).await,
        AuthError::KeyAlgorithmMismatch { .. }
    ));
}

#[tokio::test]
async fn every_supported_algorithm_verifies_with_its_own_key() {
    let rsa = TestKey::rsa("rs", 0);
    let pss = TestKey::rsa_pss("ps", 2);
    let ec = TestKey::ec("es");
    let ed = TestKey::ed25519("ed");
    let idp = FakeIdp::start(testing::jwks(&[&rsa, &pss, &ec, &ed])).await;
    let config = testing::auth_config(&idp.issuer());
    let cache = JwksCache::start(&config).await.expect("cache");
    let verifier = AccessTokenVerifier::new(&config, cache).expect("verifier");
    for key in [&rsa, &pss, &ec, &ed] {
        let token = key.sign(&testing::claims(&idp.issuer(), now()));
        let v = verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e:?}", key.alg));
        assert_eq!(&*v.kid, key.kid.as_str());
    }
    assert_eq!(idp.attacker_fetches(), 0);
}
