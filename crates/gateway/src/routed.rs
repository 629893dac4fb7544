//! The routed path: every public request except the few public routes, as plain calls in
//! one future. [`crate::stack`] draws the order and says why it is that order; this module
//! is the code of that drawing from "edge" down.
//!
//! The route is matched first, although it is *enforced* last (step 6): the deadline step
//! needs the route's timeout, and the metrics need its label. The table is loaded from the
//! `ArcSwap` once and the route (and so its service and its clients) is kept for the rest of
//! the request, so a reload never changes a request half-way. A path with no route is
//! answered 404 only by the proxy step, after authentication, so an unauthenticated caller
//! learns nothing about which paths exist.
//!
//! What a step learns — the deadline, the admission permit, the verified token, the
//! principal — is a local variable handed to the steps after it. The first error ends the
//! steps and [`crate::rescue::rescue`] answers it, once; then the route's metrics count the
//! answer. The request context around all this (request id, trace, access log,
//! `TIS-Degraded`) is tis-core's, entered by [`crate::stack::Public::serve`].

use std::sync::Arc;

use arc_swap::ArcSwap;
use metrics::{Counter, Histogram};
use tis_auth::PRINCIPAL_HEADER;
use tis_mesh::BoxError;
use tokio::time::Instant;
use tracing::Instrument;

use crate::proxy::{Peer, Proxy};
use crate::routes::{Route, RouteTable};
use crate::steps::admission::Admission;
use crate::steps::auth::{Authenticate, Authorise};
use crate::steps::body_limit::BodyLimit;
use crate::steps::deadline::DeadlineStep;
use crate::steps::principal::MintPrincipal;
use crate::steps::{Req, Res};

/// `TIS-Principal`, parsed once: inserting by a `&str` name copies a custom name every time.
const PRINCIPAL: http::HeaderName = http::HeaderName::from_static(PRINCIPAL_HEADER);

/// The steps of the routed path, called in order (see the module documentation).
pub struct Routed {
    pub(crate) table: Arc<ArcSwap<RouteTable>>,
    pub(crate) body_limit: BodyLimit,
    pub(crate) deadline: DeadlineStep,
    pub(crate) admission: Arc<Admission>,
    pub(crate) authenticate: Authenticate,
    pub(crate) authorise: Authorise,
    pub(crate) principal: MintPrincipal,
    pub(crate) proxy: Proxy,
    /// Answers without a route: 4xx, 5xx, and their durations.
    pub(crate) unrouted: (Counter, Counter, Histogram),
}

impl Routed {
    /// Serves `req` from `peer`, inside the request context: the steps, `rescue` on any
    /// error, the route's metrics.
    pub async fn serve(&self, req: Req, peer: &Peer) -> Res {
        let started = Instant::now();
        let route = self.table.load().route(req.uri().path()).cloned();
        let res = match self.steps(req, route.as_ref(), peer).await {
            Ok(res) => res,
            Err(err) => crate::rescue::rescue(err),
        };
        let status = res.status();
        match &route {
            Some(r) => r.metrics.answered(status, started.elapsed()),
            None => {
                let (c4, c5, h) = &self.unrouted;
                if status.is_server_error() {
                    c5.increment(1);
                } else {
                    c4.increment(1);
                }
                h.record(started.elapsed().as_secs_f64());
            }
        }
        res
    }

    /// In the order of [`crate::stack`]; any error is answered by [`Routed::serve`].
    async fn steps(
        &self,
        req: Req,
        route: Option<&Arc<Route>>,
        peer: &Peer,
    ) -> Result<Res, BoxError> {
        let mut req = self.body_limit.apply(req)?;
        let budget = self.deadline.budget(req.headers(), route.map(|r| &**r))?;
        let deadline = Some(Instant::now() + budget);
        let held = self.admission.admit()?;
        // A route whose service signs its users in itself: nothing to verify or mint (the
        // client's `TIS-Principal` went with the inbound hygiene).
        if let Some(route) = route.filter(|r| r.public) {
            let res = self.proxy.forward(req, Some(route), deadline, peer);
            let res = res.instrument(step_span("gateway.proxy")).await?;
            return Ok(held.attach(res));
        }
        let verified = self.authenticate.verify(req.headers(), deadline);
        let verified = verified
            .instrument(step_span("gateway.authenticate"))
            .await?;
        let principal = self.authorise.authorise(req.headers(), &verified, deadline);
        let principal = principal.instrument(step_span("gateway.authorise")).await?;
        // No route: nothing to mint for; the proxy step answers 404.
        if let Some(route) = route {
            let header = step_span("gateway.principal")
                .in_scope(|| self.principal.header_for(&verified, &principal, route))?;
            req.headers_mut().insert(PRINCIPAL, header);
        }
        let res = self.proxy.forward(req, route, deadline, peer);
        let res = res.instrument(step_span("gateway.proxy")).await?;
        Ok(held.attach(res))
    }
}

/// The span of one step that waits (a trace's child of the request): disabled, and free,
/// unless traces are exported (`tis_core::telemetry::traces`).
fn step_span(name: &'static str) -> tracing::Span {
    tracing::debug_span!(target: tis_core::telemetry::traces::TARGET, "step", otel.name = name)
}

#[cfg(test)]
mod tests;
