//! The circuit breaker of one endpoint, *below* the balancer.
//!
//! Why below: a breaker above the balancer could only fail requests; below it, a tripped
//! endpoint simply reports "not ready" from `poll_ready`, and the balancer — which only ever
//! picks among ready endpoints — routes around it without any request failing. (This is how
//! linkerd2-proxy places its failure accrual.) The breaker never returns an error from
//! `poll_ready`: the balancer would drop the endpoint for good. It returns `Pending`, and
//! wakes the balancer when the endpoint may be used again — when probation ends (a timer) or
//! when anything changes its state (a health check, a response).
//!
//! What counts as a failure: connect errors, per-try timeouts, a connection broken after
//! sending, and the statuses in [`crate::BreakerConfig::failure_statuses`] (502/503/504 by
//! default; a 4xx never) — except a response saying `TIS-Degraded: db-read-only`, an outage
//! every endpoint shares (`error::shared_outage`). The caller's deadline cutting a try short,
//! or the caller going away, counts as nothing. The rules of tripping and probation are in [`state`].
//!
//! In half-open the one probe is reserved in `poll_ready` and sent by the next `call`; if the
//! breaker opened again in between (a response of another request), `call` refuses with
//! [`BreakerOpen`] without sending, and the retry layer may try elsewhere.

pub(crate) mod layer;
pub mod state;
pub(crate) mod window;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};

use futures::future::{Either, Ready};
use http::Response;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::Service;

use self::state::{Admit, Outcome};
use crate::balance::board::EndpointShared;
use crate::error::{BoxError, BreakerOpen, Failure, classify, shared_outage};
use crate::outbound::{MeshRequest, Served};

pub(crate) use self::layer::BreakerLayer;

/// The breaker service wrapping one endpoint's stack.
pub struct Breaker<S> {
    inner: S,
    shared: Arc<EndpointShared>,
    /// This service holds the half-open probe reserved by its last `poll_ready`.
    has_probe: bool,
    sleep: Option<Pin<Box<Sleep>>>,
}

/// A copy for another thread's balancer: the same endpoint and shared state, no probe held.
impl<S: Clone> Clone for Breaker<S> {
    fn clone(&self) -> Self {
        Breaker::new(self.inner.clone(), self.shared.clone())
    }
}

impl<S> Breaker<S> {
    pub(crate) fn new(inner: S, shared: Arc<EndpointShared>) -> Self {
        Breaker {
            inner,
            shared,
            has_probe: false,
            sleep: None,
        }
    }

    /// Waits for `until` with a timer that wakes the current task.
    fn wait_until(&mut self, until: Instant, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.sleep {
            Some(sleep) if sleep.deadline() == until => {}
            Some(sleep) => sleep.as_mut().reset(until),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(until))),
        }
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

impl<S> Drop for Breaker<S> {
    fn drop(&mut self) {
        if self.has_probe {
            self.shared.update(|st, _| st.release_probe());
        }
    }
}

impl<S, B> Service<MeshRequest> for Breaker<S>
where
    S: Service<MeshRequest, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = Either<Ready<Result<Response<B>, BoxError>>, Attempted<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        if self.shared.ctx.should_avoid(self.shared.addr) {
            // Another endpoint is available for this retry: stand aside for it, and ask to
            // be polled again so that the next request finds us ready.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if !self.has_probe {
            // Register before looking, so that a change made in between still wakes us.
            self.shared.waker.register(cx.waker());
            // At most twice: once more when the probation timer has just fired.
            let (mut admitted, mut fired) = (false, false);
            for _ in 0..2 {
                fired = false;
                match self.shared.update(|st, now| st.admit(now)) {
                    Admit::Yes => admitted = true,
                    Admit::Probe => {
                        self.has_probe = true;
                        admitted = true;
                    }
                    Admit::No(Some(until)) => {
                        fired = self.wait_until(until, cx).is_ready();
                        if fired {
                            continue;
                        }
                    }
                    Admit::No(None) => {}
                }
                break;
            }
            if !admitted {
                if fired {
                    // The timer fired but the clock disagreed: ask to be polled again.
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
        }
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: MeshRequest) -> Self::Future {
        let reserved = std::mem::take(&mut self.has_probe);
        let (probe, allowed) = self.shared.update(|st, _| {
            let probe = reserved && st.start_probe();
            (probe, probe || st.allows_unprobed())
        });
        if !allowed {
            let err = BreakerOpen {
                service: self.shared.ctx.name.clone(),
                endpoint: self.shared.addr,
            };
            return Either::Left(futures::future::ready(Err(err.into())));
        }
        let attempt = Attempt::start(self.shared.clone(), probe);
        Either::Right(Attempted {
            inner: self.inner.call(req),
            attempt: Some(attempt),
        })
    }
}

pin_project! {
    /// A try through the breaker: its outcome is recorded when it ends, "cancelled" if it is
    /// dropped first (a named future, so that a try costs no box here).
    pub struct Attempted<F> {
        #[pin]
        inner: F,
        attempt: Option<Attempt>,
    }
}

impl<F, B, E> Future for Attempted<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<B>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx)).map_err(Into::into);
        let Some(attempt) = this.attempt.take() else {
            return Poll::Ready(result);
        };
        let endpoint = attempt.shared.addr;
        attempt.finish(&result);
        Poll::Ready(result.map(|mut res| {
            res.extensions_mut().insert(Served { endpoint });
            res
        }))
    }
}

/// One try through the breaker: reports its outcome once, or "cancelled" if dropped first.
struct Attempt {
    shared: Arc<EndpointShared>,
    probe: bool,
    started: Instant,
    finished: bool,
}

impl Attempt {
    fn start(shared: Arc<EndpointShared>, probe: bool) -> Self {
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        Attempt {
            shared,
            probe,
            started: Instant::now(),
            finished: false,
        }
    }

    fn finish<B>(mut self, result: &Result<Response<B>, BoxError>) {
        self.finished = true;
        let latency = self.started.elapsed();
        let m = &self.shared.metrics;
        let (outcome, kind) = match result {
            Ok(res)
                if self
                    .shared
                    .failure_statuses
                    .contains(&res.status().as_u16())
                    && !shared_outage(res) =>
            {
                (Outcome::Failure, Some("status"))
            }
            Ok(_) => (Outcome::Success, None),
            Err(e) => match classify(e) {
                Failure::NotSent => (Outcome::Failure, Some("connect")),
                Failure::TimedOut => (Outcome::Failure, Some("timeout")),
                Failure::Broken => (Outcome::Failure, Some("broken")),
                Failure::Deadline | Failure::Other => (Outcome::Ignored, None),
            },
        };
        match outcome {
            Outcome::Success => m.success.increment(1),
            Outcome::Failure => m.failure.increment(1),
            Outcome::Ignored => m.cancelled.increment(1),
        }
        if let Some(kind) = kind {
            m.error(kind);
        }
        let latency = (outcome != Outcome::Ignored).then_some(latency);
        if let Some(latency) = latency {
            m.duration.record(latency.as_secs_f64());
        }
        let probe = self.probe;
        self.shared
            .update(|st, now| st.record(now, outcome, probe, latency));
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.finished {
            self.shared.metrics.cancelled.increment(1);
            let probe = self.probe;
            self.shared
                .update(|st, now| st.record(now, Outcome::Ignored, probe, None));
        }
    }
}

#[cfg(test)]
mod tests;
