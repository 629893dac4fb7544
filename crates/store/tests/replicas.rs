//! tis-store over a real primary and two streaming replicas: where statements go, the lag
//! bound, the status snapshot and the metrics.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use tis_core::Health;
use tis_store::monitor::{self, Monitor};
use tis_store::{Consistency, Db, DbConfig, Sql};
use tis_testkit::pg::{ClusterOptions, PgCluster};

async fn cluster() -> PgCluster {
    tokio::task::spawn_blocking(|| {
        PgCluster::start(ClusterOptions {
            replicas: 2,
            synchronous: false,
        })
    })
    .await
    .expect("join")
    .expect("PostgreSQL is required")
}

fn config(cluster: &PgCluster) -> DbConfig {
    DbConfig {
        url: cluster.primary.url("postgres"),
        replicas: cluster.replicas.iter().map(|r| r.url("postgres")).collect(),
        health_interval: Duration::from_millis(100),
        ..DbConfig::default()
    }
}

async fn monitored(cfg: &DbConfig) -> (Db, Monitor) {
    let db = Db::connect(cfg).expect("connect");
    let monitor = monitor::start(db.clone(), Health::new("test"), cfg.health_interval, None);
    (db, monitor)
}

async fn until_eligible(db: &Db, want: &[bool]) {
    let want = want.to_vec();
    tis_testkit::wait::until(
        "replica eligibility",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || {
            let got: Vec<bool> = db
                .status()
                .nodes
                .iter()
                .skip(1)
                .map(|n| n.eligible_for_reads)
                .collect();
            let want = want.clone();
            async move { (got == want).then_some(()) }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}: {:#?}", db.status()));
}

fn reads(db: &Db) -> Vec<u64> {
    db.status().nodes.iter().map(|n| n.reads).collect()
}

#[tokio::test]
async fn reads_go_round_robin_to_the_replicas_and_writes_to_the_primary() {
    let cluster = cluster().await;
    let (db, _monitor) = monitored(&config(&cluster)).await;
    until_eligible(&db, &[true, true]).await;
    db.write()
        .execute(Sql::new("CREATE TABLE t (n INTEGER)"))
        .await
        .expect("create");
    for _ in 0..20 {
        let row = db
            .read()
            .fetch_one(Sql::new("SELECT pg_is_in_recovery() AS standby"))
            .await
            .expect("read");
        assert_eq!(row["standby"], true, "a plain read is served by a standby");
    }
    assert_eq!(reads(&db), [0, 10, 10], "round-robin over both replicas");
    let row = db
        .reader(Consistency::Primary)
        .fetch_one(Sql::new("SELECT pg_is_in_recovery() AS standby"))
        .await
        .expect("read");
    assert_eq!(
        row["standby"], false,
        "Consistency::Primary reads the primary"
    );

    let status = db.status();
    assert_eq!(
        status.primary.as_deref(),
        Some(cluster.primary.endpoint().as_str())
    );
    assert!(status.writes_available && status.reads_available);
    assert_eq!(status.nodes[0].writes, 1);
    assert_eq!(status.nodes[1].in_recovery, Some(true));
    let json = serde_json::to_value(&status).expect("serialise");
    assert_eq!(json["nodes"][1]["eligibleForReads"], true, "{json}");
}

#[tokio::test]
async fn a_replica_beyond_the_lag_bound_gets_no_reads_and_a_token_it_has_not_reached_goes_elsewhere()
 {
    let cluster = cluster().await;
    let slow = &cluster.replicas[0];
    slow.configure("recovery_min_apply_delay = '3s'")
        .expect("configure");
    slow.reload().expect("reload");
    let cfg = DbConfig {
        max_replica_lag: Duration::from_secs(1),
        ..config(&cluster)
    };
    let (db, _monitor) = monitored(&cfg).await;
    db.write()
        .execute(Sql::new("CREATE TABLE t (n INTEGER)"))
        .await
        .expect("create");
    // Keep the primary committing, so the held-back replica's lag shows and grows.
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            loop {
                let _ = db
                    .write()
                    .execute(Sql::new("INSERT INTO t VALUES (1)"))
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    until_eligible(&db, &[false, true]).await;
    let before = reads(&db);
    for _ in 0..10 {
        db.read()
            .fetch_all(Sql::new("SELECT 1 AS one"))
            .await
            .expect("read");
    }
    let after = reads(&db);
    assert_eq!(after[1], before[1], "the lagging replica got no reads");
    assert_eq!(after[2] - before[2], 10, "the other replica got them all");

    // A token just written: only a node that has replayed it may answer.
    db.write()
        .execute(Sql::new("INSERT INTO t VALUES (2)"))
        .await
        .expect("insert");
    let lsn = db
        .current_lsn()
        .await
        .expect("lsn")
        .expect("postgres has an lsn");
    let row = db
        .reader(Consistency::AtLeast(lsn))
        .fetch_one(Sql::new("SELECT COUNT(*) AS n FROM t WHERE n = 2"))
        .await
        .expect("read");
    assert_eq!(row["n"], 1, "read-your-writes");
    writer.abort();
}

#[tokio::test]
async fn the_database_metrics_pass_promtool() {
    let cluster = cluster().await;
    let (db, _monitor) = monitored(&config(&cluster)).await;
    until_eligible(&db, &[true, true]).await;
    db.read()
        .fetch_all(Sql::new("SELECT 1 AS one"))
        .await
        .expect("read");
    let text = tis_core::metrics::render();
    for name in [
        "db_node_up",
        "db_node_in_recovery",
        "db_node_primary",
        "db_replica_lag_bytes",
        "db_replica_lag_seconds",
        "db_replica_eligible",
        "db_writes_available",
        "db_routed_statements_total",
        "db_node_pool_connections",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
    }
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is required (Debian package `prometheus`)");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = promtool.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
