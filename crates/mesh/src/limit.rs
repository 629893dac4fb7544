//! The bulkhead: a concurrency limit per downstream service that sheds, rather than queues,
//! what is over it.
//!
//! One slow service must not take every connection, task and byte of memory of its callers
//! with it. Each try holds a permit from the time it enters the balancer until its response
//! headers arrive (waiting for a ready endpoint counts too); when all permits are out, the
//! next try fails at once with [`Overloaded`] — 503 with `Retry-After` at the edge — instead
//! of waiting behind the others. The only queue is the balancer's lock, and only permit
//! holders stand in it, so it is bounded by the limit.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tokio::sync::Semaphore;
use tower::Service;

use crate::balance::board::ServiceCtx;
use crate::error::{BoxError, Overloaded};
use crate::outbound::MeshRequest;

#[derive(Clone)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    permits: Arc<Semaphore>,
    max: usize,
    ctx: Arc<ServiceCtx>,
}

impl<S> ConcurrencyLimit<S> {
    pub(crate) fn new(inner: S, max: usize, ctx: Arc<ServiceCtx>) -> Self {
        ConcurrencyLimit {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            max,
            ctx,
        }
    }

    /// Tries in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.max.saturating_sub(self.permits.available_permits())
    }
}

impl<S> Service<MeshRequest> for ConcurrencyLimit<S>
where
    S: Service<MeshRequest, Error = BoxError>,
    S::Response: Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: MeshRequest) -> Self::Future {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            self.ctx.metrics.shed.increment(1);
            self.ctx
                .stats
                .shed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let err = Overloaded {
                service: self.ctx.name.clone(),
                limit: self.max,
            };
            return Box::pin(futures::future::ready(Err(err.into())));
        };
        let gauge = self.ctx.metrics.in_flight.clone();
        gauge.increment(1.0);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let result = fut.await;
            gauge.decrement(1.0);
            drop(permit);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::MeshBody;
    use tower::ServiceExt;
    use tower_test::mock;

    #[tokio::test(start_paused = true)]
    async fn the_request_over_the_limit_is_shed_at_once_and_a_freed_permit_is_reused() {
        let (mock, mut handle) = mock::pair::<MeshRequest, ()>();
        let ctx = ServiceCtx::new("limit-test");
        let svc = ConcurrencyLimit::new(mock, 2, ctx.clone());
        let req = || http::Request::new(MeshBody::empty());
        let first = tokio::spawn(svc.clone().oneshot(req()));
        let second = tokio::spawn(svc.clone().oneshot(req()));
        let (_, send1) = handle.next_request().await.expect("first sent");
        let (_, _send2) = handle.next_request().await.expect("second sent");
        assert_eq!(svc.in_flight(), 2);

        let started = tokio::time::Instant::now();
        let err = svc.clone().oneshot(req()).await.expect_err("shed");
        assert!(err.is::<Overloaded>(), "{err}");
        assert_eq!(started.elapsed(), std::time::Duration::ZERO, "no waiting");
        assert_eq!(ctx.stats.shed.load(std::sync::atomic::Ordering::Relaxed), 1);

        send1.send_response(());
        first.await.expect("join").expect("ok");
        let third = tokio::spawn(svc.clone().oneshot(req()));
        let (_, send3) = handle
            .next_request()
            .await
            .expect("third sent after a permit freed");
        send3.send_response(());
        third.await.expect("join").expect("ok");
        drop(second);
    }
}
