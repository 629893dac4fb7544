//! What operators see: Prometheus metrics and the status snapshot.

use std::time::Duration;

use tis_mesh::{MeshConfig, ServiceClient, StaticDiscovery};

use crate::support::{Mode, Upstream, work_get};

#[tokio::test]
async fn the_client_exports_its_prometheus_metrics_per_service_and_endpoint() {
    let handle = tis_core::metrics::handle();
    let a = Upstream::start().await;
    let mut b = Upstream::start().await;
    a.set(Mode::Status(503));
    b.kill().await;
    let mut cfg = MeshConfig::default();
    cfg.health_check.interval = Duration::from_secs(60);
    let client = ServiceClient::new("observed", cfg, StaticDiscovery::new([a.addr(), b.addr()]))
        .expect("config");
    for _ in 0..20 {
        let _ = client.call(work_get()).await;
    }
    handle.run_upkeep();
    let text = handle.render();
    for name in [
        "mesh_requests_total{service=\"observed\"",
        "mesh_request_duration_seconds_bucket{service=\"observed\"",
        "mesh_requests_in_flight{service=\"observed\"}",
        "mesh_shed_total{service=\"observed\"}",
        "mesh_no_healthy_endpoints_total{service=\"observed\"}",
        "mesh_retries_total{service=\"observed\"}",
        "mesh_retry_budget_exhausted_total{service=\"observed\"}",
        "mesh_endpoints{service=\"observed\",state=\"ejected\"}",
        "mesh_endpoint_requests_total{service=\"observed\"",
        "mesh_endpoint_errors_total{service=\"observed\"",
        "mesh_endpoint_request_duration_seconds_bucket{service=\"observed\"",
        "mesh_breaker_state{service=\"observed\"",
        "mesh_health_checks_total{service=\"observed\"",
    ] {
        assert!(text.contains(name), "missing {name} in\n{text}");
    }
    let ejected = format!(
        "mesh_breaker_state{{service=\"observed\",endpoint=\"{}\"}} 2",
        b.addr()
    );
    assert!(text.contains(&ejected), "{ejected} in\n{text}");
    assert!(text.contains("# TYPE mesh_requests_total counter"));
}

#[tokio::test]
async fn the_snapshot_serialises_for_the_status_page() {
    let a = Upstream::start().await;
    let client = ServiceClient::new(
        "status",
        MeshConfig::default(),
        StaticDiscovery::new([a.addr()]),
    )
    .expect("config");
    client.call(work_get()).await.expect("answered");
    let json = serde_json::to_value(client.snapshot()).expect("serialises");
    assert_eq!(json["service"], "status");
    assert_eq!(json["ready"], 1);
    assert_eq!(json["maxConcurrency"], 256);
    let endpoint = &json["endpoints"][0];
    assert_eq!(endpoint["address"], a.addr().to_string());
    assert_eq!(endpoint["state"], "ready");
    assert_eq!(endpoint["requestsTotal"], 1);
    assert!(endpoint["ewmaLatencyMs"].as_f64().is_some());
    assert_eq!(json["retryBudget"]["requestsInWindow"], 1);
}
