use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use crate::support::*;

#[tokio::test]
async fn a_200ms_budget_to_a_slow_upstream_ends_near_200ms_with_504_deadline_exceeded() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;
    let token = idp.token();
    assert_eq!(
        gw.get("/reference/echo", &token).await.status(),
        200,
        "warm-up"
    );

    let started = Instant::now();
    let res = gw
        .client
        .get(gw.url("/reference/slow?ms=3000"))
        .bearer_auth(&token)
        .header("x-request-timeout", "200ms")
        .send()
        .await
        .expect("get");
    let took = started.elapsed();
    assert_eq!(res.status(), 504);
    assert_eq!(error_code(res).await, "deadline_exceeded");
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_millis(600),
        "took {took:?}"
    );
    let sent: u64 = up.last()["tis-deadline"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("ms");
    assert!(
        sent <= 200 && sent > 100,
        "the upstream saw TIS-Deadline {sent}"
    );
}

#[tokio::test]
async fn an_unparseable_request_timeout_is_a_400() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;
    let res = gw
        .client
        .get(gw.url("/reference/echo"))
        .bearer_auth(idp.token())
        .header("x-request-timeout", "whenever")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 400);
    assert_eq!(error_code(res).await, "invalid_request_timeout");
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_shed_at_once_with_503_overloaded() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, addr) = Upstream::start("a").await;
    let mut cfg = config(&idp, &dir, vec![addr]);
    cfg.max_concurrency = 1;
    let gw = Gateway::start(cfg).await;
    let token = idp.token();
    let slow = {
        let (client, url, token) = (
            gw.client.clone(),
            gw.url("/reference/slow?ms=1500"),
            token.clone(),
        );
        tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status())
        })
    };
    eventually(
        "the slow request to reach the upstream",
        Duration::from_secs(5),
        || {
            let up = up.clone();
            async move { up.hits() == 1 }
        },
    )
    .await;
    let started = Instant::now();
    let shed = gw.get("/reference/echo", &token).await;
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "shedding must be fast"
    );
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    assert_eq!(error_code(shed).await, "overloaded");
    assert_eq!(slow.await.expect("join").expect("slow request"), 200);
    assert_eq!(
        gw.get("/reference/echo", &token).await.status(),
        200,
        "the permit came back"
    );
}

#[tokio::test]
async fn with_every_instance_down_the_answer_is_503_no_healthy_endpoints_quickly() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    }; // closed again: connections are refused
    let gw = Gateway::start(config(&idp, &dir, vec![dead])).await;
    let token = idp.token();
    eventually(
        "the dead endpoint to be ejected",
        Duration::from_secs(5),
        || {
            let (gw, token) = (&gw, &token);
            async move {
                let res = gw.get("/reference/echo", token).await;
                res.status() == 503 && error_code(res).await == "no_healthy_endpoints"
            }
        },
    )
    .await;
    let started = Instant::now();
    let res = gw.get("/reference/echo", &token).await;
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(error_code(res).await, "no_healthy_endpoints");
    let status = gw.json(gw.url("/api/status")).await;
    assert_eq!(status["capabilities"][1]["status"], "down");
}

#[tokio::test]
async fn the_status_tells_a_read_only_database_from_health_checks_without_traffic() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;
    let writes = || async {
        let status = gw.json(gw.url("/api/status")).await;
        let caps = status["capabilities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        caps.into_iter()
            .find(|c| c["id"] == "writes")
            .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(writes().await, "ok");
    up.read_only.store(true, Ordering::SeqCst);
    eventually("writes degraded", Duration::from_secs(5), || async {
        writes().await == "degraded"
    })
    .await;
    up.read_only.store(false, Ordering::SeqCst);
    eventually("writes ok again", Duration::from_secs(5), || async {
        writes().await == "ok"
    })
    .await;
    assert_eq!(up.hits(), 0, "no request went through the gateway");
}
