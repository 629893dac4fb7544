//! Processes, load and measurements for the system tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tis_auth::testing::{self, FakeIdp, TestKey};
use tokio::time::Instant;

pub const TIS: &str = env!("CARGO_BIN_EXE_tis");

/// A child process, killed (and reaped) when dropped.
pub struct Proc {
    pub child: Child,
    pub name: String,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    pub fn signal(&self, sig: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        kill(pid, sig).expect("signal");
    }

    /// Waits for the process to exit, failing after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.child.try_wait().expect("try_wait").is_some() {
                return;
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of `field` in the first JSON log line that has it.
    pub async fn log_field(&self, field: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            for line in self.log.lock().expect("lock").iter() {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                    && let Some(s) = v.get(field).and_then(|f| f.as_str())
                {
                    return s.to_owned();
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} never logged {field}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tis <args>` in `dir`, waits for its announce file and `/health/ready`.
pub async fn spawn(name: &str, dir: &Path, args: &[&str], env: &[(&str, String)]) -> Proc {
    let announce = dir.join(format!("{name}.addr"));
    let _ = std::fs::remove_file(&announce);
    let mut cmd = Command::new(TIS);
    cmd.args(args)
        .arg("--announce-to")
        .arg(&announce)
        .current_dir(dir)
        .env("TIS_LOG__LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn tis");
    let log = Arc::new(Mutex::new(Vec::new()));
    if let Some(out) = child.stdout.take() {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                log.lock().expect("lock").push(line);
            }
        });
    }
    let mut proc = Proc {
        child,
        name: name.to_owned(),
        addr: "0.0.0.0:0".parse().expect("addr"),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    proc.addr = loop {
        // The main address is the first line (named listeners such as `admin` follow).
        if let Ok(text) = std::fs::read_to_string(&announce)
            && let Some(Ok(addr)) = text.lines().next().map(|l| l.trim().parse())
        {
            break addr;
        }
        if let Some(status) = proc.child.try_wait().expect("try_wait") {
            panic!(
                "{name} exited before announcing: {status}\n{}",
                proc.log.lock().expect("lock").join("\n")
            );
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not announce its address\n{}",
            proc.log.lock().expect("lock").join("\n")
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let client = reqwest::Client::new();
    let url = format!("http://{}/health/ready", proc.addr);
    loop {
        if let Ok(res) = client.get(&url).send().await
            && res.status().is_success()
        {
            return proc;
        }
        assert!(Instant::now() < deadline, "{name} never became ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A pool of upstream instances (`tis idp` processes serving `/realms/…`).
pub struct Upstreams {
    pub dir: PathBuf,
}

pub const UPSTREAM_PATH: &str = "/realms/lin/.well-known/openid-configuration";

impl Upstreams {
    pub fn new(dir: &Path) -> Self {
        let realm = dir.join("realms.toml");
        std::fs::write(&realm, "[[realms]]\nname = \"lin\"\naudience = \"tis\"\n").expect("realm");
        Upstreams {
            dir: dir.to_owned(),
        }
    }

    pub async fn spawn(&self, name: &str) -> Proc {
        let env = [
            (
                "TIS_IDP__REALM_FILE",
                self.dir.join("realms.toml").display().to_string(),
            ),
            (
                "TIS_IDP__KEY_DIR",
                self.dir.join(format!("keys-{name}")).display().to_string(),
            ),
            ("TIS_IDP__DRAIN__DRAIN_DELAY", "300ms".to_owned()),
            ("TIS_IDP__ALGORITHM", "EdDSA".to_owned()),
        ];
        spawn(name, &self.dir, &["idp", "--listen", "127.0.0.1:0"], &env).await
    }
}

/// A pool of Reference instances (`tis serve reference`), sharing one SQLite database and
/// trusting the gateway's principal key (`principal.pub.pem` in `dir`, see [`base_toml`]).
pub struct References {
    pub dir: PathBuf,
}

pub const REFERENCE_PATH: &str = "/reference/api/grades";

impl References {
    pub fn new(dir: &Path) -> Self {
        References {
            dir: dir.to_owned(),
        }
    }

    pub async fn spawn(&self, name: &str) -> Proc {
        let env = [
            (
                "TIS_REFERENCE__DATABASE__URL",
                format!(
                    "sqlite://{}?mode=rwc",
                    self.dir.join("reference.db").display()
                ),
            ),
            (
                "TIS_REFERENCE__PRINCIPAL__TRUSTED_KEY_FILES",
                format!("[\"{}\"]", self.dir.join("principal.pub.pem").display()),
            ),
            ("TIS_REFERENCE__DRAIN__DRAIN_DELAY", "300ms".to_owned()),
        ];
        spawn(
            name,
            &self.dir,
            &["serve", "reference", "--listen", "127.0.0.1:0"],
            &env,
        )
        .await
    }
}

/// An in-process fake IdP and tokens for the gateway to verify.
pub struct Tokens {
    pub idp: FakeIdp,
    key: TestKey,
}

impl Tokens {
    pub async fn start() -> Tokens {
        let key = TestKey::ec("system-test");
        Tokens {
            idp: FakeIdp::start(testing::jwks(&[&key])).await,
            key,
        }
    }

    pub fn token(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        self.key.sign(&testing::claims(&self.idp.issuer(), now))
    }
}

/// A gateway process with its config file; its admin address from its log.
pub struct GatewayProc {
    pub proc: Proc,
    pub admin: SocketAddr,
    pub client: reqwest::Client,
}

impl GatewayProc {
    /// `gateway_toml` is the body of the `[gateway]` section beyond listen addresses.
    pub async fn start(dir: &Path, name: &str, gateway_toml: &str) -> GatewayProc {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, format!("[gateway]\n{gateway_toml}")).expect("config");
        let proc = spawn(
            name,
            dir,
            &[
                "--config",
                &config.display().to_string(),
                "gateway",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ],
            &[("TIS_GATEWAY__DRAIN__DRAIN_DELAY", "100ms".to_owned())],
        )
        .await;
        let admin = proc
            .log_field("admin.address", Duration::from_secs(10))
            .await
            .parse()
            .expect("admin address");
        GatewayProc {
            proc,
            admin,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proc.addr)
    }

    pub async fn register(&self, service: &str, instance: &str, addr: SocketAddr) {
        let res = self
            .client
            .put(format!(
                "http://{}/admin/registry/{service}/{instance}",
                self.admin
            ))
            .json(&serde_json::json!({ "addr": addr }))
            .send()
            .await
            .expect("register");
        assert!(res.status().is_success(), "register: {}", res.status());
    }

    /// The admin status's endpoint entry for `addr`, if the pool has it.
    pub async fn endpoint(&self, addr: SocketAddr) -> Option<serde_json::Value> {
        let status: serde_json::Value = self
            .client
            .get(format!("http://{}/admin/status", self.admin))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        status["services"]
            .as_array()?
            .iter()
            .flat_map(|s| s["pools"].as_array().cloned().unwrap_or_default())
            .flat_map(|p| {
                p["client"]["endpoints"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .find(|e| e["address"] == addr.to_string())
    }
}

/// The `[gateway]` settings every test shares: auth against `tokens`, a fresh principal key.
pub fn base_toml(dir: &Path, tokens: &Tokens) -> String {
    let key = dir.join("principal.pem");
    tis_auth::principal::keyfile::generate_keypair_files(&key, &dir.join("principal.pub.pem"))
        .expect("principal keys");
    format!(
        "[gateway.auth]\nissuer = \"{}\"\naudience = \"{}\"\nkeys_file = \"{}\"\n\
         [gateway.principal]\nsigning_key_file = \"{}\"\n\
         [gateway.profiles]\nsource = \"role-catalogue\"\n",
        tokens.idp.issuer(),
        testing::AUDIENCE,
        dir.join("jwks.json").display(),
        key.display()
    )
}

/// One request's outcome.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    pub latency: Duration,
}

/// A steady load: `workers` loops of GET `url` with a token, until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub failures: Arc<Mutex<Vec<String>>>,
}

impl Load {
    pub fn start(url: String, token: String, workers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let tasks = (0..workers)
            .map(|_| {
                let (stop, samples, failures, client, url, token) = (
                    stop.clone(),
                    samples.clone(),
                    failures.clone(),
                    client.clone(),
                    url.clone(),
                    token.clone(),
                );
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let at = Instant::now();
                        let res = client.get(&url).bearer_auth(&token).send().await;
                        let ok = match res {
                            Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                            Ok(r) => {
                                let status = r.status();
                                let body = r.text().await.unwrap_or_default();
                                failures
                                    .lock()
                                    .expect("lock")
                                    .push(format!("{status} {body}"));
                                false
                            }
                            Err(e) => {
                                failures.lock().expect("lock").push(e.to_string());
                                false
                            }
                        };
                        if ok {
                            samples.lock().expect("lock").push(Sample {
                                at,
                                latency: at.elapsed(),
                            });
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            samples,
            tasks,
            failures,
        }
    }

    /// Samples that started at or after `from` (and before `to`).
    pub fn between(&self, from: Instant, to: Instant) -> Vec<Sample> {
        self.samples
            .lock()
            .expect("lock")
            .iter()
            .filter(|s| s.at >= from && s.at < to)
            .copied()
            .collect()
    }

    pub async fn stop(self) -> (Vec<Sample>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
        let samples = self.samples.lock().expect("lock").clone();
        let failures = self.failures.lock().expect("lock").clone();
        (samples, failures)
    }
}

/// The `q` quantile (0–1) of the latencies.
pub fn quantile(samples: &[Sample], q: f64) -> Duration {
    let mut l: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    l.sort();
    if l.is_empty() {
        return Duration::ZERO;
    }
    let i = ((l.len() as f64 - 1.0) * q).round() as usize;
    l[i.min(l.len() - 1)]
}

/// Polls `check` every 20 ms until it returns `Some`, failing after `timeout`.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
