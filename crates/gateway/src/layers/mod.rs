//! The steps of the routed stack, each a tower layer (assembled in [`crate::stack`]).
//!
//! Every step has the same shape: it looks at the request, may answer with an error (a
//! `BoxError` that [`crate::rescue`] turns into a status once, at the edge), may add to the
//! request's extensions or headers, then calls the rest of the stack. [`Step`] is that shape;
//! [`StepLayer`] makes a tower layer of any step, so that `stack.rs` can assemble them with
//! `ServiceBuilder` in the order ARCHITECTURE.md §3 gives.
//!
//! Every service of the stack is always ready (nothing here applies back-pressure through
//! `poll_ready`: admission control sheds instead of queueing), so a step calls the inner
//! service with `oneshot` on a clone.

pub mod admission;
pub mod auth;
pub mod body_limit;
pub mod deadline;
pub mod edge;
pub mod hygiene;
pub mod principal;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use futures::future::BoxFuture;
use tis_mesh::BoxError;
use tower::{Layer, Service};

/// A request of the routed stack.
pub type Req = http::Request<Body>;
/// A response of the routed stack.
pub type Res = http::Response<Body>;

/// One step of the routed stack (see the module documentation).
pub trait Step: Send + Sync + 'static {
    fn run<S>(
        self: Arc<Self>,
        req: Req,
        inner: S,
    ) -> impl Future<Output = Result<Res, BoxError>> + Send
    where
        S: Service<Req, Response = Res, Error = BoxError> + Clone + Send + 'static,
        S::Future: Send;
}

/// A [`Step`] as a tower layer.
pub struct StepLayer<T>(Arc<T>);

impl<T> StepLayer<T> {
    pub fn new(step: T) -> Self {
        StepLayer(Arc::new(step))
    }

    /// A layer over a step that something else also reads (admission's counters).
    pub fn shared(step: Arc<T>) -> Self {
        StepLayer(step)
    }
}

impl<T> Clone for StepLayer<T> {
    fn clone(&self) -> Self {
        StepLayer(self.0.clone())
    }
}

impl<T, S> Layer<S> for StepLayer<T> {
    type Service = StepService<T, S>;

    fn layer(&self, inner: S) -> Self::Service {
        StepService {
            step: self.0.clone(),
            inner,
        }
    }
}

/// The service of a [`StepLayer`].
pub struct StepService<T, S> {
    step: Arc<T>,
    inner: S,
}

impl<T, S: Clone> Clone for StepService<T, S> {
    fn clone(&self) -> Self {
        StepService {
            step: self.step.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<T, S> Service<Req> for StepService<T, S>
where
    T: Step,
    S: Service<Req, Response = Res, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Res;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Res, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        Box::pin(self.step.clone().run(req, self.inner.clone()))
    }
}
