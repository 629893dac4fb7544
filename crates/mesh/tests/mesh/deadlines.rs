//! Deadlines, the headers that travel with a call, and h2c.

use std::time::Duration;

use tis_core::context::RequestContext;
use tis_core::trace_context::{self, TraceContext};
use tis_mesh::{MeshConfig, MeshError, ServiceClient, StaticDiscovery};
use tokio::time::Instant;

use crate::support::{Mode, Upstream, work_get};

fn client(u: &Upstream, cfg: MeshConfig) -> ServiceClient {
    ServiceClient::new("deadlines", cfg, StaticDiscovery::new([u.addr()])).expect("valid config")
}

#[tokio::test]
async fn a_200ms_deadline_against_a_slow_upstream_ends_near_200ms_and_the_upstream_was_told() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_secs(2)));
    let client = client(&upstream, MeshConfig::default());
    let started = Instant::now();
    let ctx = RequestContext::new(
        "req-deadline".into(),
        TraceContext::new_root(),
        Some(started + Duration::from_millis(200)),
    );
    let err = ctx
        .scope(client.call(work_get()))
        .await
        .expect_err("the deadline passes first");
    let took = started.elapsed();
    assert!(matches!(err, MeshError::DeadlineExceeded(_)), "{err}");
    assert!(
        took >= Duration::from_millis(195) && took < Duration::from_millis(400),
        "took {took:?}"
    );
    assert_eq!(tis_core::HttpError::from(err).status, 504);

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1, "a try cut by the deadline is not retried");
    let left: u64 = seen[0].headers["tis-deadline"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("milliseconds");
    assert!(left > 100 && left < 200, "TIS-Deadline: {left}");
    assert!(
        client.snapshot().endpoints[0].failures_total == 0,
        "the caller's deadline is not the endpoint's fault"
    );
}

#[tokio::test]
async fn a_deadline_already_passed_fails_without_sending_anything() {
    let upstream = Upstream::start().await;
    let client = client(&upstream, MeshConfig::default());
    let err = client
        .call_with_deadline(work_get(), Instant::now())
        .await
        .expect_err("too late");
    assert!(matches!(err, MeshError::DeadlineExceeded(_)), "{err}");
    assert_eq!(upstream.hits(), 0);
}

#[tokio::test]
async fn the_trace_the_request_id_and_the_time_left_travel_with_the_call() {
    let upstream = Upstream::start().await;
    let client = client(&upstream, MeshConfig::default());
    let caller = TraceContext::continue_from(Some(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ));
    let ctx = RequestContext::new(
        "req-42".into(),
        caller,
        Some(Instant::now() + Duration::from_secs(10)),
    );
    let res = ctx.scope(client.call(work_get())).await.expect("answered");
    assert_eq!(res.status(), 200);
    let seen = upstream.seen();
    let headers = &seen[0].headers;
    let (trace, parent, _) =
        trace_context::parse(headers[trace_context::HEADER].to_str().expect("ascii"))
            .expect("valid traceparent");
    assert_eq!(trace, caller.trace_id);
    assert_eq!(parent, caller.span_id);
    assert_eq!(headers["x-request-id"], "req-42");
    let left: u64 = headers["tis-deadline"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("ms");
    assert!(left > 9_000 && left <= 10_000, "{left}");
}

#[tokio::test]
async fn h2c_mode_speaks_http2_with_prior_knowledge() {
    let upstream = Upstream::start().await;
    let cfg = MeshConfig {
        h2c: true,
        ..MeshConfig::default()
    };
    let client = client(&upstream, cfg);
    for _ in 0..3 {
        let res = client.call(work_get()).await.expect("answered");
        assert_eq!(res.status(), 200);
        assert_eq!(res.version(), http::Version::HTTP_2);
    }
    assert!(
        upstream
            .seen()
            .iter()
            .all(|s| s.version == http::Version::HTTP_2)
    );
}
