//! tis-store over a real primary and streaming replicas: where statements go, the lag
//! bound, replicas that lag within it (look-ups by key, the start-up floor, one replica per
//! request), the status snapshot and the metrics.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use tis_core::{CheckStatus, Health};
use tis_store::monitor::{self, Monitor};
use tis_store::scope::RequestScope;
use tis_store::{Consistency, Db, DbConfig, Migrations, Sql};
use tis_testkit::pg::{ClusterOptions, PgCluster};
use tokio::time::Instant;

static MIGRATIONS: LazyLock<Migrations> = LazyLock::new(|| Migrations {
    sqlite: sqlx::migrate!("tests/migrations/sqlite"),
    postgres: sqlx::migrate!("tests/migrations/postgres"),
});

async fn cluster() -> PgCluster {
    cluster_of(2).await
}

async fn cluster_of(replicas: usize) -> PgCluster {
    tokio::task::spawn_blocking(move || {
        PgCluster::start(ClusterOptions {
            replicas,
            synchronous: false,
        })
    })
    .await
    .expect("join")
    .expect("PostgreSQL is required")
}

/// Holds a replica's replay `delay` behind the primary (within the lag bound of the tests
/// that use it, so it keeps serving reads).
fn hold_back(cluster: &PgCluster, replica: usize, delay: &str) {
    let r = &cluster.replicas[replica];
    r.configure(&format!("recovery_min_apply_delay = '{delay}'"))
        .expect("configure");
    r.reload().expect("reload");
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

/// What the documented alerts watch (`db_writes_available == 0`, `increase(db_primary_changes_total)`)
/// exists at zero as soon as a cluster is configured: before any probe round, and whether or
/// not a primary ever answers (here nothing listens at all).
#[tokio::test]
async fn the_alerted_database_series_exist_at_zero_before_any_primary_answers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let cfg = DbConfig {
        url: format!("postgres://postgres@127.0.0.1:{port}/nothing"),
        ..DbConfig::default()
    };
    let _db = Db::connect(&cfg).expect("connecting is lazy");
    let text = tis_core::metrics::render();
    for series in [
        format!("db_writes_available{{cluster=\"127.0.0.1:{port}\"}} 0"),
        format!("db_primary_changes_total{{cluster=\"127.0.0.1:{port}\"}} 0"),
    ] {
        assert!(
            text.lines().any(|l| l == series),
            "`{series}` missing:\n{text}"
        );
    }
}

/// A lag bound of 30 s: a replica held a second or two back serves reads while it lags.
fn lagging_config(cluster: &PgCluster) -> DbConfig {
    DbConfig {
        max_replica_lag: Duration::from_secs(30),
        ..config(cluster)
    }
}

#[tokio::test]
async fn a_row_a_lagging_replica_has_not_replayed_is_found_on_the_primary_not_reported_missing() {
    let cluster = cluster_of(1).await;
    hold_back(&cluster, 0, "2s");
    let (db, _monitor) = monitored(&lagging_config(&cluster)).await;
    until_eligible(&db, &[true]).await;
    db.write()
        .execute(Sql::new("CREATE TABLE person (id INTEGER PRIMARY KEY)"))
        .await
        .expect("create");
    let behind = db.await_replicas().await.expect("await replicas");
    assert!(
        behind.is_empty(),
        "the replica replayed the table: {behind:?}"
    );
    until_eligible(&db, &[true]).await;

    db.write()
        .execute(Sql::new("INSERT INTO person VALUES (7)"))
        .await
        .expect("insert");
    let by_key = || {
        let mut q = Sql::new("SELECT id AS \"id\" FROM person WHERE id = ");
        q.bind(7_i64);
        q
    };
    // The control: a plain read on the replica does not see the row yet.
    let before = reads(&db);
    let plain = db.read().fetch_all(by_key()).await.expect("read");
    assert!(plain.is_empty(), "the replica is behind: {plain:?}");
    assert_eq!(
        reads(&db)[1] - before[1],
        1,
        "the control read went to the replica"
    );
    // A look-up by key is not believed when the replica misses: the primary has the row.
    let found = db.read().fetch_optional(by_key()).await.expect("read");
    assert_eq!(found.map(|r| r["id"].clone()), Some(serde_json::json!(7)));
    // A look-up of a row that exists nowhere costs one more query on the primary, no more.
    let before = reads(&db);
    let mut q = Sql::new("SELECT id AS \"id\" FROM person WHERE id = ");
    q.bind(8_i64);
    assert!(db.read().fetch_optional(q).await.expect("read").is_none());
    let after = reads(&db);
    assert_eq!((after[0] - before[0], after[1] - before[1]), (1, 1));
    // Several keys: fewer rows than keys from the replica is confirmed on the primary too.
    db.write()
        .execute(Sql::new("INSERT INTO person VALUES (9)"))
        .await
        .expect("insert");
    let mut q = Sql::new("SELECT id AS \"id\" FROM person WHERE id IN ");
    q.bind_list([7_i64, 9_i64]);
    let rows = db.read().fetch_keyed(q, 2).await.expect("read");
    assert_eq!(rows.len(), 2, "{rows:?}");

    // In a request, the read after a confirmed miss goes to the primary too (it must not see
    // an older state than the one it just saw).
    db.write()
        .execute(Sql::new("INSERT INTO person VALUES (10)"))
        .await
        .expect("insert");
    let scope = RequestScope::new(Consistency::Any);
    let db2 = db.clone();
    let before = reads(&db);
    scope
        .run(async move {
            let mut q = Sql::new("SELECT id AS \"id\" FROM person WHERE id = ");
            q.bind(10_i64);
            assert!(db2.read().fetch_optional(q).await.expect("read").is_some());
            let all = db2
                .read()
                .fetch_all(Sql::new("SELECT id AS \"id\" FROM person"))
                .await
                .expect("read");
            assert_eq!(all.len(), 3, "the list sees what the look-up saw: {all:?}");
        })
        .await;
    let after = reads(&db);
    assert_eq!(
        (after[0] - before[0], after[1] - before[1]),
        (2, 1),
        "one miss on the replica, then the primary twice"
    );
}

#[tokio::test]
async fn the_reads_of_one_request_stay_on_one_replica() {
    let cluster = cluster().await;
    let (db, _monitor) = monitored(&config(&cluster)).await;
    until_eligible(&db, &[true, true]).await;
    for _ in 0..4 {
        let before = reads(&db);
        let scope = RequestScope::new(Consistency::Any);
        let db2 = db.clone();
        scope
            .run(async move {
                for _ in 0..10 {
                    db2.read()
                        .fetch_all(Sql::new("SELECT 1 AS one"))
                        .await
                        .expect("read");
                }
            })
            .await;
        let after = reads(&db);
        let mut delta: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        delta.sort_unstable();
        assert_eq!(delta, [0, 0, 10], "every read of the request on one node");
    }
    // Requests still spread over both replicas.
    let before = reads(&db);
    for _ in 0..10 {
        let db2 = db.clone();
        RequestScope::new(Consistency::Any)
            .run(async move {
                db2.read()
                    .fetch_all(Sql::new("SELECT 1 AS one"))
                    .await
                    .expect("read");
            })
            .await;
    }
    let after = reads(&db);
    assert_eq!((after[1] - before[1], after[2] - before[2]), (5, 5));
}

#[tokio::test]
async fn an_instance_is_ready_only_once_its_replicas_have_replayed_its_migrations() {
    let cluster = cluster_of(1).await;
    hold_back(&cluster, 0, "1500ms");
    let cfg = lagging_config(&cluster);
    let db = Db::connect(&cfg).expect("connect");
    let health = Health::new("test");
    let _monitor = monitor::start(
        db.clone(),
        health.clone(),
        cfg.health_interval,
        Some(&*MIGRATIONS),
    );
    let started = Instant::now();
    let mut waited_for_replica = false;
    let up = tis_testkit::wait::until(
        "the database check up",
        Duration::from_secs(30),
        Duration::from_millis(10),
        || {
            let check = health.check(monitor::CHECK);
            if let Some(c) = &check
                && c.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("to replay the migrations"))
            {
                waited_for_replica = true;
            }
            async move { check.filter(|c| c.status == CheckStatus::Up).map(|_| ()) }
        },
    )
    .await;
    up.unwrap_or_else(|e| panic!("{e}: {:#?}", db.status()));
    assert!(
        waited_for_replica,
        "readiness said it waited for the replica"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "up after {:?}, before the held-back replica could replay the migrations",
        started.elapsed()
    );
    // Up means the replica has the schema: a read there finds the table.
    let mut conn =
        <sqlx::PgConnection as sqlx::Connection>::connect(&cluster.replicas[0].url("postgres"))
            .await
            .expect("replica");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM widget")
        .fetch_one(&mut conn)
        .await
        .expect("the replica has the migrated table");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn after_await_replicas_no_replica_behind_the_floor_serves_a_read() {
    let cluster = cluster_of(1).await;
    hold_back(&cluster, 0, "1s");
    let (db, _monitor) = monitored(&lagging_config(&cluster)).await;
    until_eligible(&db, &[true]).await;
    db.write()
        .execute(Sql::new("CREATE TABLE seeded (n INTEGER)"))
        .await
        .expect("create");
    let waiting = tokio::spawn({
        let db = db.clone();
        async move {
            let started = Instant::now();
            let behind = db.await_replicas().await.expect("await");
            (behind, started.elapsed())
        }
    });
    // While it waits, the replica (well within the lag bound) serves no read: it has no
    // `seeded` table yet, and the primary answers instead.
    until_eligible(&db, &[false]).await;
    let before = reads(&db);
    db.read()
        .fetch_all(Sql::new("SELECT COUNT(*) AS n FROM seeded"))
        .await
        .expect("read on the primary");
    let after = reads(&db);
    assert_eq!((after[0] - before[0], after[1] - before[1]), (1, 0));
    let (behind, took) = waiting.await.expect("join");
    assert!(behind.is_empty(), "{behind:?}");
    assert!(took >= Duration::from_millis(700), "waited {took:?}");
    until_eligible(&db, &[true]).await;
    let before = reads(&db);
    db.read()
        .fetch_all(Sql::new("SELECT COUNT(*) AS n FROM seeded"))
        .await
        .expect("the replica has it now");
    assert_eq!(reads(&db)[1] - before[1], 1, "and serves reads again");
}

#[tokio::test]
async fn a_replica_that_does_not_replay_in_time_stays_out_of_reads_until_it_catches_up() {
    let cluster = cluster_of(1).await;
    let (db, _monitor) = monitored(&DbConfig {
        max_replica_lag: Duration::from_secs(1),
        ..config(&cluster)
    })
    .await;
    until_eligible(&db, &[true]).await;
    let replica = cluster.replicas[0].url("postgres");
    let on_replica = |sql: &'static str| {
        let url = replica.clone();
        async move {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
                .await
                .expect("replica");
            sqlx::query(sql).execute(&mut conn).await.expect(sql);
        }
    };
    on_replica("SELECT pg_wal_replay_pause()").await;
    db.write()
        .execute(Sql::new("CREATE TABLE seeded (n INTEGER)"))
        .await
        .expect("create");
    // The wait is the lag bound (at least 1 s); then readiness goes on without the replica.
    let started = Instant::now();
    let behind = db.await_replicas().await.expect("await");
    let took = started.elapsed();
    assert_eq!(behind, [cluster.replicas[0].endpoint()], "reported behind");
    assert!(took >= Duration::from_secs(1), "gave up after {took:?}");
    let before = reads(&db);
    db.read()
        .fetch_all(Sql::new("SELECT COUNT(*) AS n FROM seeded"))
        .await
        .expect("read on the primary");
    let after = reads(&db);
    assert_eq!((after[0] - before[0], after[1] - before[1]), (1, 0));
    on_replica("SELECT pg_wal_replay_resume()").await;
    until_eligible(&db, &[true]).await;
}
