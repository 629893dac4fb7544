//! The bulkhead: a concurrency limit per downstream service that sheds, rather than queues,
//! what is over it.
//!
//! One slow service must not take every connection, task and byte of memory of its callers
//! with it. Each try holds a permit from the time it enters the balancer until its response
//! headers arrive (waiting for a ready endpoint counts too); when all permits are out, the
//! next try fails at once with [`Overloaded`] — 503 with `Retry-After` at the edge — instead
//! of waiting behind the others. The only queue is the balancer's lock, and only permit
//! holders stand in it, so it is bounded by the limit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use futures::future::{Either, Ready};
use metrics::Gauge;
use pin_project_lite::pin_project;
use tower::Service;

use crate::balance::board::ServiceCtx;
use crate::error::{BoxError, Overloaded};
use crate::outbound::MeshRequest;

#[derive(Clone)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    taken: Arc<AtomicUsize>,
    max: usize,
    ctx: Arc<ServiceCtx>,
}

/// One try's place under the limit, given back on drop. A counter, not a semaphore: nothing
/// ever waits for a permit, and a semaphore's release takes a lock that every worker thread
/// of the gateway would share.
struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

impl<S> ConcurrencyLimit<S> {
    pub(crate) fn new(inner: S, max: usize, ctx: Arc<ServiceCtx>) -> Self {
        ConcurrencyLimit {
            inner,
            taken: Arc::new(AtomicUsize::new(0)),
            max,
            ctx,
        }
    }

    /// Tries in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.taken.load(Ordering::Relaxed)
    }

    fn try_acquire(&self) -> Option<Permit> {
        self.taken
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Permit(Arc::clone(&self.taken)))
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
    type Future = Either<Ready<Result<S::Response, BoxError>>, Limited<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: MeshRequest) -> Self::Future {
        let Some(permit) = self.try_acquire() else {
            self.ctx.metrics.shed.increment(1);
            self.ctx
                .stats
                .shed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let err = Overloaded {
                service: self.ctx.name.clone(),
                limit: self.max,
            };
            return Either::Left(futures::future::ready(Err(err.into())));
        };
        let gauge = self.ctx.metrics.in_flight.clone();
        gauge.increment(1.0);
        Either::Right(Limited {
            inner: self.inner.call(req),
            held: Some(Held {
                gauge,
                _permit: permit,
            }),
        })
    }
}

/// A try's permit and its count in the in-flight gauge, both given back when the try ends
/// or is dropped.
struct Held {
    gauge: Gauge,
    _permit: Permit,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

pin_project! {
    /// A try under the limit: its permit is released with its answer (a named future, so
    /// that a try costs no box here).
    pub struct Limited<F> {
        #[pin]
        inner: F,
        held: Option<Held>,
    }
}

impl<F: Future> Future for Limited<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        this.held.take();
        Poll::Ready(result)
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
        let ctx = ServiceCtx::new("limit-test", &crate::config::MeshConfig::default());
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
