//! The stack's overhead per request, against a bare hyper client, on one local upstream.
//!
//! `cargo bench -p tis-mesh --bench overhead` (a plain binary, no harness). Both clients send
//! `GET /` to the same axum upstream on `127.0.0.1:0` and read the body; the runs alternate so
//! that both see the same machine. Sequential calls measure latency (the stack's added
//! microseconds); concurrent calls measure throughput. On a 2-core machine the load generator
//! and the upstream share the CPU, so compare the two columns, not absolute numbers.
//! Results are recorded in `docs/benchmarks.md`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tis_mesh::{MeshConfig, ServiceClient, StaticDiscovery};

const SEQUENTIAL: usize = 5_000;
const TASKS: usize = 32;
const PER_TASK: usize = 500;
const ROUNDS: usize = 3;

type Bare = Client<HttpConnector, Empty<Bytes>>;

async fn upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "ok" }))
        .route("/health/ready", axum::routing::get(|| async { "ready" }));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

async fn bare_call(client: &Bare, uri: &http::Uri) {
    let res = client.get(uri.clone()).await.expect("bare call");
    assert!(res.status().is_success());
    res.into_body().collect().await.expect("body");
}

async fn mesh_call(client: &ServiceClient) {
    let req = http::Request::get("/")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let res = client.call(req).await.expect("mesh call");
    assert!(res.status().is_success());
    res.into_body().collect().await.expect("body");
}

struct Latency {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

fn summarise(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let total: Duration = samples.iter().sum();
    Latency {
        mean: total / samples.len() as u32,
        p50: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
    }
}

async fn sequential<F, Fut>(mut call: F) -> Latency
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let t = Instant::now();
        call().await;
        samples.push(t.elapsed());
    }
    summarise(samples)
}

async fn concurrent<F, Fut>(call: F) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let t = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                for _ in 0..PER_TASK {
                    call().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    (TASKS * PER_TASK) as f64 / t.elapsed().as_secs_f64()
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let addr = upstream().await;
        let uri: http::Uri = format!("http://{addr}/").parse().expect("uri");
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let bare: Bare = Client::builder(TokioExecutor::new()).build(connector);
        let mesh = ServiceClient::new("bench", MeshConfig::default(), StaticDiscovery::new([addr]))
            .expect("client");

        for _ in 0..1_000 {
            bare_call(&bare, &uri).await;
            mesh_call(&mesh).await;
        }

        println!("| round | client | mean µs | p50 µs | p99 µs | req/s ({TASKS} concurrent) |");
        println!("|---|---|---|---|---|---|");
        for round in 1..=ROUNDS {
            let b = sequential(|| bare_call(&bare, &uri)).await;
            let m = sequential(|| mesh_call(&mesh)).await;
            let (bare2, uri2) = (bare.clone(), uri.clone());
            let b_rps = concurrent(move || {
                let (c, u) = (bare2.clone(), uri2.clone());
                async move { bare_call(&c, &u).await }
            })
            .await;
            let mesh2 = mesh.clone();
            let m_rps = concurrent(move || {
                let c = mesh2.clone();
                async move { mesh_call(&c).await }
            })
            .await;
            println!(
                "| {round} | bare hyper | {} | {} | {} | {b_rps:.0} |",
                us(b.mean),
                us(b.p50),
                us(b.p99)
            );
            println!(
                "| {round} | tis-mesh | {} | {} | {} | {m_rps:.0} |",
                us(m.mean),
                us(m.p50),
                us(m.p99)
            );
        }
        let snap = mesh.snapshot();
        println!(
            "\nmesh endpoint: {:?}, requests {}, failures {}",
            snap.endpoints[0].state,
            snap.endpoints[0].requests_total,
            snap.endpoints[0].failures_total
        );
    });
}
