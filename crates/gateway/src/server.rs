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
//! Shutdown drains as `tis_core::Server` does: readiness turns `draining`, the listener keeps
//! accepting for `drain_delay`, then stops; every connection is told to finish its in-flight
//! requests and close; after `shutdown_timeout` the rest are dropped.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use http::HeaderValue;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tis_core::{DrainConfig, Health};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::config::TimeoutsConfig;

/// A bound public listener.
pub struct PublicServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    timeouts: TimeoutsConfig,
    max_connections: usize,
}

impl PublicServer {
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<TlsAcceptor>,
        timeouts: TimeoutsConfig,
        max_connections: usize,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(PublicServer {
            listener,
            local_addr,
            tls,
            timeouts,
            max_connections,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `router` until `shutdown` resolves, then drains (module documentation).
    pub async fn serve<F>(self, router: Router, health: Health, drain: DrainConfig, shutdown: F)
    where
        F: Future<Output = ()> + Send,
    {
        crate::metrics::describe();
        let PublicServer {
            listener,
            local_addr,
            tls,
            timeouts,
            max_connections,
        } = self;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(timeouts.header_read)
            .keep_alive(true);
        builder.http2().timer(TokioTimer::new());
        let conns = Arc::new(Semaphore::new(max_connections));
        let tracker = TaskTracker::new();
        let (stop_tx, stop_rx) = watch::channel(false);
        let open = metrics::gauge!(crate::metrics::CONNECTIONS_OPEN);
        let accepted = metrics::counter!(crate::metrics::CONNECTIONS_TOTAL);

        let accept_until = async {
            shutdown.await;
            health.set_draining();
            tracing::info!(drain_delay = ?drain.drain_delay, "shutdown requested; draining");
            tokio::time::sleep(drain.drain_delay).await;
        };
        tokio::pin!(accept_until);
        tracing::info!(server.address = %local_addr, tls = tls.is_some(), "gateway listening");
        loop {
            let permit = tokio::select! {
                biased;
                () = &mut accept_until => break,
                permit = conns.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let (stream, peer) = tokio::select! {
                biased;
                () = &mut accept_until => break,
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
            accepted.increment(1);
            open.increment(1.0);
            let (router, builder, tls, stop, open) = (
                router.clone(),
                builder.clone(),
                tls.clone(),
                stop_rx.clone(),
                open.clone(),
            );
            tracker.spawn(async move {
                match tls {
                    None => serve_conn(stream, peer, router, builder, timeouts, stop).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(timeouts.header_read, acceptor.accept(stream)).await {
                            Ok(Ok(tls_stream)) => {
                                serve_conn(tls_stream, peer, router, builder, timeouts, stop).await
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
                open.decrement(1.0);
                drop(permit);
            });
        }
        drop(listener);
        tracing::info!("listener closed; waiting for in-flight requests");
        let _ = stop_tx.send(true);
        tracker.close();
        match tokio::time::timeout(drain.shutdown_timeout, tracker.wait()).await {
            Ok(()) => tracing::info!("drained; all connections closed"),
            Err(_) => {
                tracing::warn!(timeout = ?drain.shutdown_timeout, "connections still open at the shutdown timeout; stopping anyway")
            }
        }
    }
}

/// The client at the other end of a connection, as a request extension.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// Its IP address, ready to be an `X-Forwarded-For` value.
    pub ip: Option<HeaderValue>,
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
    router: Router,
    builder: auto::Builder<TokioExecutor>,
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
    // Formatted once per connection, not per request.
    let peer = Peer {
        addr: peer,
        ip: HeaderValue::try_from(peer.ip().to_string()).ok(),
    };
    let svc = {
        let activity = activity.clone();
        let peer = peer.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            activity.in_flight.fetch_add(1, Ordering::Relaxed);
            let guard = InFlight(activity.clone());
            req.extensions_mut().insert(peer.clone());
            let call = router.clone().oneshot(req.map(axum::body::Body::new));
            async move {
                let res = call.await;
                drop(guard);
                res
            }
        })
    };
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
