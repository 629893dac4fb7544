//! The gateway's own failure conditions, one type each.
//!
//! Steps of the routed path return `BoxError` (as tis-mesh does); each boxes one of these,
//! or tis-auth's [`AuthError`](tis_auth::AuthError), or tis-mesh's
//! [`MeshError`](tis_mesh::MeshError). Nothing below the edge chooses a status code: that
//! is [`crate::rescue`]'s job, once, for every type.

/// No route matches the path: 404 `not_found`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no service is routed at {path}")]
pub struct NoRoute {
    pub path: String,
}

/// The gateway's concurrency limit is reached: 503 `overloaded` + `Retry-After`, at once.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the gateway is overloaded: {limit} requests already in flight")]
pub struct Overloaded {
    pub limit: usize,
}

/// The request's deadline passed while the gateway itself was waiting (for keys, for a
/// profile): 504 `deadline_exceeded`. (A deadline passing while the service works is
/// tis-mesh's `DeadlineExceeded`, with the same answer.)
#[derive(Debug, Clone, thiserror::Error)]
#[error("the request's deadline passed while waiting for {waiting_for}")]
pub struct DeadlineExceeded {
    pub waiting_for: &'static str,
}

/// `X-Request-Timeout` does not parse: 400 `invalid_request_timeout`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("X-Request-Timeout {value:?} is not a duration (\"250ms\", \"2s\", or milliseconds)")]
pub struct InvalidTimeout {
    pub value: String,
}

/// The request body is larger than `body_limit`: 413 `payload_too_large`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the request body is larger than {limit} bytes")]
pub struct PayloadTooLarge {
    pub limit: usize,
}

/// Minting the principal failed (a broken key: never the caller's fault): 500.
#[derive(Debug, thiserror::Error)]
#[error("could not sign the principal: {0}")]
pub struct MintFailed(pub String);
