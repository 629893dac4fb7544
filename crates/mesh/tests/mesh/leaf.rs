//! The HTTP/1.1 leaf (`tis_mesh::connect::leaf`): connections driven by the request's own task
//! and handed back by the answer's body at its end. Against a scripted upstream on a real
//! socket, which counts the connections it accepts and those the client closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http_body::Body as _;
use http_body_util::BodyExt;
use tis_mesh::{MeshConfig, ServiceClient, StaticDiscovery};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{eventually, work_get};

/// How the scripted upstream answers each request.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// `200`, `hello`, keep-alive.
    KeepAlive,
    /// `200`, `hello`, `Connection: close`, then closes.
    Close,
    /// `200`, `hello`, keep-alive, then closes the connection once the answer is written.
    CloseWhenIdle,
    /// `200` announcing 1,000 bytes, sends 10, then closes.
    CloseMidBody,
    /// `200` with a 1 MiB body, keep-alive.
    Large,
}

const LARGE: usize = 1 << 20;

struct Scripted {
    addr: SocketAddr,
    /// Connections accepted.
    accepted: Arc<AtomicUsize>,
    /// Connections that the client closed (read returned 0 between requests).
    closed_by_client: Arc<AtomicUsize>,
    /// Connections this side closed, after the answer was written.
    closed_here: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    async fn start(script: Script) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let closed_by_client = Arc::new(AtomicUsize::new(0));
        let closed_here = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (accepted, by_client, here) = (
                accepted.clone(),
                closed_by_client.clone(),
                closed_here.clone(),
            );
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(answer(stream, script, by_client.clone(), here.clone()));
                }
            }
        });
        Scripted {
            addr,
            accepted,
            closed_by_client,
            closed_here,
            task,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Reads requests without bodies (the tests send none) and answers them as `script` says.
async fn answer(
    mut stream: TcpStream,
    script: Script,
    closed_by_client: Arc<AtomicUsize>,
    closed_here: Arc<AtomicUsize>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    closed_by_client.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("found")
            + 4;
        buf.drain(..end);
        let hello = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
        let written =
            match script {
                Script::KeepAlive | Script::CloseWhenIdle => stream.write_all(hello).await,
                Script::Close => stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 5\r\n\r\nhello",
                    )
                    .await,
                Script::CloseMidBody => {
                    stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n0123456789")
                        .await
                }
                Script::Large => {
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {LARGE}\r\n\r\n");
                    let mut all = head.into_bytes();
                    all.resize(all.len() + LARGE, b'x');
                    stream.write_all(&all).await
                }
            };
        if written.is_err() {
            // The client closed it while the answer was being written.
            closed_by_client.fetch_add(1, Ordering::SeqCst);
            return;
        }
        if matches!(
            script,
            Script::Close | Script::CloseWhenIdle | Script::CloseMidBody
        ) {
            let _ = stream.shutdown().await;
            closed_here.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
}

/// No health checks (they would open connections of their own) and no retries by the stack,
/// so that what the leaf does is all that happens.
fn client(upstream: &Scripted, tune: impl FnOnce(&mut MeshConfig)) -> ServiceClient {
    let mut cfg = MeshConfig::default();
    cfg.health_check.enabled = false;
    cfg.retry.max_retries = 0;
    tune(&mut cfg);
    ServiceClient::new("leaf", cfg, StaticDiscovery::new([upstream.addr])).expect("config")
}

async fn get_text(client: &ServiceClient) -> Bytes {
    let res = client.call(work_get()).await.expect("answered");
    assert_eq!(res.status(), 200);
    res.into_body().collect().await.expect("body").to_bytes()
}

/// A POST without an `Idempotency-Key`: the stack never retries it, so it succeeds only if
/// the leaf sends it on a connection that works.
fn post() -> http::Request<String> {
    http::Request::builder()
        .method(Method::POST)
        .uri("/work")
        .body("{}".to_owned())
        .expect("request")
}

#[tokio::test]
async fn a_connection_read_to_the_end_is_reused() {
    let up = Scripted::start(Script::KeepAlive).await;
    let client = client(&up, |_| {});
    for _ in 0..20 {
        assert_eq!(get_text(&client).await, "hello");
    }
    let res = client.call(post()).await.expect("answered");
    assert_eq!(
        res.into_body().collect().await.expect("body").to_bytes(),
        "hello"
    );
    assert_eq!(
        up.accepted(),
        1,
        "one connection for 21 sequential requests"
    );
}

#[tokio::test]
async fn a_body_dropped_before_its_end_closes_its_connection() {
    let up = Scripted::start(Script::Large).await;
    let client = client(&up, |_| {});
    let res = client.call(work_get()).await.expect("answered");
    let mut body = res.into_body();
    let first = body.frame().await.expect("a frame").expect("data");
    assert!(first.data_ref().is_some_and(|d| d.len() < LARGE));
    assert!(!body.is_end_stream());
    drop(body);
    eventually(Duration::from_secs(10), "the client closes it", || {
        up.closed_by_client.load(Ordering::SeqCst) == 1
    })
    .await;
    // The next request gets a connection of its own and the whole of its answer.
    let res = client.call(work_get()).await.expect("answered");
    let all = res.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(all.len(), LARGE);
    assert_eq!(up.accepted(), 2);
    // Read to the end, that one is reused.
    let res = client.call(work_get()).await.expect("answered");
    assert_eq!(
        res.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .len(),
        LARGE
    );
    assert_eq!(up.accepted(), 2);
}

#[tokio::test]
async fn an_upstream_closing_mid_body_fails_the_body_not_the_next_request() {
    let up = Scripted::start(Script::CloseMidBody).await;
    let client = client(&up, |_| {});
    let res = client.call(work_get()).await.expect("the head came");
    let err = res
        .into_body()
        .collect()
        .await
        .expect_err("the body was cut");
    assert!(format!("{err:?}").contains("IncompleteBody"), "{err:?}");
    // The next request goes out on a new connection, nothing left over from the first.
    let res = client.call(post()).await.expect("answered");
    let err = res.into_body().collect().await.expect_err("cut again");
    assert!(format!("{err:?}").contains("IncompleteBody"), "{err:?}");
    assert_eq!(up.accepted(), 2);
}

#[tokio::test]
async fn an_answer_with_connection_close_is_not_reused() {
    let up = Scripted::start(Script::Close).await;
    let client = client(&up, |_| {});
    for _ in 0..3 {
        assert_eq!(get_text(&client).await, "hello");
        let res = client
            .call(post())
            .await
            .expect("answered on a new connection");
        assert_eq!(
            res.into_body().collect().await.expect("body").to_bytes(),
            "hello"
        );
    }
    assert_eq!(up.accepted(), 6, "one connection per request");
}

#[tokio::test]
async fn an_idle_connection_closed_by_the_upstream_is_replaced_before_anything_is_sent() {
    let up = Scripted::start(Script::CloseWhenIdle).await;
    let client = client(&up, |_| {});
    for round in 1..=3 {
        assert_eq!(get_text(&client).await, "hello");
        eventually(Duration::from_secs(10), "the upstream closes it", || {
            up.closed_here.load(Ordering::SeqCst) == round
        })
        .await;
    }
    // A POST is never retried by the stack: it succeeds because the leaf does not send it on
    // the closed connection.
    eventually(Duration::from_secs(10), "the upstream closes it", || {
        up.closed_here.load(Ordering::SeqCst) == 3
    })
    .await;
    let res = client
        .call(post())
        .await
        .expect("sent on a fresh connection");
    assert_eq!(
        res.into_body().collect().await.expect("body").to_bytes(),
        "hello"
    );
    assert_eq!(up.accepted(), 4);
    assert_eq!(client.snapshot().retries_total, 0, "no retry by the stack");
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let up = Scripted::start(Script::KeepAlive).await;
    let client = client(&up, |cfg| {
        cfg.pool_idle_timeout = Duration::from_millis(100)
    });
    assert_eq!(get_text(&client).await, "hello");
    // Nobody sends: the reaper closes it.
    eventually(
        Duration::from_secs(10),
        "the idle connection is closed",
        || up.closed_by_client.load(Ordering::SeqCst) == 1,
    )
    .await;
    assert_eq!(get_text(&client).await, "hello");
    assert_eq!(up.accepted(), 2);
}

#[tokio::test]
async fn no_more_idle_connections_are_kept_than_allowed() {
    let up = Scripted::start(Script::KeepAlive).await;
    let client = client(&up, |cfg| cfg.pool_max_idle_per_endpoint = 1);
    // Four answers in flight at once, each on its own connection; their bodies read after all
    // four heads are in.
    let heads = futures::future::join_all((0..4).map(|_| client.call(work_get()))).await;
    let opened = up.accepted();
    assert!(opened >= 2, "concurrent requests used {opened} connections");
    for res in heads {
        let res = res.expect("answered");
        assert_eq!(
            res.into_body().collect().await.expect("body").to_bytes(),
            "hello"
        );
    }
    eventually(Duration::from_secs(10), "the extra ones are closed", || {
        up.closed_by_client.load(Ordering::SeqCst) == opened - 1
    })
    .await;
    assert_eq!(get_text(&client).await, "hello");
    assert_eq!(up.accepted(), opened, "the one kept is reused");
}
