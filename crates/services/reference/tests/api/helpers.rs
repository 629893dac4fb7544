//! `spawn_app()`: the real service on 127.0.0.1:0 with a fresh database (SQLite in a temp
//! folder, or a new PostgreSQL database from tis-testkit), and principals minted with a
//! throwaway gateway key.

use std::sync::LazyLock;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tis_auth::principal::keyfile;
use tis_auth::{AuthenticatedBy, Clock, Principal, PrincipalSigner, UserProfile};
use tis_reference::{App, ReferenceConfig};
use tis_store::DbConfig;

pub const WRITE: &str = "reference:add:modify:entities";
pub const DELETE: &str = "reference:delete:entities";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

struct Keys {
    signer: PrincipalSigner,
    public: String,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let (private, public) = keyfile::generate_pem().expect("gateway keys");
    let signer = PrincipalSigner::new(
        keyfile::parse_private_pem(&private).expect("private key"),
        "tis-gateway",
        Duration::from_secs(30),
        Clock::system(),
    );
    Keys { signer, public }
});

/// A principal token with these permissions and designated bodies.
pub fn token(permissions: &[&str], dbcs: &[&str]) -> String {
    token_for("tester", permissions, dbcs)
}

/// The same, for the user `name`.
pub fn token_for(name: &str, permissions: &[&str], dbcs: &[&str]) -> String {
    let mut profile = UserProfile::named(name);
    profile.permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
    profile.designated_body_codes = dbcs.iter().map(|d| (*d).to_owned()).collect();
    KEYS.signer
        .mint(
            &Principal::new(profile, AuthenticatedBy::Gateway),
            &["reference"],
        )
        .expect("mint")
}

pub fn reader() -> String {
    token(&[], &[])
}

pub fn admin() -> String {
    token(&[WRITE, DELETE], &[])
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub backend: Backend,
    pub client: reqwest::Client,
    /// The app's own database handle: its status shows where statements went.
    pub db: tis_store::Db,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn config(url: String) -> ReferenceConfig {
    let defaults = ReferenceConfig::default();
    ReferenceConfig {
        database: DbConfig {
            url,
            acquire_timeout: Duration::from_millis(1500),
            health_interval: Duration::from_millis(50),
            ..DbConfig::default()
        },
        drain: tis_core::DrainConfig {
            drain_delay: Duration::ZERO,
            shutdown_timeout: Duration::from_secs(1),
            ..defaults.drain
        },
        principal: tis_auth::PrincipalConfig {
            trusted_keys_pem: vec![KEYS.public.clone()],
            ..defaults.principal.clone()
        },
        max_page_size: 50,
        body_limit: 64 * 1024,
        ..defaults
    }
}

pub async fn database_url(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("reference.db").display()),
        Backend::Postgres => tis_testkit::pg::fresh_database()
            .await
            .expect("PostgreSQL is required for these tests"),
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut ReferenceConfig)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = database_url(backend, &dir).await;
    let mut cfg = config(url);
    tweak(&mut cfg);
    start(backend, cfg, dir).await
}

pub async fn start(backend: Backend, cfg: ReferenceConfig, dir: tempfile::TempDir) -> TestApp {
    let app = App::build(cfg).await.expect("build");
    let addr = app.local_addr();
    let db = app.db();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app_to_run = app;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    tokio::spawn(async move {
        let _ = app_to_run
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    let t = TestApp {
        addr,
        backend,
        client,
        db,
        stop: Some(stop),
        _dir: dir,
    };
    t.wait_ready(true).await;
    t
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.header("TIS-Principal", t);
        }
        req
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, Some(&reader()))
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "{:?} GET {path}", self.backend);
        res.json().await.expect("json")
    }

    pub async fn send(&self, method: Method, path: &str, body: &Value) -> Response {
        self.request(method, path, Some(&admin()))
            .json(body)
            .send()
            .await
            .expect("send")
    }

    /// Creates records through the bulk endpoint and returns them as stored.
    pub async fn bulk(&self, plural: &str, body: Value) -> Vec<Value> {
        let res = self
            .send(
                Method::POST,
                &format!("/reference/api/bulk-{plural}"),
                &body,
            )
            .await;
        assert_eq!(res.status(), 200, "{:?} bulk {plural}", self.backend);
        res.json().await.expect("json")
    }

    pub async fn wait_ready(&self, want: bool) {
        let client = self.client.clone();
        let url = self.url("/health/ready");
        tis_testkit::wait::until(
            "readiness",
            Duration::from_secs(30),
            Duration::from_millis(20),
            || {
                let client = client.clone();
                let url = url.clone();
                async move {
                    let status = client.get(&url).send().await.ok()?.status();
                    ((status == 200) == want).then_some(())
                }
            },
        )
        .await
        .expect("readiness");
    }
}

/// The error code of a JSON error response.
pub async fn error_code(res: Response) -> (u16, String, Value) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("a JSON error body");
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body,
    )
}

/// A throwaway primary with `replicas` streaming replicas (the first synchronous when asked),
/// with a `reference` database.
pub async fn cluster(replicas: usize, synchronous: bool) -> tis_testkit::pg::PgCluster {
    let cluster = tokio::task::spawn_blocking(move || {
        tis_testkit::pg::PgCluster::start(tis_testkit::pg::ClusterOptions {
            replicas,
            synchronous,
        })
    })
    .await
    .expect("join")
    .expect("PostgreSQL is required");
    cluster
        .create_database("reference")
        .await
        .expect("database");
    cluster
}

/// The app on `cluster`: writes to its primary, reads from its replicas.
pub async fn spawn_on_cluster(
    cluster: &tis_testkit::pg::PgCluster,
    tweak: impl FnOnce(&mut ReferenceConfig),
) -> TestApp {
    let mut cfg = config(cluster.primary.url("reference"));
    cfg.database.replicas = cluster
        .replicas
        .iter()
        .map(|r| r.url("reference"))
        .collect();
    tweak(&mut cfg);
    let app = start(
        Backend::Postgres,
        cfg,
        tempfile::tempdir().expect("tempdir"),
    )
    .await;
    let db = app.db.clone();
    let want = cluster.replicas.len();
    tis_testkit::wait::until(
        "every replica eligible for reads",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || {
            let db = db.clone();
            async move {
                let s = db.status();
                (s.nodes.iter().filter(|n| n.eligible_for_reads).count() == want).then_some(())
            }
        },
    )
    .await
    .expect("replicas eligible");
    app
}

/// Statements each node has served for this app: (reads, writes) by node name.
pub fn served(app: &TestApp) -> Vec<(String, u64, u64)> {
    app.db
        .status()
        .nodes
        .into_iter()
        .map(|n| (n.name, n.reads, n.writes))
        .collect()
}
