//! Profile on PostgreSQL with a replica: `/userinfo`, on the path of every first request at
//! the gateway, keeps answering while the primary is down; writes fail fast and clearly.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::helpers::*;

/// Profile on `cluster`'s `profile` database (see [`cluster`]), with its demo data: writes
/// to the primary, reads from the replicas, once every replica may serve them.
pub async fn spawn_on_cluster(cluster: &tis_testkit::pg::PgCluster) -> TestApp {
    let idp = idp().await;
    let mut cfg = config(cluster.primary.url("profile"), &idp, Vec::new());
    cfg.database.replicas = cluster.replicas.iter().map(|r| r.url("profile")).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let app = start(Backend::Postgres, cfg, idp, dir).await;
    let db = app.db.clone();
    let want = cluster.replicas.len();
    tis_testkit::wait::until(
        "every replica eligible for reads",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || {
            let s = db.status();
            async move {
                let caught_up = s.nodes[1..].iter().all(|n| n.lag_bytes == Some(0));
                let eligible = s.nodes.iter().filter(|n| n.eligible_for_reads).count();
                (caught_up && eligible == want).then_some(())
            }
        },
    )
    .await
    .expect("replicas eligible and caught up with the demo data");
    app
}

/// A throwaway primary with `replicas` streaming replicas and a `profile` database.
pub async fn cluster(replicas: usize) -> tis_testkit::pg::PgCluster {
    let cluster = tokio::task::spawn_blocking(move || {
        tis_testkit::pg::PgCluster::start(tis_testkit::pg::ClusterOptions {
            replicas,
            synchronous: false,
        })
    })
    .await
    .expect("join")
    .expect("PostgreSQL is required");
    cluster.create_database("profile").await.expect("database");
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_answers_from_the_replica_with_the_primary_stopped_and_writes_get_503() {
    let cluster = cluster(1).await;
    let app = spawn_on_cluster(&cluster).await;

    // tis-store's middleware is on: a write answers with a read-your-writes token.
    let role = json!({"name": "Curriculum Reader", "permissions": [{"name": "curriculum:view"}]});
    let res = app.send(Method::POST, "/profile/api/roles", &role).await;
    assert_eq!(res.status(), 201);
    assert!(
        res.headers().contains_key("tis-consistency"),
        "{:?}",
        res.headers()
    );

    tokio::task::block_in_place(|| cluster.primary.stop()).expect("stop the primary");

    let res = app.userinfo_response("admin").await;
    assert_eq!(res.status(), 200, "/userinfo with the primary stopped");
    let profile: Value = res.json().await.expect("json");
    assert_eq!(profile["userName"], "admin");
    assert!(
        !profile["permissions"]
            .as_array()
            .expect("permissions")
            .is_empty()
    );

    let started = Instant::now();
    let res = app
        .send(
            Method::POST,
            "/profile/api/roles",
            &json!({"name": "During"}),
        )
        .await;
    let took = started.elapsed();
    let retry_after = res.headers().contains_key("retry-after");
    let (status, code, body) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (503, "primary_unavailable"),
        "{body}"
    );
    assert!(retry_after, "Retry-After");
    assert!(took <= Duration::from_secs(2), "the write took {took:?}");

    // Once the outage is known, answers say what is degraded, and reads still go on.
    let res = app.userinfo_response("admin").await;
    assert_eq!(res.status(), 200);
    let degraded = res
        .headers()
        .get("tis-degraded")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        degraded.contains("db-read-only"),
        "TIS-Degraded: {degraded}"
    );
    let res = app
        .request(
            Method::GET,
            "/profile/api/roles/Curriculum%20Reader",
            Some(&admin()),
        )
        .send()
        .await
        .expect("GET");
    assert_eq!(
        res.status(),
        200,
        "the role written before the outage is read"
    );
}
