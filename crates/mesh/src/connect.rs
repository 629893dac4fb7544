//! The bottom of the stack: a pooled HTTP client and the service that sends one request to
//! one endpoint.
//!
//! One hyper-util "legacy" client per service: its pool keeps connections per endpoint
//! address, reuses them across requests, and speaks HTTP/1.1 or — when the service is
//! configured for h2c — HTTP/2 with prior knowledge, multiplexing every request over one
//! connection per endpoint. The connector sets `TCP_NODELAY` (small requests must not wait for
//! Nagle) and the connect timeout (a black-holed address must fail as fast as a refused one).
//!
//! **One pool per thread.** Each thread that sends requests keeps its own client (and so its
//! own connections) for each service client: a connection is driven by a task on the
//! runtime that opened it, so a pool shared by threads makes a request on one thread wake a
//! connection task on another and back, twice per request. The gateway serves with one
//! current-thread runtime per core; with a thread-local pool a request, its upstream
//! connection and its response stay on one thread. The cost: `pool_max_idle_per_endpoint`
//! counts per thread. Health checks use a shared client.
//!
//! Errors are sorted here, where it is still known whether anything was sent: a failure to
//! obtain a connection is [`Connect`] (safe to retry anywhere), anything later is
//! [`Upstream`].

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, ready};

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Response, Uri, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::Service;

use crate::body::MeshBody;
use crate::config::MeshConfig;
use crate::error::{BoxError, Connect, Upstream};
use crate::outbound::MeshRequest;

/// The pooled client of one service.
pub type HttpClient = Client<HttpConnector, MeshBody>;

/// Builds the pooled client for a service configured by `cfg`.
pub fn http_client(cfg: &MeshConfig) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(cfg.connect_timeout));
    connector.enforce_http(true);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(cfg.pool_idle_timeout)
        .pool_max_idle_per_host(cfg.pool_max_idle_per_endpoint)
        .http2_only(cfg.h2c)
        .build(connector)
}

/// A service's pooled clients: one per thread that sends (see the module documentation).
#[derive(Clone)]
pub struct Pools(Arc<PoolsInner>);

struct PoolsInner {
    cfg: MeshConfig,
    shared: HttpClient,
}

thread_local! {
    /// This thread's client of each live [`Pools`].
    static LOCAL: RefCell<Vec<(Weak<PoolsInner>, HttpClient)>> = const { RefCell::new(Vec::new()) };
}

impl Pools {
    pub fn new(cfg: &MeshConfig) -> Self {
        Pools(Arc::new(PoolsInner {
            cfg: cfg.clone(),
            shared: http_client(cfg),
        }))
    }

    /// A client shared by every thread (health checks).
    pub fn shared(&self) -> HttpClient {
        self.0.shared.clone()
    }

    /// Runs `f` with this thread's client, made on first use.
    fn with_local<T>(&self, f: impl FnOnce(&HttpClient) -> T) -> T {
        let me = Arc::as_ptr(&self.0);
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if let Some((_, client)) = local
                .iter()
                .find(|(w, _)| std::ptr::eq(w.as_ptr(), me) && w.strong_count() > 0)
            {
                return f(client);
            }
            // Forget the clients of dropped pools (their idle connections close with them).
            local.retain(|(w, _)| w.strong_count() > 0);
            let client = http_client(&self.0.cfg);
            let out = f(&client);
            local.push((Arc::downgrade(&self.0), client));
            out
        })
    }
}

/// Sends requests to one endpoint through this thread's pool.
#[derive(Clone)]
pub struct HttpEndpoint {
    pools: Pools,
    authority: Authority,
    version: Version,
    service: Arc<str>,
    endpoint: SocketAddr,
}

impl HttpEndpoint {
    pub(crate) fn new(pools: Pools, service: Arc<str>, endpoint: SocketAddr, h2c: bool) -> Self {
        let authority = Authority::try_from(endpoint.to_string().as_str())
            .unwrap_or_else(|_| Authority::from_static("127.0.0.1"));
        HttpEndpoint {
            pools,
            authority,
            version: if h2c {
                Version::HTTP_2
            } else {
                Version::HTTP_11
            },
            service,
            endpoint,
        }
    }
}

/// `http://<endpoint><path and query of the caller's URI>`.
pub(crate) fn endpoint_uri(authority: &Authority, uri: &Uri) -> Uri {
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(authority.clone());
    parts.path_and_query = Some(path);
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

impl Service<MeshRequest> for HttpEndpoint {
    type Response = Response<Incoming>;
    type Error = BoxError;
    type Future = EndpointFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // The pool opens connections on demand; readiness is the breaker's business.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: MeshRequest) -> Self::Future {
        *req.uri_mut() = endpoint_uri(&self.authority, req.uri());
        *req.version_mut() = self.version;
        EndpointFuture {
            inner: self.pools.with_local(|client| client.request(req)),
            service: self.service.clone(),
            endpoint: self.endpoint,
        }
    }
}

/// The pool's answer with its error sorted into [`Connect`] or [`Upstream`]: a named type, so
/// that a try costs no box of its own here (the pool's future is already one).
pub struct EndpointFuture {
    inner: ResponseFuture,
    service: Arc<str>,
    endpoint: SocketAddr,
}

impl Future for EndpointFuture {
    type Output = Result<Response<Incoming>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = ready!(Pin::new(&mut this.inner).poll(cx));
        Poll::Ready(result.map_err(|e| -> BoxError {
            let (service, endpoint) = (this.service.clone(), this.endpoint);
            if e.is_connect() {
                Box::new(Connect {
                    service,
                    endpoint,
                    source: Box::new(e),
                })
            } else {
                Box::new(Upstream {
                    service,
                    endpoint,
                    source: Box::new(e),
                })
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_path_and_query_are_sent_to_the_endpoint() {
        let auth = Authority::from_static("10.0.0.7:8080");
        let uri: Uri = "/reference/api/grades?page=2".parse().expect("uri");
        assert_eq!(
            endpoint_uri(&auth, &uri).to_string(),
            "http://10.0.0.7:8080/reference/api/grades?page=2"
        );
        let absolute: Uri = "http://gateway.example/x".parse().expect("uri");
        assert_eq!(
            endpoint_uri(&auth, &absolute).to_string(),
            "http://10.0.0.7:8080/x"
        );
    }
}
