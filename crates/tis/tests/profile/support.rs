//! The system under test: a real `tis up` (IdP, gateway, two Reference and two Profile
//! instances) with extra users in the IdP's realm and in Profile, real tokens, a per-user
//! load that records what the gateway said, and counts read from the processes' `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tis_idp::client::{TokenRequest, fetch_access_token};
use tis_idp::password::{self, Secret};
use tis_idp::realm::demo::{self, DEMO_PASSWORD, TRUST_ADMIN_DBC};
use tis_idp::realm::file::UserEntry;
use tis_testkit::up::TisUp;
use tis_testkit::wait;
use tokio::time::Instant;

pub const TIS: &str = env!("CARGO_BIN_EXE_tis");

/// Every process `tis up` runs with two instances per service.
pub const PROCESSES: &[&str] = &[
    "idp",
    "gateway",
    "reference-1",
    "reference-2",
    "profile-1",
    "profile-2",
];

/// A GET that needs only an authenticated caller, served by Reference (not Profile), so that
/// every `/userinfo` call Profile sees comes from the gateway's profile client.
pub const READ_PATH: &str = "/reference/api/grades?size=1";

pub struct System {
    pub up: TisUp,
    pub gateway: String,
    pub admin: String,
    pub issuer: String,
    pub http: reqwest::Client,
    admin_token: String,
}

impl System {
    /// `tis up` with `users` added to the demo realm (password `tis`), and created in Profile
    /// (through the gateway, as `profile.admin`) with `roles` and one designated body.
    /// `env` configures the processes (`TIS_GATEWAY__PROFILES__CLIENT__FRESH_FOR`…).
    pub async fn start(users: &[String], roles: &[&str], env: &[(&str, String)]) -> System {
        let dir = tempfile::tempdir().expect("tempdir");
        let realm_file = dir.path().join(".tis/idp/realms.toml");
        let names = users.to_vec();
        tokio::task::spawn_blocking(move || write_realm(&realm_file, &names))
            .await
            .expect("realm task");
        let up = TisUp::start_in(dir, TIS, env);
        let state = up
            .state_when("every process ready", |s| TisUp::has(s, PROCESSES))
            .await;
        let gateway = TisUp::addr_of(&state, "gateway", "addr");
        let admin = TisUp::addr_of(&state, "gateway", "admin");
        let issuer = state["issuer"].as_str().expect("issuer").to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        let sys = System {
            up,
            gateway,
            admin,
            issuer,
            http,
            admin_token: String::new(),
        };
        sys.registered(2).await;
        let admin_token = sys.token("profile.admin").await;
        let sys = System { admin_token, ..sys };
        for user in users {
            sys.write_user(reqwest::Method::POST, 201, &profile_user(user, roles))
                .await;
        }
        sys
    }

    /// Waits until the gateway's registry has `n` Profile and `n` Reference instances, and
    /// every one of them is `ready` wherever the gateway's status lists it (its routes' pools
    /// learn of a registration a moment after the registry: a request in between would get
    /// 503 `no_healthy_endpoints`).
    pub async fn registered(&self, n: usize) {
        let registry = format!("http://{}/admin/registry", self.admin);
        let status = format!("http://{}/admin/status", self.admin);
        let http = self.http.clone();
        wait::until(
            "instances registered and ready at the gateway",
            Duration::from_secs(30),
            Duration::from_millis(25),
            || {
                let (registry, status, http) = (registry.clone(), status.clone(), http.clone());
                async move {
                    let r: Value = http.get(registry).send().await.ok()?.json().await.ok()?;
                    let mut addrs = Vec::new();
                    for service in ["profile", "reference"] {
                        let instances = r[service].as_object()?;
                        if instances.len() != n {
                            return None;
                        }
                        addrs.extend(
                            instances
                                .values()
                                .filter_map(|a| a.as_str().map(str::to_owned)),
                        );
                    }
                    let s: Value = http.get(status).send().await.ok()?.json().await.ok()?;
                    let mut endpoints = Vec::new();
                    endpoint_states(&s, &mut endpoints);
                    addrs
                        .iter()
                        .all(|a| {
                            let states: Vec<_> = endpoints.iter().filter(|(e, _)| e == a).collect();
                            !states.is_empty() && states.iter().all(|(_, st)| st == "ready")
                        })
                        .then_some(())
                }
            },
        )
        .await
        .expect("registered");
    }

    /// A real access token from the real IdP (password grant).
    pub async fn token(&self, user: &str) -> String {
        token(&self.issuer, user).await
    }

    /// Tokens for `users`, four logins at a time (the IdP checks one argon2 hash per core).
    pub async fn tokens(&self, users: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(users.len());
        for chunk in users.chunks(4) {
            let tasks: Vec<_> = chunk
                .iter()
                .map(|u| tokio::spawn(token_owned(self.issuer.clone(), u.clone())))
                .collect();
            for t in tasks {
                out.push(t.await.expect("token task"));
            }
        }
        out
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway)
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Replaces `user`'s roles in Profile (as `profile.admin`, through the gateway).
    pub async fn set_roles(&self, user: &str, roles: &[&str]) {
        self.write_user(reqwest::Method::PUT, 200, &profile_user(user, roles))
            .await;
    }

    /// Writes a `HeeUser` as `profile.admin`, expecting `expected`. Profile learns where
    /// Reference is from the gateway's registry, polled every second, so for a moment after
    /// `tis up` is ready it cannot check designated bodies yet and answers 503
    /// `dependency_unavailable` (writing nothing): that answer is retried, for 10 s.
    async fn write_user(&self, method: reqwest::Method, expected: u16, body: &Value) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let res = self
                .send(
                    method.clone(),
                    "/profile/api/hee-users",
                    &self.admin_token,
                    body,
                )
                .await;
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            if status == expected {
                return;
            }
            assert!(
                status == 503
                    && text.contains("dependency_unavailable")
                    && Instant::now() < deadline,
                "{method} {}: {status} {text}\n{}",
                body["name"],
                self.log_tail(60)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last `n` lines `tis up` and its processes logged.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.up.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The lines `tis up` and its processes logged that contain every one of `words`.
    pub fn log_matching(&self, words: &[&str]) -> String {
        self.up
            .log()
            .lines()
            .filter(|l| words.iter().all(|w| l.contains(w)))
            .map(|l| l.chars().take(600).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The current state of `tis up`.
    pub async fn state(&self) -> Value {
        self.up.state_when("a state file", |_| true).await
    }

    /// `/userinfo` requests the running Profile instances have served (any status), from
    /// their `/metrics`.
    pub async fn userinfo_calls(&self) -> u64 {
        let state = self.state().await;
        let mut total = 0.0;
        for name in ["profile-1", "profile-2"] {
            let addr = TisUp::addr_of(&state, name, "addr");
            let text = self
                .http
                .get(format!("http://{addr}/metrics"))
                .send()
                .await
                .expect("profile metrics")
                .text()
                .await
                .expect("metrics text");
            total += metric_sum(
                &text,
                "http_server_requests_total",
                &["route=\"/profile/api/userinfo\""],
            );
        }
        total as u64
    }

    /// The sum of the gateway's `name` series carrying every label in `labels`.
    pub async fn gateway_metric(&self, name: &str, labels: &[&str]) -> f64 {
        let text = self
            .http
            .get(format!("http://{}/metrics", self.admin))
            .send()
            .await
            .expect("gateway metrics")
            .text()
            .await
            .expect("metrics text");
        metric_sum(&text, name, labels)
    }
}

/// The gateway's settings for a test that walks past the fresh window: profiles fresh for
/// `fresh`, resolved principals reused per token for `reuse` (10 s by default, scaled down
/// with the fresh window: it adds to how long an old profile is handed out).
pub fn short_windows(fresh: Duration, reuse: Duration) -> [(&'static str, String); 2] {
    [
        (
            "TIS_GATEWAY__PROFILES__CLIENT__FRESH_FOR",
            format!("{}ms", fresh.as_millis()),
        ),
        (
            "TIS_GATEWAY__PRINCIPAL_REUSE",
            format!("{}ms", reuse.as_millis()),
        ),
    ]
}

/// Every `{"address": …, "state": …}` object anywhere in `v`.
fn endpoint_states(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            if let (Some(a), Some(s)) = (
                map.get("address").and_then(Value::as_str),
                map.get("state").and_then(Value::as_str),
            ) {
                out.push((a.to_owned(), s.to_owned()));
            }
            map.values().for_each(|v| endpoint_states(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| endpoint_states(v, out)),
        _ => {}
    }
}

async fn token(issuer: &str, user: &str) -> String {
    fetch_access_token(issuer, &TokenRequest::user(user), Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("token for {user}: {e}"))
}

async fn token_owned(issuer: String, user: String) -> String {
    token(&issuer, &user).await
}

/// The sum of the samples of `name` whose labels include all of `labels` (Prometheus text).
pub fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A Profile `HeeUser` named `name` with `roles`, active, in one designated body.
pub fn profile_user(name: &str, roles: &[&str]) -> Value {
    json!({
        "name": name, "firstName": "System", "lastName": "Test",
        "emailAddress": format!("{name}@tis.localhost"), "active": true,
        "roles": roles.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "designatedBodyCodes": [TRUST_ADMIN_DBC],
    })
}

/// The demo realm plus `users` (one argon2 hash of the demo password shared by all of them:
/// hashing is what is slow, and the IdP only verifies).
fn write_realm(path: &std::path::Path, users: &[String]) {
    let mut file = demo::demo_realm_file().expect("demo realm");
    let hash = password::hash(&Secret::new(DEMO_PASSWORD)).expect("hash");
    let realm = &mut file.realms[0];
    let template = realm.users[0].clone();
    for name in users {
        realm.users.push(UserEntry {
            username: name.clone(),
            id: None,
            password_hash: hash.clone(),
            email: Some(format!("{name}@tis.localhost")),
            ..template.clone()
        });
    }
    std::fs::create_dir_all(path.parent().expect("folder")).expect("realm folder");
    std::fs::write(path, demo::to_toml(&file).expect("toml")).expect("realm file");
}

/// One request of the load: who, when it started, and what the gateway answered.
#[derive(Debug, Clone)]
pub struct Sample {
    pub user: usize,
    pub at: Instant,
    pub status: u16,
    /// `TIS-Degraded`, as sent.
    pub degraded: String,
    /// The error body (or transport error) of a failure.
    pub error: String,
}

impl Sample {
    pub fn stale(&self) -> bool {
        self.degraded
            .split(',')
            .any(|d| d.trim() == "profile-stale")
    }
}

/// Each user in a loop: GET [`READ_PATH`] through the gateway with their own token, then a
/// pause of `every`, until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(sys: &System, tokens: &[String], every: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let url = sys.url(READ_PATH);
        let tasks = tokens
            .iter()
            .enumerate()
            .map(|(user, token)| {
                let (stop, samples, http, url, token) = (
                    stop.clone(),
                    samples.clone(),
                    sys.http.clone(),
                    url.clone(),
                    token.clone(),
                );
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let at = Instant::now();
                        let sample = match http.get(&url).bearer_auth(&token).send().await {
                            Ok(res) => {
                                let status = res.status().as_u16();
                                let degraded = res
                                    .headers()
                                    .get_all("tis-degraded")
                                    .iter()
                                    .filter_map(|v| v.to_str().ok())
                                    .collect::<Vec<_>>()
                                    .join(",");
                                let body = res.text().await.unwrap_or_default();
                                Sample {
                                    user,
                                    at,
                                    status,
                                    degraded,
                                    error: if status == 200 { String::new() } else { body },
                                }
                            }
                            Err(e) => Sample {
                                user,
                                at,
                                status: 0,
                                degraded: String::new(),
                                error: e.to_string(),
                            },
                        };
                        samples.lock().expect("lock").push(sample);
                        tokio::time::sleep(every).await;
                    }
                })
            })
            .collect();
        Load {
            stop,
            samples,
            tasks,
        }
    }

    /// Waits until each of the first `users` users has a sample for which `pred` holds.
    pub async fn until_each(
        &self,
        users: usize,
        what: &str,
        pred: impl Fn(&Sample) -> bool + Copy,
    ) {
        let samples = self.samples.clone();
        wait::until(
            what,
            Duration::from_secs(60),
            Duration::from_millis(50),
            || {
                let samples = samples.clone();
                async move {
                    let seen: std::collections::BTreeSet<usize> = samples
                        .lock()
                        .expect("lock")
                        .iter()
                        .filter(|s| pred(s))
                        .map(|s| s.user)
                        .collect();
                    (seen.len() == users).then_some(())
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }

    pub async fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
        self.samples.lock().expect("lock").clone()
    }
}

/// Failures by status and error code, for assertion messages.
pub fn failures(samples: &[&Sample]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for s in samples.iter().filter(|s| s.status != 200) {
        let code = serde_json::from_str::<Value>(&s.error)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_else(|| s.error.chars().take(120).collect());
        *out.entry(format!("{} {code}", s.status)).or_default() += 1;
    }
    out
}

/// `code` of a JSON error answer (`{"error": {"code": …}}`).
pub async fn error_code(res: reqwest::Response) -> (u16, String, Option<String>) {
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code, retry_after)
}
