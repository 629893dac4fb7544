//! The bulkhead: the concurrency limit sheds at once.

use std::time::Duration;

use tis_mesh::{MeshConfig, MeshError, ServiceClient, StaticDiscovery};
use tokio::time::Instant;

use crate::support::{Mode, Upstream, eventually, work_get};

#[tokio::test]
async fn the_concurrency_limit_sheds_the_excess_at_once() {
    let a = Upstream::start().await;
    a.set(Mode::Hold);
    let cfg = MeshConfig {
        max_concurrency: 2,
        ..MeshConfig::default()
    };
    let client =
        ServiceClient::new("limited", cfg, StaticDiscovery::new([a.addr()])).expect("config");
    let held: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call(work_get()).await })
        })
        .collect();
    eventually(Duration::from_secs(2), "two requests held", || {
        a.in_flight() == 2
    })
    .await;
    assert_eq!(client.snapshot().in_flight, 2);

    let started = Instant::now();
    let err = client.call(work_get()).await.expect_err("over the limit");
    let took = started.elapsed();
    assert!(matches!(err, MeshError::Overloaded(_)), "{err}");
    assert!(took < Duration::from_millis(20), "shed in {took:?}");
    let http = tis_core::HttpError::from(err);
    assert_eq!((http.status.as_u16(), &*http.code), (503, "overloaded"));
    assert_eq!(http.retry_after_secs, Some(1));
    assert_eq!(a.hits(), 2, "the shed request was never sent");

    a.release();
    for call in held {
        assert_eq!(call.await.expect("join").expect("answered").status(), 200);
    }
    let snap = client.snapshot();
    assert_eq!(snap.shed_total, 1);
    assert_eq!(snap.in_flight, 0);
}
