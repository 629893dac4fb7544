use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_database_outage_is_503_and_not_ready_and_recovers_without_a_restart() {
    let cluster =
        tokio::task::spawn_blocking(|| tis_testkit::pg::PgCluster::start(Default::default()))
            .await
            .expect("join")
            .expect("PostgreSQL is required");
    cluster
        .create_database("reference")
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(cluster.primary.url("reference"));
    let app = start(Backend::Postgres, cfg, dir).await;
    app.bulk("titles", json!([{"code": "DR", "label": "Dr"}]))
        .await;

    cluster.primary.stop().expect("stop PostgreSQL");
    app.wait_ready(false).await;
    let (status, code, body) = error_code(app.get("/reference/api/titles").await).await;
    assert_eq!(
        (status, code.as_str()),
        (503, "database_unavailable"),
        "{body}"
    );

    cluster.primary.start().expect("start PostgreSQL");
    app.wait_ready(true).await;
    let client = app.client.clone();
    let url = app.url("/reference/api/titles");
    let list = tis_testkit::wait::until(
        "reads again",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || {
            let client = client.clone();
            let url = url.clone();
            async move {
                let res = client
                    .get(&url)
                    .header("TIS-Principal", reader())
                    .send()
                    .await
                    .ok()?;
                (res.status() == 200).then_some(())?;
                res.json::<serde_json::Value>().await.ok()
            }
        },
    )
    .await
    .expect("recovered");
    assert_eq!(list[0]["code"], "DR");
}
