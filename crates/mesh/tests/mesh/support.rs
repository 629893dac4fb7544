//! Real upstreams for the integration tests: axum routers served on `127.0.0.1:0` by an accept
//! loop of our own, so that `kill()` really closes the listener *and* every open connection
//! (the port then refuses connections), and `restart()` binds the same port again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpSocket;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tower::ServiceExt;

/// How `/work` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok,
    Status(u16),
    Delay(Duration),
    /// Wait until [`Upstream::release`].
    Hold,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub headers: HeaderMap,
    pub version: Version,
}

pub struct Shared {
    mode: Mutex<Mode>,
    pub hits: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub unready: AtomicBool,
    /// `TIS-Degraded` names `/health/ready` sends while ready (a read-only database).
    pub ready_marks: Mutex<Option<&'static str>>,
    pub seen: Mutex<Vec<Seen>>,
    release: Notify,
}

pub struct Upstream {
    addr: SocketAddr,
    pub shared: Arc<Shared>,
    server: Option<JoinHandle<()>>,
}

async fn work(State(s): State<Arc<Shared>>, req: Request) -> impl IntoResponse {
    s.hits.fetch_add(1, Ordering::SeqCst);
    s.seen.lock().expect("lock").push(Seen {
        headers: req.headers().clone(),
        version: req.version(),
    });
    s.in_flight.fetch_add(1, Ordering::SeqCst);
    let mode = *s.mode.lock().expect("lock");
    let status = match mode {
        Mode::Ok => StatusCode::OK,
        Mode::Status(code) => StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT),
        Mode::Delay(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
        Mode::Hold => {
            s.release.notified().await;
            StatusCode::OK
        }
    };
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    (status, "done")
}

async fn ready(State(s): State<Arc<Shared>>) -> axum::response::Response {
    if s.unready.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match *s.ready_marks.lock().expect("lock") {
        Some(marks) => (StatusCode::OK, [("tis-degraded", marks)]).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

fn serve(addr: SocketAddr, shared: Arc<Shared>) -> (SocketAddr, JoinHandle<()>) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket.bind(addr).expect("bind");
    let listener = socket.listen(1024).expect("listen");
    let local = listener.local_addr().expect("local addr");
    let router = Router::new()
        .route("/work", any(work))
        .route("/health/ready", get(ready))
        .with_state(shared);
    let task = tokio::spawn(async move {
        // Connections live in this set: aborting the server drops it, which aborts them.
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let router = router.clone();
                    conns.spawn(async move {
                        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            router.clone().oneshot(req.map(axum::body::Body::new))
                        });
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    (local, task)
}

impl Upstream {
    pub async fn start() -> Upstream {
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Ok),
            hits: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            unready: AtomicBool::new(false),
            ready_marks: Mutex::new(None),
            seen: Mutex::new(Vec::new()),
            release: Notify::new(),
        });
        let (addr, task) = serve(SocketAddr::from(([127, 0, 0, 1], 0)), shared.clone());
        Upstream {
            addr,
            shared,
            server: Some(task),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn set(&self, mode: Mode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("lock").clone()
    }

    /// Lets every held request finish.
    pub fn release(&self) {
        self.shared.release.notify_waiters();
    }

    /// Closes the listener and every connection: the port refuses connections from now on.
    pub async fn kill(&mut self) {
        if let Some(task) = self.server.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens on the same port again.
    pub fn restart(&mut self) {
        let (_, task) = serve(self.addr, self.shared.clone());
        self.server = Some(task);
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(task) = self.server.take() {
            task.abort();
        }
    }
}

/// Polls `check` every few milliseconds until it holds, failing the test after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A GET of `/work` with an empty body.
pub fn work_get() -> http::Request<http_body_util::Empty<bytes::Bytes>> {
    http::Request::get("/work")
        .body(http_body_util::Empty::new())
        .expect("request")
}
