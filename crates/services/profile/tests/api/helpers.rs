//! `spawn_app()`: the real Profile service on 127.0.0.1:0 with a fresh, seeded database
//! (SQLite in a temp folder, or a new PostgreSQL database from tis-testkit), a fake identity
//! provider for access tokens, and principals minted with a throwaway gateway key; optionally
//! a real Reference instance (in-process `tis_reference::App`, demo data) for DBC checks.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use tis_auth::principal::keyfile;
use tis_auth::testing::{FakeIdp, TestKey, jwks};
use tis_auth::{AuthenticatedBy, Clock, Principal, PrincipalSigner, UserProfile};
use tis_profile::{App, ProfileConfig};
use tis_store::DbConfig;

pub const VIEW: &str = "profile:view:entities";
pub const MODIFY: &str = "profile:add:modify:entities";
pub const DELETE: &str = "profile:delete:entities";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

struct Keys {
    signer: PrincipalSigner,
    public: String,
    idp: TestKey,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let (private, public) = keyfile::generate_pem().expect("gateway keys");
    let signer = PrincipalSigner::new(
        keyfile::parse_private_pem(&private).expect("private key"),
        "tis-gateway",
        Duration::from_secs(30),
        Clock::system(),
    );
    Keys {
        signer,
        public,
        idp: TestKey::ec("idp-key"),
    }
});

/// A principal for `profile` (and `reference`, which Profile forwards it to), as the gateway
/// mints it.
pub fn principal(profile: UserProfile) -> String {
    principal_for(profile, &["profile", "reference"])
}

/// A principal for the given audiences.
pub fn principal_for(profile: UserProfile, audience: &[&str]) -> String {
    KEYS.signer
        .mint(&Principal::new(profile, AuthenticatedBy::Gateway), audience)
        .expect("mint")
}

/// A principal holding `permissions`.
pub fn holding(permissions: &[&str]) -> String {
    let mut profile = UserProfile::named("tester");
    profile.permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
    principal(profile)
}

/// A principal that may do anything to Profile's entities.
pub fn admin() -> String {
    holding(&[VIEW, MODIFY, DELETE])
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// An access token of `issuer` for `user`, signed with `key`.
pub fn access_token_with(key: &TestKey, issuer: &str, user: &str) -> String {
    let mut claims = tis_auth::testing::claims(issuer, now());
    claims["preferred_username"] = json!(user);
    key.sign(&claims)
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub client: reqwest::Client,
    pub idp: FakeIdp,
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

pub async fn database_url(backend: Backend, dir: &tempfile::TempDir, name: &str) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join(name).display()),
        Backend::Postgres => tis_testkit::pg::fresh_database()
            .await
            .expect("PostgreSQL is required for these tests"),
    }
}

pub fn config(url: String, idp: &FakeIdp, reference: Vec<SocketAddr>) -> ProfileConfig {
    let defaults = ProfileConfig::default();
    let mesh = tis_mesh::MeshConfig {
        per_try_timeout: Duration::from_secs(2),
        ..tis_mesh::MeshConfig::default()
    };
    ProfileConfig {
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
        access_tokens: Some(tis_auth::testing::auth_config(&idp.issuer())),
        reference: tis_profile::ReferenceClientConfig {
            discovery: tis_profile::config::DiscoveryConfig::Static { addrs: reference },
            mesh,
            ..defaults.reference.clone()
        },
        max_page_size: 50,
        max_items: 50,
        body_limit: 16 * 1024,
        ..defaults
    }
}

/// A fake identity provider whose keys sign this suite's access tokens.
pub async fn idp() -> FakeIdp {
    FakeIdp::start(jwks(&[&KEYS.idp])).await
}

/// Profile with its demo data, and no Reference.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, Vec::new(), |_| {}).await
}

/// Profile with its demo data, Reference at `reference`, `tweak` applied to the config.
pub async fn spawn_with(
    backend: Backend,
    reference: Vec<SocketAddr>,
    tweak: impl FnOnce(&mut ProfileConfig),
) -> TestApp {
    let idp = idp().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = database_url(backend, &dir, "profile.db").await;
    let mut cfg = config(url, &idp, reference);
    tweak(&mut cfg);
    start(backend, cfg, idp, dir).await
}

/// Builds and serves `cfg`, waits until ready, and loads the demo data.
pub async fn start(
    backend: Backend,
    cfg: ProfileConfig,
    idp: FakeIdp,
    dir: tempfile::TempDir,
) -> TestApp {
    let app = App::build(cfg).await.expect("build");
    let addr = app.local_addr();
    let db = app.db();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    let t = TestApp {
        addr,
        backend,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        idp,
        db,
        stop: Some(stop),
        _dir: dir,
    };
    wait_ready(&t.client, &t.url("/health/ready")).await;
    tis_profile::demo::seed(&t.db).await.expect("demo data");
    t
}

pub async fn wait_ready(client: &reqwest::Client, url: &str) {
    tis_testkit::wait::until(
        "readiness",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || {
            let client = client.clone();
            let url = url.to_owned();
            async move {
                let status = client.get(&url).send().await.ok()?.status();
                (status == 200).then_some(())
            }
        },
    )
    .await
    .expect("readiness");
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request carrying `principal` as `TIS-Principal`.
    pub fn request(&self, method: Method, path: &str, principal: Option<&str>) -> RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if let Some(p) = principal {
            req = req.header("TIS-Principal", p);
        }
        req
    }

    /// An access token of this app's identity provider for `user`.
    pub fn access_token(&self, user: &str) -> String {
        access_token_with(&KEYS.idp, &self.idp.issuer(), user)
    }

    /// `GET /userinfo` as `user`.
    pub async fn userinfo_response(&self, user: &str) -> Response {
        self.client
            .get(self.url("/profile/api/userinfo"))
            .bearer_auth(self.access_token(user))
            .send()
            .await
            .expect("userinfo")
    }

    /// `user`'s profile, from `/userinfo`.
    pub async fn profile_of(&self, user: &str) -> UserProfile {
        let res = self.userinfo_response(user).await;
        assert_eq!(res.status(), 200, "{:?} userinfo of {user}", self.backend);
        res.json().await.expect("profile")
    }

    /// The principal the gateway would mint for `user`.
    pub async fn principal_of(&self, user: &str) -> String {
        principal(self.profile_of(user).await)
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let res = self
            .request(Method::GET, path, Some(&admin()))
            .send()
            .await
            .expect("GET");
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
}

/// A running Reference with its demo data, trusting the same gateway key.
pub struct TestReference {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestReference {
    pub async fn start() -> TestReference {
        let dir = tempfile::tempdir().expect("tempdir");
        let defaults = tis_reference::ReferenceConfig::default();
        let cfg = tis_reference::ReferenceConfig {
            database: DbConfig {
                url: format!("sqlite://{}", dir.path().join("reference.db").display()),
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
            ..defaults
        };
        let app = tis_reference::App::build(cfg).await.expect("reference");
        let addr = app.local_addr();
        let db = app.db();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            let _ = app
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        let client = reqwest::Client::new();
        wait_ready(&client, &format!("http://{addr}/health/ready")).await;
        tis_reference::demo::seed(&db)
            .await
            .expect("reference demo data");
        TestReference {
            addr,
            stop: Some(stop),
            served: Some(served),
            _dir: dir,
        }
    }

    /// Stops Reference for real: it drains, closes its listener and its connections.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("reference task");
        }
    }
}

impl Drop for TestReference {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Status, error code and body of a JSON error response.
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

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}
