//! The balancer inside the real stack, over scripted mock endpoints, on a paused clock.

use std::time::Duration;

use http::StatusCode;
use tokio::time::Instant;

use crate::client::testing::{Harness, Script, get};
use crate::config::MeshConfig;
use crate::error::NoHealthyEndpoints;
use crate::snapshot::EndpointState;

const MS: Duration = Duration::from_millis(1);

fn eject(h: &Harness, port: u16) {
    h.endpoint(port)
        .update(|st, now| st.on_check(now, false, "down".into()));
}

#[tokio::test(start_paused = true)]
async fn traffic_is_spread_over_ready_endpoints() {
    let h = Harness::new(&[1, 2, 3], MeshConfig::default());
    for _ in 0..60 {
        h.call(get()).await.expect("answered");
    }
    for port in [1, 2, 3] {
        assert!(h.count(port) >= 5, "endpoint {port} got {}", h.count(port));
    }
}

#[tokio::test(start_paused = true)]
async fn an_ejected_endpoint_gets_no_traffic() {
    let h = Harness::new(&[1, 2], MeshConfig::default());
    eject(&h, 1);
    for _ in 0..20 {
        let res = h.call(get()).await.expect("answered");
        assert_eq!(Harness::served_by(&res), Some(2));
    }
    assert_eq!(h.count(1), 0);
}

#[tokio::test(start_paused = true)]
async fn p2c_over_peak_ewma_avoids_an_endpoint_that_became_slow() {
    let h = Harness::new(&[1, 2], MeshConfig::default());
    h.script(1, Script::Answer(StatusCode::OK, 5 * MS));
    h.script(2, Script::Answer(StatusCode::OK, 5 * MS));
    for _ in 0..20 {
        h.call(get()).await.expect("answered");
    }
    let before = h.count(1);
    h.script(1, Script::Answer(StatusCode::OK, 300 * MS));
    for _ in 0..40 {
        h.call(get()).await.expect("answered");
    }
    let slow = h.count(1) - before;
    assert!(slow <= 2, "the slow endpoint got {slow} of 40 requests");
}

#[tokio::test(start_paused = true)]
async fn every_endpoint_ejected_fails_at_once_with_no_healthy_endpoints() {
    let h = Harness::new(&[1, 2], MeshConfig::default());
    eject(&h, 1);
    eject(&h, 2);
    let started = Instant::now();
    let err = h.call(get()).await.expect_err("nothing healthy");
    assert!(err.is::<NoHealthyEndpoints>(), "{err}");
    assert_eq!(started.elapsed(), Duration::ZERO, "failed without waiting");
    assert_eq!(h.total(), 0);
}

#[tokio::test(start_paused = true)]
async fn while_the_only_probe_is_in_flight_other_requests_fail_fast() {
    let h = Harness::new(&[1], MeshConfig::default());
    eject(&h, 1);
    // Probation ends: the endpoint is available for exactly one probe, which hangs.
    tokio::time::advance(Duration::from_millis(1200)).await;
    h.script(1, Script::Answer(StatusCode::OK, Duration::from_secs(3)));
    let probe = tokio::spawn({
        let stack = h.stack.clone();
        async move { tower::ServiceExt::oneshot(stack, get()).await }
    });
    while h.count(1) == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        h.endpoint(1).snapshot(Instant::now()).state,
        EndpointState::Probation
    );
    let started = Instant::now();
    let err = h.call(get()).await.expect_err("the probe is in flight");
    assert!(err.is::<NoHealthyEndpoints>(), "{err}");
    assert_eq!(started.elapsed(), Duration::ZERO);
    let res = probe.await.expect("join").expect("the probe succeeds");
    assert_eq!(res.status(), 200);
    assert_eq!(
        h.endpoint(1).snapshot(Instant::now()).state,
        EndpointState::Ready
    );
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_coming_back_rejoins_after_probation() {
    let h = Harness::new(&[1, 2], MeshConfig::default());
    h.script(1, Script::Refuse);
    for _ in 0..100 {
        h.call(get()).await.expect("retried on the other endpoint");
        if h.count(1) >= 3 {
            break;
        }
    }
    assert_eq!(h.count(1), 3, "ejected after three refusals");
    assert_eq!(
        h.endpoint(1).snapshot(Instant::now()).state,
        EndpointState::Ejected
    );
    h.script(1, Script::Answer(StatusCode::OK, Duration::ZERO));
    tokio::time::advance(Duration::from_millis(1100)).await;
    let before = h.count(1);
    for _ in 0..30 {
        h.call(get()).await.expect("answered");
    }
    assert!(h.count(1) > before, "the endpoint is used again");
    assert_eq!(
        h.endpoint(1).snapshot(Instant::now()).state,
        EndpointState::Ready
    );
}
