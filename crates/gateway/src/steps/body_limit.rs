//! The request body limit of routed requests.
//!
//! A body whose `Content-Length` is over `body_limit` is refused at once with 413, before
//! anything else is done for it. A body without a length (chunked) is wrapped so that it
//! fails once it grows past the limit; the proxy step then fails and [`crate::rescue`]
//! recognises the length error in the causes and answers 413 too.
//!
//! It is the first step: a request refused for its size costs no token verification.

use axum::body::Body;
use http::header::CONTENT_LENGTH;
use http_body_util::Limited;

use super::Req;
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn post(length: Option<&str>, body: Body) -> Req {
        let mut req = http::Request::post("/x");
        if let Some(l) = length {
            req = req.header(CONTENT_LENGTH, l);
        }
        req.body(body).expect("request")
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_and_an_undeclared_one_is_cut() {
        let step = BodyLimit { limit: 4 };
        let err = step
            .apply(post(Some("5"), Body::from("12345")))
            .expect_err("too long");
        assert_eq!(err.limit, 4);
        let fits = step
            .apply(post(Some("4"), Body::from("1234")))
            .expect("fits");
        assert_eq!(
            fits.into_body().collect().await.expect("body").to_bytes(),
            "1234"
        );

        let stream = futures::stream::iter(["123", "45"].map(Ok::<_, std::io::Error>));
        let chunked = step
            .apply(post(None, Body::from_stream(stream)))
            .expect("no length: accepted until it grows");
        let err = chunked.into_body().collect().await.expect_err("cut");
        assert!(crate::rescue::to_http(err.into()).status == 413);
    }
}
