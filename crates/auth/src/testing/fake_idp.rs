//! A fake identity provider over real HTTP on `127.0.0.1:0`: discovery and JWKS under a
//! Keycloak-style issuer, switchable keys and outages, fetch counters, and an "attacker"
//! JWKS that tests check is never fetched.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The realm the fake IdP serves.
pub const REALM: &str = "test";

struct IdpState {
    issuer: String,
    jwks: Mutex<Value>,
    attacker_jwks: Mutex<Value>,
    failing: AtomicBool,
    discovery_fetches: AtomicUsize,
    jwks_fetches: AtomicUsize,
    attacker_fetches: AtomicUsize,
}

/// A running fake identity provider; stopped when dropped.
pub struct FakeIdp {
    addr: SocketAddr,
    state: Arc<IdpState>,
    task: JoinHandle<()>,
}

impl FakeIdp {
    /// Starts serving `jwks`.
    pub async fn start(jwks: Value) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(IdpState {
            issuer: format!("http://{addr}/realms/{REALM}"),
            jwks: Mutex::new(jwks),
            attacker_jwks: Mutex::new(json!({"keys": []})),
            failing: AtomicBool::new(false),
            discovery_fetches: AtomicUsize::new(0),
            jwks_fetches: AtomicUsize::new(0),
            attacker_fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route(
                &format!("/realms/{REALM}/.well-known/openid-configuration"),
                get(discovery),
            )
            .route(
                &format!("/realms/{REALM}/protocol/openid-connect/certs"),
                get(certs),
            )
            .route("/attacker/jwks", get(attacker))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeIdp { addr, state, task }
    }

    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/protocol/openid-connect/certs", self.state.issuer)
    }

    /// An attacker's key set, on the same host, which no one should ever fetch.
    pub fn attacker_jwks_uri(&self) -> String {
        format!("http://{}/attacker/jwks", self.addr)
    }

    pub fn set_jwks(&self, jwks: Value) {
        *self.state.jwks.lock().expect("lock") = jwks;
    }

    pub fn set_attacker_jwks(&self, jwks: Value) {
        *self.state.attacker_jwks.lock().expect("lock") = jwks;
    }

    /// While failing, the JWKS and discovery answer 503.
    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn discovery_fetches(&self) -> usize {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    pub fn attacker_fetches(&self) -> usize {
        self.state.attacker_fetches.load(Ordering::SeqCst)
    }
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn discovery(State(s): State<Arc<IdpState>>) -> Response {
    s.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    if s.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    axum::Json(json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{}/protocol/openid-connect/certs", s.issuer),
        "token_endpoint": format!("{}/protocol/openid-connect/token", s.issuer),
    }))
    .into_response()
}

async fn certs(State(s): State<Arc<IdpState>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if s.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let jwks = s.jwks.lock().expect("lock").clone();
    axum::Json(jwks).into_response()
}

async fn attacker(State(s): State<Arc<IdpState>>) -> Response {
    s.attacker_fetches.fetch_add(1, Ordering::SeqCst);
    let jwks = s.attacker_jwks.lock().expect("lock").clone();
    axum::Json(jwks).into_response()
}
