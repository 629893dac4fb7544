//! The client over real HTTP, against an in-test Profile on 127.0.0.1:0 that counts its
//! `/userinfo` calls: single-flight, token forwarding, negative answers, and an outage.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use tis_auth::AccessClaims;
use tis_mesh::StaticDiscovery;
use tis_profile_client::{ClientError, ProfileClient, ProfileClientConfig};
use tokio::sync::{Semaphore, oneshot};
use tokio::time::Instant;

const ISSUER: &str = "http://idp.test/realms/lin";

/// Tokens the fake Profile knows: token → (user, active).
fn directory() -> HashMap<&'static str, (&'static str, bool)> {
    HashMap::from([
        ("token-admin", ("admin", true)),
        ("token-gone", ("gone", true)),
        ("token-retired", ("retired", false)),
    ])
}

struct Fake {
    calls: AtomicUsize,
    /// Each `/userinfo` answer waits for a permit (released by the test).
    gate: Semaphore,
}

async fn userinfo(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    fake.calls.fetch_add(1, Ordering::SeqCst);
    let Ok(permit) = fake.gate.acquire().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    permit.forget();
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    assert_eq!(
        headers.get("token-issuer").map(|v| v.as_bytes()),
        Some(ISSUER.as_bytes())
    );
    match directory().get(token) {
        Some(("gone", _)) | None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": {"code": "no_profile", "message": "no such user"}})),
        )
            .into_response(),
        Some((_, false)) => (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": {"code": "inactive_user", "message": "inactive"}})),
        )
            .into_response(),
        Some((user, true)) => axum::Json(json!({
            "userName": user, "firstName": "Demo", "lastName": "Admin", "fullName": "Demo Admin",
            "gmcId": null, "phoneNumber": null, "emailAddress": "admin@tis.localhost",
            "designatedBodyCodes": ["1-AIIDWA"], "roles": ["HEE Admin"],
            "permissions": ["tcs:view:entities"], "permissionPolicies": [],
            "assignedTrusts": [], "assignedProgrammes": []
        }))
        .into_response(),
    }
}

struct Running {
    addr: SocketAddr,
    fake: Arc<Fake>,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

async fn start_profile(permits: usize) -> Running {
    let fake = Arc::new(Fake {
        calls: AtomicUsize::new(0),
        gate: Semaphore::new(permits),
    });
    let app = Router::new()
        .route("/profile/api/userinfo", get(userinfo))
        .route("/health/ready", get(|| async { "ready" }))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Running {
        addr,
        fake,
        stop: Some(stop),
        served,
    }
}

impl Running {
    fn calls(&self) -> usize {
        self.fake.calls.load(Ordering::SeqCst)
    }

    /// Stops Profile for real: the listener closes and every connection ends.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.served.await.expect("server task");
    }
}

fn claims(user: &str) -> AccessClaims {
    serde_json::from_value(json!({
        "iss": ISSUER, "aud": "tis", "exp": 1, "preferred_username": user
    }))
    .expect("claims")
}

fn client(addr: SocketAddr, config: ProfileClientConfig) -> ProfileClient {
    ProfileClient::new(&config, StaticDiscovery::new([addr])).expect("client")
}

#[tokio::test]
async fn a_thousand_concurrent_first_requests_of_a_new_user_make_exactly_one_userinfo_call() {
    let profile = start_profile(0).await;
    let c = client(profile.addr, ProfileClientConfig::default());
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.resolve("token-admin", &claims("admin")).await })
        })
        .collect();
    // Hold Profile's answer until every request has either started the call or joined it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.stats().singleflight_joins < 999 {
        assert!(Instant::now() < deadline, "{:?}", c.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    profile.fake.gate.add_permits(1);
    for t in tasks {
        let resolved = t.await.expect("join").expect("profile");
        assert_eq!(resolved.profile.user_name, "admin");
        assert!(!resolved.stale);
    }
    assert_eq!(profile.calls(), 1);
    assert_eq!(c.stats().fetches, 1);
    profile.stop().await;
}

#[tokio::test]
async fn no_such_user_and_inactive_become_their_own_403_codes() {
    let profile = start_profile(100).await;
    let c = client(profile.addr, ProfileClientConfig::default());
    let err = c
        .resolve("token-gone", &claims("gone"))
        .await
        .expect_err("none");
    assert_eq!(err, ClientError::NoProfile("gone".into()));
    let http = err.to_http();
    assert_eq!(
        (http.status.as_u16(), http.code.as_ref()),
        (403, "no_profile")
    );
    let err = c
        .resolve("token-retired", &claims("retired"))
        .await
        .expect_err("inactive");
    assert_eq!(err.to_http().code, "inactive_user");
    // Remembered: asking again costs nothing.
    c.resolve("token-gone", &claims("gone"))
        .await
        .expect_err("none");
    assert_eq!(profile.calls(), 2);
    profile.stop().await;
}

#[tokio::test]
async fn with_profile_stopped_a_seen_user_is_served_stale_and_an_unseen_one_gets_503() {
    let profile = start_profile(100).await;
    // Every use must be confirmed by Profile, so the outage shows on the very next request.
    let config = ProfileClientConfig {
        fresh_for: Duration::ZERO,
        stale_while_revalidate: Duration::ZERO,
        ..ProfileClientConfig::default()
    };
    let c = client(profile.addr, config);
    let fresh = c
        .resolve("token-admin", &claims("admin"))
        .await
        .expect("up");
    assert!(!fresh.stale);
    profile.stop().await;

    let stale = c
        .resolve("token-admin", &claims("admin"))
        .await
        .expect("served from cache");
    assert!(stale.stale, "marked stale: Profile was not reachable");
    assert_eq!(stale.profile, fresh.profile);

    let err = c
        .resolve("token-gone", &claims("gone"))
        .await
        .expect_err("never seen");
    let http = err.to_http();
    assert_eq!(
        (http.status.as_u16(), http.code.as_ref()),
        (503, "authorisation_unavailable")
    );
    assert!(c.stats().refresh_failures >= 2, "{:?}", c.stats());
}
