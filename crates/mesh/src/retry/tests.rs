//! The retry policy inside the real stack, over scripted mock endpoints, on a paused clock.

use std::time::Duration;

use http::{Method, StatusCode};
use tokio::time::Instant;

use crate::client::testing::{Harness, Script, addr, get, request};
use crate::config::MeshConfig;

fn always(status: u16) -> Script {
    Script::Answer(
        StatusCode::from_u16(status).expect("status"),
        Duration::ZERO,
    )
}

/// A config whose breakers never trip, so that only the retry rules are at work.
fn patient() -> MeshConfig {
    let mut cfg = MeshConfig::default();
    cfg.breaker.failure_statuses.clear();
    cfg.breaker.consecutive_failures = u32::MAX;
    cfg.breaker.min_success_rate = 0.0;
    cfg
}

#[tokio::test(start_paused = true)]
async fn a_post_without_an_idempotency_key_is_never_retried() {
    let h = Harness::new(&[1], patient());
    h.script(1, always(503));
    let res = h
        .call(request(Method::POST, false, None))
        .await
        .expect("answered");
    assert_eq!(res.status(), 503);
    assert_eq!(h.total(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_post_with_an_idempotency_key_is_retried_up_to_max_retries() {
    let h = Harness::new(&[1], patient());
    h.script(1, always(503));
    let res = h
        .call(request(Method::POST, true, None))
        .await
        .expect("answered");
    assert_eq!(res.status(), 503, "the last answer is passed on");
    assert_eq!(h.total(), 3, "one try and max_retries = 2 retries");
}

#[tokio::test(start_paused = true)]
async fn a_500_and_a_4xx_are_not_retried() {
    let h = Harness::new(&[1], patient());
    for status in [500, 404, 429] {
        h.script(1, always(status));
        let before = h.total();
        let res = h.call(get()).await.expect("answered");
        assert_eq!(res.status(), status);
        assert_eq!(h.total() - before, 1, "{status} is not retried");
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_goes_to_a_different_endpoint_than_the_failed_try() {
    let mut cfg = patient();
    cfg.retry.min_retries_per_second = 1000;
    let h = Harness::new(&[1, 2], cfg);
    for _ in 0..20 {
        h.script(1, always(503));
        h.script(2, always(503));
        let before: Vec<usize> = vec![h.count(1), h.count(2)];
        // Whichever endpoint gets the first try fails; the other one must get the retry.
        let res = h
            .call(request(Method::GET, false, None))
            .await
            .expect("answered");
        assert_eq!(res.status(), 503);
        let got = [h.count(1) - before[0], h.count(2) - before[1]];
        assert_eq!(got.iter().sum::<usize>(), 3);
        assert!(got[0] >= 1 && got[1] >= 1, "both endpoints tried: {got:?}");
    }
    // And the retried request names the endpoint it avoids.
    let received = h.received.lock().expect("lock");
    let avoided = received
        .values()
        .flatten()
        .filter_map(|r| r.body().outbound().and_then(|o| o.avoid))
        .count();
    assert_eq!(avoided, 40, "every retry avoided the endpoint that failed");
    assert!(received.keys().all(|a| *a == addr(1) || *a == addr(2)));
}

#[tokio::test(start_paused = true)]
async fn a_successful_retry_is_reported_by_the_shared_retry_count() {
    let h = Harness::new(&[1, 2], patient());
    h.script(1, always(503));
    let mut retried = 0;
    for _ in 0..10 {
        let req = get();
        let out = req.body().outbound().cloned().expect("outbound");
        let res = h.call(req).await.expect("answered");
        assert_eq!(
            res.status(),
            200,
            "the retry on the healthy endpoint succeeds"
        );
        retried += out.retries.load(std::sync::atomic::Ordering::Relaxed);
    }
    assert_eq!(retried as usize, h.count(1), "one retry per failure");
}

#[tokio::test(start_paused = true)]
async fn no_retry_starts_after_the_deadline() {
    let h = Harness::new(&[1], patient());
    // A 503 after 90 ms, with 100 ms of deadline: a same-endpoint retry would have to wait
    // out a back-off of at least 10 ms.
    h.script(
        1,
        Script::Answer(StatusCode::SERVICE_UNAVAILABLE, Duration::from_millis(90)),
    );
    let deadline = Instant::now() + Duration::from_millis(100);
    let res = h
        .call(request(Method::GET, false, Some(deadline)))
        .await
        .expect("answered");
    assert_eq!(res.status(), 503);
    assert_eq!(h.total(), 1);
}

#[tokio::test(start_paused = true)]
async fn retries_of_a_failing_service_stay_within_the_budget() {
    let h = Harness::new(&[1, 2], patient());
    h.script(1, always(503));
    h.script(2, always(503));
    let calls = 200;
    for _ in 0..calls {
        h.call(get()).await.expect("answered");
    }
    let retries = h.total() - calls;
    // 20 % of 200 calls plus the floor of 10 for the (single, paused) second.
    assert!(retries <= 40 + 10, "{retries} retries");
    assert!(retries >= 40, "the budget was used: {retries}");
    let budget = h.budget.snapshot();
    assert!(budget.exhausted_total > 0);
    assert_eq!(budget.retries_in_window as usize, retries);
}
