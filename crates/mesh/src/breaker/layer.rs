//! The layer that puts a [`Breaker`] on one endpoint's stack.

use std::sync::Arc;

use tower::Layer;

use super::Breaker;
use crate::balance::board::EndpointShared;

/// Wraps an endpoint's stack in the breaker whose state lives in `shared`.
#[derive(Debug, Clone)]
pub(crate) struct BreakerLayer {
    shared: Arc<EndpointShared>,
}

impl BreakerLayer {
    pub(crate) fn new(shared: Arc<EndpointShared>) -> Self {
        BreakerLayer { shared }
    }
}

impl<S> Layer<S> for BreakerLayer {
    type Service = Breaker<S>;

    fn layer(&self, inner: S) -> Breaker<S> {
        Breaker::new(inner, self.shared.clone())
    }
}
