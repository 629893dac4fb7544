//! The breaker service over a `tower_test` mock, on a paused clock.

use std::time::Duration;

use http::StatusCode;
use tower_test::mock::{self, Spawn};

use super::*;
use crate::balance::board::ServiceCtx;
use crate::client::testing::{MockHandle, addr, get};
use crate::config::MeshConfig;
use crate::snapshot::EndpointState;

fn breaker() -> (
    Spawn<Breaker<crate::client::testing::MockEndpoint>>,
    MockHandle,
    Arc<EndpointShared>,
) {
    let (mock, handle) = mock::pair();
    let ctx = ServiceCtx::new("breaker-test", &crate::config::MeshConfig::default());
    let shared = EndpointShared::new(addr(1), ctx, &MeshConfig::default());
    (
        Spawn::new(Breaker::new(mock, shared.clone())),
        handle,
        shared,
    )
}

fn status(code: u16) -> Response<()> {
    let mut res = Response::new(());
    *res.status_mut() = StatusCode::from_u16(code).expect("status");
    res
}

fn ready(svc: &mut Spawn<Breaker<crate::client::testing::MockEndpoint>>) -> bool {
    match svc.poll_ready() {
        Poll::Ready(Ok(())) => true,
        Poll::Pending => false,
        Poll::Ready(Err(e)) => panic!("the breaker must never fail poll_ready: {e}"),
    }
}

/// Sends one request through the breaker and answers it with `code`.
async fn exchange(
    svc: &mut Spawn<Breaker<crate::client::testing::MockEndpoint>>,
    handle: &mut MockHandle,
    code: u16,
) -> Result<Response<()>, BoxError> {
    assert!(ready(svc), "ready before the exchange");
    let fut = svc.call(get());
    let (_, send) = handle.next_request().await.expect("sent");
    send.send_response(status(code));
    fut.await
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_is_not_ready_until_probation_and_then_lets_one_probe_through() {
    let (mut svc, mut handle, shared) = breaker();
    for _ in 0..3 {
        let res = exchange(&mut svc, &mut handle, 503)
            .await
            .expect("answered");
        assert_eq!(
            res.status(),
            503,
            "an answer is passed on whatever its status"
        );
    }
    assert_eq!(
        shared.snapshot(Instant::now()).state,
        EndpointState::Ejected
    );
    assert!(!ready(&mut svc), "ejected: not ready");

    tokio::time::advance(Duration::from_millis(850)).await;
    assert!(!ready(&mut svc), "still in the open period");
    tokio::time::advance(Duration::from_millis(300)).await;
    assert!(svc.is_woken(), "the probation timer wakes the balancer");
    assert!(ready(&mut svc), "probation: the probe may go");
    let probe = svc.call(get());
    let (_, send) = handle.next_request().await.expect("probe sent");
    assert!(!ready(&mut svc), "one probe at a time");
    assert_eq!(
        shared.snapshot(Instant::now()).state,
        EndpointState::Probation
    );

    send.send_response(status(200));
    probe.await.expect("probe answered");
    assert!(svc.is_woken(), "closing wakes the balancer");
    assert!(ready(&mut svc));
    assert_eq!(shared.snapshot(Instant::now()).state, EndpointState::Ready);
}

#[tokio::test(start_paused = true)]
async fn a_4xx_is_not_a_failure_but_a_connect_error_is() {
    let (mut svc, mut handle, shared) = breaker();
    for _ in 0..10 {
        exchange(&mut svc, &mut handle, 404)
            .await
            .expect("answered");
    }
    assert_eq!(shared.snapshot(Instant::now()).state, EndpointState::Ready);
    for _ in 0..3 {
        assert!(ready(&mut svc));
        let fut = svc.call(get());
        let (_, send) = handle.next_request().await.expect("sent");
        send.send_error(crate::error::Connect {
            service: "t".into(),
            endpoint: addr(1),
            source: "refused".into(),
        });
        assert!(fut.await.is_err());
    }
    let snap = shared.snapshot(Instant::now());
    assert_eq!(snap.state, EndpointState::Ejected);
    assert_eq!(snap.consecutive_failures, 3);
    assert_eq!(snap.failures_total, 3);
    assert_eq!(snap.requests_total, 13);
}

#[tokio::test(start_paused = true)]
async fn a_passing_health_check_wakes_an_ejected_endpoint_into_probation() {
    let (mut svc, _handle, shared) = breaker();
    shared.update(|st, now| st.on_check(now, false, "503".into()));
    assert!(!ready(&mut svc));
    shared.update(|st, now| st.on_check(now, true, "200".into()));
    assert!(
        svc.is_woken(),
        "the check wakes the breaker before its timer"
    );
    assert!(ready(&mut svc));
    assert_eq!(
        shared.snapshot(Instant::now()).state,
        EndpointState::Probation
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_cut_by_the_callers_deadline_does_not_count_against_the_endpoint() {
    let (mut svc, mut handle, shared) = breaker();
    for _ in 0..5 {
        assert!(ready(&mut svc));
        let fut = svc.call(get());
        let (_, send) = handle.next_request().await.expect("sent");
        send.send_error(crate::error::DeadlineExceeded {
            service: "t".into(),
        });
        assert!(fut.await.is_err());
    }
    let snap = shared.snapshot(Instant::now());
    assert_eq!(snap.state, EndpointState::Ready);
    assert_eq!(snap.failures_total, 0);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_probe_frees_the_slot_for_the_next() {
    let (mut svc, mut handle, shared) = breaker();
    shared.update(|st, now| st.on_check(now, false, "down".into()));
    tokio::time::advance(Duration::from_millis(1200)).await;
    assert!(ready(&mut svc));
    let probe = svc.call(get());
    let (_, _send) = handle.next_request().await.expect("probe sent");
    assert!(!ready(&mut svc));
    drop(probe); // the caller went away
    assert!(svc.is_woken());
    assert!(ready(&mut svc), "another probe may go");
}
