//! The per-try timeout, just above the connection pool and below the breaker.
//!
//! Below the breaker, so that an endpoint that stops answering is charged with the
//! [`Timeout`] and ejected like one that refuses connections. A try is also cut at the
//! caller's deadline when that comes first; it then ends with [`DeadlineExceeded`], which the
//! breaker does not hold against the endpoint (a short deadline is not the endpoint's fault).
//!
//! The timeout covers the wait for the response *headers*: a response body streams for as
//! long as the caller reads it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;
use tower::Service;

use crate::error::{BoxError, DeadlineExceeded, Timeout};
use crate::outbound::{MeshRequest, Outbound};

#[derive(Debug, Clone)]
pub struct PerTryTimeout<S> {
    inner: S,
    timeout: Duration,
    service: Arc<str>,
    endpoint: SocketAddr,
}

impl<S> PerTryTimeout<S> {
    pub(crate) fn new(
        inner: S,
        timeout: Duration,
        service: Arc<str>,
        endpoint: SocketAddr,
    ) -> Self {
        PerTryTimeout {
            inner,
            timeout,
            service,
            endpoint,
        }
    }
}

impl<S> Service<MeshRequest> for PerTryTimeout<S>
where
    S: Service<MeshRequest>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: MeshRequest) -> Self::Future {
        let try_ends = Instant::now() + self.timeout;
        let deadline = req.extensions().get::<Outbound>().and_then(|o| o.deadline);
        let (at, by_deadline) = match deadline {
            Some(d) if d < try_ends => (d, true),
            _ => (try_ends, false),
        };
        let fut = self.inner.call(req);
        let (service, endpoint, after) = (self.service.clone(), self.endpoint, self.timeout);
        Box::pin(async move {
            match tokio::time::timeout_at(at, fut).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) if by_deadline => Err(DeadlineExceeded { service }.into()),
                Err(_) => Err(Timeout {
                    service,
                    endpoint,
                    after,
                }
                .into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::MeshBody;
    use crate::error::Failure;
    use tower::ServiceExt;
    use tower_test::mock;

    fn request(deadline: Option<Instant>) -> MeshRequest {
        let mut req = http::Request::new(MeshBody::empty());
        req.extensions_mut().insert(Outbound::new(deadline));
        req
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_that_outlives_its_timeout_is_a_timeout_of_the_endpoint() {
        let (mock, mut handle) = mock::pair::<MeshRequest, http::Response<()>>();
        let addr: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let svc = PerTryTimeout::new(mock, Duration::from_millis(100), "s".into(), addr);
        let started = Instant::now();
        let call = tokio::spawn(svc.oneshot(request(None)));
        let _pending = handle.next_request().await.expect("sent");
        let err = call.await.expect("join").expect_err("timed out");
        assert!(err.is::<Timeout>(), "{err}");
        assert_eq!(crate::error::classify(&err), Failure::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_cut_by_the_callers_deadline_is_not_the_endpoints_fault() {
        let (mock, mut handle) = mock::pair::<MeshRequest, http::Response<()>>();
        let addr: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let svc = PerTryTimeout::new(mock, Duration::from_secs(5), "s".into(), addr);
        let started = Instant::now();
        let deadline = started + Duration::from_millis(200);
        let call = tokio::spawn(svc.oneshot(request(Some(deadline))));
        let _pending = handle.next_request().await.expect("sent");
        let err = call.await.expect("join").expect_err("deadline");
        assert!(err.is::<DeadlineExceeded>(), "{err}");
        assert_eq!(started.elapsed(), Duration::from_millis(200));
    }
}
