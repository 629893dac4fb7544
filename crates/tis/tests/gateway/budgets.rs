use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use tokio::time::Instant;

use crate::support::*;

/// An in-process upstream: `/x/slow` (3 s), `/x/fail` (always 503), `/x/once` (503 the first
/// time a request id is seen, then 201). Counts every request.
#[derive(Clone, Default)]
struct Misbehaving {
    hits: Arc<AtomicUsize>,
    deadlines: Arc<Mutex<Vec<u64>>>,
    seen_ids: Arc<Mutex<HashMap<String, usize>>>,
}

impl Misbehaving {
    async fn start() -> (Misbehaving, SocketAddr) {
        let m = Misbehaving::default();
        let addr = m.serve().await;
        (m, addr)
    }

    /// Another server sharing this one's state (counts and request ids seen).
    async fn serve(&self) -> SocketAddr {
        let m = self.clone();
        let (a, b, c) = (m.clone(), m.clone(), m.clone());
        let app = Router::new()
            .route("/health/ready", get(|| async { "ready" }))
            .route(
                "/x/slow",
                get(move |h: HeaderMap| {
                    let m = a.clone();
                    async move {
                        m.hits.fetch_add(1, Ordering::SeqCst);
                        if let Some(ms) = h
                            .get("tis-deadline")
                            .and_then(|v| v.to_str().ok()?.parse().ok())
                        {
                            m.deadlines.lock().expect("lock").push(ms);
                        }
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        "late"
                    }
                }),
            )
            .route(
                "/x/fail",
                get(move || {
                    let m = b.clone();
                    async move {
                        m.hits.fetch_add(1, Ordering::SeqCst);
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                }),
            )
            .route(
                "/x/once",
                post(move |h: HeaderMap| {
                    let m = c.clone();
                    async move {
                        m.hits.fetch_add(1, Ordering::SeqCst);
                        let id = h
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        let mut seen = m.seen_ids.lock().expect("lock");
                        let n = seen.entry(id).or_insert(0);
                        *n += 1;
                        if *n == 1 {
                            StatusCode::SERVICE_UNAVAILABLE
                        } else {
                            StatusCode::CREATED
                        }
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn gateway_to(dir: &std::path::Path, tokens: &Tokens, addrs: &[SocketAddr]) -> GatewayProc {
    let list: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
    let toml = format!(
        "{}[[gateway.routes]]\nprefix = \"/x\"\nservice = \"x\"\n\
         [gateway.services.x]\ndiscovery = {{ kind = \"static\", addrs = [{}] }}\n\
         [gateway.services.x.mesh.breaker]\nconsecutive_failures = 1000000\nmin_success_rate = 0.0\n",
        base_toml(dir, tokens),
        list.join(", ")
    );
    GatewayProc::start(dir, "gateway", &toml).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200ms_budget_ends_at_about_200ms_with_504_and_the_upstream_saw_less_than_200() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = Tokens::start().await;
    let (up, addr) = Misbehaving::start().await;
    let gw = gateway_to(dir.path(), &tokens, &[addr]).await;
    let started = Instant::now();
    let res = gw
        .client
        .get(gw.url("/x/slow"))
        .bearer_auth(tokens.token())
        .header("x-request-timeout", "200ms")
        .send()
        .await
        .expect("answer");
    let took = started.elapsed();
    assert_eq!(res.status(), 504);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "deadline_exceeded");
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_millis(500),
        "took {took:?}"
    );
    let seen = up.deadlines.lock().expect("lock").clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|ms| *ms < 200),
        "upstream saw TIS-Deadline {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_against_an_upstream_failing_everything_stay_within_the_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = Tokens::start().await;
    let (up, a) = Misbehaving::start().await;
    let (up2, b) = Misbehaving::start().await;
    let gw = gateway_to(dir.path(), &tokens, &[a, b]).await;
    let token = tokens.token();
    let n = 300;
    let started = Instant::now();
    for _ in 0..n {
        let res = gw
            .client
            .get(gw.url("/x/fail"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status(), 503);
    }
    let secs = started.elapsed().as_secs_f64().ceil();
    let retries = up.hits() + up2.hits() - n;
    // retries ≤ 20 % of calls + 10/s floor over the elapsed seconds (+1 for the window edge).
    let bound = (0.2 * n as f64 + 10.0 * (secs + 1.0)) as usize;
    eprintln!("{n} requests, {retries} retries in {secs}s (budget bound {bound})");
    assert!(
        retries > 0,
        "an idempotent request to a failing service is retried"
    );
    assert!(retries <= bound, "{retries} retries > budget {bound}");
    assert!(retries < 2 * n, "never the full max_retries per request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_is_retried_only_with_an_idempotency_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = Tokens::start().await;
    let (up, a) = Misbehaving::start().await;
    let b = up.serve().await;
    let gw = gateway_to(dir.path(), &tokens, &[a, b]).await;
    let token = tokens.token();
    let hits = || up.hits();

    for i in 0..5 {
        let before = hits();
        let res = gw
            .client
            .post(gw.url("/x/once"))
            .bearer_auth(&token)
            .header("x-request-id", format!("plain-{i}"))
            .body("{}")
            .send()
            .await
            .expect("answer");
        assert_eq!(
            res.status(),
            503,
            "a POST without a key gets the first answer"
        );
        assert_eq!(
            hits() - before,
            1,
            "a POST without Idempotency-Key is never retried"
        );
    }
    for i in 0..5 {
        let before = hits();
        let res = gw
            .client
            .post(gw.url("/x/once"))
            .bearer_auth(&token)
            .header("x-request-id", format!("keyed-{i}"))
            .header("idempotency-key", format!("k-{i}"))
            .body("{}")
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status(), 201, "the retry succeeded");
        assert_eq!(hits() - before, 2);
        assert_eq!(res.headers()["tis-degraded"], "retried");
    }
}
