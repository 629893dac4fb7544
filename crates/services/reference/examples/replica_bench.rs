//! Benchmark: read-heavy load on the Reference service with PostgreSQL primary + 2 replicas
//! against primary-only, in one run; then failover times (manual promotion, and Patroni).
//!
//! Run through `bench/store.sh` (which builds this in release mode). It starts a throwaway
//! cluster, two service instances in this process on 127.0.0.1:0 (one configured
//! primary-only, one with the two replicas), seeds `ROWS` titles, and runs `wrk` (GET by id,
//! random ids) against each in turn, `ROUNDS` times, alternating: once with ids that exist
//! (hits) and once with ids that do not (misses, 404: a replica's miss is asked again on the
//! primary, so each costs one more statement there). Per run it reports req/s
//! and the share of statements each node served, twice: from the service's own counters
//! (`Db::status`) and from PostgreSQL's (`pg_stat_database.xact_commit` on each node; every
//! autocommit SELECT is one transaction). Then it kills the primary and measures the time
//! from `kill -9` to the first successful write, with an immediate `pg_ctl promote`, and with
//! Patroni + HAProxy.
//!
//! Arguments: `[SECONDS_PER_RUN] [CONNECTIONS] [ROUNDS]` (defaults 10, 32, 2).

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use tis_auth::principal::keyfile;
use tis_auth::{AuthenticatedBy, Clock, Principal, PrincipalSigner, UserProfile};
use tis_reference::ReferenceConfig;
use tis_store::Db;
use tokio::time::Instant;

const ROWS: usize = 1000;

struct Keys {
    signer: PrincipalSigner,
    public: String,
}

fn keys() -> Keys {
    let (private, public) = keyfile::generate_pem().expect("keys");
    let signer = PrincipalSigner::new(
        keyfile::parse_private_pem(&private).expect("private key"),
        "tis-gateway",
        Duration::from_secs(60),
        Clock::system(),
    );
    Keys { signer, public }
}

fn token(keys: &Keys, permissions: &[&str]) -> String {
    let mut profile = UserProfile::named("bench");
    profile.permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
    keys.signer
        .mint(
            &Principal::new(profile, AuthenticatedBy::Gateway),
            &["reference"],
        )
        .expect("mint")
}

fn config(keys: &Keys, url: String, replicas: Vec<String>) -> ReferenceConfig {
    let defaults = ReferenceConfig::default();
    let mut cfg = ReferenceConfig {
        principal: tis_auth::PrincipalConfig {
            trusted_keys_pem: vec![keys.public.clone()],
            ..defaults.principal.clone()
        },
        ..defaults
    };
    cfg.database.url = url;
    cfg.database.replicas = replicas;
    cfg.database.max_connections = 16;
    cfg
}

struct Running {
    addr: std::net::SocketAddr,
    db: Db,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(cfg: ReferenceConfig) -> Running {
    let app = tis_reference::build(&cfg).await.expect("build");
    let (addr, db) = (app.local_addr(), app.db());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/health/ready");
    tis_testkit::wait::until(
        "ready",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || {
            let (client, url) = (client.clone(), url.clone());
            async move { (client.get(&url).send().await.ok()?.status() == 200).then_some(()) }
        },
    )
    .await
    .expect("ready");
    Running {
        addr,
        db,
        _stop: stop,
    }
}

/// `xact_commit` of database `reference` on each node.
async fn commits(urls: &[String]) -> Vec<i64> {
    let mut out = Vec::new();
    for url in urls {
        let pool = sqlx::PgPool::connect(url).await.expect("stats connection");
        let (n,): (i64,) =
            sqlx::query_as("SELECT xact_commit FROM pg_stat_database WHERE datname = 'reference'")
                .fetch_one(&pool)
                .await
                .expect("stats");
        pool.close().await;
        out.push(n);
    }
    out
}

fn share(counts: &[u64]) -> String {
    let total: u64 = counts.iter().sum::<u64>().max(1);
    counts
        .iter()
        .map(|c| format!("{:.0}%", *c as f64 * 100.0 / total as f64))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn wrk(
    addr: std::net::SocketAddr,
    token: &str,
    script: &std::path::Path,
    secs: u64,
    conns: u64,
) -> f64 {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .args(["-H", &format!("TIS-Principal: {token}")])
        .arg(format!("http://{addr}"))
        .output()
        .expect("wrk is required (Debian package `wrk`)");
    let text = String::from_utf8_lossy(&out.stdout);
    let non2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .map(str::to_owned);
    // The miss script expects 404s; anything else (an error status, a socket error) is not.
    let misses = script.to_string_lossy().contains("miss");
    assert!(misses || non2xx.is_none(), "errors under load: {text}");
    assert!(
        !text.contains("Socket errors"),
        "socket errors under load: {text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output: {text}"))
}

async fn first_write_after(addr: std::net::SocketAddr, keys: &Keys, since: Instant) -> Duration {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    loop {
        let res = client
            .post(format!("http://{addr}/reference/api/titles"))
            .header(
                "TIS-Principal",
                token(keys, &["reference:add:modify:entities"]),
            )
            .header("Idempotency-Key", "failover-probe")
            .json(&json!({"code": "FAILOVER", "label": "after the failover"}))
            .send()
            .await;
        if res.is_ok_and(|r| r.status() == 201) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(120),
            "no write within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let secs = args.first().copied().unwrap_or(10);
    let conns = args.get(1).copied().unwrap_or(32);
    let rounds = args.get(2).copied().unwrap_or(2);
    let keys = keys();

    let cluster = tokio::task::spawn_blocking(|| {
        tis_testkit::pg::PgCluster::start(tis_testkit::pg::ClusterOptions {
            replicas: 2,
            synchronous: false,
        })
    })
    .await
    .expect("join")
    .expect("PostgreSQL");
    cluster.create_database("reference").await.expect("db");
    let primary = cluster.primary.url("reference");
    let replicas: Vec<String> = cluster
        .replicas
        .iter()
        .map(|r| r.url("reference"))
        .collect();
    let all: Vec<String> = std::iter::once(primary.clone())
        .chain(replicas.clone())
        .collect();

    let only = serve(config(&keys, primary.clone(), Vec::new())).await;
    let spread = serve(config(&keys, primary.clone(), replicas.clone())).await;
    let client = reqwest::Client::new();
    let writer = token(&keys, &["reference:add:modify:entities"]);
    let rows: Vec<_> = (0..ROWS)
        .map(|i| json!({"code": format!("B{i}"), "label": format!("Bench title {i}")}))
        .collect();
    let res = client
        .post(format!("http://{}/reference/api/bulk-titles", only.addr))
        .header("TIS-Principal", &writer)
        .json(&rows)
        .send()
        .await
        .expect("seed");
    assert_eq!(res.status(), 200, "seed");
    tis_testkit::wait::until(
        "replicas eligible",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            let s = spread.db.status();
            async move {
                s.nodes[1..]
                    .iter()
                    .all(|n| n.eligible_for_reads)
                    .then_some(())
            }
        },
    )
    .await
    .expect("replicas");

    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("get_by_id.lua");
    std::fs::write(
        &script,
        format!(
            "math.randomseed(os.time())\nrequest = function()\n  return wrk.format(\"GET\", \"/reference/api/titles/\" .. math.random(1, {ROWS}))\nend\n"
        ),
    )
    .expect("script");
    let missing = dir.path().join("get_missing_id.lua");
    std::fs::write(
        &missing,
        format!(
            "math.randomseed(os.time())\nrequest = function()\n  return wrk.format(\"GET\", \"/reference/api/titles/\" .. math.random({}, {}))\nend\n",
            ROWS * 10,
            ROWS * 20
        ),
    )
    .expect("script");

    println!(
        "| run | ids | configuration | req/s | statements per node, service counters (primary / replica1 / replica2) | per node, pg_stat_database |"
    );
    println!("|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    let mut miss_ratios = Vec::new();
    for round in 1..=rounds {
        let mut rates = Vec::new();
        for (ids, script, name, app) in [
            ("hits", &script, "primary only", &only),
            ("hits", &script, "primary + 2 replicas", &spread),
            ("misses", &missing, "primary only", &only),
            ("misses", &missing, "primary + 2 replicas", &spread),
        ] {
            let token = token(&keys, &[]);
            // Warm the pools, then measure.
            wrk(app.addr, &token, script, 2, conns);
            let before_db = app
                .db
                .status()
                .nodes
                .iter()
                .map(|n| n.reads)
                .collect::<Vec<_>>();
            let before_pg = commits(&all).await;
            let rate = wrk(app.addr, &token, script, secs, conns);
            let after_pg = commits(&all).await;
            let mut ours = app
                .db
                .status()
                .nodes
                .iter()
                .map(|n| n.reads)
                .collect::<Vec<_>>();
            for (o, b) in ours.iter_mut().zip(&before_db) {
                *o -= b;
            }
            ours.resize(3, 0);
            let theirs: Vec<u64> = after_pg
                .iter()
                .zip(&before_pg)
                .map(|(a, b)| u64::try_from(a - b).unwrap_or(0))
                .collect();
            println!(
                "| {round} | {ids} | {name} | {rate:.0} | {} ({}) | {} |",
                share(&ours),
                ours.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" / "),
                share(&theirs)
            );
            rates.push(rate);
        }
        ratios.push(rates[1] / rates[0]);
        miss_ratios.push(rates[3] / rates[2]);
    }
    let show = |rs: &[f64]| {
        rs.iter()
            .map(|r| format!("{r:.2}x"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("\nreplicas / primary-only, hits: {}", show(&ratios));
    println!("replicas / primary-only, misses: {}", show(&miss_ratios));
    drop(only);

    // Failover, manual: kill -9, promote at once (what an operator's script would do).
    tokio::task::block_in_place(|| cluster.primary.kill()).expect("kill");
    let killed = Instant::now();
    tokio::task::block_in_place(|| cluster.replicas[0].promote()).expect("promote");
    let promoted = Instant::now();
    let total = first_write_after(spread.addr, &keys, killed).await;
    println!(
        "\nmanual promotion: first successful write {:.2} s after kill -9 ({:.2} s after `pg_ctl promote` returned)",
        total.as_secs_f64(),
        (total - promoted.duration_since(killed)).as_secs_f64()
    );
    drop(spread);
    drop(cluster);

    // Failover, Patroni + HAProxy (ttl 10 s, loop_wait 1 s).
    let mut patroni =
        tokio::task::spawn_blocking(|| tis_testkit::patroni::PatroniCluster::start(2))
            .await
            .expect("join")
            .expect("Patroni, etcd and HAProxy");
    patroni.create_database("reference").await.expect("db");
    let app = serve(config(
        &keys,
        patroni.primary_url("reference"),
        vec![patroni.replica_url("reference")],
    ))
    .await;
    let leader = patroni.leader().expect("leader");
    tokio::task::block_in_place(|| patroni.kill_member(leader)).expect("kill");
    let killed = Instant::now();
    let total = first_write_after(app.addr, &keys, killed).await;
    println!(
        "Patroni + HAProxy: first successful write {:.2} s after kill -9 of the leader's Patroni and PostgreSQL",
        total.as_secs_f64()
    );
}
