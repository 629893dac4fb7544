use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn the_registry_api_adds_and_removes_instances_that_traffic_follows() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("registered").await;
    let mut cfg = config(&idp, &dir, vec![]);
    cfg.services
        .get_mut("reference")
        .expect("service")
        .discovery = tis_gateway::DiscoveryConfig::Registry { name: None };
    let gw = Gateway::start(cfg).await;
    let token = idp.token();
    let res = gw.get("/reference/echo", &token).await;
    assert_eq!(error_code(res).await, "no_healthy_endpoints");

    let put = gw
        .client
        .put(gw.admin_url("/admin/registry/reference/reference-1"))
        .json(&serde_json::json!({"addr": addr}))
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 201);
    eventually(
        "the registered instance to serve",
        Duration::from_secs(5),
        || {
            let (gw, token) = (&gw, &token);
            async move { gw.get("/reference/echo", token).await.status() == 200 }
        },
    )
    .await;
    let list = gw.json(gw.admin_url("/admin/registry")).await;
    assert_eq!(list["reference"]["reference-1"], addr.to_string());

    let bad = gw
        .client
        .put(gw.admin_url("/admin/registry/reference/reference-2"))
        .json(&serde_json::json!({"addr": "nowhere"}))
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status(), 400);

    let del = gw
        .client
        .delete(gw.admin_url("/admin/registry/reference/reference-1"))
        .send()
        .await
        .expect("delete");
    assert_eq!(del.status(), 204);
    eventually("the instance to be gone", Duration::from_secs(5), || {
        let (gw, token) = (&gw, &token);
        async move { gw.get("/reference/echo", token).await.status() == 503 }
    })
    .await;
}

#[tokio::test]
async fn the_admin_listener_has_full_status_and_metrics_that_promtool_accepts() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;
    let token = idp.token();
    for _ in 0..3 {
        assert_eq!(gw.get("/reference/echo", &token).await.status(), 200);
    }
    let _ = gw
        .client
        .get(gw.url("/reference/echo"))
        .send()
        .await
        .expect("401");

    let admin = gw.json(gw.admin_url("/admin/status")).await;
    assert_eq!(admin["idp"]["state"], "ok");
    let pool = &admin["services"][0]["pools"][0];
    assert_eq!(pool["pool"], "default");
    assert_eq!(pool["client"]["endpoints"][0]["address"], addr.to_string());
    assert_eq!(pool["client"]["endpoints"][0]["state"], "ready");
    assert!(
        pool["client"]["retryBudget"]["availableRetries"].is_number(),
        "{admin}"
    );
    assert_eq!(admin["routeTable"]["generation"], 1);
    assert!(
        gw.client
            .get(gw.url("/admin/status"))
            .send()
            .await
            .expect("get")
            .status()
            == 401,
        "the admin status is not on the public listener"
    );

    let metrics = gw
        .client
        .get(gw.admin_url("/metrics"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    for name in [
        "gateway_requests_total{route=\"/reference\",class=\"2xx\"}",
        "gateway_auth_failures_total{code=\"missing_token\"}",
        "gateway_principal_mints_total",
        "gateway_pool_weight",
        "mesh_requests_total",
        "tis_auth_jwks_state",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    let path = dir.path().join("metrics.txt");
    std::fs::write(&path, &metrics).expect("write");
    let out = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).expect("open"))
        .output()
        .expect("promtool runs (install the `prometheus` package)");
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_gateway_starts_with_the_instances_of_its_registry_file_and_ignores_a_broken_one() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("seeded").await;
    let token = idp.token();
    let with_file = |text: &str| {
        let file = dir.path().join("registry.json");
        std::fs::write(&file, text).expect("registry file");
        let mut cfg = config(&idp, &dir, vec![]);
        cfg.services
            .get_mut("reference")
            .expect("service")
            .discovery = tis_gateway::DiscoveryConfig::Registry { name: None };
        cfg.registry_file = Some(file);
        cfg
    };

    // Routed from the first request on: no announcement needed.
    let gw = Gateway::start(with_file(&format!("{{\"reference\": [\"{addr}\"]}}"))).await;
    let res = gw.get("/reference/echo", &token).await;
    assert_eq!(res.status(), 200, "{}", error_code(res).await);
    drop(gw);

    // A file that is not the expected JSON starts an empty registry, not a failed gateway.
    let gw = Gateway::start(with_file("{not json")).await;
    let res = gw.get("/reference/echo", &token).await;
    assert_eq!(error_code(res).await, "no_healthy_endpoints");
}

#[tokio::test]
async fn admin_writes_need_the_admin_token_and_reads_stay_open() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("admin.token");
    let secret = "7f3c0a9e5b1d4c2a8e6f0b3d9a7c5e1f";
    write(&token_file, &format!("{secret}\n"));
    let mut cfg = config(&idp, &dir, vec![]);
    cfg.admin_token_file = Some(token_file);
    let gw = Gateway::start(cfg).await;
    let url = gw.admin_url("/admin/registry/reference/intruder-1");
    let body = serde_json::json!({"addr": "127.0.0.1:9"});

    let none = gw.client.put(&url).json(&body).send().await.expect("put");
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_code(none).await, "missing_token");
    let wrong = gw
        .client
        .put(&url)
        .bearer_auth("7f3c0a9e5b1d4c2a8e6f0b3d9a7c5e1e")
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(wrong.status(), 401);
    assert_eq!(error_code(wrong).await, "invalid_admin_token");
    let reload = gw
        .client
        .post(gw.admin_url("/admin/routes/reload"))
        .send()
        .await
        .expect("post");
    assert_eq!(reload.status(), 401, "a route reload is a write too");
    assert!(
        gw.json(gw.admin_url("/admin/registry")).await["reference"].is_null(),
        "nothing was registered"
    );

    // Reads need nothing: the registry, status, metrics, health.
    for path in [
        "/admin/registry",
        "/admin/status",
        "/metrics",
        "/health/ready",
    ] {
        let res = gw.client.get(gw.admin_url(path)).send().await.expect("get");
        assert_eq!(res.status(), 200, "{path}");
    }

    let right = gw
        .client
        .put(&url)
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(right.status(), 201);
    let list = gw.json(gw.admin_url("/admin/registry")).await;
    assert_eq!(list["reference"]["intruder-1"], "127.0.0.1:9");
}
