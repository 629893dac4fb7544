//! `spawn_app()`: the real Profile service on 127.0.0.1:0 with a fresh, seeded database
//! (SQLite in a temp folder, or a new PostgreSQL database from tis-testkit), a fake identity
//! provider for access tokens, and principals minted with a throwaway gateway key; optionally
//! a real Reference instance (in-process `tis_reference::App`, demo data) for DBC checks.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, Response};
use serde_json::{Value, json};
use tis_auth::UserProfile;
use tis_auth::testing::{FakeIdp, TestKey, jwks};
use tis_profile::ProfileConfig;
use tis_reference_client::ReferenceClient;
pub use tis_service_kit::testing::{BACKENDS, Backend, error_code};

pub const VIEW: &str = "profile:view:entities";
pub const MODIFY: &str = "profile:add:modify:entities";
pub const DELETE: &str = "profile:delete:entities";

/// The identity provider's signing key of this test process.
static IDP_KEY: LazyLock<TestKey> = LazyLock::new(|| TestKey::ec("idp-key"));

/// A principal for `profile` (and `reference`, which Profile forwards it to), as the gateway
/// mints it.
pub fn principal(profile: UserProfile) -> String {
    principal_for(profile, &["profile", "reference"])
}

/// A principal for the given audiences.
pub fn principal_for(profile: UserProfile, audience: &[&str]) -> String {
    tis_service_kit::testing::principal(profile, audience)
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

/// The kit's test app running Profile, and the fake identity provider it trusts.
pub struct TestApp {
    pub app: tis_service_kit::testing::TestApp<ReferenceClient>,
    pub idp: FakeIdp,
}

impl std::ops::Deref for TestApp {
    type Target = tis_service_kit::testing::TestApp<ReferenceClient>;

    fn deref(&self) -> &Self::Target {
        &self.app
    }
}

pub async fn database_url(backend: Backend, dir: &tempfile::TempDir, name: &str) -> String {
    tis_service_kit::testing::database_url(backend, dir, name.trim_end_matches(".db")).await
}

pub fn config(url: String, idp: &FakeIdp, reference: Vec<SocketAddr>) -> ProfileConfig {
    let mut cfg: ProfileConfig = tis_service_kit::testing::test_config(url);
    cfg.access_tokens = Some(tis_auth::testing::auth_config(&idp.issuer()));
    cfg.reference.discovery = tis_profile::config::DiscoveryConfig::Static { addrs: reference };
    cfg.reference.mesh.per_try_timeout = Duration::from_secs(2);
    cfg.max_items = 50;
    cfg.body_limit = 16 * 1024;
    cfg
}

/// A fake identity provider whose keys sign this suite's access tokens.
pub async fn idp() -> FakeIdp {
    FakeIdp::start(jwks(&[&*IDP_KEY])).await
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
    let app = tis_profile::build(&cfg).await.expect("build");
    let app = tis_service_kit::testing::TestApp::run(backend, "profile", app, dir).await;
    tis_profile::demo::seed(&app.db).await.expect("demo data");
    TestApp { app, idp }
}

impl TestApp {
    /// An access token of this app's identity provider for `user`.
    pub fn access_token(&self, user: &str) -> String {
        access_token_with(&IDP_KEY, &self.idp.issuer(), user)
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
pub type TestReference = tis_service_kit::testing::TestApp;

/// Starts Reference with its demo data, on SQLite.
pub async fn start_reference() -> TestReference {
    let reference = TestReference::spawn(
        Backend::Sqlite,
        |_: &mut tis_reference::ReferenceConfig| {},
        |cfg| async move { tis_reference::build(&cfg).await },
    )
    .await;
    tis_reference::demo::seed(&reference.db)
        .await
        .expect("reference demo data");
    reference
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
