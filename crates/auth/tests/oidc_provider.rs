//! Interoperability with an identity provider we did not write: panva's `oidc-provider` 9
//! (OpenID certified), in `tests/oidc-provider/`, mounted under a Keycloak-style issuer.
//!
//! Needs `node` and the provider's packages: run `npm ci` in `tests/oidc-provider` first
//! (`.ci/run` does). Without them these tests fail, saying so: they never skip.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tis_auth::{AccessTokenVerifier, AuthConfig, AuthError, JwksCache, KeyState};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout};

const DEADLINE: Duration = Duration::from_secs(30);

/// The provider as a child process, killed on drop.
struct OidcProvider {
    _child: Child,
    base: String,
    issuer: String,
    http: reqwest::Client,
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

impl OidcProvider {
    async fn start() -> Self {
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "the oidc-provider packages are not installed: run `npm ci` in {}",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg("server.mjs")
            .arg("test")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `node server.mjs` in {}: {e}", dir.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = timeout(DEADLINE, lines.next_line())
            .await
            .expect("the provider printed no port within the deadline")
            .expect("reading the provider's stdout")
            .expect("the provider exited before printing its port");
        let port: u16 = first
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a port: {first:?}"));
        let base = format!("http://127.0.0.1:{port}");
        let provider = OidcProvider {
            _child: child,
            issuer: format!("{base}/realms/test"),
            base,
            http: reqwest::Client::new(),
        };
        provider.wait_ready().await;
        provider
    }

    /// Polls discovery until it answers, within the deadline.
    async fn wait_ready(&self) {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let until = Instant::now() + DEADLINE;
        loop {
            if let Ok(res) = self.http.get(&url).send().await
                && res.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < until,
                "{url} did not answer within {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A client-credentials access token for `tis-batch`.
    async fn token(&self) -> String {
        let res = self
            .http
            .post(format!("{}/protocol/openid-connect/token", self.issuer))
            .basic_auth("tis-batch", Some("tis-batch-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .expect("token request");
        assert!(
            res.status().is_success(),
            "token endpoint: {}",
            res.status()
        );
        let body: serde_json::Value = res.json().await.expect("token response");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    async fn admin(&self, action: &str) -> Vec<String> {
        let res = self
            .http
            .post(format!("{}/admin/keys/{action}", self.base))
            .send()
            .await
            .expect("admin request");
        assert!(
            res.status().is_success(),
            "admin {action}: {}",
            res.status()
        );
        let body: serde_json::Value = res.json().await.expect("admin response");
        body["kids"]
            .as_array()
            .expect("kids")
            .iter()
            .map(|k| k.as_str().expect("kid").to_owned())
            .collect()
    }
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

async fn verifier_for(provider: &OidcProvider) -> AccessTokenVerifier {
    let config = AuthConfig {
        issuer: provider.issuer.clone(),
        audience: vec!["tis-test".into()],
        ..AuthConfig::default()
    };
    let cache = JwksCache::start(&config).await.expect("cache");
    assert_eq!(cache.state(), KeyState::Ok, "{:?}", cache.status());
    AccessTokenVerifier::new(&config, cache).expect("verifier")
}

#[tokio::test]
async fn a_client_credentials_token_from_oidc_provider_verifies() {
    let provider = OidcProvider::start().await;
    let verifier = verifier_for(&provider).await;
    let token = provider.token().await;
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let v = verifier.verify(&token).await.expect("verified");
    assert_eq!(v.claims.iss, provider.issuer);
    assert_eq!(v.claims.user_name(), Some("service-account-tis-batch"));
    assert_eq!(v.claims.client_id.as_deref(), Some("tis-batch"));
    assert!(v.claims.realm_roles().iter().any(|r| r == "ETL"));
    assert_eq!(v.claims.dbc, vec!["1-AIIDWA"]);
    // The catalogue turns its realm roles into TIS permissions.
    let profile = tis_auth::RoleCatalogue::tis()
        .profile_for_claims(&v.claims)
        .expect("profile");
    assert!(profile.permissions.contains("person:bulk:add:modify"));
    // Someone else's audience is refused.
    let other = AuthConfig {
        issuer: provider.issuer.clone(),
        audience: vec!["another-service".into()],
        ..AuthConfig::default()
    };
    let cache = JwksCache::start(&other).await.expect("cache");
    let refusing = AccessTokenVerifier::new(&other, cache).expect("verifier");
    assert_eq!(
        refusing.verify(&token).await.unwrap_err(),
        AuthError::WrongAudience
    );
}

#[tokio::test]
async fn oidc_provider_key_rotation_is_followed() {
    let provider = OidcProvider::start().await;
    let verifier = verifier_for(&provider).await;
    let first = provider.token().await;
    verifier.verify(&first).await.expect("first key");

    let kids = provider.admin("rotate").await;
    assert_eq!(kids.len(), 2);
    let second = provider.token().await;
    assert_eq!(kid_of(&second), kids[0]);
    assert_ne!(kid_of(&second), kid_of(&first));
    verifier
        .verify(&second)
        .await
        .expect("the new key, after one refresh");
    verifier
        .verify(&first)
        .await
        .expect("the old key while still published");

    let kids = provider.admin("prune").await;
    assert_eq!(kids, vec![kid_of(&second)]);
    verifier.keys().refresh().await.expect("refresh");
    let err = verifier.verify(&first).await.expect_err("a removed key");
    assert_eq!(err, AuthError::UnknownKey(kid_of(&first)));
    verifier.verify(&second).await.expect("the current key");
}
