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
//! **HTTP/1.1 without a connection task.** For HTTP/1.1 (every service but those configured
//! for h2c) the thread's pool is not hyper-util's client but [`leaf`]: a stack of idle
//! connections per endpoint, each driven by the request that uses it, inside that request's
//! own task, and handed back by the answer's [`ResponseBody`] when it has been read to the end.
//! h2c keeps hyper-util's client (one connection multiplexes every request, so it needs a task
//! of its own). Health checks use a shared hyper-util client.
//!
//! Errors are sorted here, where it is still known whether anything was sent: a failure to
//! obtain a connection, or one that took nothing, is [`Connect`] (safe to retry anywhere),
//! anything later is [`Upstream`].

pub mod leaf;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Response, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::Service;

use self::leaf::{Idle, ResponseBody};
use crate::body::MeshBody;
use crate::config::MeshConfig;
use crate::error::{BoxError, Connect, Upstream};
use crate::outbound::MeshRequest;
use crate::task::AbortOnDrop;

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
    service: Arc<str>,
    shared: HttpClient,
    /// Every thread's idle HTTP/1.1 connections, for the reaper.
    idle: Mutex<Vec<Weak<Idle>>>,
    _reaper: Option<AbortOnDrop>,
}

/// One thread's pool of one service client.
struct Local {
    /// h2c only.
    client: HttpClient,
    idle: Arc<Idle>,
}

thread_local! {
    /// This thread's pool of each live [`Pools`].
    static LOCAL: RefCell<Vec<(Weak<PoolsInner>, Local)>> = const { RefCell::new(Vec::new()) };
}

impl Pools {
    /// The pools of `service`. Inside a Tokio runtime it starts the reaper that closes
    /// HTTP/1.1 connections idle for `pool_idle_timeout` (every half of it), which stops with
    /// the last clone.
    pub fn new(service: &str, cfg: &MeshConfig) -> Self {
        Pools(Arc::new_cyclic(|me: &Weak<PoolsInner>| {
            let reaper = tokio::runtime::Handle::try_current().ok().map(|rt| {
                let me = me.clone();
                let every = (cfg.pool_idle_timeout / 2).max(std::time::Duration::from_millis(10));
                AbortOnDrop(rt.spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        let Some(pools) = me.upgrade() else { return };
                        pools.reap();
                    }
                }))
            });
            PoolsInner {
                cfg: cfg.clone(),
                service: Arc::from(service),
                shared: http_client(cfg),
                idle: Mutex::new(Vec::new()),
                _reaper: reaper,
            }
        }))
    }

    /// A client shared by every thread (health checks).
    pub fn shared(&self) -> HttpClient {
        self.0.shared.clone()
    }

    /// Runs `f` with this thread's pool, made on first use.
    fn with_local<T>(&self, f: impl FnOnce(&Local) -> T) -> T {
        let me = Arc::as_ptr(&self.0);
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if let Some((_, pool)) = local
                .iter()
                .find(|(w, _)| std::ptr::eq(w.as_ptr(), me) && w.strong_count() > 0)
            {
                return f(pool);
            }
            // Forget the pools of dropped clients (their idle connections close with them).
            local.retain(|(w, _)| w.strong_count() > 0);
            let cfg = &self.0.cfg;
            let idle = Arc::new(Idle::new(
                self.0.service.clone(),
                cfg.connect_timeout,
                cfg.pool_max_idle_per_endpoint,
                cfg.pool_idle_timeout,
            ));
            {
                let mut all = self.0.idle.lock().unwrap_or_else(PoisonError::into_inner);
                all.retain(|w| w.strong_count() > 0);
                all.push(Arc::downgrade(&idle));
            }
            let pool = Local {
                client: http_client(cfg),
                idle,
            };
            let out = f(&pool);
            local.push((Arc::downgrade(&self.0), pool));
            out
        })
    }
}

impl PoolsInner {
    fn reap(&self) {
        let all: Vec<Arc<Idle>> = {
            let all = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            all.iter().filter_map(Weak::upgrade).collect()
        };
        for idle in all {
            idle.reap();
        }
    }
}

/// Sends requests to one endpoint through this thread's pool.
#[derive(Clone)]
pub struct HttpEndpoint {
    pools: Pools,
    authority: Authority,
    /// `Host` for HTTP/1.1 requests that have none: the endpoint's address.
    host: HeaderValue,
    version: Version,
    service: Arc<str>,
    endpoint: SocketAddr,
}

impl HttpEndpoint {
    pub(crate) fn new(pools: Pools, service: Arc<str>, endpoint: SocketAddr, h2c: bool) -> Self {
        let authority = Authority::try_from(endpoint.to_string().as_str())
            .unwrap_or_else(|_| Authority::from_static("127.0.0.1"));
        let host = HeaderValue::from_str(authority.as_str())
            .unwrap_or_else(|_| HeaderValue::from_static("127.0.0.1"));
        HttpEndpoint {
            pools,
            authority,
            host,
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

/// Makes `uri` its origin form (its path and query), what HTTP/1.1 sends; most already are.
fn origin_form(uri: &mut Uri) {
    if uri.scheme().is_some() || uri.authority().is_some() {
        let path = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *uri = Uri::from(path);
    }
}

impl Service<MeshRequest> for HttpEndpoint {
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<ResponseBody>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // The pool opens connections on demand; readiness is the breaker's business.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: MeshRequest) -> Self::Future {
        *req.version_mut() = self.version;
        if self.version == Version::HTTP_11 {
            origin_form(req.uri_mut());
            req.headers_mut()
                .entry(HOST)
                .or_insert_with(|| self.host.clone());
            let idle = self.pools.with_local(|pool| pool.idle.clone());
            return Box::pin(leaf::send(idle, self.endpoint, req));
        }
        *req.uri_mut() = endpoint_uri(&self.authority, req.uri());
        let fut = self.pools.with_local(|pool| pool.client.request(req));
        let (service, endpoint) = (self.service.clone(), self.endpoint);
        Box::pin(async move {
            match fut.await {
                Ok(res) => Ok(res.map(ResponseBody::pooled)),
                Err(e) if e.is_connect() => Err(Box::new(Connect {
                    service,
                    endpoint,
                    source: Box::new(e),
                }) as BoxError),
                Err(e) => Err(Box::new(Upstream {
                    service,
                    endpoint,
                    source: Box::new(e),
                }) as BoxError),
            }
        })
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
