//! The previous and the current verification path, interleaved: `cargo bench -p tis-auth
//! --bench verify_ab`.
//!
//! Criterion measures one function after another; on a shared, loaded machine the load moves
//! between the two measurements and can swing a comparison either way. Here each round times
//! a batch of the previous path (jsonwebtoken's `decode`, key parsed per call) and then a
//! batch of the current one (aws-lc-rs keys parsed once, `jws`) on the same token, alternating
//! which goes first, so both see the same machine; the figures are the medians over rounds of
//! the per-call time, and the ratio is the median of the per-round ratios. Two clocks: wall
//! time, and the thread's own CPU time (`/proc/thread-self/schedstat`), which leaves out the
//! time the thread waited for a core while other work ran: on a busy shared machine it is the
//! closer estimate of what one verification costs. Output is a Markdown table
//! (docs/benchmarks.md).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tis_auth::testing::{self, ScriptedSource, TestKey};
use tis_auth::{AccessTokenVerifier, AuthConfig, Clock, JwksCache};

const ISSUER: &str = "http://idp.bench/realms/lin";
const ROUNDS: usize = 20;
/// Each batch runs about this long: the thread's CPU clock in /proc advances in scheduler
/// ticks (4 ms here), so a batch must be long for its CPU time to be precise (about 2 %).
const BATCH_SECONDS: f64 = 0.2;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rs = TestKey::rsa("rs", 0);
    let ps = TestKey::rsa_pss("ps", 1);
    let es = TestKey::ec("es");
    let ed = TestKey::ed25519("ed");
    let config = AuthConfig {
        cache_capacity: 0,
        ..testing::auth_config(ISSUER)
    };
    let source = Arc::new(ScriptedSource::serving(testing::jwks(&[
        &rs, &ps, &es, &ed,
    ])));
    let cache = JwksCache::new(&config, source, Clock::system()).expect("cache");
    rt.block_on(cache.refresh()).expect("keys");
    let verifier = AccessTokenVerifier::new(&config, cache).expect("verifier");
    let now = Clock::system().unix_secs();
    let mut claims = testing::claims(ISSUER, now);
    claims["exp"] = serde_json::json!(now + 3600);

    println!(
        "| algorithm | previous path µs (wall / CPU) | current path µs (wall / CPU) | current / previous, CPU (median of {ROUNDS} rounds) | the signature alone, pre-parsed key, µs CPU |"
    );
    println!("|---|---|---|---|---|");
    let algs: [&'static dyn VerificationAlgorithm; 4] = [
        &signature::RSA_PKCS1_2048_8192_SHA256,
        &signature::RSA_PSS_2048_8192_SHA256,
        &signature::ECDSA_P256_SHA256_FIXED,
        &signature::ED25519,
    ];
    for ((name, key), alg) in [
        ("RS256", &rs),
        ("PS256", &ps),
        ("ES256", &es),
        ("EdDSA", &ed),
    ]
    .into_iter()
    .zip(algs)
    {
        let token = key.sign(&claims);
        // The floor: aws-lc-rs checking the signature with a key parsed once, nothing else.
        let (message, sig) = token.rsplit_once('.').expect("jws");
        let sig = URL_SAFE_NO_PAD.decode(sig).expect("b64");
        let parsed = ParsedPublicKey::new(alg, public_key_bytes(key)).expect("key");
        parsed
            .verify_sig(message.as_bytes(), &sig)
            .expect("verifies");
        let old = |t: &str| verifier.verify_now_with_jsonwebtoken(t).expect("old path");
        let new = |t: &str| verifier.verify_now(t).expect("new path");
        assert_eq!(old(&token).claims, new(&token).claims, "same answer");
        // Warm-up, and the batch size.
        let start = Instant::now();
        for _ in 0..200 {
            black_box(old(black_box(&token)));
            black_box(new(black_box(&token)));
        }
        let per_pair = start.elapsed().as_secs_f64() / 200.0;
        let batch = ((BATCH_SECONDS * 2.0 / per_pair) as usize).max(200);
        let mut old_wall = Vec::new();
        let mut old_cpu = Vec::new();
        let mut new_wall = Vec::new();
        let mut new_cpu = Vec::new();
        let mut ratios = Vec::new();
        let mut floor = Vec::new();
        for round in 0..ROUNDS {
            let time = |f: &dyn Fn(&str) -> tis_auth::VerifiedToken| {
                let (start, cpu) = (Instant::now(), thread_cpu_ns());
                for _ in 0..batch {
                    black_box(f(black_box(&token)));
                }
                let wall = start.elapsed().as_secs_f64() * 1e6 / batch as f64;
                (wall, (thread_cpu_ns() - cpu) as f64 / 1e3 / batch as f64)
            };
            let (o, n) = if round % 2 == 0 {
                let o = time(&old);
                (o, time(&new))
            } else {
                let n = time(&new);
                (time(&old), n)
            };
            old_wall.push(o.0);
            old_cpu.push(o.1);
            new_wall.push(n.0);
            new_cpu.push(n.1);
            ratios.push(n.1 / o.1);
            let cpu = thread_cpu_ns();
            for _ in 0..batch {
                black_box(parsed.verify_sig(black_box(message.as_bytes()), &sig)).expect("ok");
            }
            floor.push((thread_cpu_ns() - cpu) as f64 / 1e3 / batch as f64);
        }
        println!(
            "| {name} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2} | {:.1} |",
            median(&mut old_wall),
            median(&mut old_cpu),
            median(&mut new_wall),
            median(&mut new_cpu),
            median(&mut ratios),
            median(&mut floor)
        );
    }
}

/// The public key as aws-lc-rs parses it: SPKI DER for RSA, the uncompressed point for
/// P-256, the raw 32 bytes for Ed25519.
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

/// Nanoseconds this thread has spent on a CPU (the first field of its schedstat).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux with schedstats)")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
