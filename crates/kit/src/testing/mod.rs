//! API-test helpers for services built on the kit (feature `testing`): the real service on
//! `127.0.0.1:0` with a fresh database on either backend, and principals minted with a
//! throwaway gateway key.
//!
//! ```ignore
//! use tis_service_kit::testing::{BACKENDS, TestApp};
//! for backend in BACKENDS {
//!     let app = TestApp::spawn(backend, |_cfg: &mut ReferenceConfig| {}, tis_reference::build).await;
//!     let token = app.token(&["reference:add:modify:entities"], &[]);
//!     let res = app.request(Method::POST, "/reference/api/grades", Some(&token)).json(&body).send().await?;
//! }
//! ```
//!
//! [`schema::assert_migrations_agree`] is the schema parity test every service runs.
//!
//! SQLite databases live in a temporary folder; PostgreSQL ones are new databases on the
//! server `TISTEST_DATABASE_URL` names, or on a throwaway server tis-testkit starts (see
//! `tis_testkit::pg::fresh_database`): a missing PostgreSQL fails the test, never skips it.

pub mod schema;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tis_auth::principal::keyfile;
use tis_auth::{AuthenticatedBy, Clock, Principal, PrincipalSigner, UserProfile};
use tis_store::Db;

use crate::app::App;
use crate::config::ServiceConfig;

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Both, for tests that must hold on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

struct Keys {
    signer: PrincipalSigner,
    public: String,
}

/// One gateway key pair per test process: every app spawned here trusts it.
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

/// The public key apps spawned here trust (PEM), for a test that builds its own config.
pub fn gateway_public_key() -> String {
    KEYS.public.clone()
}

/// A principal for `profile`, for the services in `audience`.
pub fn principal(profile: UserProfile, audience: &[&str]) -> String {
    KEYS.signer
        .mint(&Principal::new(profile, AuthenticatedBy::Gateway), audience)
        .expect("mint")
}

/// A principal for the user `name` with these permissions and designated bodies.
pub fn principal_with(
    audience: &[&str],
    name: &str,
    permissions: &[&str],
    dbcs: &[&str],
) -> String {
    let mut profile = UserProfile::named(name);
    profile.permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
    profile.designated_body_codes = dbcs.iter().map(|d| (*d).to_owned()).collect();
    principal(profile, audience)
}

/// A database URL of `backend` for service `name`: a file in `dir`, or a new PostgreSQL
/// database.
pub async fn database_url(backend: Backend, dir: &tempfile::TempDir, name: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "sqlite://{}",
            dir.path().join(format!("{name}.db")).display()
        ),
        Backend::Postgres => tis_testkit::pg::fresh_database()
            .await
            .expect("PostgreSQL is required for these tests"),
    }
}

/// `C`'s defaults made quick for tests: the database at `url` checked every 50 ms, no drain
/// delay, principals from this process's gateway key, pages of at most 50, bodies of at most
/// 64 KiB.
pub fn test_config<C: ServiceConfig>(url: String) -> C {
    let mut cfg = C::default();
    {
        let base = cfg.base_mut();
        base.database.url = url;
        base.database.acquire_timeout = Duration::from_millis(1500);
        base.database.health_interval = Duration::from_millis(50);
        base.drain.drain_delay = Duration::ZERO;
        base.drain.shutdown_timeout = Duration::from_secs(1);
        base.principal.trusted_keys_pem = vec![KEYS.public.clone()];
    }
    // The limits are plain fields of the section; set them through serde so that this stays
    // generic over the service.
    let mut json = serde_json::to_value(&cfg).expect("a config serializes");
    json["max_page_size"] = 50.into();
    json["body_limit"] = (64 * 1024).into();
    serde_json::from_value(json).expect("the same config")
}

/// A running service on `127.0.0.1:0`, stopped when dropped.
pub struct TestApp<X = ()> {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub client: reqwest::Client,
    /// The app's own database handle: its status shows where statements went.
    pub db: Db,
    /// The audience principals minted by [`TestApp::token`] carry.
    pub service: &'static str,
    /// What the service kept of its own (see `Built::extra`), cloned before it ran.
    pub extra: X,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl<X> Drop for TestApp<X> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl<X: Clone + Send + Sync + 'static> TestApp<X> {
    /// Spawns the service `build` makes from [`test_config`] on a fresh database of
    /// `backend`, after `tweak`, and waits until it is ready.
    pub async fn spawn<C, F, Fut>(backend: Backend, tweak: impl FnOnce(&mut C), build: F) -> Self
    where
        C: ServiceConfig,
        F: FnOnce(C) -> Fut,
        Fut: Future<Output = anyhow::Result<App<X>>>,
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = database_url(backend, &dir, C::NAME).await;
        let mut cfg: C = test_config(url);
        tweak(&mut cfg);
        let app = build(cfg).await.expect("build");
        Self::run(backend, C::NAME, app, dir).await
    }

    /// Runs an app already built (on a database the test chose), and waits until it is ready.
    pub async fn run(
        backend: Backend,
        service: &'static str,
        app: App<X>,
        dir: tempfile::TempDir,
    ) -> Self {
        let addr = app.local_addr();
        let db = app.db();
        let extra = app.extra().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            let _ = app
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let t = TestApp {
            addr,
            backend,
            client,
            db,
            service,
            extra,
            stop: Some(stop),
            served: Some(served),
            _dir: dir,
        };
        t.wait_ready(true).await;
        t
    }
}

impl<X> TestApp<X> {
    /// Stops the service for real: it drains, closes its listener and its connections.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("the service's task");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A principal for this service: user `tester` with these permissions and designated
    /// bodies.
    pub fn token(&self, permissions: &[&str], dbcs: &[&str]) -> String {
        principal_with(&[self.service], "tester", permissions, dbcs)
    }

    /// A request carrying `principal` as `TIS-Principal`, if given.
    pub fn request(&self, method: Method, path: &str, principal: Option<&str>) -> RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = principal {
            req = req.header("TIS-Principal", t);
        }
        req
    }

    /// `GET path` as `principal`, expecting 200 and JSON.
    pub async fn get_json_as(&self, path: &str, principal: &str) -> Value {
        let res = self
            .request(Method::GET, path, Some(principal))
            .send()
            .await
            .expect("GET");
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(status, 200, "{:?} GET {path}: {body}", self.backend);
        serde_json::from_str(&body).expect("json")
    }

    /// Waits until `/health/ready` answers 200 (`want`) or not.
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

    /// Statements each database node has served for this app: (reads, writes) by node name.
    pub fn served(&self) -> Vec<(String, u64, u64)> {
        self.db
            .status()
            .nodes
            .into_iter()
            .map(|n| (n.name, n.reads, n.writes))
            .collect()
    }
}

/// The status, error code and body of a JSON error response.
/// `s` as a query value (`columnFilters={"status":["CURRENT"]}`), every reserved byte encoded.
pub fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

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
/// with a database `name`.
pub async fn cluster(
    name: &'static str,
    replicas: usize,
    synchronous: bool,
) -> tis_testkit::pg::PgCluster {
    let cluster = tokio::task::spawn_blocking(move || {
        tis_testkit::pg::PgCluster::start(tis_testkit::pg::ClusterOptions {
            replicas,
            synchronous,
        })
    })
    .await
    .expect("join")
    .expect("PostgreSQL is required");
    cluster.create_database(name).await.expect("database");
    cluster
}

/// Waits until `want` replicas of `db` are eligible for reads.
pub async fn until_replicas_eligible(db: &Db, want: usize) {
    let db = db.clone();
    tis_testkit::wait::until(
        "every replica eligible for reads",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || {
            let s = db.status();
            async move {
                (s.nodes.iter().filter(|n| n.eligible_for_reads).count() == want).then_some(())
            }
        },
    )
    .await
    .expect("replicas eligible");
}
