//! Automatic failover with Patroni + etcd + HAProxy, as production runs outside Kubernetes:
//! the service is configured with HAProxy's primary port as `url` and its replica port as the
//! one replica, and finds its way back to writing by itself after the leader dies.
//! Needs Debian's `patroni etcd-server etcd-client haproxy`: without them this test fails.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_patroni_and_haproxy_writes_resume_by_themselves_after_the_leader_is_killed() {
    let mut cluster =
        tokio::task::spawn_blocking(|| tis_testkit::patroni::PatroniCluster::start(2))
            .await
            .expect("join")
            .expect("Patroni, etcd and HAProxy are required for this test");
    cluster
        .create_database("reference")
        .await
        .expect("database");
    let mut cfg = config(cluster.primary_url("reference"));
    cfg.database.replicas = vec![cluster.replica_url("reference")];
    let app = start(
        Backend::Postgres,
        cfg,
        tempfile::tempdir().expect("tempdir"),
    )
    .await;
    let res = app
        .send(
            Method::POST,
            "/reference/api/titles",
            &json!({"code": "BEFORE", "label": "Before"}),
        )
        .await;
    assert_eq!(res.status(), 201);

    let leader = cluster.leader().expect("a leader");
    tokio::task::block_in_place(|| cluster.kill_member(leader)).expect("kill the leader's host");
    let killed = Instant::now();

    // A write during the outage fails fast.
    let started = Instant::now();
    let res = app
        .send(
            Method::POST,
            "/reference/api/titles",
            &json!({"code": "LOST", "label": "Lost"}),
        )
        .await;
    let took = started.elapsed();
    let (status, code, body) = error_code(res).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        code == "primary_unavailable" || code == "database_unavailable",
        "{body}"
    );
    assert!(
        took <= Duration::from_secs(1),
        "the failed write took {took:?}"
    );

    // The same write, retried with one key until Patroni has promoted the replica.
    let client = app.client.clone();
    let url = app.url("/reference/api/titles");
    tis_testkit::wait::until(
        "a write after Patroni's failover",
        Duration::from_secs(90),
        Duration::from_millis(100),
        || {
            let client = client.clone();
            let url = url.clone();
            async move {
                let res = client
                    .post(&url)
                    .header("TIS-Principal", admin())
                    .header("Idempotency-Key", "after-failover")
                    .json(&json!({"code": "AFTER", "label": "After"}))
                    .send()
                    .await
                    .ok()?;
                (res.status() == 201).then_some(())
            }
        },
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e}\n{}",
            cluster
                .members
                .iter()
                .map(|m| m.log())
                .collect::<Vec<_>>()
                .join("\n---\n")
        )
    });
    let failover = killed.elapsed();
    println!("Patroni: first successful write {failover:?} after kill -9 of the leader");
    let list = app.get_json("/reference/api/titles?size=50").await;
    let codes: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["code"].as_str())
        .collect();
    assert_eq!(codes, ["BEFORE", "AFTER"]);
}
