//! `spawn_app()`: the real service on 127.0.0.1:0 with a fresh database (SQLite in a temp
//! folder, or a new PostgreSQL database from tis-testkit), and principals minted with a
//! throwaway gateway key.

use reqwest::{Method, Response};
use serde_json::Value;
use tis_reference::ReferenceConfig;
pub use tis_service_kit::testing::{BACKENDS, Backend, error_code};

pub const WRITE: &str = "reference:add:modify:entities";
pub const DELETE: &str = "reference:delete:entities";

/// The kit's test app, running Reference.
pub type TestApp = tis_service_kit::testing::TestApp;

/// A principal token with these permissions and designated bodies.
pub fn token(permissions: &[&str], dbcs: &[&str]) -> String {
    token_for("tester", permissions, dbcs)
}

/// The same, for the user `name`.
pub fn token_for(name: &str, permissions: &[&str], dbcs: &[&str]) -> String {
    tis_service_kit::testing::principal_with(&["reference"], name, permissions, dbcs)
}

pub fn reader() -> String {
    token(&[], &[])
}

pub fn admin() -> String {
    token(&[WRITE, DELETE], &[])
}

pub fn config(url: String) -> ReferenceConfig {
    tis_service_kit::testing::test_config(url)
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut ReferenceConfig)) -> TestApp {
    TestApp::spawn(backend, tweak, |cfg| async move {
        tis_reference::build(&cfg).await
    })
    .await
}

pub async fn start(backend: Backend, cfg: ReferenceConfig, dir: tempfile::TempDir) -> TestApp {
    let app = tis_reference::build(&cfg).await.expect("build");
    TestApp::run(backend, "reference", app, dir).await
}

/// Two instances of Reference on one new database (one's kept sets, counts and orders must
/// follow the other's writes).
pub async fn two_on_one_database(backend: Backend) -> (TestApp, TestApp) {
    let mut url = String::new();
    let one = spawn_with(backend, |c| {
        url = tis_service_kit::config::ServiceConfig::base(c).database.url
    })
    .await;
    let two = start(backend, config(url), tempfile::tempdir().expect("tempdir")).await;
    (one, two)
}

/// Reference's shorthands over the kit's test app: reads as a reader, writes as an admin.
pub trait ReferenceApp {
    async fn get(&self, path: &str) -> Response;
    async fn get_json(&self, path: &str) -> Value;
    async fn send(&self, method: Method, path: &str, body: &Value) -> Response;
    /// Creates records through the bulk endpoint and returns them as stored.
    async fn bulk(&self, plural: &str, body: Value) -> Vec<Value>;
    /// `DELETE path` as an admin.
    async fn delete(&self, path: &str) -> Response;
}

impl ReferenceApp for TestApp {
    async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, Some(&reader()))
            .send()
            .await
            .expect("GET")
    }

    async fn get_json(&self, path: &str) -> Value {
        self.get_json_as(path, &reader()).await
    }

    async fn send(&self, method: Method, path: &str, body: &Value) -> Response {
        self.request(method, path, Some(&admin()))
            .json(body)
            .send()
            .await
            .expect("send")
    }

    async fn bulk(&self, plural: &str, body: Value) -> Vec<Value> {
        let res = self
            .send(
                Method::POST,
                &format!("/reference/api/bulk-{plural}"),
                &body,
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert_eq!(status, 200, "{:?} bulk {plural}: {body}", self.backend);
        serde_json::from_value(body).expect("a list")
    }

    async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path, Some(&admin()))
            .send()
            .await
            .expect("DELETE")
    }
}

/// A throwaway primary with `replicas` streaming replicas (the first synchronous when asked),
/// with a `reference` database.
pub async fn cluster(replicas: usize, synchronous: bool) -> tis_testkit::pg::PgCluster {
    tis_service_kit::testing::cluster("reference", replicas, synchronous).await
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
    tis_service_kit::testing::until_replicas_eligible(&app.db, cluster.replicas.len()).await;
    app
}

/// Statements each node has served for this app: (reads, writes) by node name.
pub fn served(app: &TestApp) -> Vec<(String, u64, u64)> {
    app.served()
}
