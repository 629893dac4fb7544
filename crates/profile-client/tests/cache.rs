//! The cache's timeline on tokio's paused clock, against a scripted Profile: freshness,
//! stale-while-revalidate, stale-if-error and its bound, negative caching, single-flight,
//! invalidation, and the `ProfileSource` path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tis_auth::{AccessClaims, ProfileError, ProfileSource, UserProfile};
use tis_profile_client::{
    ClientError, Fetch, FetchFailure, Fetched, ProfileClient, ProfileClientConfig, UserKey,
};
use tokio::time::{Instant, advance};

const ISSUER: &str = "http://idp.test/realms/lin";

/// A scripted Profile: queued answers first, then the standing one; every call counted and
/// taking `delay` of tokio time.
struct Script {
    queued: Mutex<VecDeque<Result<Fetched, FetchFailure>>>,
    standing: Mutex<Result<Fetched, FetchFailure>>,
    calls: AtomicUsize,
    delay: Mutex<Duration>,
}

impl Script {
    fn new(standing: Result<Fetched, FetchFailure>) -> Arc<Self> {
        Arc::new(Script {
            queued: Mutex::new(VecDeque::new()),
            standing: Mutex::new(standing),
            calls: AtomicUsize::new(0),
            delay: Mutex::new(Duration::ZERO),
        })
    }

    fn set(&self, answer: Result<Fetched, FetchFailure>) {
        *self.standing.lock().expect("lock") = answer;
    }

    fn set_delay(&self, delay: Duration) {
        *self.delay.lock().expect("lock") = delay;
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Fetch for Script {
    fn fetch(
        &self,
        _key: &UserKey,
        _token: Arc<str>,
    ) -> BoxFuture<'static, Result<Fetched, FetchFailure>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = self
            .queued
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or_else(|| self.standing.lock().expect("lock").clone());
        let delay = *self.delay.lock().expect("lock");
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            answer
        })
    }
}

fn profile(user: &str, role: &str) -> Result<Fetched, FetchFailure> {
    let mut p = UserProfile::named(user);
    p.roles.insert(role.into());
    Ok(Fetched::Profile {
        profile: Arc::new(p),
        bytes: 200,
    })
}

fn down() -> Result<Fetched, FetchFailure> {
    Err(FetchFailure("connection refused".into()))
}

fn claims(user: &str) -> AccessClaims {
    serde_json::from_value(serde_json::json!({
        "iss": ISSUER, "aud": "tis", "exp": 1, "preferred_username": user
    }))
    .expect("claims")
}

fn client(script: &Arc<Script>) -> ProfileClient {
    ProfileClient::with_fetch(&ProfileClientConfig::default(), script.clone()).expect("client")
}

async fn roles_of(c: &ProfileClient, user: &str) -> (Vec<String>, bool) {
    let r = c.resolve("token", &claims(user)).await.expect("profile");
    (r.profile.roles.into_iter().collect(), r.stale)
}

#[tokio::test(start_paused = true)]
async fn a_profile_is_answered_from_memory_for_sixty_seconds() {
    let script = Script::new(profile("admin", "HEE Admin"));
    let c = client(&script);
    assert_eq!(
        roles_of(&c, "admin").await,
        (vec!["HEE Admin".into()], false)
    );
    advance(Duration::from_secs(59)).await;
    assert_eq!(roles_of(&c, "admin").await.0, vec!["HEE Admin".to_owned()]);
    assert_eq!(script.calls(), 1);
    let stats = c.stats();
    assert_eq!((stats.misses, stats.hits), (1, 1));
}

/// What the gateway may keep an answer for: the rest of the fresh window, nothing for one
/// served while it is revalidated (so a removed role cannot outlive the window there).
#[tokio::test(start_paused = true)]
async fn each_answer_says_how_much_of_its_fresh_window_is_left() {
    let script = Script::new(profile("admin", "HEE Admin"));
    let c = client(&script);
    let fresh_for = |c: &ProfileClient| {
        let c = c.clone();
        async move {
            c.resolve("token", &claims("admin"))
                .await
                .expect("profile")
                .fresh_for
        }
    };
    assert_eq!(fresh_for(&c).await, Some(Duration::from_secs(60)));
    advance(Duration::from_secs(45)).await;
    assert_eq!(fresh_for(&c).await, Some(Duration::from_secs(15)));
    advance(Duration::from_secs(16)).await;
    assert_eq!(
        fresh_for(&c).await,
        Some(Duration::ZERO),
        "being revalidated"
    );
}

#[tokio::test(start_paused = true)]
async fn after_sixty_seconds_the_old_profile_is_answered_at_once_and_refreshed_once_in_the_background()
 {
    let script = Script::new(profile("admin", "HEE Admin"));
    let c = client(&script);
    roles_of(&c, "admin").await;
    script.set(profile("admin", "HEE Admin Sensitive"));
    script.set_delay(Duration::from_secs(1));
    advance(Duration::from_secs(61)).await;

    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(
            roles_of(&c, "admin").await,
            (vec!["HEE Admin".into()], false)
        );
    }
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "nobody waited for Profile"
    );
    tokio::task::yield_now().await; // let the background task start its call
    assert_eq!(
        script.calls(),
        2,
        "one background refresh for five requests"
    );

    advance(Duration::from_secs(2)).await;
    tokio::task::yield_now().await;
    assert_eq!(
        roles_of(&c, "admin").await,
        (vec!["HEE Admin Sensitive".into()], false)
    );
    assert_eq!(script.calls(), 2);
    assert_eq!(c.stats().revalidations, 5);
}

#[tokio::test(start_paused = true)]
async fn while_profile_is_down_a_seen_user_is_served_stale_for_twelve_hours_and_then_refused() {
    let script = Script::new(profile("admin", "HEE Admin"));
    let c = client(&script);
    roles_of(&c, "admin").await;
    script.set(down());

    // Seven minutes on, the profile must be confirmed first; Profile is down: served stale.
    advance(Duration::from_secs(7 * 60)).await;
    assert_eq!(
        roles_of(&c, "admin").await,
        (vec!["HEE Admin".into()], true)
    );
    // Right after a failure, Profile is not asked again: answered stale at once.
    assert!(roles_of(&c, "admin").await.1);
    assert_eq!(script.calls(), 2);

    advance(Duration::from_secs(12 * 3600 - 7 * 60 - 1)).await;
    assert!(roles_of(&c, "admin").await.1, "still within the bound");

    advance(Duration::from_secs(2)).await;
    let err = c
        .resolve("token", &claims("admin"))
        .await
        .expect_err("beyond the bound");
    assert!(matches!(err, ClientError::Unavailable(_)), "{err:?}");
    assert_eq!(err.to_http().status, 503);
    assert!(c.stats().stale_serves >= 3);
    assert!(c.stats().refresh_failures >= 3);
}

#[tokio::test(start_paused = true)]
async fn a_user_never_seen_while_profile_is_down_gets_authorisation_unavailable() {
    let script = Script::new(down());
    let c = client(&script);
    let err = c
        .resolve("token", &claims("observer"))
        .await
        .expect_err("down");
    assert_eq!(err.code(), "authorisation_unavailable");
    let err = ProfileError::from(err);
    assert!(matches!(err, ProfileError::Unavailable(_)));
}

#[tokio::test(start_paused = true)]
async fn a_failed_background_refresh_marks_the_answers_stale_until_a_call_succeeds() {
    let script = Script::new(profile("admin", "HEE Admin"));
    let c = client(&script);
    roles_of(&c, "admin").await;
    script.set(down());
    advance(Duration::from_secs(61)).await;
    assert!(!roles_of(&c, "admin").await.1, "not yet known to be down");
    tokio::task::yield_now().await;
    assert!(roles_of(&c, "admin").await.1, "the refresh failed");

    script.set(profile("admin", "HEE Admin"));
    advance(Duration::from_secs(2)).await;
    roles_of(&c, "admin").await; // starts a refresh, which succeeds
    tokio::task::yield_now().await;
    assert!(!roles_of(&c, "admin").await.1);
}

#[tokio::test(start_paused = true)]
async fn no_such_user_and_inactive_are_remembered_for_five_seconds_only() {
    let script = Script::new(Ok(Fetched::NoProfile));
    let c = client(&script);
    for _ in 0..3 {
        let err = c
            .resolve("token", &claims("ghost"))
            .await
            .expect_err("none");
        assert_eq!(err, ClientError::NoProfile("ghost".into()));
        assert_eq!(err.to_http().code, "no_profile");
    }
    assert_eq!(script.calls(), 1);

    script.set(Ok(Fetched::Inactive));
    advance(Duration::from_secs(5)).await;
    let err = c
        .resolve("token", &claims("ghost"))
        .await
        .expect_err("inactive");
    assert_eq!(err.to_http().code, "inactive_user");
    assert_eq!(script.calls(), 2);

    script.set(down());
    advance(Duration::from_secs(5)).await;
    let err = c
        .resolve("token", &claims("ghost"))
        .await
        .expect_err("down");
    assert_eq!(
        err.code(),
        "authorisation_unavailable",
        "a negative answer is never served stale"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_first_requests_of_one_user_make_one_call() {
    let script = Script::new(profile("admin", "HEE Admin"));
    script.set_delay(Duration::from_millis(100));
    let c = client(&script);
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.resolve("token", &claims("admin")).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("profile");
    }
    assert_eq!(script.calls(), 1);
    assert_eq!(c.stats().singleflight_joins, 999);
}

#[tokio::test(start_paused = true)]
async fn users_are_cached_by_name_and_issuer_not_by_token() {
    let script = Script::new(profile("admin", "HEE Admin"));
    let c = client(&script);
    c.resolve("token-1", &claims("admin")).await.expect("first");
    c.resolve("token-2", &claims("admin"))
        .await
        .expect("same user, new token");
    assert_eq!(script.calls(), 1);
    let mut other_realm = claims("admin");
    other_realm.iss = "http://other.test/realms/lin".into();
    c.resolve("token-3", &other_realm)
        .await
        .expect("another issuer");
    assert_eq!(script.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn invalidating_a_user_makes_the_next_request_ask_profile() {
    let script = Script::new(profile("admin", "HEE Admin"));
    let c = client(&script);
    roles_of(&c, "admin").await;
    script.set(profile("admin", "ProfileAdmin"));
    c.invalidate("Admin");
    assert_eq!(
        roles_of(&c, "admin").await.0,
        vec!["ProfileAdmin".to_owned()]
    );
    assert_eq!(script.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_started_before_an_invalidation_does_not_refill_the_cache() {
    let script = Script::new(profile("admin", "HEE Admin"));
    script.set_delay(Duration::from_secs(1));
    let c = client(&script);
    let first = {
        let c = c.clone();
        tokio::spawn(async move { c.resolve("token", &claims("admin")).await })
    };
    tokio::task::yield_now().await;
    c.invalidate_all();
    first
        .await
        .expect("join")
        .expect("the waiter still gets its answer");
    script.set_delay(Duration::ZERO);
    roles_of(&c, "admin").await;
    assert_eq!(script.calls(), 2, "the outdated answer was not cached");
}

#[tokio::test(start_paused = true)]
async fn through_tis_auth_the_token_is_forwarded_and_the_profile_cached() {
    let script = Script::new(profile("admin", "HEE Admin"));
    let c = client(&script);
    let source: &dyn ProfileSource = &c;
    let claims = claims("admin");
    let resolved = source.profile("token", &claims).await.expect("profile");
    assert!(resolved.profile.roles.contains("HEE Admin"));
    assert!(!resolved.stale);
    source.profile("token", &claims).await.expect("from cache");
    assert_eq!(script.calls(), 1);
}
