//! The request body limit of routed requests.
//!
//! A body whose `Content-Length` is over `body_limit` is refused at once with 413, before
//! anything else is done for it. A body without a length (chunked) is wrapped so that it
//! fails once it grows past the limit; the proxy step then fails and [`crate::rescue`]
//! recognises the length error in the causes and answers 413 too.

use std::sync::Arc;

use axum::body::Body;
use http::header::CONTENT_LENGTH;
use http_body_util::Limited;
use tis_mesh::BoxError;
use tower::{Service, ServiceExt};

use super::{Req, Res, Step};
use crate::error::PayloadTooLarge;

/// The body-limit step.
#[derive(Debug)]
pub struct BodyLimit {
    pub limit: usize,
}

impl BodyLimit {
    /// Refuses a declared length over the limit; wraps a body of unknown length so that it
    /// fails once it grows past it.
    pub fn apply(&self, req: Req) -> Result<Req, PayloadTooLarge> {
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        Ok(match declared {
            Some(len) if len > self.limit as u64 => {
                return Err(PayloadTooLarge { limit: self.limit });
            }
            Some(_) => req,
            None if http_body::Body::is_end_stream(req.body()) => req,
            None => req.map(|b| Body::new(Limited::new(b, self.limit))),
        })
    }
}

impl Step for BodyLimit {
    async fn run<S>(self: Arc<Self>, req: Req, inner: S) -> Result<Res, BoxError>
    where
        S: Service<Req, Response = Res, Error = BoxError> + Clone + Send + 'static,
        S::Future: Send,
    {
        let req = self.apply(req)?;
        inner.oneshot(req).await
    }
}
