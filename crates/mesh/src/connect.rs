//! The bottom of the stack: a pooled HTTP client and the service that sends one request to
//! one endpoint.
//!
//! One hyper-util "legacy" client per service: its pool keeps connections per endpoint
//! address, reuses them across requests, and speaks HTTP/1.1 or — when the service is
//! configured for h2c — HTTP/2 with prior knowledge, multiplexing every request over one
//! connection per endpoint. The connector sets `TCP_NODELAY` (small requests must not wait for
//! Nagle) and the connect timeout (a black-holed address must fail as fast as a refused one).
//!
//! Errors are sorted here, where it is still known whether anything was sent: a failure to
//! obtain a connection is [`Connect`] (safe to retry anywhere), anything later is
//! [`Upstream`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Response, Uri, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
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

/// Sends requests to one endpoint through the shared pool.
#[derive(Clone)]
pub struct HttpEndpoint {
    client: HttpClient,
    authority: Authority,
    version: Version,
    service: Arc<str>,
    endpoint: SocketAddr,
}

impl HttpEndpoint {
    pub(crate) fn new(
        client: HttpClient,
        service: Arc<str>,
        endpoint: SocketAddr,
        h2c: bool,
    ) -> Self {
        let authority = Authority::try_from(endpoint.to_string().as_str())
            .unwrap_or_else(|_| Authority::from_static("127.0.0.1"));
        HttpEndpoint {
            client,
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
    type Future = BoxFuture<'static, Result<Response<Incoming>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // The pool opens connections on demand; readiness is the breaker's business.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: MeshRequest) -> Self::Future {
        *req.uri_mut() = endpoint_uri(&self.authority, req.uri());
        *req.version_mut() = self.version;
        let fut = self.client.request(req);
        let (service, endpoint) = (self.service.clone(), self.endpoint);
        Box::pin(async move {
            fut.await.map_err(|e| -> BoxError {
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
            })
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
