//! The per-try timeout, just above the connection pool and below the breaker.
//!
//! Below the breaker, so that an endpoint that stops answering is charged with the
//! [`Timeout`] and ejected like one that refuses connections. A try is also cut at the
//! caller's deadline when that comes first; it then ends with [`DeadlineExceeded`], which the
//! breaker does not hold against the endpoint (a short deadline is not the endpoint's fault).
//!
//! The timeout covers the wait for the response *headers*: a response body streams for as
//! long as the caller reads it.
//!
//! A try that a retry on another endpoint could follow is cut earlier, at
//! `max(latency_timeout.floor, multiplier × the service's p99)`, with the same [`Timeout`]
//! ([`crate::latency`] says when and why); it records its time to the headers there when
//! answered.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::Service;

use crate::balance::board::EndpointShared;
use crate::breaker::state::EndpointState;
use crate::error::{BoxError, DeadlineExceeded, Timeout};
use crate::outbound::MeshRequest;

#[derive(Debug, Clone)]
pub struct PerTryTimeout<S> {
    inner: S,
    timeout: Duration,
    endpoint: Arc<EndpointShared>,
}

impl<S> PerTryTimeout<S> {
    pub(crate) fn new(inner: S, timeout: Duration, endpoint: Arc<EndpointShared>) -> Self {
        PerTryTimeout {
            inner,
            timeout,
            endpoint,
        }
    }
}

/// Whether a try still unanswered at its early timeout is cut (see [`crate::latency`]):
/// another endpoint than this one is ready for the retry and the budget holds one. "Another":
/// a probe of an endpoint on probation is cut when one ready endpoint remains (a frozen
/// instance's probe otherwise waited the full per-try timeout).
fn worth_cutting(endpoint: &EndpointShared) -> bool {
    let ctx = &endpoint.ctx;
    let this_one = usize::from(endpoint.update(|st, _| st.state()) == EndpointState::Ready);
    ctx.ready().saturating_sub(this_one) >= 1 && ctx.budget.has_retry()
}

impl<S> Service<MeshRequest> for PerTryTimeout<S>
where
    S: Service<MeshRequest>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = TryFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: MeshRequest) -> Self::Future {
        let started = Instant::now();
        let try_ends = started + self.timeout;
        let out = req.body().outbound();
        let deadline = out.and_then(|o| o.deadline);
        let (at, by_deadline) = match deadline {
            Some(d) if d < try_ends => (d, true),
            _ => (try_ends, false),
        };
        let ctx = &self.endpoint.ctx;
        // A try that a retry could follow may be cut early (crate::latency).
        let early = out
            .filter(|o| o.retryable && o.retries.load(Ordering::Relaxed) < ctx.max_retries)
            .and_then(|_| ctx.latency.early_timeout(started))
            .map(|after| started + after)
            .filter(|cut| *cut < at);
        TryFuture {
            inner: self.inner.call(req),
            sleep: tokio::time::sleep_until(early.unwrap_or(at)),
            early,
            at,
            by_deadline,
            started,
            timeout: self.timeout,
            endpoint: self.endpoint.clone(),
        }
    }
}

pin_project! {
    /// One try under its timers: the early cut if any, then the per-try timeout or the
    /// deadline, one `Sleep` reset from the first to the second (a named future, so that a
    /// try costs no box here).
    pub struct TryFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Sleep,
        // The early cut, while it is still ahead.
        early: Option<Instant>,
        at: Instant,
        by_deadline: bool,
        started: Instant,
        timeout: Duration,
        endpoint: Arc<EndpointShared>,
    }
}

impl<F, T, E> Future for TryFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // The answer first, as `tokio::time::timeout` does: one that is ready is never cut.
        if let Poll::Ready(result) = this.inner.poll(cx) {
            if result.is_ok() {
                let now = Instant::now();
                this.endpoint.ctx.latency.record(now, now - *this.started);
            }
            return Poll::Ready(result.map_err(Into::into));
        }
        let endpoint = &**this.endpoint;
        let timed_out = |after| -> BoxError {
            Box::new(Timeout {
                service: endpoint.ctx.name.clone(),
                endpoint: endpoint.addr,
                after,
            })
        };
        loop {
            ready!(this.sleep.as_mut().poll(cx));
            if let Some(cut) = this.early.take() {
                if worth_cutting(endpoint) {
                    endpoint.ctx.metrics.early_timeouts.increment(1);
                    // Overdue by several times the service's p99 while a peer is ready: an
                    // outlier. Eject it now, not after `consecutive_failures` more requests
                    // have each paid the cut (the balancer's decaying EWMA soon makes a
                    // frozen endpoint look cheap again); its health checks bring it back as
                    // soon as it answers.
                    endpoint.update(|st, now| st.trip_overdue(now));
                    return Poll::Ready(Err(timed_out(cut - *this.started)));
                }
                // Not worth cutting: wait on for the per-try timeout or the deadline.
                this.sleep.as_mut().reset(*this.at);
                continue;
            }
            return Poll::Ready(Err(if *this.by_deadline {
                DeadlineExceeded {
                    service: endpoint.ctx.name.clone(),
                }
                .into()
            } else {
                timed_out(*this.timeout)
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::MeshBody;
    use crate::error::Failure;
    use crate::outbound::Outbound;
    use tower::ServiceExt;
    use tower_test::mock;

    fn endpoint() -> Arc<EndpointShared> {
        let cfg = crate::config::MeshConfig::default();
        let addr: std::net::SocketAddr = "127.0.0.1:9".parse().expect("addr");
        EndpointShared::new(
            addr,
            crate::balance::board::ServiceCtx::new("s", &cfg),
            &cfg,
        )
    }

    fn request(deadline: Option<Instant>) -> MeshRequest {
        let mut req = http::Request::new(MeshBody::empty());
        req.body_mut().set_outbound(Outbound::new(deadline));
        req
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_that_outlives_its_timeout_is_a_timeout_of_the_endpoint() {
        let (mock, mut handle) = mock::pair::<MeshRequest, http::Response<()>>();
        let svc = PerTryTimeout::new(mock, Duration::from_millis(100), endpoint());
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
        let svc = PerTryTimeout::new(mock, Duration::from_secs(5), endpoint());
        let started = Instant::now();
        let deadline = started + Duration::from_millis(200);
        let call = tokio::spawn(svc.oneshot(request(Some(deadline))));
        let _pending = handle.next_request().await.expect("sent");
        let err = call.await.expect("join").expect_err("deadline");
        assert!(err.is::<DeadlineExceeded>(), "{err}");
        assert_eq!(started.elapsed(), Duration::from_millis(200));
    }
}
