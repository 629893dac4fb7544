//! What the steps learn about a request, when they run as tower layers.
//!
//! The edge of the routed stack ([`crate::routed::Routed::serve_in_context`]) matches the
//! route first, although it is *enforced* last (step 6): the deadline step needs the route's
//! timeout, and the metrics need its label. The table is loaded from the `ArcSwap` once and
//! the route (and so its service and its clients) is kept for the rest of the request, so a
//! reload never changes a request half-way. A path with no route is answered 404 only by the
//! proxy step, after authentication, so an unauthenticated caller learns nothing about which
//! paths exist.
//!
//! Served, the steps pass what they learn as local variables; as layers (the unit tests of
//! each step) they share it in one request extension, [`EdgeState`].

use std::sync::Arc;

use tokio::time::Instant;

use super::Req;
use super::auth::Verified;
use crate::routes::Route;
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
