//! The steps of the routed path, each a plain value with a method that [`crate::routed`]
//! calls in the order [`crate::stack`] draws.
//!
//! Every step has the same shape: it looks at the request (usually only its headers), may
//! refuse it with an error (one of the types of [`crate::error`], tis-auth's or tis-mesh's,
//! boxed as `BoxError`, which [`crate::rescue`] turns into a status once, at the edge), and
//! otherwise returns what it learnt — a deadline, a permit, a verified token, a principal —
//! as a value the next steps take as an argument. Nothing travels in request extensions.
//!
//! They are deliberately not tower layers. They were, once (a `Step` trait, a generic
//! `StepLayer`, one boxed future and one clone of the nested service per step, and what a
//! step learnt riding in a request extension for the next one): behind axum's router and
//! two `from_fn` middlewares, that was about half of the gateway's CPU per request in
//! `bench/gateway.sh`, so requests were already served by plain calls and the layers were
//! kept only for their unit tests, a second face to maintain. As plain calls in one future
//! the steps cost nothing beyond their own work, each is tested by calling it, and the data
//! path can change shape (issue 17: the upstream connection driven in the request's own
//! task) without a generic stack to keep in step. Why the order is what it is:
//! [`crate::stack`].

pub mod admission;
pub mod auth;
pub mod body_limit;
pub mod deadline;
pub mod hygiene;
pub mod principal;

use axum::body::Body;

/// A request of the routed path.
pub type Req = http::Request<Body>;
/// A response of the routed path.
pub type Res = http::Response<Body>;
