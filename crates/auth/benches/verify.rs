//! Verification cost: `cargo bench -p tis-auth --bench verify`.
//!
//! Targets (docs/benchmarks.md): RS256 ≤ 30 µs, ES256 ≤ 80 µs, a cached repeat ≤ 2 µs.
//! "Uncached" verifiers have the verified-token cache disabled, so every iteration runs the
//! whole path: front end, key lookup, signature, claims, audience and time checks. Each
//! algorithm is measured twice, side by side in the same run: "uncached" (keys parsed once,
//! `jws`) and "uncached, previous path" (the same checks with jsonwebtoken's `decode`, which
//! parses the key and the header again and the claims twice on every call).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use tis_auth::principal::keyfile;
use tis_auth::testing::{self, ScriptedSource, TestKey};
use tis_auth::{
    AccessTokenVerifier, AuthConfig, AuthenticatedBy, Clock, JwksCache, Principal, PrincipalConfig,
    PrincipalSigner, PrincipalVerifier, RoleCatalogue,
};

const ISSUER: &str = "http://idp.bench/realms/lin";

fn verifier(
    rt: &tokio::runtime::Runtime,
    keys: &[&TestKey],
    cache_capacity: u64,
) -> AccessTokenVerifier {
    let config = AuthConfig {
        cache_capacity,
        ..testing::auth_config(ISSUER)
    };
    let source = Arc::new(ScriptedSource::serving(testing::jwks(keys)));
    let cache = JwksCache::new(&config, source, Clock::system()).expect("cache");
    rt.block_on(cache.refresh()).expect("keys");
    AccessTokenVerifier::new(&config, cache).expect("verifier")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rs = TestKey::rsa("rs", 0);
    let ps = TestKey::rsa_pss("ps", 1);
    let es = TestKey::ec("es");
    let ed = TestKey::ed25519("ed");
    let keys = [&rs, &ps, &es, &ed];
    let uncached = verifier(&rt, &keys, 0);
    let cached = verifier(&rt, &keys, 10_000);
    let now = Clock::system().unix_secs();
    let mut claims = testing::claims(ISSUER, now);
    claims["exp"] = serde_json::json!(now + 3600);

    let mut group = c.benchmark_group("verify");
    group.measurement_time(Duration::from_secs(4));
    for (name, key) in [
        ("RS256", &rs),
        ("PS256", &ps),
        ("ES256", &es),
        ("EdDSA", &ed),
    ] {
        let token = key.sign(&claims);
        uncached.verify_now(&token).expect("verifies");
        uncached
            .verify_now_with_jsonwebtoken(&token)
            .expect("verifies the old way");
        group.bench_function(format!("{name} uncached, previous path"), |b| {
            b.iter(|| {
                uncached
                    .verify_now_with_jsonwebtoken(black_box(&token))
                    .expect("ok")
            })
        });
        group.bench_function(format!("{name} uncached"), |b| {
            b.iter(|| uncached.verify_now(black_box(&token)).expect("ok"))
        });
    }
    // Baselines: the bare signature check in aws-lc-rs, with the key parsed per call (as
    // jsonwebtoken does) and pre-parsed. What the verifier adds is the difference.
    for (name, key, alg) in [
        (
            "RS256",
            &rs,
            &signature::RSA_PKCS1_2048_8192_SHA256 as &'static dyn signature::VerificationAlgorithm,
        ),
        ("ES256", &es, &signature::ECDSA_P256_SHA256_FIXED),
        ("EdDSA", &ed, &signature::ED25519),
    ] {
        let token = key.sign(&claims);
        let (message, sig) = token.rsplit_once('.').expect("jws");
        let sig = URL_SAFE_NO_PAD.decode(sig).expect("b64");
        let public = public_key_bytes(key);
        let parsed = signature::ParsedPublicKey::new(alg, &public).expect("parse");
        parsed
            .verify_sig(message.as_bytes(), &sig)
            .expect("baseline verifies");
        group.bench_function(format!("{name} aws-lc baseline, parsed per call"), |b| {
            b.iter(|| {
                signature::UnparsedPublicKey::new(alg, &public)
                    .verify(black_box(message.as_bytes()), &sig)
                    .expect("ok")
            })
        });
        group.bench_function(format!("{name} aws-lc baseline, pre-parsed key"), |b| {
            b.iter(|| {
                parsed
                    .verify_sig(black_box(message.as_bytes()), &sig)
                    .expect("ok")
            })
        });
    }

    let token = rs.sign(&claims);
    assert!(!cached.verify_now(&token).expect("first").cached);
    assert!(cached.verify_now(&token).expect("repeat").cached);
    group.bench_function("RS256 cached repeat", |b| {
        b.iter(|| cached.verify_now(black_box(&token)).expect("ok"))
    });

    // The principal of an HEE Admin (about 30 permissions with their policies).
    let (private, public) = keyfile::generate_pem().expect("keys");
    let signer = PrincipalSigner::new(
        keyfile::parse_private_pem(&private).expect("private"),
        "tis-gateway",
        Duration::from_secs(60),
        Clock::system(),
    );
    let principal = Principal::new(
        RoleCatalogue::tis().profile("jdoe", &["HEE Admin".into()], &["1-AIIDWA".into()]),
        AuthenticatedBy::Gateway,
    );
    let trusted = vec![keyfile::parse_public_pem(&public).expect("public")];
    let config = PrincipalConfig {
        audience: "tcs".into(),
        cache_capacity: 0,
        ..PrincipalConfig::default()
    };
    let p_uncached =
        PrincipalVerifier::with_keys(&config, trusted.clone(), Clock::system()).expect("pv");
    let p_cached = PrincipalVerifier::with_keys(
        &PrincipalConfig {
            cache_capacity: 10_000,
            ..config
        },
        trusted,
        Clock::system(),
    )
    .expect("pv");
    let ptoken = signer.mint(&principal, &["tcs"]).expect("mint");
    group.bench_function("principal mint", |b| {
        b.iter(|| signer.mint(black_box(&principal), &["tcs"]).expect("mint"))
    });
    group.bench_function("principal verify uncached", |b| {
        b.iter(|| p_uncached.verify(black_box(&ptoken)).expect("ok"))
    });
    p_cached.verify(&ptoken).expect("first");
    group.bench_function("principal verify cached repeat", |b| {
        b.iter(|| p_cached.verify(black_box(&ptoken)).expect("ok"))
    });
    group.finish();
    println!("principal token size: {} bytes", ptoken.len());
}

/// The public key in the form aws-lc-rs verifies with: SPKI DER for RSA, the uncompressed
/// point for P-256, the raw 32 bytes for Ed25519.
fn public_key_bytes(key: &TestKey) -> Vec<u8> {
    let field = |f: &str| {
        URL_SAFE_NO_PAD
            .decode(key.jwk[f].as_str().expect("jwk field"))
            .expect("b64")
    };
    match key.jwk["kty"].as_str() {
        Some("RSA") => key.public_der.clone().expect("spki"),
        Some("EC") => [vec![4u8], field("x"), field("y")].concat(),
        _ => field("x"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
