//! Nothing acknowledged is lost, nothing is written twice: a synchronous standby, a primary
//! killed with `kill -9` in the middle of a stream of writes, a manual promotion, and every
//! failed write retried with its `Idempotency-Key`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::helpers::*;

const WRITERS: usize = 4;
const EACH: usize = 60;

/// What one acknowledged write said.
#[derive(Debug)]
struct Acked {
    code: String,
    id: i64,
    attempts: usize,
    replayed: bool,
}

/// Writes `EACH` tariff rates (a table with no unique column: only the key prevents a
/// duplicate), retrying each until it is acknowledged.
async fn writer(app_url: String, w: usize, acked: Arc<AtomicUsize>) -> Vec<Acked> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut out = Vec::with_capacity(EACH);
    for n in 0..EACH {
        let code = format!("W{w}-{n}");
        let key = uuid::Uuid::new_v4().to_string();
        let body = json!({"code": code, "tariffRate": "1"});
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let sent = client
                .post(format!("{app_url}/reference/api/tariff-rates"))
                .header("TIS-Principal", admin())
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
                .await;
            if let Ok(res) = sent
                && res.status().is_success()
            {
                let replayed = res.headers().contains_key("idempotent-replayed");
                let v: Value = res.json().await.expect("json");
                out.push(Acked {
                    code: code.clone(),
                    id: v["id"].as_i64().expect("id"),
                    attempts,
                    replayed,
                });
                acked.fetch_add(1, Ordering::Relaxed);
                break;
            }
            assert!(Instant::now() < deadline, "{code} was never acknowledged");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_or_duplicated_when_the_primary_is_killed_mid_stream() {
    let cluster = cluster(2, true).await;
    let app = spawn_on_cluster(&cluster, |_| {}).await;
    let acked = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(app.url(""), w, acked.clone())))
        .collect();

    let count = acked.clone();
    tis_testkit::wait::until(
        "writes under way",
        Duration::from_secs(30),
        Duration::from_millis(5),
        || {
            let n = count.load(Ordering::Relaxed);
            async move { (n >= WRITERS * EACH / 3).then_some(()) }
        },
    )
    .await
    .expect("writes under way");
    let at_kill = acked.load(Ordering::Relaxed);
    tokio::task::block_in_place(|| cluster.primary.kill()).expect("kill -9 the primary");
    tokio::task::block_in_place(|| cluster.replicas[0].promote())
        .expect("promote the synchronous standby");

    let mut all = Vec::new();
    for w in writers {
        all.extend(w.await.expect("writer"));
    }
    assert_eq!(
        all.len(),
        WRITERS * EACH,
        "every write acknowledged in the end"
    );
    let retried = all.iter().filter(|a| a.attempts > 1).count();
    let replayed = all.iter().filter(|a| a.replayed).count();
    println!(
        "{} writes, {at_kill} acknowledged before the kill, {retried} retried, {replayed} answered from the idempotency store",
        all.len()
    );
    assert!(retried > 0, "the kill hit writes in flight");

    // On the new primary: every acknowledged write exactly once, with the id it was told.
    let pool = sqlx::PgPool::connect(&cluster.replicas[0].url("reference"))
        .await
        .expect("connect to the new primary");
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT code, id FROM tariff_rate")
        .fetch_all(&pool)
        .await
        .expect("select");
    let mut stored: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (code, id) in rows {
        stored.entry(code).or_default().push(id);
    }
    for a in &all {
        assert_eq!(
            stored.get(&a.code).map(Vec::as_slice),
            Some(&[a.id][..]),
            "{} acknowledged as id {} must be stored exactly once",
            a.code,
            a.id
        );
    }
    assert_eq!(
        stored.len(),
        all.len(),
        "nothing but the acknowledged writes"
    );
}
