//! The public path called directly, without a socket in front: what each step does when it
//! is one of the chain (its order, its refusal and the status `rescue` gives it), with the
//! request context, the panic guard and the public routes around it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use axum::body::Body;
use futures::future::BoxFuture;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use tis_auth::principal::keyfile;
use tis_auth::testing::{self, ScriptedSource, TestKey};
use tis_auth::{
    AccessClaims, AccessTokenVerifier, Clock, JwksCache, PrincipalConfig, PrincipalSigner,
    PrincipalVerifier, ProfileError, ProfileSource, ResolvedProfile, UserProfile,
};
use tis_mesh::Registry;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::{DiscoveryConfig, RouteConfig, ServiceConfig};
use crate::proxy::Peer;
use crate::registry::Instances;
use crate::reload::Reloader;
use crate::routes::RouteTable;
use crate::stack::{self, Public};
use crate::status::{Sightings, Sources};
use crate::steps::admission::Admission;

const ISSUER: &str = "https://idp.test/realms/lin";

/// Profiles by user name: stale, slow, held until a permit is added, or a panic.
#[derive(Default)]
struct Profiles {
    stale: bool,
    delay: Option<Duration>,
    gate: Option<Arc<Semaphore>>,
    panic: bool,
}

impl ProfileSource for Profiles {
    fn profile<'a>(
        &'a self,
        _token: &'a str,
        claims: &'a AccessClaims,
    ) -> BoxFuture<'a, Result<ResolvedProfile, ProfileError>> {
        Box::pin(async move {
            assert!(!self.panic, "a bug in a profile source");
            if let Some(gate) = &self.gate {
                let _permit = gate.acquire().await;
            }
            if let Some(delay) = self.delay {
                tokio::time::sleep(delay).await;
            }
            Ok(ResolvedProfile {
                profile: UserProfile::named(claims.user_name().unwrap_or("nobody")),
                stale: self.stale,
                fresh_for: None,
            })
        })
    }
}

struct Rig {
    public: Arc<Public>,
    key: TestKey,
    admission: Arc<Admission>,
    principal_pem: String,
}

/// The public path with `profiles`, a concurrency limit, a 16-byte body limit and, when
/// `upstream` is given, the route `/svc` to it.
async fn rig(profiles: Profiles, limit: usize, upstream: Option<SocketAddr>) -> Rig {
    let key = TestKey::ed25519("idp-1");
    let auth = testing::auth_config(ISSUER);
    let source = Arc::new(ScriptedSource::serving(testing::jwks(&[&key])));
    let keys = JwksCache::new(&auth, source, Clock::system()).expect("keys");
    keys.start_refreshing().await;
    let verifier = AccessTokenVerifier::new(&auth, keys.clone()).expect("verifier");
    let (private, principal_pem) = keyfile::generate_pem().expect("principal keys");
    let signing = keyfile::parse_private_pem(&private).expect("key");
    let lifetime = Duration::from_secs(60);
    let signer = PrincipalSigner::new(signing, "tis-gateway", lifetime, Clock::system());
    let registry = Registry::new();
    let table = Arc::new(ArcSwap::from_pointee(RouteTable::empty()));
    if let Some(addr) = upstream {
        let service = ServiceConfig {
            discovery: DiscoveryConfig::Static { addrs: vec![addr] },
            ..ServiceConfig::default()
        };
        let services = BTreeMap::from([("svc".to_owned(), service)]);
        let open = RouteConfig {
            public: true,
            ..RouteConfig::new("/open", "svc")
        };
        let routes = [RouteConfig::new("/svc", "svc"), open];
        let built = crate::routes::build(&routes, &services, None, &registry, "test").await;
        table.store(Arc::new(built.expect("table")));
    }
    let admission = Arc::new(Admission::new(limit));
    let sightings = Arc::new(Sightings::default());
    let sources = Sources {
        keys,
        table: table.clone(),
        admission: admission.clone(),
        sightings: sightings.clone(),
        reloader: Arc::new(Reloader::new(table.clone(), registry.clone(), None)),
        instances: Arc::new(Instances::new(registry)),
        started: Instant::now(),
        degraded_memory: Duration::from_secs(30),
        history: Default::default(),
    };
    let public = stack::public(stack::Parts {
        table,
        health: tis_core::Health::new("gateway"),
        sources,
        admission: admission.clone(),
        verifier,
        profiles: Arc::new(profiles),
        signer,
        principal_lifetime: lifetime,
        principal_reuse: Duration::from_secs(10),
        body_limit: 16,
        default_timeout: Duration::from_secs(10),
        max_timeout: Duration::from_secs(60),
        https: false,
        trust_forwarded: false,
        sightings,
        cors: crate::cors::Cors::default(),
    });
    Rig {
        public: Arc::new(public),
        key,
        admission,
        principal_pem,
    }
}

fn now() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.expect("clock").as_secs()
}

impl Rig {
    fn token(&self) -> String {
        self.key.sign(&testing::claims(ISSUER, now()))
    }

    fn request(&self, path: &str, headers: &[(&str, &str)], body: Body) -> http::Request<Body> {
        let mut req = http::Request::post(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(body).expect("request")
    }

    /// Serves `req` as a connection from 203.0.113.9 would: status, headers, error code (or
    /// the body when it is not an error).
    async fn call(&self, req: http::Request<Body>) -> (StatusCode, HeaderMap, String) {
        serve(self.public.clone(), req).await
    }
}

async fn serve(public: Arc<Public>, req: http::Request<Body>) -> (StatusCode, HeaderMap, String) {
    let peer = Peer::new("203.0.113.9:50000".parse().expect("addr"));
    let res = public.serve(req, &peer).await;
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let code = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
    (parts.status, parts.headers, code.unwrap_or(text))
}

#[tokio::test]
async fn each_step_refuses_in_the_drawn_order_with_its_own_status_and_code() {
    let rig = rig(Profiles::default(), 10, None).await;
    let bearer = format!("Bearer {}", rig.token());
    let expired = format!(
        "Bearer {}",
        rig.key.sign(&testing::claims(ISSUER, now() - 3600))
    );
    // Headers, body; the status and error code expected.
    let cases = [
        // The body limit first: no token needed to be refused for size.
        (
            vec![("content-length", "17")],
            "x",
            413,
            "payload_too_large",
        ),
        // The deadline before authentication.
        (
            vec![("x-request-timeout", "soon")],
            "",
            400,
            "invalid_request_timeout",
        ),
        (vec![], "", 401, "missing_token"),
        (vec![("authorization", &*expired)], "", 401, "token_expired"),
        // Only a caller with a valid token learns that a path has no route.
        (vec![("authorization", &*bearer)], "", 404, "not_found"),
        (
            vec![("authorization", &*bearer), ("content-length", "1")],
            "x",
            404,
            "not_found",
        ),
    ];
    for (headers, body, status, code) in cases {
        let req = rig.request("/nowhere", &headers, Body::from(body));
        let (got, answer, got_code) = rig.call(req).await;
        assert_eq!(
            (got.as_u16(), got_code.as_str()),
            (status, code),
            "{headers:?}"
        );
        let id = answer["x-request-id"].to_str().expect("ascii");
        assert_eq!(id.len(), 32, "every answer carries a request id: {id}");
    }
    assert_eq!(rig.admission.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_bounds_the_wait_for_a_profile_by_header_default_and_cap() {
    let slow = Profiles {
        delay: Some(Duration::from_secs(3600)),
        ..Profiles::default()
    };
    let rig = rig(slow, 10, None).await;
    let bearer = format!("Bearer {}", rig.token());
    for (timeout, waited) in [
        (Some("200ms"), Duration::from_millis(200)),
        (None, Duration::from_secs(10)),
        (Some("1h"), Duration::from_secs(60)),
    ] {
        let mut headers = vec![("authorization", bearer.as_str())];
        headers.extend(timeout.map(|t| ("x-request-timeout", t)));
        let started = Instant::now();
        let (status, _, code) = rig.call(rig.request("/x", &headers, Body::empty())).await;
        assert_eq!((status.as_u16(), code.as_str()), (504, "deadline_exceeded"));
        assert_eq!(Instant::now() - started, waited, "{timeout:?}");
    }
}

#[tokio::test]
async fn beyond_the_limit_a_request_is_shed_at_once_before_its_token_is_read() {
    let gate = Arc::new(Semaphore::new(0));
    let held = Profiles {
        gate: Some(gate.clone()),
        ..Profiles::default()
    };
    let rig = rig(held, 1, None).await;
    let bearer = format!("Bearer {}", rig.token());
    let first = rig.request("/x", &[("authorization", &bearer)], Body::empty());
    let first = tokio::spawn(serve(rig.public.clone(), first));
    for _ in 0..1000 {
        if rig.admission.in_flight() == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        rig.admission.in_flight(),
        1,
        "the first request holds the permit"
    );

    let (status, headers, code) = rig.call(rig.request("/x", &[], Body::empty())).await;
    assert_eq!((status.as_u16(), code.as_str()), (503, "overloaded"));
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(rig.admission.shed_total(), 1);

    gate.add_permits(1);
    let (status, _, _) = first.await.expect("join");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(rig.admission.in_flight(), 0);
}

#[tokio::test]
async fn a_stale_profile_marks_the_answer_and_a_panic_is_a_500_with_a_request_id() {
    let stale = Profiles {
        stale: true,
        ..Profiles::default()
    };
    let rig = rig(stale, 10, None).await;
    let bearer = format!("Bearer {}", rig.token());
    let forged = [("authorization", bearer.as_str()), ("tis-degraded", "idp")];
    let (status, headers, _) = rig.call(rig.request("/x", &forged, Body::empty())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        headers["tis-degraded"], "profile-stale",
        "ours, not the client's"
    );

    let broken = Profiles {
        panic: true,
        ..Profiles::default()
    };
    let rig = self::rig(broken, 10, None).await;
    let bearer = format!("Bearer {}", rig.token());
    let req = rig.request("/x", &[("authorization", &bearer)], Body::empty());
    let (status, headers, code) = rig.call(req).await;
    assert_eq!((status.as_u16(), code.as_str()), (500, "internal_error"));
    assert!(headers.contains_key("x-request-id"));
    assert_eq!(
        rig.admission.in_flight(),
        0,
        "the permit went with the panic"
    );
}

#[tokio::test]
async fn the_public_routes_answer_without_a_token_and_anything_else_is_routed() {
    let rig = rig(Profiles::default(), 10, None).await;
    for path in ["/health/live", "/api/status", "/status"] {
        let req = http::Request::get(path).body(Body::empty()).expect("req");
        let (status, headers, _) = rig.call(req).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(headers.contains_key("x-request-id"), "{path}");
    }
    let req = http::Request::get("/status/")
        .body(Body::empty())
        .expect("req");
    assert_eq!(rig.call(req).await.2, "missing_token");
}

/// An upstream that records the headers of each request and reads its whole body.
async fn upstream() -> (Arc<Mutex<Vec<HeaderMap>>>, SocketAddr) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let echo = axum::routing::any(move |headers: HeaderMap, body: axum::body::Bytes| {
        record.lock().expect("lock").push(headers);
        async move { format!("{} bytes", body.len()) }
    });
    let app = axum::Router::new()
        .route("/svc/echo", echo.clone())
        .route("/open/echo", echo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (seen, addr)
}

#[tokio::test]
async fn the_service_gets_a_principal_minted_for_it_once_and_no_client_secrets() {
    let (seen, addr) = upstream().await;
    let rig = rig(Profiles::default(), 10, Some(addr)).await;
    let bearer = format!("Bearer {}", rig.token());
    let headers = [
        ("authorization", bearer.as_str()),
        ("tis-principal", "forged"),
        ("x-forwarded-for", "10.0.0.1"),
        ("connection", "x-hop"),
        ("x-hop", "1"),
    ];
    for _ in 0..2 {
        let req = rig.request("/svc/echo", &headers, Body::from("hello"));
        let (status, _, body) = rig.call(req).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "5 bytes"));
    }
    let seen = seen.lock().expect("lock").clone();
    let [first, second] = &seen[..] else {
        panic!("two requests, saw {}", seen.len())
    };
    let config = PrincipalConfig {
        audience: "svc".into(),
        ..PrincipalConfig::default()
    };
    let trusted = vec![keyfile::parse_public_pem(&rig.principal_pem).expect("pem")];
    let verifier = PrincipalVerifier::with_keys(&config, trusted, Clock::system());
    let token = first["tis-principal"].to_str().expect("ascii");
    let principal = verifier.expect("verifier").verify(token).expect("ours");
    assert_eq!(principal.user_name(), "jdoe");
    assert_eq!(second["tis-principal"], first["tis-principal"], "reused");
    assert_eq!(first["x-forwarded-for"], "203.0.113.9");
    assert_eq!(first["x-forwarded-proto"], "http");
    for gone in ["authorization", "x-hop"] {
        assert!(!first.contains_key(gone), "{gone} was forwarded");
    }
    assert!(first.contains_key("traceparent") && first.contains_key("x-request-id"));
}

#[tokio::test]
async fn a_chunked_body_that_grows_past_the_limit_is_a_413() {
    let (seen, addr) = upstream().await;
    let rig = rig(Profiles::default(), 10, Some(addr)).await;
    let bearer = format!("Bearer {}", rig.token());
    let chunks = ["0123456789", "0123456789"].map(Ok::<_, std::io::Error>);
    let body = Body::from_stream(futures::stream::iter(chunks));
    let req = rig.request("/svc/echo", &[("authorization", &bearer)], body);
    let (status, _, code) = rig.call(req).await;
    assert_eq!((status.as_u16(), code.as_str()), (413, "payload_too_large"));
    assert!(seen.lock().expect("lock").len() <= 1);
}

#[tokio::test]
async fn a_public_route_needs_no_token_mints_no_principal_and_passes_cookies_only() {
    let (seen, addr) = upstream().await;
    let rig = rig(Profiles::default(), 10, Some(addr)).await;
    let bearer = format!("Bearer {}", rig.token());
    let headers = [
        ("tis-principal", "forged"),
        ("cookie", "TIS_SESSION=abc"),
        ("authorization", bearer.as_str()),
    ];
    let req = rig.request("/open/echo", &headers, Body::from("hi"));
    let (status, _, body) = rig.call(req).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "2 bytes"));
    // The same service behind a route that is not public still wants a token.
    let req = rig.request("/svc/echo", &[("cookie", "TIS_SESSION=abc")], Body::empty());
    assert_eq!(rig.call(req).await.2, "missing_token");
    let seen = seen.lock().expect("lock").clone();
    let [only] = &seen[..] else {
        panic!("one request reached the service, saw {}", seen.len())
    };
    assert_eq!(only["cookie"], "TIS_SESSION=abc");
    for gone in ["tis-principal", "authorization"] {
        assert!(!only.contains_key(gone), "{gone} was forwarded");
    }
    assert_eq!(rig.admission.in_flight(), 0);
}
