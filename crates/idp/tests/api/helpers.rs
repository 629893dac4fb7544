//! `spawn_idp()`: the real provider on 127.0.0.1:0 with a fresh key folder, a test realm
//! hashed with cheap argon2 parameters (so a test can log in dozens of times), and a
//! manual clock the test moves instead of sleeping.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tempfile::TempDir;
use tis_idp::clock::ManualClock;
use tis_idp::password::{Secret, hash_with};
use tis_idp::realm::{ClientEntry, GrantType, RealmEntry, RealmFile, UserEntry};
use tis_idp::{App, IdpConfig, KeyStore};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ALICE_PASSWORD: &str = "correct horse battery staple";
pub const DORA_PASSWORD: &str = "dora-password";
pub const ETL_SECRET: &str = "etl-secret-7f3a";

fn cheap(secret: &str) -> String {
    let params = argon2::Params::new(8, 1, 1, None).expect("valid argon2 parameters");
    hash_with(&Secret::new(secret), params).expect("hashing")
}

fn user(name: &str, password: &str) -> UserEntry {
    UserEntry {
        username: name.into(),
        id: None,
        password_hash: cheap(password),
        first_name: None,
        last_name: None,
        email: None,
        email_verified: false,
        enabled: true,
        roles: vec![],
        client_roles: BTreeMap::new(),
        attributes: BTreeMap::new(),
    }
}

fn public_client(id: &str) -> ClientEntry {
    ClientEntry {
        client_id: id.into(),
        secret_hash: None,
        public: true,
        enabled: true,
        grants: vec![GrantType::Password, GrantType::RefreshToken],
        roles: vec![],
        client_roles: BTreeMap::new(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
    }
}

pub const WEB_SECRET: &str = "web-secret-91c2";
pub const WEB_CALLBACK: &str = "http://127.0.0.1:8080/auth/callback";
pub const WEB_HOME: &str = "http://127.0.0.1:8080/";
pub const SPA_CALLBACK: &str = "http://127.0.0.1:9090/cb";

/// `web`: confidential, authorization code + refresh, called back at [`WEB_CALLBACK`] (or
/// the `localhost` spelling), [`WEB_HOME`] after logout.
fn web_client() -> ClientEntry {
    ClientEntry {
        client_id: "web".into(),
        secret_hash: Some(cheap(WEB_SECRET)),
        public: false,
        enabled: true,
        grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        roles: vec![],
        client_roles: BTreeMap::new(),
        redirect_uris: vec![
            WEB_CALLBACK.into(),
            "http://localhost:8080/auth/callback".into(),
        ],
        post_logout_redirect_uris: vec![WEB_HOME.into()],
    }
}

/// `spa`: public, authorization code + refresh (PKCE required), called back at
/// [`SPA_CALLBACK`].
fn spa_client() -> ClientEntry {
    ClientEntry {
        client_id: "spa".into(),
        secret_hash: None,
        public: true,
        enabled: true,
        grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        roles: vec![],
        client_roles: BTreeMap::new(),
        redirect_uris: vec![SPA_CALLBACK.into()],
        post_logout_redirect_uris: vec![],
    }
}

/// Realm `lin`: users `alice` (HEE Admin, two DBCs) and `dora` (disabled); clients `tis-ui`
/// and `other-ui` (public, password + refresh), `etl` (confidential, client_credentials,
/// role ETL), `web` (confidential) and `spa` (public), both authorization code + refresh. Realm `other`: user `alice` too, client `tis-ui`.
pub fn test_realms() -> RealmFile {
    let mut alice = user("alice", ALICE_PASSWORD);
    alice.first_name = Some("Alice".into());
    alice.last_name = Some("Liddell".into());
    alice.email = Some("alice@tis.localhost".into());
    alice.email_verified = true;
    alice.roles = vec!["HEE Admin".into()];
    alice.client_roles = BTreeMap::from([("account".into(), vec!["view-profile".into()])]);
    alice.attributes = BTreeMap::from([(
        "dbc".into(),
        vec!["1-AIIDWA".to_owned(), "1-AIIDVS".to_owned()],
    )]);
    let mut dora = user("dora", DORA_PASSWORD);
    dora.enabled = false;
    let etl = ClientEntry {
        client_id: "etl".into(),
        secret_hash: Some(cheap(ETL_SECRET)),
        public: false,
        enabled: true,
        grants: vec![GrantType::ClientCredentials],
        roles: vec!["ETL".into()],
        client_roles: BTreeMap::new(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
    };
    RealmFile {
        realms: vec![
            RealmEntry {
                name: "lin".into(),
                audience: "tis".into(),
                default_roles: vec!["uma_authorization".into()],
                users: vec![alice, dora],
                clients: vec![
                    public_client("tis-ui"),
                    public_client("other-ui"),
                    etl,
                    web_client(),
                    spa_client(),
                ],
            },
            RealmEntry {
                name: "other".into(),
                audience: "tis".into(),
                default_roles: vec![],
                users: vec![user("alice", ALICE_PASSWORD)],
                clients: vec![public_client("tis-ui")],
            },
        ],
    }
}

/// A running provider. Dropping it stops the server task.
pub struct TestIdp {
    pub addr: SocketAddr,
    pub base: String,
    pub issuer: String,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub config: IdpConfig,
    /// The running app's keys: `keys.rotate()` is the in-process rotation.
    pub keys: KeyStore,
    pub dir: Arc<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The config every test starts from: port 0, files in `dir`, no drain delay.
pub fn test_config(dir: &TempDir) -> IdpConfig {
    let mut config = IdpConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        realm_file: dir.path().join("realms.toml"),
        key_dir: dir.path().join("keys"),
        ..IdpConfig::default()
    };
    config.drain.drain_delay = std::time::Duration::ZERO;
    config
}

pub async fn spawn_idp() -> TestIdp {
    spawn_with(|_| {}).await
}

/// Spawns with the test realm and `tweak`ed configuration, in a fresh folder.
pub async fn spawn_with(tweak: impl FnOnce(&mut IdpConfig)) -> TestIdp {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let text = toml::to_string(&test_realms()).expect("render realms");
    std::fs::write(dir.path().join("realms.toml"), text).expect("write realms");
    let mut config = test_config(&dir);
    tweak(&mut config);
    spawn_in(dir, config, Arc::new(ManualClock::new())).await
}

/// Spawns on an existing folder (a restart) with `config` and `clock`.
pub async fn spawn_in(dir: Arc<TempDir>, config: IdpConfig, clock: Arc<ManualClock>) -> TestIdp {
    let app = App::build_with_clock(config.clone(), clock.clone())
        .await
        .expect("the idp builds");
    let addr = app.local_addr();
    let issuer = app.issuer("lin");
    let base = app.base_url().to_owned();
    let keys = app.keys();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run(async {
        let _ = rx.await;
    }));
    TestIdp {
        addr,
        base,
        issuer,
        clock,
        http: reqwest::Client::new(),
        config,
        keys,
        dir,
        stop: Some(tx),
        task: Some(task),
    }
}

impl TestIdp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token_url(&self, realm: &str) -> String {
        self.url(&format!("/realms/{realm}/protocol/openid-connect/token"))
    }

    pub fn userinfo_url(&self, realm: &str) -> String {
        self.url(&format!("/realms/{realm}/protocol/openid-connect/userinfo"))
    }

    /// POSTs `form` to realm `lin`'s token endpoint.
    pub async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.token_in("lin", form).await
    }

    pub async fn token_in(&self, realm: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(form).expect("form");
        self.http
            .post(self.token_url(realm))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("the token endpoint answers")
    }

    /// Alice's password grant through `tis-ui`; returns the JSON body, asserting 200.
    pub async fn login_alice(&self) -> Value {
        let res = self
            .token(&[
                ("grant_type", "password"),
                ("client_id", "tis-ui"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ])
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }

    pub async fn jwks(&self) -> JwkSet {
        self.http
            .get(self.url("/realms/lin/protocol/openid-connect/certs"))
            .send()
            .await
            .expect("certs")
            .json()
            .await
            .expect("a JWKS")
    }

    pub async fn userinfo(&self, token: &str) -> reqwest::Response {
        self.http
            .get(self.userinfo_url("lin"))
            .bearer_auth(token)
            .send()
            .await
            .expect("userinfo answers")
    }

    /// Stops the server, waits for it to drain, and gives back its folder and clock.
    pub async fn stop(mut self) -> (Arc<TempDir>, IdpConfig, Arc<ManualClock>) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("join").expect("the idp stops cleanly");
        }
        (self.dir.clone(), self.config.clone(), self.clock.clone())
    }
}

/// Verifies `token` the way a relying party would, with jsonwebtoken alone: the key from
/// `jwks` by `kid`, the algorithm from that key, `iss`, `aud` = "tis", `exp` required.
pub fn verify(token: &str, jwks: &JwkSet, issuer: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} is not in the JWKS"))?;
    let alg = jwk
        .common
        .key_algorithm
        .ok_or("the JWK has no alg")
        .and_then(|a| Algorithm::from_str(&a.to_string()).map_err(|_| "unknown alg"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = Validation::new(alg);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.set_audience(&["tis"]);
    v.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

/// The claims of a JWT, unverified (for looking at refresh tokens and headers).
pub fn peek(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .expect("a JWT")
        .claims
}
