//! The metrics tis-auth records appear in the Prometheus exposition with their documented
//! names and labels. (Its own test binary: the recorder is process-wide.)

use std::sync::Arc;

use tis_auth::testing::{self, ScriptedSource, TestKey};
use tis_auth::{AccessTokenVerifier, Clock, JwksCache};

const ISSUER: &str = "http://idp.metrics/realms/lin";

#[tokio::test]
async fn key_lifecycle_and_verification_metrics_are_exported() {
    let handle = tis_core::metrics::handle();
    let key = TestKey::ed25519("k1");
    let source = Arc::new(ScriptedSource::serving(testing::jwks(&[&key])));
    let config = testing::auth_config(ISSUER);
    let cache = JwksCache::new(&config, source.clone(), Clock::system()).expect("cache");
    cache.refresh().await.expect("keys");
    source.set(Err(testing::unreachable()));
    assert!(cache.refresh().await.is_err());
    let verifier = AccessTokenVerifier::new(&config, cache).expect("verifier");
    let token = key.sign(&testing::claims(ISSUER, Clock::system().unix_secs()));
    verifier.verify(&token).await.expect("ok");
    verifier.verify(&token).await.expect("cached");
    let stranger = TestKey::ed25519("stranger");
    let _ = verifier
        .verify(&stranger.sign(&testing::claims(ISSUER, Clock::system().unix_secs())))
        .await;

    let text = handle.render();
    let issuer = format!("issuer=\"{ISSUER}\"");
    for expected in [
        format!("tis_auth_jwks_keys{{{issuer}}} 1"),
        format!("tis_auth_jwks_refreshes_total{{{issuer},result=\"success\"}} 1"),
        format!("tis_auth_jwks_refreshes_total{{{issuer},result=\"failure\"}}"),
        format!("tis_auth_jwks_state{{{issuer},state=\"degraded\"}} 1"),
        format!("tis_auth_jwks_state{{{issuer},state=\"ok\"}} 0"),
        format!("tis_auth_jwks_unknown_kid_refreshes_total{{{issuer}}} 1"),
        format!("tis_auth_jwks_key_age_seconds{{{issuer}}}"),
        "tis_auth_verifications_total{token=\"access\",outcome=\"ok\"} 1".to_owned(),
        "tis_auth_verifications_total{token=\"access\",outcome=\"cached\"} 1".to_owned(),
        "tis_auth_verifications_total{token=\"access\",outcome=\"unknown_key\"} 1".to_owned(),
        "# HELP tis_auth_jwks_key_age_seconds".to_owned(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
}
