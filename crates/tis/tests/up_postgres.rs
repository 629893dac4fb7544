//! `tis up` in PostgreSQL mode, for real: a throwaway primary with two streaming replicas
//! (one held back with `recovery_min_apply_delay`), the `tis` binary supervising every
//! process, and every request through the gateway.
//!
//! - ready means ready: the first request after `up.json` lists every process succeeds,
//!   though one replica replays 500 ms behind (each instance waits for its replicas to replay
//!   its migrations and demo data before it reports ready);
//! - read-your-writes: 1,000 times a write then an immediate read sending the write's
//!   `TIS-Consistency` back — never stale; and without the token, a read by id that the
//!   held-back replica misses is found on the primary, never answered 404;
//! - `kill -9` of the primary: writes 503 `primary_unavailable` within a second, reads go on
//!   marked `TIS-Degraded: db-read-only`, the gateway's `/api/status` shows writes degraded;
//!   after `pg_ctl promote` of a replica, writes resume within 2 s without restarting anything.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use sqlx::Connection;
use tis_testkit::pg::{ClusterOptions, PgCluster};
use tis_testkit::wait;
use tokio::process::{Child, Command};
use tokio::time::Instant;

const TIS: &str = env!("CARGO_BIN_EXE_tis");
const CONSISTENCY: &str = "tis-consistency";

/// A running `tis up` in PostgreSQL mode, in its own temporary folder; killed if the test fails.
struct Up {
    child: Child,
    dir: tempfile::TempDir,
}

impl Up {
    fn start(cluster: &PgCluster) -> Up {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(dir.path().join("up.log")).expect("log file");
        let mut cmd = Command::new(TIS);
        cmd.args(["up", "--data-dir", ".tis", "--postgres"])
            .arg(cluster.primary.url("postgres"));
        for r in &cluster.replicas {
            cmd.arg("--replica").arg(r.url("postgres"));
        }
        let child = cmd
            .env("TIS_IDP__LISTEN", "127.0.0.1:0")
            .env("TIS_GATEWAY__LISTEN", "127.0.0.1:0")
            .env("TIS_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
            .env("TIS_LOG__LEVEL", "warn")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start tis up");
        Up { child, dir }
    }

    fn state_file(&self) -> PathBuf {
        self.dir.path().join(".tis/run/up.json")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("up.log")).unwrap_or_default()
    }

    async fn state_when(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let path = self.state_file();
        let found = wait::until(
            what,
            Duration::from_secs(60),
            Duration::from_millis(25),
            || {
                let path = path.clone();
                let ok = &check;
                async move {
                    let text = tokio::fs::read_to_string(&path).await.ok()?;
                    let state: Value = serde_json::from_str(&text).ok()?;
                    ok(&state).then_some(state)
                }
            },
        )
        .await;
        match found {
            Ok(state) => state,
            Err(e) => panic!("{e}\n--- tis up's log ---\n{}", self.log()),
        }
    }
}

fn all_ready(state: &Value) -> bool {
    [
        "idp",
        "gateway",
        "reference-1",
        "reference-2",
        "profile-1",
        "profile-2",
    ]
    .iter()
    .all(|n| state["processes"][n]["addr"].is_string())
}

/// A token from the demo realm: `--user admin`, or `--client etl` (which may write reference data).
async fn token(issuer: &str, who: [&str; 2]) -> String {
    let out = Command::new(TIS)
        .arg("token")
        .args(who)
        .args(["--issuer", issuer])
        .output()
        .await
        .expect("tis token");
    assert!(
        out.status.success(),
        "tis token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// The gateway, as a client sees it.
struct Gateway {
    client: reqwest::Client,
    addr: String,
    token: String,
}

impl Gateway {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn create(&self, code: &str, key: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/reference/api/titles"))
            .bearer_auth(&self.token)
            .json(&json!({"code": code, "label": code}));
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        req.send().await.expect("POST through the gateway")
    }

    async fn get(&self, path: &str, consistency: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path)).bearer_auth(&self.token);
        if let Some(c) = consistency {
            req = req.header(CONSISTENCY, c);
        }
        req.send().await.expect("GET through the gateway")
    }

    async fn status(&self) -> Value {
        self.client
            .get(self.url("/api/status"))
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("status json")
    }
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Creates a title through the gateway; returns its location and consistency token.
async fn create_title(gw: &Gateway, code: &str) -> (String, String) {
    let res = gw.create(code, None).await;
    let status = res.status();
    let location = header(&res, "location");
    let token = header(&res, CONSISTENCY);
    assert_eq!(
        status,
        201,
        "create {code}: {}",
        res.text().await.unwrap_or_default()
    );
    (
        location.expect("Location"),
        token.expect("a write's response carries TIS-Consistency through the gateway"),
    )
}

/// Reads it back; `true` when the read saw it.
async fn sees(gw: &Gateway, location: &str, code: &str, consistency: Option<&str>) -> bool {
    let res = gw.get(location, consistency).await;
    match res.status().as_u16() {
        200 => {
            let body: Value = res.json().await.expect("json");
            assert_eq!(body["code"], code);
            true
        }
        404 => false,
        other => panic!(
            "unexpected status {other} reading {location}: {}",
            res.text().await.unwrap_or_default()
        ),
    }
}

/// Reads each reference instance's `/metrics`: statements served per database node.
async fn reads_by_node(state: &Value) -> std::collections::BTreeMap<String, u64> {
    let mut by_node = std::collections::BTreeMap::new();
    for name in ["reference-1", "reference-2"] {
        let addr = state["processes"][name]["addr"].as_str().expect("addr");
        let text = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        for line in text
            .lines()
            .filter(|l| l.starts_with("db_routed_statements_total{") && l.contains("kind=\"read\""))
        {
            let node = line
                .split("node=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_default()
                .to_owned();
            let n: f64 = line
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            *by_node.entry(node).or_insert(0) += n as u64;
        }
    }
    by_node
}

/// Misses of a replica that the primary then found (`db_read_miss_rechecks_total`), summed
/// over the Reference instances.
async fn rechecks_found(state: &Value) -> u64 {
    let mut n = 0.0;
    for name in ["reference-1", "reference-2"] {
        let addr = state["processes"][name]["addr"].as_str().expect("addr");
        let text = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        n += text
            .lines()
            .filter(|l| {
                l.starts_with("db_read_miss_rechecks_total{") && l.contains("outcome=\"found\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    n as u64
}

fn delta(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .collect()
}

async fn scalar_text(url: &str, sql: &'static str) -> anyhow::Result<String> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let v: String = sqlx::query_scalar(sql).fetch_one(&mut conn).await?;
    conn.close().await.ok();
    Ok(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tis_up_on_postgres_reads_its_writes_through_the_gateway_and_survives_the_primary() {
    let cluster = tokio::task::spawn_blocking(|| {
        PgCluster::start(ClusterOptions {
            replicas: 2,
            synchronous: false,
        })
    })
    .await
    .expect("join")
    .expect("PostgreSQL is required by this test");
    let held_back = &cluster.replicas[0];
    held_back
        .configure("recovery_min_apply_delay = '500ms'")
        .expect("configure");
    held_back.reload().expect("reload");

    let mut up = Up::start(&cluster);
    let state = up.state_when("every process ready", all_ready).await;
    let issuer = state["issuer"].as_str().expect("issuer").to_owned();
    let gw = Gateway {
        client: reqwest::Client::new(),
        addr: state["processes"]["gateway"]["addr"]
            .as_str()
            .expect("gateway")
            .to_owned(),
        token: token(&issuer, ["--client", "etl"]).await,
    };
    // Each service has its own database on the primary, migrated and seeded.
    let demo = gw.get("/reference/api/grades?size=5", None).await;
    assert_eq!(demo.status(), 200);
    assert_eq!(header(&demo, "x-total-count").as_deref(), Some("27"));
    let me: Value = gw
        .client
        .get(gw.url("/profile/api/userinfo"))
        .bearer_auth(token(&issuer, ["--user", "admin"]).await)
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("userinfo");
    assert_eq!(me["userName"], "admin", "{me}");
    for db in ["tis_reference", "tis_profile"] {
        let name = scalar_text(&cluster.primary.url(db), "SELECT current_database()::text")
            .await
            .expect("the service's database exists on the primary");
        assert_eq!(name, db);
    }

    // 1. Read-your-writes through the gateway, 1,000 times.
    let before = reads_by_node(&state).await;
    let mut stale = 0;
    let mut last = String::new();
    let started = Instant::now();
    for i in 0..1000 {
        let code = format!("RYW{i}");
        let (location, token) = create_title(&gw, &code).await;
        if !sees(&gw, &location, &code, Some(&token)).await {
            stale += 1;
        }
        last = location;
    }
    let took = started.elapsed();
    let with_token = delta(&before, &reads_by_node(&state).await);
    assert_eq!(
        stale, 0,
        "reads sending TIS-Consistency saw stale data {stale} times in 1,000"
    );
    // Without the token, the held-back replica serves some reads and is behind; a read by id
    // it misses is asked again on the primary, so no just-created title is "not found".
    let before = reads_by_node(&state).await;
    let rechecked_before = rechecks_found(&state).await;
    let mut stale_without = 0;
    for i in 0..200 {
        let code = format!("ANY{i}");
        let (location, _) = create_title(&gw, &code).await;
        if !sees(&gw, &location, &code, None).await {
            stale_without += 1;
        }
    }
    let without = delta(&before, &reads_by_node(&state).await);
    let rechecked = rechecks_found(&state).await - rechecked_before;
    println!(
        "1,000 write+read pairs through the gateway in {took:?}: 0 stale; reads by node \
         (primary {}, held back {}, replica {}): with the token {with_token:?}; \
         without the token {without:?}, {stale_without} stale of 200, {rechecked} misses \
         found on the primary",
        cluster.primary.endpoint(),
        cluster.replicas[0].endpoint(),
        cluster.replicas[1].endpoint()
    );
    assert_eq!(
        stale_without, 0,
        "a read by id without the token reported a just-created title missing"
    );
    assert!(
        rechecked > 0,
        "plain reads never met the held-back replica behind: the loops proved nothing"
    );

    // 2. The primary dies. First let the held-back replica catch up, so reads are current.
    held_back
        .configure("recovery_min_apply_delay = 0")
        .expect("configure");
    held_back.reload().expect("reload");
    let primary_lsn = scalar_text(
        &cluster.primary.url("postgres"),
        "SELECT pg_current_wal_lsn()::text",
    )
    .await
    .expect("primary LSN");
    for replica in &cluster.replicas {
        let url = replica.url("postgres");
        let lsn = primary_lsn.clone();
        wait::until(
            "the replicas replayed everything",
            Duration::from_secs(20),
            Duration::from_millis(25),
            || {
                let url = url.clone();
                let lsn = lsn.clone();
                async move {
                    let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
                    let done: bool =
                        sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn")
                            .bind(lsn)
                            .fetch_one(&mut conn)
                            .await
                            .ok()?;
                    done.then_some(())
                }
            },
        )
        .await
        .expect("caught up");
    }
    tokio::task::block_in_place(|| cluster.primary.kill()).expect("kill -9 the primary");

    // Writes fail fast, with and without an Idempotency-Key.
    let mut slowest = Duration::ZERO;
    for i in 0..6 {
        let key = format!("during-{i}");
        let started = Instant::now();
        let res = gw
            .create(&format!("DURING{i}"), (i % 2 == 1).then_some(key.as_str()))
            .await;
        let took = started.elapsed();
        let retry_after = header(&res, "retry-after");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("a JSON error");
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (503, Some("primary_unavailable")),
            "write {i} during the outage: {body}"
        );
        assert!(retry_after.is_some(), "Retry-After on write {i}");
        assert!(
            took <= Duration::from_secs(1),
            "write {i} took {took:?} to fail"
        );
        slowest = slowest.max(took);
    }
    println!("writes during the outage: 6 × 503 primary_unavailable, the slowest in {slowest:?}");
    // Each instance stays ready for reads, its readiness showing the database degraded once
    // its monitor has looked (every `health_interval`, 1 s; at once after a failed write).
    for name in ["reference-1", "reference-2"] {
        let addr = state["processes"][name]["addr"].as_str().expect("addr");
        let url = format!("http://{addr}/health/ready");
        let ready = wait::until(
            "the database check degraded",
            Duration::from_secs(3),
            Duration::from_millis(20),
            || {
                let url = url.clone();
                async move {
                    let res = reqwest::get(url).await.ok()?;
                    assert_eq!(res.status(), 200, "{name} stays ready");
                    // The gateway's health checks learn it from this header, with no traffic.
                    let marked = header(&res, "tis-degraded").as_deref() == Some("db-read-only");
                    let ready: Value = res.json().await.ok()?;
                    (ready["checks"]["database"]["status"] == "degraded" && marked).then_some(ready)
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            ready["checks"]["database"]["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("writes unavailable"),
            "{ready}"
        );
    }
    // Reads go on, from the replicas, marked degraded.
    for _ in 0..10 {
        let res = gw.get(&last, None).await;
        assert_eq!(res.status(), 200, "a read during the outage");
        let degraded = header(&res, "tis-degraded").unwrap_or_default();
        assert!(
            degraded.contains("db-read-only"),
            "TIS-Degraded through the gateway: {degraded:?}"
        );
    }
    let list = gw.get("/reference/api/grades?size=5", None).await;
    assert_eq!(list.status(), 200, "lists during the outage");
    // The gateway's public status page says saving changes is degraded; the service is up.
    let status = gw.status().await;
    let capability = |id: &str| -> Value {
        status["capabilities"]
            .as_array()
            .and_then(|caps| caps.iter().find(|c| c["id"] == id).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(capability("writes")["status"], "degraded", "{status}");
    assert!(
        capability("writes")["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("Reference"),
        "{status}"
    );
    assert_eq!(capability("service:reference")["status"], "ok", "{status}");
    assert_eq!(status["status"], "degraded", "{status}");
    // 3. Promote the replica that was never held back: writes resume within 2 s.
    tokio::task::block_in_place(|| cluster.replicas[1].promote()).expect("promote");
    let promoted = Instant::now();
    let mut attempt = 0;
    let resumed = wait::until(
        "a write through the gateway after the promotion",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            attempt += 1;
            let code = format!("AFTER{attempt}");
            let gw = &gw;
            async move { (gw.create(&code, None).await.status() == 201).then_some(code) }
        },
    )
    .await
    .expect("writes resume after the promotion");
    let took = promoted.elapsed();
    println!("writes resumed through the gateway {took:?} after pg_ctl promote returned");
    assert!(
        took <= Duration::from_secs(2),
        "writes resumed {took:?} after the promotion"
    );
    // The status page says so too: answers without db-read-only end "saving changes degraded".
    wait::until(
        "/api/status writes ok again",
        Duration::from_secs(3),
        Duration::from_millis(50),
        || async {
            let status = gw.status().await;
            let writes = status["capabilities"]
                .as_array()?
                .iter()
                .find(|c| c["id"] == "writes")?
                .clone();
            (writes["status"] == "ok").then_some(())
        },
    )
    .await
    .expect("the status page shows writes ok after the promotion");
    // Nothing written during the outage; the write after it is there.
    let during: i64 = {
        let mut conn = sqlx::PgConnection::connect(&cluster.replicas[1].url("tis_reference"))
            .await
            .expect("new primary");
        sqlx::query_scalar("SELECT count(*) FROM title WHERE code LIKE 'DURING%' OR code = $1")
            .bind(&resumed)
            .fetch_one(&mut conn)
            .await
            .expect("count")
    };
    assert_eq!(during, 1, "only the write after the promotion is stored");

    // Ctrl-C stops everything and exits 0.
    let pid = i32::try_from(up.child.id().expect("running")).expect("pid");
    kill(Pid::from_raw(pid), Signal::SIGINT).expect("SIGINT");
    let exit = tokio::time::timeout(Duration::from_secs(30), up.child.wait())
        .await
        .expect("tis up stops")
        .expect("status");
    assert!(exit.success(), "tis up exits 0: {exit}\n{}", up.log());
}
