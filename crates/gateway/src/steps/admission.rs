//! Step 3: admission control — a global concurrency limit that sheds instead of queueing.
//!
//! A request takes a permit or is refused at once with 503 `overloaded` and `Retry-After`
//! (no waiting: a queue in front of an overloaded gateway only turns overload into
//! timeouts, for everyone). The permit is held until the response *body* has been sent, so
//! a slow download counts as load for as long as it lasts.
//!
//! It sits after the deadline and before authentication: shedding must be cheaper than the
//! work it saves, and verifying a token is work.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use metrics::{Counter, Gauge};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Res;
use crate::error::Overloaded;

/// The admission step. Its counters are read by the status endpoints.
pub struct Admission {
    limit: usize,
    permits: Arc<Semaphore>,
    shed: AtomicU64,
    shed_counter: Counter,
    in_flight: Gauge,
}

impl Admission {
    pub fn new(limit: usize) -> Self {
        crate::metrics::describe();
        Admission {
            limit,
            permits: Arc::new(Semaphore::new(limit)),
            shed: AtomicU64::new(0),
            shed_counter: metrics::counter!(crate::metrics::SHED_TOTAL),
            in_flight: metrics::gauge!(crate::metrics::IN_FLIGHT),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn in_flight(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    pub fn shed_total(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }
}

impl Admission {
    /// Takes a permit, or refuses at once with [`Overloaded`].
    pub fn admit(&self) -> Result<Held, Overloaded> {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            self.shed.fetch_add(1, Ordering::Relaxed);
            self.shed_counter.increment(1);
            return Err(Overloaded { limit: self.limit });
        };
        self.in_flight.increment(1.0);
        Ok(Held {
            _permit: permit,
            gauge: self.in_flight.clone(),
        })
    }
}

/// A permit and the gauge it counts in, released together.
pub struct Held {
    _permit: OwnedSemaphorePermit,
    gauge: Gauge,
}

impl Held {
    /// Keeps the permit until `res`'s body is done or dropped. The body is boxed once, here
    /// (the proxy hands over the service's body as it came).
    pub fn attach<B>(self, res: http::Response<B>) -> Res
    where
        B: http_body::Body<Data = Bytes> + Unpin + Send + 'static,
        B::Error: Into<tis_mesh::BoxError>,
    {
        res.map(|body| Body::new(PermitBody { body, _held: self }))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

/// A response body that holds the admission permit until it is done or dropped.
struct PermitBody<B> {
    body: B,
    _held: Held,
}

impl<B: http_body::Body<Data = Bytes> + Unpin> http_body::Body for PermitBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_limit_requests_are_refused_at_once_and_the_permit_returns_with_the_body() {
        let admission = Admission::new(1);
        let first = admission.admit().expect("admitted");
        assert_eq!(admission.in_flight(), 1);

        let err = admission.admit().err().expect("shed");
        assert_eq!(err.limit, 1);
        assert_eq!(admission.shed_total(), 1);

        let res = first.attach(Res::new(Body::from("done")));
        assert_eq!(admission.in_flight(), 1, "held until the body is done");
        assert!(
            admission.admit().is_err(),
            "still full while the body is sent"
        );
        drop(res);
        assert_eq!(admission.in_flight(), 0);
        let again = admission.admit().expect("admitted again");
        drop(again);
        assert_eq!(admission.in_flight(), 0);
        assert_eq!(admission.shed_total(), 2);
    }
}
