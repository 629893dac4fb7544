//! The edge of the routed stack: the route is matched here, every failure below is turned
//! into its answer by [`crate::rescue`], and per-route metrics are recorded.
//!
//! The route is *matched* first, although it is *enforced* last (step 6): the deadline step
//! needs the route's timeout, and the metrics need its label. The table is loaded from the
//! `ArcSwap` once; the [`EdgeState`] extension keeps the route (and so its service and its
//! clients) for the rest of the request, so a reload never changes a request half-way. A
//! path with no route is answered 404 only by the proxy step, after authentication, so an
//! unauthenticated caller learns nothing about which paths exist.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use futures::future::BoxFuture;
use metrics::{Counter, Histogram};
use tis_mesh::BoxError;
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt};

use super::auth::Verified;
use super::{Req, Res};
use crate::routes::{Route, RouteTable};
use tis_auth::Principal;

/// What the steps learn about a request, as *one* request extension: each step fills its
/// part (one allocation per request instead of one per step).
#[derive(Debug, Clone, Default)]
pub struct EdgeState {
    /// The route matched here, if any.
    pub route: Option<Arc<Route>>,
    /// Set by the deadline step.
    pub deadline: Option<Instant>,
    /// Set by authentication.
    pub verified: Option<Verified>,
    /// Set by the authorisation step.
    pub principal: Option<Arc<Principal>>,
}

/// The request's [`EdgeState`], added if a step runs without the edge (unit tests).
pub fn state(req: &mut Req) -> &mut EdgeState {
    if req.extensions().get::<EdgeState>().is_none() {
        req.extensions_mut().insert(EdgeState::default());
    }
    req.extensions_mut()
        .get_mut::<EdgeState>()
        .expect("just inserted")
}

/// The edge layer.
#[derive(Clone)]
pub struct EdgeLayer {
    table: Arc<ArcSwap<RouteTable>>,
    unrouted: Arc<(Counter, Counter, Histogram)>,
}

impl EdgeLayer {
    pub fn new(table: Arc<ArcSwap<RouteTable>>) -> Self {
        crate::metrics::describe();
        let class = |c: &'static str| metrics::counter!(crate::metrics::REQUESTS_TOTAL, "route" => "none", "class" => c);
        EdgeLayer {
            table,
            unrouted: Arc::new((
                class("4xx"),
                class("5xx"),
                metrics::histogram!(crate::metrics::REQUEST_DURATION, "route" => "none"),
            )),
        }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            layer: self.clone(),
            inner,
        }
    }
}

/// The edge service: infallible, as axum wants its fallback.
#[derive(Clone)]
pub struct Edge<S> {
    layer: EdgeLayer,
    inner: S,
}

impl<S> Service<Req> for Edge<S>
where
    S: Service<Req, Response = Res, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Res;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Res, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Req) -> Self::Future {
        let started = Instant::now();
        let route = self.layer.table.load().route(req.uri().path()).cloned();
        req.extensions_mut().insert(EdgeState {
            route: route.clone(),
            ..EdgeState::default()
        });
        let inner = self.inner.clone();
        let unrouted = self.layer.unrouted.clone();
        Box::pin(async move {
            let res = match inner.oneshot(req).await {
                Ok(res) => res,
                Err(err) => crate::rescue::rescue(err),
            };
            let status = res.status();
            match &route {
                Some(r) => r.metrics.answered(status, started.elapsed()),
                None => {
                    let (c4, c5, h) = &*unrouted;
                    if status.is_server_error() {
                        c5.increment(1);
                    } else {
                        c4.increment(1);
                    }
                    h.record(started.elapsed().as_secs_f64());
                }
            }
            Ok(res)
        })
    }
}
