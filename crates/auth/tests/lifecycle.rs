//! The key lifecycle on tokio's paused clock: refresh timing, back-off, the unknown-kid rate
//! limit, grace, rotation, persistence across restarts, and bad fetches. No real sleeps: the
//! key source is scripted and `Clock::tokio()` makes wall time follow tokio's clock.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tis_auth::testing::{self, ScriptedSource, TestKey};
use tis_auth::{AccessTokenVerifier, AuthConfig, AuthError, Clock, JwksCache, KeyState};
use tis_core::context::RequestContext;
use tis_core::trace_context::TraceContext;
use tokio::time::advance;

const ISSUER: &str = "http://idp.test/realms/lin";

struct Rig {
    source: Arc<ScriptedSource>,
    cache: JwksCache,
    verifier: AccessTokenVerifier,
    clock: Clock,
}

fn config() -> AuthConfig {
    testing::auth_config(ISSUER)
}

async fn rig(source: ScriptedSource, config: AuthConfig) -> Rig {
    rig_at(source, config, Clock::tokio()).await
}

async fn rig_at(source: ScriptedSource, config: AuthConfig, clock: Clock) -> Rig {
    let source = Arc::new(source);
    let cache = JwksCache::new(&config, source.clone(), clock).expect("cache");
    cache.start_refreshing().await;
    let verifier = AccessTokenVerifier::new(&config, cache.clone()).expect("verifier");
    Rig {
        source,
        cache,
        verifier,
        clock,
    }
}

impl Rig {
    fn token(&self, key: &TestKey) -> String {
        key.sign(&testing::claims(ISSUER, self.clock.unix_secs()))
    }

    /// The provider becomes unreachable and the regular refresh (every 300 s) fails.
    async fn fail_the_regular_refresh(&self) {
        self.source.set(Err(testing::unreachable()));
        advance(Duration::from_secs(301)).await;
        settle().await;
    }
}

/// Lets spawned tasks (the refresher, fetches) run without moving the clock much.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn keys_are_refreshed_every_refresh_interval() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    assert_eq!(r.source.fetches(), 1, "fetched at start-up");
    advance(Duration::from_secs(299)).await;
    settle().await;
    assert_eq!(r.source.fetches(), 1);
    advance(Duration::from_secs(2)).await;
    settle().await;
    assert_eq!(r.source.fetches(), 2);
    advance(Duration::from_secs(300)).await;
    settle().await;
    assert_eq!(r.source.fetches(), 3);
    assert_eq!(r.cache.state(), KeyState::Ok);
}

#[tokio::test(start_paused = true)]
async fn failed_fetches_back_off_exponentially_with_jitter() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    r.fail_the_regular_refresh().await;
    for _ in 0..600 {
        advance(Duration::from_millis(500)).await;
        settle().await;
    }
    let times = r.source.fetch_times();
    assert!(times.len() >= 8, "{} fetches", times.len());
    // Gaps after the first failure: nominal 1, 2, 4, … s capped at 15 s; each within
    // [nominal/2, nominal] plus the 0.5 s step of this test.
    for (n, pair) in times[1..].windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let nominal = Duration::from_secs(1u64 << n.min(10)).min(Duration::from_secs(15));
        assert!(
            gap >= nominal / 2 && gap <= nominal + Duration::from_millis(600),
            "retry {n}: gap {gap:?}, nominal {nominal:?}"
        );
    }
    assert_eq!(r.cache.state(), KeyState::Degraded);
    assert_eq!(
        r.cache.status().consecutive_failures as usize,
        times.len() - 1
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_kids_trigger_at_most_one_fetch_per_interval() {
    let key = TestKey::ed25519("k1");
    let stranger = TestKey::ed25519("stranger");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    let token = r.token(&stranger);
    for _ in 0..50 {
        assert!(matches!(
            r.verifier.verify(&token).await,
            Err(AuthError::UnknownKey(_))
        ));
    }
    assert_eq!(
        r.source.fetches(),
        2,
        "one start-up fetch, one for the unknown kid"
    );
    advance(Duration::from_secs(9)).await;
    assert!(r.verifier.verify(&token).await.is_err());
    assert_eq!(r.source.fetches(), 2);
    advance(Duration::from_secs(1)).await;
    assert!(r.verifier.verify(&r.token(&stranger)).await.is_err());
    assert_eq!(r.source.fetches(), 3, "a new interval allows one more");
}

#[tokio::test(start_paused = true)]
async fn a_token_issued_after_a_failed_fetch_brings_the_keys_back_at_once() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    let old = r.token(&key);
    r.verifier.verify(&old).await.expect("fresh keys");
    r.fail_the_regular_refresh().await;
    for _ in 0..60 {
        advance(Duration::from_secs(1)).await; // the back-off is at its cap
        settle().await;
    }
    assert_eq!(r.cache.state(), KeyState::Degraded);
    let fetches = r.source.fetches();

    // The provider returns. Tokens it issued before the failure prove nothing …
    r.source.set(Ok(testing::jwks(&[&key])));
    let before = key.sign(&testing::claims(ISSUER, r.clock.unix_secs() - 120));
    assert!(
        r.verifier
            .verify(&before)
            .await
            .expect("within grace")
            .degraded
    );
    settle().await;
    assert_eq!(r.source.fetches(), fetches, "no fetch for an old token");

    // … a token it signed after the last failed fetch does: one fetch, without waiting for
    // the back-off, and the request that brought it is not held up by it.
    advance(Duration::from_secs(1)).await;
    let fresh = r.token(&key);
    assert!(
        r.verifier
            .verify(&fresh)
            .await
            .expect("within grace")
            .degraded
    );
    settle().await;
    assert_eq!(r.source.fetches(), fetches + 1);
    assert_eq!(r.cache.state(), KeyState::Ok);
    assert!(
        !r.verifier
            .verify(&r.token(&key))
            .await
            .expect("ok")
            .degraded
    );
}

#[tokio::test(start_paused = true)]
async fn fresh_tokens_during_an_outage_add_at_most_one_fetch_per_interval() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    r.fail_the_regular_refresh().await;
    for _ in 0..60 {
        advance(Duration::from_secs(1)).await;
        settle().await;
    }
    // Still down: 20 s of fresh tokens, 100 a second, each signed after the last failure.
    let scheduled_and_nudged = r.source.fetches();
    for _ in 0..20 {
        advance(Duration::from_secs(1)).await;
        for _ in 0..100 {
            let _ = r
                .verifier
                .verify(&r.token(&key))
                .await
                .expect("within grace");
        }
        settle().await;
    }
    let extra = r.source.fetches() - scheduled_and_nudged;
    // The back-off (cap 15 s) schedules one or two in 20 s; the tokens add at most two (one
    // per 10 s `unknown_kid_interval`).
    assert!(extra <= 4, "{extra} fetches in 20 s");
    assert_eq!(r.cache.state(), KeyState::Degraded);
}

#[tokio::test(start_paused = true)]
async fn concurrent_unknown_kids_wait_for_one_shared_fetch() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    r.source.set_delay(Duration::from_secs(2));
    let new_key = TestKey::ed25519("k2");
    r.source.set(Ok(testing::jwks(&[&key, &new_key])));
    let token = r.token(&new_key);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let v = r.verifier.clone();
            let t = token.clone();
            tokio::spawn(async move { v.verify(&t).await })
        })
        .collect();
    for t in tasks {
        t.await
            .expect("task")
            .expect("the new key is accepted after the shared fetch");
    }
    assert_eq!(r.source.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn within_grace_tokens_verify_degraded_and_beyond_it_they_get_503() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    let early = r.token(&key);
    r.verifier.verify(&early).await.expect("fresh keys");
    r.fail_the_regular_refresh().await;
    assert_eq!(r.cache.state(), KeyState::Degraded);

    let ctx = RequestContext::new("r1".into(), TraceContext::new_root(), None);
    let v = ctx
        .clone()
        .scope(r.verifier.verify(&r.token(&key)))
        .await
        .expect("within grace");
    assert!(v.degraded);
    assert_eq!(ctx.degraded(), vec!["idp"]);

    advance(Duration::from_secs(11 * 3600)).await;
    settle().await;
    r.verifier
        .verify(&r.token(&key))
        .await
        .expect("eleven hours in: still within grace");

    advance(Duration::from_secs(3600)).await;
    settle().await;
    assert_eq!(r.cache.state(), KeyState::Expired);
    let err = r
        .verifier
        .verify(&r.token(&key))
        .await
        .expect_err("beyond grace");
    assert!(matches!(err, AuthError::IdpUnavailable { .. }), "{err:?}");
    let http = err.to_http();
    assert_eq!(
        (http.status.as_u16(), http.code.as_ref()),
        (503, "idp_unavailable")
    );
}

#[tokio::test(start_paused = true)]
async fn a_cached_token_does_not_outlive_the_grace_of_its_key() {
    let key = TestKey::ed25519("k1");
    let cfg = AuthConfig {
        grace: Duration::from_secs(600),
        ..config()
    };
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), cfg).await;
    let mut claims = testing::claims(ISSUER, r.clock.unix_secs());
    claims["exp"] = json!(r.clock.unix_secs() + 3600);
    let token = key.sign(&claims);
    r.verifier.verify(&token).await.expect("fresh");
    assert!(r.verifier.verify(&token).await.expect("again").cached);
    r.source.set(Err(testing::unreachable()));
    advance(Duration::from_secs(601)).await;
    settle().await;
    assert!(matches!(
        r.verifier.verify(&token).await,
        Err(AuthError::IdpUnavailable { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_cached_token_is_refused_once_it_expires() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    let token = r.token(&key); // exp = now + 300, skew 30 s
    r.verifier.verify(&token).await.expect("fresh");
    advance(Duration::from_secs(329)).await;
    assert!(r.verifier.verify(&token).await.expect("within skew").cached);
    advance(Duration::from_secs(2)).await;
    assert_eq!(
        r.verifier.verify(&token).await.unwrap_err(),
        AuthError::Expired
    );
}

#[tokio::test(start_paused = true)]
async fn rotation_accepts_new_keys_after_one_refresh_and_drops_removed_ones() {
    let old = TestKey::ed25519("old");
    let new = TestKey::ed25519("new");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&old])), config()).await;
    let old_token = r.token(&old);
    r.verifier.verify(&old_token).await.expect("old key");

    r.source.set(Ok(testing::jwks(&[&new, &old])));
    r.verifier
        .verify(&r.token(&new))
        .await
        .expect("new key after one refresh");
    r.verifier
        .verify(&old_token)
        .await
        .expect("old key still published");

    r.source.set(Ok(testing::jwks(&[&new])));
    advance(Duration::from_secs(301)).await;
    settle().await;
    assert_eq!(r.source.fetches(), 3);
    let err = r
        .verifier
        .verify(&old_token)
        .await
        .expect_err("removed key");
    assert_eq!(err, AuthError::UnknownKey("old".into()));
    let err = r
        .verifier
        .verify(&r.token(&old))
        .await
        .expect_err("removed key, new token");
    assert_eq!(err, AuthError::UnknownKey("old".into()));
}

#[tokio::test(start_paused = true)]
async fn a_failed_or_malformed_fetch_never_replaces_good_keys() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    let oct = json!({"keys": [{"kty": "oct", "kid": "k1", "k": "c2VjcmV0"}]});
    for bad in [
        Ok(json!({"keys": []})),
        Ok(json!("<html>maintenance</html>")),
        Ok(json!({"no": "keys"})),
        Ok(oct),
        Err(testing::unreachable()),
    ] {
        r.source.set(bad);
        let fetches = r.source.fetches();
        assert!(r.cache.refresh().await.is_err());
        assert_eq!(r.source.fetches(), fetches + 1);
        r.verifier
            .verify(&r.token(&key))
            .await
            .expect("the good key survives a bad fetch");
        assert!(r.cache.status().last_error.is_some());
    }
    let status = r.cache.status();
    assert_eq!(status.keys.len(), 1);
    assert_eq!(status.refresh_failures, 5);
}

#[tokio::test(start_paused = true)]
async fn a_restart_with_the_idp_down_uses_the_persisted_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = AuthConfig {
        keys_file: Some(dir.path().join("jwks.json")),
        ..config()
    };
    let key = TestKey::ed25519("k1");
    // One wall clock for the three lives of the process, following tokio's paused clock.
    let clock = Clock::tokio();
    let first = rig_at(
        ScriptedSource::serving(testing::jwks(&[&key])),
        cfg.clone(),
        clock,
    )
    .await;
    first
        .verifier
        .verify(&first.token(&key))
        .await
        .expect("first life");
    drop(first);

    advance(Duration::from_secs(3600)).await;
    let second = rig_at(ScriptedSource::down(), cfg.clone(), clock).await;
    let v = second
        .verifier
        .verify(&second.token(&key))
        .await
        .expect("verified with the persisted keys");
    assert!(v.degraded);
    let status = second.cache.status();
    assert_eq!(status.state, KeyState::Degraded);
    assert!(status.key_age_seconds.expect("age") >= 3600, "{status:?}");
    assert_eq!(
        second.source.fetches(),
        0,
        "no start-up wait with trusted keys on disk"
    );
    drop(second);

    // Grace counts across restarts: the persisted confirmation time is what matters.
    advance(Duration::from_secs(11 * 3600 + 1)).await;
    let third = rig_at(ScriptedSource::down(), cfg, clock).await;
    let err = third
        .verifier
        .verify(&third.token(&key))
        .await
        .expect_err("beyond grace");
    assert!(matches!(err, AuthError::IdpUnavailable { .. }));
}

#[tokio::test(start_paused = true)]
async fn start_up_with_no_keys_and_the_idp_down_answers_503_until_it_returns() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::down(), config()).await;
    assert_eq!(r.cache.state(), KeyState::Empty);
    let err = r
        .verifier
        .verify(&r.token(&key))
        .await
        .expect_err("no keys");
    assert!(matches!(err, AuthError::IdpUnavailable { key_age: None }));
    r.source.set(Ok(testing::jwks(&[&key])));
    advance(Duration::from_secs(2)).await; // the first retry is due within a second
    settle().await;
    r.verifier
        .verify(&r.token(&key))
        .await
        .expect("keys arrived");
    assert_eq!(r.cache.state(), KeyState::Ok);
}

#[tokio::test(start_paused = true)]
async fn the_status_snapshot_shows_keys_age_and_errors() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    advance(Duration::from_secs(42)).await;
    let s = r.cache.status();
    assert_eq!(s.issuer, ISSUER);
    assert_eq!(s.state, KeyState::Ok);
    assert_eq!(s.keys.len(), 1);
    assert_eq!(s.keys[0].kid, "k1");
    assert_eq!(s.key_age_seconds, Some(42));
    assert_eq!(s.grace_remaining_seconds, Some(12 * 3600 - 42));
    assert!(s.last_error.is_none());
    let v = serde_json::to_value(&s).expect("json");
    assert_eq!(v["state"], "ok");
    assert_eq!(v["keys"][0]["key_type"], "Ed25519");
}

#[tokio::test(start_paused = true)]
async fn the_readiness_check_follows_the_key_state() {
    let key = TestKey::ed25519("k1");
    let r = rig(ScriptedSource::serving(testing::jwks(&[&key])), config()).await;
    let health = tis_core::Health::new("test");
    r.cache.report_to(health.clone());
    let check = |h: &tis_core::Health| h.check(tis_auth::jwks::HEALTH_CHECK).expect("check").status;
    assert_eq!(check(&health), tis_core::CheckStatus::Up);
    r.fail_the_regular_refresh().await;
    assert_eq!(check(&health), tis_core::CheckStatus::Degraded);
    advance(Duration::from_secs(12 * 3600)).await;
    settle().await;
    assert_eq!(check(&health), tis_core::CheckStatus::Down);
}
