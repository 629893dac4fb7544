//! A client following the local registry, as the gateway does under `tis up`.

use std::time::Duration;

use tis_mesh::{MeshConfig, MeshError, Registry, ServiceClient};

use crate::support::{Upstream, eventually, work_get};

#[tokio::test]
async fn a_client_follows_instances_as_they_are_registered_and_deregistered() {
    let registry = Registry::new();
    let client = ServiceClient::new(
        "reference",
        MeshConfig::default(),
        registry.discovery("reference"),
    )
    .expect("config");
    let err = client.call(work_get()).await.expect_err("no instance yet");
    assert!(matches!(err, MeshError::NoHealthyEndpoints(_)), "{err}");

    let a = Upstream::start().await;
    let b = Upstream::start().await;
    registry.register("reference", a.addr());
    registry.register("reference", b.addr());
    eventually(Duration::from_secs(2), "two endpoints known", || {
        client.snapshot().endpoints.len() == 2
    })
    .await;
    for _ in 0..10 {
        client.call(work_get()).await.expect("answered");
    }

    registry.deregister("reference", a.addr());
    eventually(Duration::from_secs(2), "a forgotten", || {
        client.snapshot().endpoints.len() == 1
    })
    .await;
    let a_before = a.hits();
    for _ in 0..10 {
        client.call(work_get()).await.expect("answered");
    }
    assert_eq!(a.hits(), a_before, "a deregistered instance gets nothing");
    assert_eq!(client.snapshot().endpoints[0].address, b.addr());
}
