//! TCS on PostgreSQL with a streaming replica, as production runs it: a change is read back at
//! once (read-your-writes, `TIS-Consistency`), reads go on from the replica while the primary
//! is down, and writes then fail fast and clearly (503 `db-read-only`), never half-written.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tis_tcs::TcsConfig;

use crate::helpers::*;

/// TCS on `cluster`'s `tcs` database with `people` demo trainees: writes to the primary,
/// reads from the replica once it has caught up.
async fn spawn_on_cluster(cluster: &tis_testkit::pg::PgCluster, people: usize) -> TestApp {
    let mut cfg: TcsConfig = tis_service_kit::testing::test_config(cluster.primary.url("tcs"));
    cfg.database.replicas = cluster.replicas.iter().map(|r| r.url("tcs")).collect();
    cfg.reference.discovery = tis_tcs::config::DiscoveryConfig::Static { addrs: Vec::new() };
    let app = tis_tcs::build(&cfg).await.expect("build");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = TestApp::run(Backend::Postgres, "tcs", app, dir).await;
    tis_tcs::demo::seed_with(&app.db, people)
        .await
        .expect("demo data");
    let db = app.db.clone();
    tis_testkit::wait::until(
        "the replica eligible for reads and caught up with the demo data",
        // Seconds when quiet; a 2-core machine building other crates has taken more than 30.
        Duration::from_secs(90),
        Duration::from_millis(20),
        || {
            let s = db.status();
            async move {
                let caught_up = s.nodes[1..].iter().all(|n| n.lag_bytes == Some(0));
                let eligible = s.nodes.iter().filter(|n| n.eligible_for_reads).count();
                (caught_up && eligible == 1).then_some(())
            }
        },
    )
    .await
    .expect("replica ready");
    app
}

async fn send(
    app: &TestApp,
    who: &Caller,
    method: Method,
    path: &str,
    body: Option<&Value>,
    consistency: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.request(method, path, Some(&who.token()));
    if let Some(b) = body {
        req = req.json(b);
    }
    if let Some(c) = consistency {
        req = req.header("tis-consistency", c);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_read_back_at_once_reads_survive_the_primary_and_writes_then_fail_clearly() {
    let cluster = tokio::task::spawn_blocking(|| {
        tis_testkit::pg::PgCluster::start(tis_testkit::pg::ClusterOptions {
            replicas: 1,
            synchronous: false,
        })
    })
    .await
    .expect("join")
    .expect("PostgreSQL is required");
    cluster.create_database("tcs").await.expect("database");
    let app = spawn_on_cluster(&cluster, 20).await;
    let etl = Caller::etl();

    // A change of name: the record and the people list read it back at once, with the
    // write's consistency token, whether the read goes to the primary or the replica.
    let (status, _, mut contact) = send(
        &app,
        &etl,
        Method::GET,
        "/tcs/api/contact-details/7",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{contact}");
    contact["surname"] = "Quennell".into();
    let (status, headers, body) = send(
        &app,
        &etl,
        Method::PUT,
        "/tcs/api/contact-details",
        Some(&contact),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = headers
        .get("tis-consistency")
        .and_then(|v| v.to_str().ok())
        .expect("a write answers with its read-your-writes token")
        .to_owned();
    for _ in 0..5 {
        let (status, _, person) = send(
            &app,
            &etl,
            Method::GET,
            "/tcs/api/people/7",
            None,
            Some(&token),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(person["contactDetails"]["surname"], "Quennell");
        let (status, _, rows) = send(
            &app,
            &etl,
            Method::GET,
            "/tcs/api/people?searchQuery=quennell",
            None,
            Some(&token),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(rows[0]["id"], 7, "the list row follows the change: {rows}");
    }

    // The primary is gone: reads answer from the replica; a write is a fast, clear 503
    // (db-read-only), and nothing of it is stored.
    tokio::task::block_in_place(|| cluster.primary.stop()).expect("stop the primary");
    let (status, _, person) = send(&app, &etl, Method::GET, "/tcs/api/people/7", None, None).await;
    assert_eq!(status, 200, "a read with the primary stopped: {person}");
    assert_eq!(person["contactDetails"]["surname"], "Quennell");
    let (status, _, rows) = send(
        &app,
        &etl,
        Method::GET,
        "/tcs/api/people?size=5",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    contact["surname"] = "Never".into();
    let started = std::time::Instant::now();
    let (status, headers, body) = send(
        &app,
        &etl,
        Method::PUT,
        "/tcs/api/contact-details",
        Some(&contact),
        None,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered within the store's deadline, not hung"
    );
    let degraded = headers
        .get("tis-degraded")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(degraded.contains("db-read-only"), "{headers:?}");
    let (_, _, person) = send(&app, &etl, Method::GET, "/tcs/api/people/7", None, None).await;
    assert_eq!(person["contactDetails"]["surname"], "Quennell");
}
