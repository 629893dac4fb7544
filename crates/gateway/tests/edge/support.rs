//! Test support: a running gateway, a fake IdP, upstreams that record what they saw.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Deserialize;
use tis_auth::testing::{self, FakeIdp, TestKey};
use tis_gateway::config::{DiscoveryConfig, PoolConfig, RouteConfig, ServiceConfig};
use tis_gateway::{App, GatewayConfig};
use tokio::sync::oneshot;

/// An upstream that answers under `/reference/…` and records each request's headers.
#[derive(Clone, Default)]
pub struct Upstream {
    pub name: &'static str,
    pub seen: Arc<Mutex<Vec<HeaderMap>>>,
    pub hits: Arc<AtomicUsize>,
    /// While set, `/health/ready` answers ready with `TIS-Degraded: db-read-only`, as a TIS
    /// service whose database has no primary does.
    pub read_only: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Deserialize)]
struct SlowQuery {
    ms: u64,
}

impl Upstream {
    pub async fn start(name: &'static str) -> (Upstream, SocketAddr) {
        let up = Upstream {
            name,
            ..Upstream::default()
        };
        let app = Router::new()
            .route("/health/ready", get(ready))
            .route("/reference/echo", any(echo))
            .route("/reference/slow", get(slow))
            .route("/reference/degraded", get(degraded))
            .with_state(up.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (up, addr)
    }

    pub fn last(&self) -> HeaderMap {
        self.seen
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("the upstream saw a request")
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn ready(State(up): State<Upstream>) -> Response {
    if up.read_only.load(Ordering::SeqCst) {
        ([("tis-degraded", "db-read-only")], "ready").into_response()
    } else {
        "ready".into_response()
    }
}

async fn echo(State(up): State<Upstream>, headers: HeaderMap) -> Response {
    up.hits.fetch_add(1, Ordering::SeqCst);
    up.seen.lock().expect("lock").push(headers);
    // As a TIS list does (tis-core paging): the gateway decides whether it leaves.
    (
        [
            ("x-served-by", up.name),
            ("access-control-expose-headers", "X-Total-Count, Link"),
        ],
        "ok",
    )
        .into_response()
}

async fn slow(
    State(up): State<Upstream>,
    headers: HeaderMap,
    Query(q): Query<SlowQuery>,
) -> Response {
    up.hits.fetch_add(1, Ordering::SeqCst);
    up.seen.lock().expect("lock").push(headers);
    tokio::time::sleep(Duration::from_millis(q.ms)).await;
    "slow".into_response()
}

async fn degraded(State(up): State<Upstream>) -> Response {
    up.hits.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::OK,
        [
            ("tis-degraded", "db-read-only"),
            ("connection", "x-hop"),
            ("x-hop", "secret"),
            ("keep-alive", "timeout=5"),
        ],
        "read only",
    )
        .into_response()
}

/// A fake IdP with one ES256 key, and tokens it "issued".
pub struct Idp {
    pub fake: FakeIdp,
    pub key: TestKey,
}

impl Idp {
    pub async fn start() -> Idp {
        let key = TestKey::ec("gw-test-key");
        let fake = FakeIdp::start(testing::jwks(&[&key])).await;
        Idp { fake, key }
    }

    pub fn token(&self) -> String {
        self.key.sign(&testing::claims(&self.fake.issuer(), now()))
    }

    pub fn expired_token(&self) -> String {
        let mut claims = testing::claims(&self.fake.issuer(), now() - 3600);
        claims["exp"] = serde_json::json!(now() - 600);
        self.key.sign(&claims)
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A gateway configuration on port 0 routing `/reference` to `addrs`.
pub fn config(idp: &Idp, dir: &tempfile::TempDir, addrs: Vec<SocketAddr>) -> GatewayConfig {
    let (private, _public) = tis_auth::principal::keyfile::generate_pem().expect("keys");
    let mut cfg = GatewayConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        admin_listen: "127.0.0.1:0".parse().expect("addr"),
        ..GatewayConfig::default()
    };
    cfg.auth = testing::auth_config(&idp.fake.issuer());
    cfg.auth.keys_file = Some(dir.path().join("jwks.json"));
    cfg.principal.signing_key_pem = Some(private);
    // Profiles from the token's roles: these tests run no Profile service.
    cfg.profiles.source = tis_gateway::ProfilesSource::RoleCatalogue;
    cfg.drain.drain_delay = Duration::from_millis(10);
    cfg.routes = vec![RouteConfig {
        title: Some("Reference data".into()),
        ..RouteConfig::new("/reference", "reference")
    }];
    let mut svc = ServiceConfig {
        discovery: DiscoveryConfig::Static { addrs },
        ..ServiceConfig::default()
    };
    svc.mesh.health_check.interval = Duration::from_millis(100);
    svc.mesh.breaker.probation = Duration::from_millis(200);
    cfg.services = BTreeMap::from([("reference".to_owned(), svc)]);
    cfg
}

/// Two pools, blue and green, with the given weights.
pub fn pools(blue: (u32, SocketAddr), green: (u32, SocketAddr)) -> ServiceConfig {
    let pool = |(weight, addr): (u32, SocketAddr)| PoolConfig {
        weight,
        discovery: DiscoveryConfig::Static { addrs: vec![addr] },
    };
    let mut svc = ServiceConfig {
        pools: BTreeMap::from([
            ("blue".to_owned(), pool(blue)),
            ("green".to_owned(), pool(green)),
        ]),
        ..ServiceConfig::default()
    };
    svc.mesh.health_check.interval = Duration::from_millis(100);
    svc
}

/// A running gateway; stopped (drained) when dropped.
pub struct Gateway {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub principal_pem: String,
    pub client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Gateway {
    pub async fn start(cfg: GatewayConfig) -> Gateway {
        let app = App::build(cfg).await.expect("gateway builds");
        let (addr, admin) = (app.local_addr(), app.admin_addr());
        let principal_pem = app.principal_public_pem().to_owned();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run(async move {
            let _ = rx.await;
        }));
        Gateway {
            addr,
            admin,
            principal_pem,
            client: reqwest::Client::new(),
            _stop: tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// `GET url` (public or admin) as JSON.
    pub async fn json(&self, url: String) -> serde_json::Value {
        self.client
            .get(url)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }
}

/// The `error.code` of a JSON error response.
pub async fn error_code(res: reqwest::Response) -> String {
    let body: serde_json::Value = res.json().await.expect("json body");
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Polls `check` every 20 ms until it is true, failing after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn write(path: &PathBuf, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}
