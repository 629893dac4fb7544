//! The public listener: plain or TLS, HTTP/1.1 and HTTP/2, with the defences a server facing
//! the internet needs and `tis_core::Server` does not have.
//!
//! - **Header-read timeout** (`timeouts.header_read`): a client must send a request's headers
//!   in time (slowloris). In hyper it also bounds the wait for the next request on a
//!   keep-alive HTTP/1.1 connection. With TLS the handshake has the same bound.
//! - **Idle timeout** (`timeouts.idle`): a connection with no request in flight for this long
//!   is closed gracefully (both HTTP/1.1 and HTTP/2, where hyper has no such timeout).
//!   Activity is tracked per connection by the request count and the time the last request
//!   ended, not per read, so a slow upstream answer never counts as idleness.
//! - **Connection limit** (`max_connections`): beyond it, accepting pauses and the kernel's
//!   backlog holds new clients.
//!
//! - **Workers** (`workers`): each is a thread with a current-thread runtime and its own
//!   `SO_REUSEPORT` socket on the same address; a connection lives on the thread that
//!   accepted it, with its requests, their upstream calls and new upstream connections.
//!
//! Shutdown drains as `tis_core::Server` does: readiness turns `draining`, the listener keeps
//! accepting for `drain_delay`, then stops; every connection is told to finish its in-flight
//! requests and close; after `shutdown_timeout` the rest are dropped.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use metrics::{Counter, Gauge};
use tis_core::{DrainConfig, Health};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use crate::config::TimeoutsConfig;
use crate::proxy::Peer;
use crate::stack::Public;

/// A bound public listener.
pub struct PublicServer {
    /// One socket per worker thread (`SO_REUSEPORT`), or one served on the caller's runtime.
    listeners: Vec<std::net::TcpListener>,
    local_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    timeouts: TimeoutsConfig,
    max_connections: usize,
    workers: usize,
}

/// What every accept loop and connection shares.
struct Shared {
    public: Arc<Public>,
    builder: auto::Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
    timeouts: TimeoutsConfig,
    conns: Arc<Semaphore>,
    tracker: TaskTracker,
    stop: watch::Receiver<bool>,
    open: Gauge,
    accepted: Counter,
}

fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)?.into_std()
}

impl PublicServer {
    /// Binds `addr`; with `workers` > 0, once per worker thread with `SO_REUSEPORT` (the
    /// kernel spreads connections over them), else once, served on the caller's runtime.
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<TlsAcceptor>,
        timeouts: TimeoutsConfig,
        max_connections: usize,
        workers: usize,
    ) -> io::Result<Self> {
        let reuse_port = workers > 1;
        let first = listen(addr, reuse_port)?;
        let local_addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..workers {
            listeners.push(listen(local_addr, reuse_port)?);
        }
        Ok(PublicServer {
            listeners,
            local_addr,
            tls,
            timeouts,
            max_connections,
            workers,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `public` until `shutdown` resolves, then drains (module documentation).
    pub async fn serve<F>(
        self,
        public: Arc<Public>,
        health: Health,
        drain: DrainConfig,
        shutdown: F,
    ) where
        F: Future<Output = ()> + Send,
    {
        crate::metrics::describe();
        let PublicServer {
            listeners,
            local_addr,
            tls,
            timeouts,
            max_connections,
            workers,
        } = self;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(timeouts.header_read)
            .keep_alive(true);
        builder.http2().timer(TokioTimer::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (accept_tx, accept_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            public,
            builder,
            tls,
            timeouts,
            conns: Arc::new(Semaphore::new(max_connections)),
            tracker: TaskTracker::new(),
            stop: stop_rx,
            open: metrics::gauge!(crate::metrics::CONNECTIONS_OPEN),
            accepted: metrics::counter!(crate::metrics::CONNECTIONS_TOTAL),
        });
        tracing::info!(server.address = %local_addr, tis.tls = shared.tls.is_some(), workers, "gateway listening");

        let accept_until = async {
            shutdown.await;
            health.set_draining();
            tracing::info!(drain_delay = ?drain.drain_delay, "shutdown requested; draining");
            tokio::time::sleep(drain.drain_delay).await;
            let _ = accept_tx.send(true);
        };
        let mut threads = Vec::new();
        if workers == 0 {
            let listener = listeners.into_iter().next().expect("one listener");
            let accepting = async {
                match TcpListener::from_std(listener) {
                    Ok(l) => accept_loop(l, shared.clone(), accept_rx.clone()).await,
                    Err(e) => {
                        tracing::error!(error.message = %e, "could not serve the public listener")
                    }
                }
            };
            tokio::join!(accept_until, accepting);
        } else {
            for (i, listener) in listeners.into_iter().enumerate() {
                let (shared, accept_rx) = (shared.clone(), accept_rx.clone());
                let timeout = drain.shutdown_timeout;
                let spawned = std::thread::Builder::new()
                    .name(format!("gateway-{i}"))
                    .spawn(move || worker(listener, shared, accept_rx, timeout));
                match spawned {
                    Ok(t) => threads.push(t),
                    Err(e) => {
                        tracing::error!(error.message = %e, "could not start a gateway worker thread")
                    }
                }
            }
            accept_until.await;
        }
        tracing::info!("listener closed; waiting for in-flight requests");
        let _ = stop_tx.send(true);
        shared.tracker.close();
        match tokio::time::timeout(drain.shutdown_timeout, shared.tracker.wait()).await {
            Ok(()) => tracing::info!("drained; all connections closed"),
            Err(_) => {
                tracing::warn!(timeout = ?drain.shutdown_timeout, "connections still open at the shutdown timeout; stopping anyway")
            }
        }
        // The workers stop on their own once their connections are done (or timed out).
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// One worker thread: a current-thread runtime serving its own listener until `accept`
/// says stop, then its connections until they are done or `timeout` passes.
fn worker(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    accept: watch::Receiver<bool>,
    timeout: Duration,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error.message = %e, "could not start a gateway worker runtime");
            return;
        }
    };
    runtime.block_on(async move {
        match TcpListener::from_std(listener) {
            Ok(l) => accept_loop(l, shared.clone(), accept).await,
            Err(e) => {
                tracing::error!(error.message = %e, "could not serve the public listener");
                return;
            }
        }
        // This runtime drives its own connections: keep it running while they drain.
        let mut stop = shared.stop.clone();
        let _ = stop.wait_for(|s| *s).await;
        let _ = tokio::time::timeout(timeout, shared.tracker.wait()).await;
    });
}

/// Accepts connections on `listener` until `accept` turns true.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut accept: watch::Receiver<bool>,
) {
    let stopped = async move {
        let _ = accept.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopped);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut stopped => break,
            permit = shared.conns.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(error.message = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        shared.accepted.increment(1);
        shared.open.increment(1.0);
        let shared = shared.clone();
        let tracker = shared.tracker.clone();
        tracker.spawn(async move {
            let Shared {
                public,
                builder,
                tls,
                timeouts,
                stop,
                ..
            } = &*shared;
            match tls {
                None => serve_conn(stream, peer, public, builder, *timeouts, stop.clone()).await,
                Some(acceptor) => {
                    match tokio::time::timeout(timeouts.header_read, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => {
                            serve_conn(tls_stream, peer, public, builder, *timeouts, stop.clone()).await
                        }
                        Ok(Err(e)) => {
                            metrics::counter!(crate::metrics::TLS_HANDSHAKE_FAILURES).increment(1);
                            tracing::debug!(error.message = %e, client.address = %peer, "TLS handshake failed");
                        }
                        Err(_) => {
                            metrics::counter!(crate::metrics::TLS_HANDSHAKE_FAILURES).increment(1);
                            tracing::debug!(client.address = %peer, "TLS handshake timed out");
                        }
                    }
                }
            }
            shared.open.decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
}

/// Request activity of one connection, for the idle timeout.
struct Activity {
    in_flight: AtomicUsize,
    /// Milliseconds since `epoch` when the last request ended (or the connection opened).
    last_ms: AtomicU64,
    epoch: Instant,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Some(self.epoch.elapsed().saturating_sub(last))
    }
}

/// Ends a request's activity when dropped (also when the client goes away mid-request).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

async fn serve_conn<I>(
    io: I,
    peer: SocketAddr,
    public: &Arc<Public>,
    builder: &auto::Builder<TokioExecutor>,
    timeouts: TimeoutsConfig,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity {
        in_flight: AtomicUsize::new(0),
        last_ms: AtomicU64::new(0),
        epoch: Instant::now(),
    });
    // Made once per connection, not per request.
    let peer = Arc::new(Peer::new(peer));
    let svc = {
        let activity = activity.clone();
        let peer = peer.clone();
        let public = public.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            activity.in_flight.fetch_add(1, Ordering::Relaxed);
            let guard = InFlight(activity.clone());
            let (public, peer) = (public.clone(), peer.clone());
            async move {
                let res = public.serve(req.map(Body::new), &peer).await;
                drop(guard);
                Ok::<_, Infallible>(res)
            }
        })
    };
    // What hyper's parser refuses (400, 414, 431) goes out as a JSON error with a request id.
    let io = tis_core::parse_errors::ParseErrors::new(io);
    let conn = builder.serve_connection(TokioIo::new(io), svc).into_owned();
    tokio::pin!(conn);
    let check_every = (timeouts.idle / 4).max(Duration::from_millis(50));
    let mut tick = tokio::time::interval_at(Instant::now() + check_every, check_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error.message = %err, client.address = %peer.addr, "connection ended with an error");
                }
                return;
            }
            changed = stop.changed(), if !closing => {
                let _ = changed;
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                if activity.idle_for().is_some_and(|idle| idle >= timeouts.idle) {
                    metrics::counter!(crate::metrics::CONNECTIONS_IDLE_CLOSED).increment(1);
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
