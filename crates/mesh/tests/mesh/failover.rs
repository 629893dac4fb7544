//! Ejection, routing around slow endpoints, failing fast, probation and rejoining.

use std::time::Duration;

use tis_mesh::{EndpointState, MeshConfig, MeshError, ServiceClient, StaticDiscovery};
use tokio::time::Instant;

use crate::support::{Mode, Upstream, eventually, work_get};

fn client(name: &str, upstreams: &[&Upstream], cfg: MeshConfig) -> ServiceClient {
    let discovery = StaticDiscovery::new(upstreams.iter().map(|u| u.addr()));
    ServiceClient::new(name, cfg, discovery).expect("valid config")
}

fn state_of(client: &ServiceClient, u: &Upstream) -> Option<EndpointState> {
    client
        .snapshot()
        .endpoints
        .iter()
        .find(|e| e.address == u.addr())
        .map(|e| e.state)
}

#[tokio::test]
async fn an_endpoint_whose_listener_is_dropped_is_ejected_within_three_failures_and_no_caller_sees_one()
 {
    let mut a = Upstream::start().await;
    let b = Upstream::start().await;
    let client = client("failover", &[&a, &b], MeshConfig::default());
    for _ in 0..10 {
        let res = client.call(work_get()).await.expect("both up");
        assert_eq!(res.status(), 200);
    }

    a.kill().await;
    let b_before = b.hits();
    // Pairs of concurrent calls: P2C weighs requests in flight, so one of each pair goes to
    // a until it is ejected (with one call at a time, P2C over two endpoints always picks
    // the cheaper one and might never try a).
    for pair in 0..25 {
        let calls: Vec<_> = (0..2)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.call(work_get()).await })
            })
            .collect();
        for call in calls {
            let res = call
                .await
                .expect("join")
                .unwrap_or_else(|e| panic!("a call of pair {pair} failed: {e}"));
            assert_eq!(res.status(), 200);
        }
    }
    assert_eq!(b.hits() - b_before, 50, "b served everything");
    let snap = client.snapshot();
    let a_snap = snap
        .endpoints
        .iter()
        .find(|e| e.address == a.addr())
        .expect("a is known");
    assert_eq!(a_snap.state, EndpointState::Ejected);
    assert!(
        a_snap.failures_total <= 3,
        "ejected after {} failures",
        a_snap.failures_total
    );
    assert_eq!(snap.ejected, 1);
    assert_eq!(snap.ready, 1);
}

#[tokio::test]
async fn an_endpoint_that_becomes_slow_is_avoided_by_p2c_over_peak_ewma() {
    let a = Upstream::start().await;
    let b = Upstream::start().await;
    let client = client("slow", &[&a, &b], MeshConfig::default());
    for _ in 0..20 {
        client.call(work_get()).await.expect("warm up");
    }
    a.set(Mode::Delay(Duration::from_millis(150)));
    let a_before = a.hits();
    for _ in 0..40 {
        let res = client.call(work_get()).await.expect("answered");
        assert_eq!(res.status(), 200);
    }
    let slow = a.hits() - a_before;
    assert!(
        slow <= 3,
        "the slow endpoint still got {slow} of 40 requests"
    );
    let snap = client.snapshot();
    let ewma = |u: &Upstream| {
        snap.endpoints
            .iter()
            .find(|e| e.address == u.addr())
            .map(|e| e.ewma_latency_ms)
    };
    if slow > 0 {
        // The slow answer is what the balancer (and the status page) now go by.
        assert!(ewma(&a) > ewma(&b), "{:?} vs {:?}", ewma(&a), ewma(&b));
    }
}

#[tokio::test]
async fn every_endpoint_down_fails_in_milliseconds_with_no_healthy_endpoints() {
    let mut a = Upstream::start().await;
    let mut b = Upstream::start().await;
    let client = client("all-down", &[&a, &b], MeshConfig::default());
    client.call(work_get()).await.expect("up");
    a.kill().await;
    b.kill().await;

    // The first calls find out (connection refused) and eject both endpoints.
    let until = Instant::now() + Duration::from_secs(5);
    while client.snapshot().ejected < 2 {
        assert!(Instant::now() < until, "both endpoints should be ejected");
        let err = client.call(work_get()).await.expect_err("nothing is up");
        assert!(
            matches!(
                err,
                MeshError::Connect(_) | MeshError::NoHealthyEndpoints(_)
            ),
            "{err}"
        );
        if let MeshError::Connect(_) = err {
            assert!(err.to_string().contains("refused"), "says why: {err}");
        }
    }

    for _ in 0..5 {
        let started = Instant::now();
        let err = client.call(work_get()).await.expect_err("nothing is up");
        let took = started.elapsed();
        assert!(matches!(err, MeshError::NoHealthyEndpoints(_)), "{err}");
        assert!(took < Duration::from_millis(50), "took {took:?}");
    }
    let http = tis_core::HttpError::from(MeshError::NoHealthyEndpoints(
        tis_mesh::NoHealthyEndpoints {
            service: "all-down".into(),
        },
    ));
    assert_eq!(http.status, 503);
    assert_eq!(http.code, "no_healthy_endpoints");
    assert!(client.snapshot().no_healthy_endpoints_total >= 5);
}

#[tokio::test]
async fn an_endpoint_that_comes_back_rejoins_within_about_two_seconds() {
    let mut a = Upstream::start().await;
    let b = Upstream::start().await;
    let client = client("rejoin", &[&a, &b], MeshConfig::default());
    a.kill().await;
    let until = Instant::now() + Duration::from_secs(5);
    while state_of(&client, &a) != Some(EndpointState::Ejected) {
        assert!(Instant::now() < until, "a should be ejected");
        client.call(work_get()).await.expect("b answers");
    }

    a.restart();
    let back = Instant::now();
    while state_of(&client, &a) != Some(EndpointState::Ready) {
        assert!(
            back.elapsed() < Duration::from_millis(2500),
            "a did not rejoin in time"
        );
        client.call(work_get()).await.expect("answered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // In rotation again: a burst spreads over both (P2C weighs requests in flight).
    let a_before = a.hits();
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call(work_get()).await })
        })
        .collect();
    for call in burst {
        call.await.expect("join").expect("answered");
    }
    assert!(a.hits() > a_before, "a takes traffic again");
}

#[tokio::test]
async fn in_half_open_exactly_one_probe_is_sent_at_a_time() {
    let mut a = Upstream::start().await;
    let mut cfg = MeshConfig::default();
    cfg.health_check.enabled = false; // only the probe may close the breaker here
    let client = client("probe", &[&a], cfg);
    a.kill().await;
    for _ in 0..3 {
        client.call(work_get()).await.expect_err("down");
    }
    assert_eq!(state_of(&client, &a), Some(EndpointState::Ejected));

    a.set(Mode::Hold);
    a.restart();
    eventually(Duration::from_secs(3), "probation due", || {
        client
            .snapshot()
            .endpoints
            .first()
            .and_then(|e| e.probation_ends_in_ms)
            == Some(0)
    })
    .await;

    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call(work_get()).await })
        })
        .collect();
    eventually(Duration::from_secs(2), "the probe arrives", || {
        a.in_flight() == 1
    })
    .await;
    // The others found the only endpoint busy with its probe, and failed fast.
    eventually(Duration::from_secs(1), "the others fail fast", || {
        calls.iter().filter(|c| c.is_finished()).count() == 4
    })
    .await;
    assert_eq!(a.hits(), 1, "exactly one probe");
    a.release();
    let mut ok = 0;
    for call in calls {
        match call.await.expect("join") {
            Ok(res) => {
                assert_eq!(res.status(), 200);
                ok += 1;
            }
            Err(e) => assert!(matches!(e, MeshError::NoHealthyEndpoints(_)), "{e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(state_of(&client, &a), Some(EndpointState::Ready));
}

#[tokio::test]
async fn a_draining_instance_is_ejected_by_its_health_check_before_any_request_fails() {
    let a = Upstream::start().await;
    let b = Upstream::start().await;
    let client = client("drain", &[&a, &b], MeshConfig::default());
    a.shared
        .unready
        .store(true, std::sync::atomic::Ordering::SeqCst);
    eventually(Duration::from_secs(3), "a ejected by its check", || {
        state_of(&client, &a) == Some(EndpointState::Ejected)
    })
    .await;
    let a_before = a.hits();
    for _ in 0..20 {
        client.call(work_get()).await.expect("answered");
    }
    assert_eq!(a.hits(), a_before, "no traffic to a draining instance");
    let last = client
        .snapshot()
        .endpoints
        .into_iter()
        .find(|e| e.address == a.addr())
        .and_then(|e| e.last_health_check)
        .expect("checked");
    assert!(!last.ok);
    assert_eq!(last.detail, "503");
}

#[tokio::test]
async fn what_a_ready_instance_says_is_degraded_is_in_its_last_health_check() {
    let a = Upstream::start().await;
    let client = client("marks", &[&a], MeshConfig::default());
    let marks = |client: &ServiceClient| {
        client
            .snapshot()
            .endpoints
            .into_iter()
            .find_map(|e| e.last_health_check)
            .map(|c| c.degraded)
    };
    *a.shared.ready_marks.lock().expect("lock") = Some("db-read-only, <b>junk</b>");
    eventually(
        Duration::from_secs(5),
        "the check reports db-read-only",
        || marks(&client) == Some(vec!["db-read-only".to_owned()]),
    )
    .await;
    assert_eq!(
        state_of(&client, &a),
        Some(EndpointState::Ready),
        "still ready: reads are served"
    );
    *a.shared.ready_marks.lock().expect("lock") = None;
    eventually(Duration::from_secs(5), "the next check is clean", || {
        marks(&client) == Some(Vec::new())
    })
    .await;
}

/// Each thread has its own balancer (tis_mesh::balance): the breakers they share must still
/// eject a dead endpoint for all of them, and a retry on any thread must avoid it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn balancers_on_several_threads_share_ejection_and_no_caller_sees_a_failure() {
    let mut a = Upstream::start().await;
    let b = Upstream::start().await;
    let mut cfg = MeshConfig::default();
    // No probe during the test, however slow the machine: only the shared ejection counts.
    cfg.breaker.probation = Duration::from_secs(60);
    cfg.breaker.max_probation = Duration::from_secs(60);
    let client = client("threads", &[&a, &b], cfg);
    let burst = |n: usize| {
        let calls: Vec<_> = (0..n)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.call(work_get()).await })
            })
            .collect();
        async move {
            for (i, call) in calls.into_iter().enumerate() {
                let res = call
                    .await
                    .expect("join")
                    .unwrap_or_else(|e| panic!("call {i} failed: {e}"));
                assert_eq!(res.status(), 200);
            }
        }
    };
    burst(64).await;
    assert!(
        a.hits() > 0 && b.hits() > 0,
        "both served: {} / {}",
        a.hits(),
        b.hits()
    );
    a.kill().await;
    // 64 tries at once: those already on their way to a fail (and are retried on b) before
    // the breaker has seen three failures.
    burst(64).await;
    assert_eq!(state_of(&client, &a), Some(EndpointState::Ejected));
    let failures = || {
        client
            .snapshot()
            .endpoints
            .iter()
            .find(|e| e.address == a.addr())
            .map_or(0, |e| e.failures_total)
    };
    let at_ejection = failures();
    // Every thread's balancer now leaves a alone: the ejection is shared.
    for _ in 0..3 {
        burst(64).await;
    }
    assert_eq!(
        failures(),
        at_ejection,
        "no try went to the ejected endpoint"
    );
}
