//! The HTTP server: binds first (so port 0 works and the real address is known), then serves
//! HTTP/1.1 and h2c until shutdown, then drains.
//!
//! Drain, in order, when the shutdown future resolves:
//! 1. readiness turns to `draining` (503), so balancers and the gateway stop choosing us;
//! 2. we keep accepting and serving for `drain_delay`, while they notice;
//! 3. we stop accepting, and idle keep-alive connections are closed;
//! 4. in-flight requests finish, for at most `shutdown_timeout`; then we return.
//!
//! A rolling restart that respects this order loses no request.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::health::Health;

/// How a server stops. Durations are humantime strings in configuration (`"5s"`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DrainConfig {
    /// How long to keep serving after turning unready, so that balancers notice.
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// The longest wait for in-flight requests after the listener closes.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// How long a client may take to send its request headers (slowloris defence).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
}

impl Default for DrainConfig {
    fn default() -> Self {
        DrainConfig {
            drain_delay: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// A bound listener, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl Server {
    /// Binds `addr`; port 0 picks a free port, reported by [`Server::local_addr`].
    pub async fn bind(addr: SocketAddr) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(Server {
            listener,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `router` until `shutdown` resolves, then drains (see the module documentation).
    pub async fn serve<F>(
        self,
        router: Router,
        health: Health,
        drain: DrainConfig,
        shutdown: F,
    ) -> io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let Server {
            listener,
            local_addr,
        } = self;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(drain.header_read_timeout)
            .keep_alive(true);
        builder.http2().timer(TokioTimer::new());
        let graceful = GracefulShutdown::new();

        let accept_until = async {
            shutdown.await;
            health.set_draining();
            tracing::info!(drain_delay = ?drain.drain_delay, "shutdown requested; draining");
            tokio::time::sleep(drain.drain_delay).await;
        };
        tokio::pin!(accept_until);

        tracing::info!(server.address = %local_addr, "listening");
        loop {
            tokio::select! {
                biased;
                () = &mut accept_until => break,
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(conn) => conn,
                        Err(err) => {
                            // Out of file descriptors and the like: back off briefly, keep going.
                            tracing::warn!(error.message = %err, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let router = router.clone();
                    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                        req.extensions_mut().insert(ConnectInfo(peer));
                        router.clone().oneshot(req.map(axum::body::Body::new))
                    });
                    // What hyper's parser refuses goes out as a JSON error with a request id.
                    let stream = crate::parse_errors::ParseErrors::new(stream);
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
                    let conn = graceful.watch(conn.into_owned());
                    tokio::spawn(async move {
                        if let Err(err) = conn.await {
                            tracing::debug!(error.message = %err, "connection ended with an error");
                        }
                    });
                }
            }
        }
        drop(listener);
        tracing::info!("listener closed; waiting for in-flight requests");
        match tokio::time::timeout(drain.shutdown_timeout, graceful.shutdown()).await {
            Ok(()) => tracing::info!("drained; all connections closed"),
            Err(_) => {
                tracing::warn!(timeout = ?drain.shutdown_timeout, "in-flight requests still running at the shutdown timeout; stopping anyway")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::sync::Arc;
    use tokio::sync::Notify;

    #[tokio::test]
    async fn drain_turns_unready_then_finishes_in_flight_requests() {
        let release = Arc::new(Notify::new());
        let started = Arc::new(Notify::new());
        let (r2, s2) = (release.clone(), started.clone());
        let health = Health::new("test");
        let app = crate::http::standard(
            Router::new().route(
                "/slow",
                get(move || {
                    let (r, s) = (r2.clone(), s2.clone());
                    async move {
                        s.notify_one();
                        r.notified().await;
                        "done"
                    }
                }),
            ),
            &health,
            Default::default(),
        );
        let server = Server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = server.local_addr();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let drain = DrainConfig {
            drain_delay: Duration::from_millis(300),
            shutdown_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(5),
        };
        let h2 = health.clone();
        let serving = tokio::spawn(server.serve(app, h2, drain, async {
            let _ = stop_rx.await;
        }));

        let client = reqwest::Client::new();
        let in_flight = tokio::spawn({
            let client = client.clone();
            async move {
                client
                    .get(format!("http://{addr}/slow"))
                    .send()
                    .await?
                    .text()
                    .await
            }
        });
        started.notified().await;
        let ready = client
            .get(format!("http://{addr}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);

        stop_tx.send(()).unwrap();
        // During the drain delay the server still answers, and says it is not ready.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let res = client
                .get(format!("http://{addr}/health/ready"))
                .send()
                .await
                .unwrap();
            if res.status() == 503 {
                let body: serde_json::Value = res.json().await.unwrap();
                assert_eq!(body["status"], "draining");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never turned unready"
            );
            tokio::task::yield_now().await;
        }
        release.notify_one();
        assert_eq!(in_flight.await.unwrap().unwrap(), "done");
        serving.await.unwrap().unwrap();
    }
}
