//! Step 2: the request's deadline, and which route it is on.
//!
//! The deadline is the client's `X-Request-Timeout` (`"250ms"`, `"2s"`, or a number of
//! milliseconds), capped at `max_timeout`; otherwise the route's `timeout`; otherwise
//! `default_timeout` (10 s). It travels as the [`tis_mesh::Deadline`] request extension, and
//! whatever waits honours it, so that when it passes the request ends with 504
//! `deadline_exceeded`, whatever step it was in:
//! - tis-mesh, for everything about the service: it sends `TIS-Deadline` (milliseconds left)
//!   on each try, cuts a try at the deadline, never retries or waits for an endpoint past it;
//! - [`within`], around the gateway's own waits (fetching keys for an unknown `kid`,
//!   resolving a profile).
//!
//! Admission never waits, so it needs no deadline. There is deliberately no timer around the
//! whole stack: on the common path nothing waits but the service, and tis-mesh already
//! times that; a second timer per request would be registered and cancelled for nothing.
//!
//! The route's own timeout is read from the [`Matched`] extension the edge put on the
//! request (see [`super::edge`]).

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use tis_mesh::BoxError;
use tokio::time::Instant;
use tower::{Service, ServiceExt};

use super::edge::{EdgeState, state};
use super::{Req, Res, Step};
use crate::error::{DeadlineExceeded, InvalidTimeout};
use crate::routes::Route;

/// The header a client sets to shorten (or lengthen, up to `max_timeout`) its deadline.
pub const REQUEST_TIMEOUT: &str = "x-request-timeout";

/// The deadline step.
pub struct DeadlineStep {
    pub default_timeout: Duration,
    pub max_timeout: Duration,
}

/// Parses `X-Request-Timeout`: a humantime duration, or bare milliseconds.
pub fn parse_timeout(value: &HeaderValue) -> Result<Duration, InvalidTimeout> {
    let invalid = || InvalidTimeout {
        value: String::from_utf8_lossy(value.as_bytes())
            .chars()
            .take(40)
            .collect(),
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(Duration::from_millis(ms));
    }
    humantime::parse_duration(text).map_err(|_| invalid())
}

impl DeadlineStep {
    /// The budget of a request on `route`: its `X-Request-Timeout` (capped), else the
    /// route's timeout, else the default.
    pub fn budget(
        &self,
        headers: &http::HeaderMap,
        route: Option<&Route>,
    ) -> Result<Duration, InvalidTimeout> {
        Ok(match headers.get(REQUEST_TIMEOUT) {
            Some(v) => parse_timeout(v)?.min(self.max_timeout),
            None => route
                .and_then(|r| r.timeout)
                .unwrap_or(self.default_timeout),
        })
    }
}

impl Step for DeadlineStep {
    async fn run<S>(self: Arc<Self>, mut req: Req, inner: S) -> Result<Res, BoxError>
    where
        S: Service<Req, Response = Res, Error = BoxError> + Clone + Send + 'static,
        S::Future: Send,
    {
        let route = req
            .extensions()
            .get::<EdgeState>()
            .and_then(|m| m.route.clone());
        let budget = self.budget(req.headers(), route.as_deref())?;
        state(&mut req).deadline = Some(Instant::now() + budget);
        inner.oneshot(req).await
    }
}

/// The request's deadline, if the deadline step set one.
pub fn deadline_of(req: &Req) -> Option<Instant> {
    req.extensions().get::<EdgeState>().and_then(|s| s.deadline)
}

/// Runs `fut`, one of the gateway's own waits, within `deadline` (see [`deadline_of`]). A
/// future that is ready at once never arms a timer.
pub async fn within<T, E>(
    deadline: Option<Instant>,
    waiting_for: &'static str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, BoxError>
where
    E: Into<BoxError>,
{
    match deadline {
        Some(d) => match tokio::time::timeout_at(d, fut).await {
            Ok(r) => r.map_err(Into::into),
            Err(_) => Err(DeadlineExceeded { waiting_for }.into()),
        },
        None => fut.await.map_err(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::StepLayer;
    use axum::body::Body;
    use tower::Layer;

    fn step() -> StepLayer<DeadlineStep> {
        StepLayer::new(DeadlineStep {
            default_timeout: Duration::from_secs(10),
            max_timeout: Duration::from_secs(60),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_travels_as_an_extension_and_bounds_the_gateways_own_waits() {
        let (mock, mut handle) = tower_test::mock::pair::<Req, Res>();
        let svc = step().layer(mock);
        let req = http::Request::get("/reference/api/grades")
            .header(REQUEST_TIMEOUT, "200ms")
            .body(Body::empty())
            .expect("request");
        let started = Instant::now();
        let call = tokio::spawn(svc.oneshot(req));
        let (sent, respond) = handle.next_request().await.expect("passed on");
        let deadline = deadline_of(&sent).expect("deadline");
        assert_eq!(deadline - started, Duration::from_millis(200));

        // A wait of the gateway's own (keys, profiles) ends at the deadline…
        let slow = within(deadline_of(&sent), "keys", async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<(), BoxError>(())
        });
        let err = slow.await.expect_err("past the deadline");
        assert!(err.is::<DeadlineExceeded>(), "{err}");
        assert_eq!(Instant::now() - started, Duration::from_millis(200));
        // …and a ready one is simply ready.
        within(deadline_of(&sent), "keys", async { Ok::<u8, BoxError>(1) })
            .await
            .expect("ready");
        respond.send_response(Res::new(Body::empty()));
        call.await.expect("join").expect("answered");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_header_the_default_applies_and_a_long_ask_is_capped() {
        let (mock, mut handle) = tower_test::mock::pair::<Req, Res>();
        let svc = step().layer(mock);
        let started = Instant::now();
        let plain = http::Request::get("/x")
            .body(Body::empty())
            .expect("request");
        let call = tokio::spawn(svc.clone().oneshot(plain));
        let (sent, respond) = handle.next_request().await.expect("passed on");
        let d = deadline_of(&sent).expect("deadline");
        assert_eq!(d - started, Duration::from_secs(10));
        respond.send_response(Res::new(Body::empty()));
        call.await.expect("join").expect("answered");

        let greedy = http::Request::get("/x")
            .header(REQUEST_TIMEOUT, "1h")
            .body(Body::empty())
            .expect("request");
        let call = tokio::spawn(svc.oneshot(greedy));
        let (sent, respond) = handle.next_request().await.expect("passed on");
        let d = deadline_of(&sent).expect("deadline");
        assert_eq!(d - started, Duration::from_secs(60));
        respond.send_response(Res::new(Body::empty()));
        call.await.expect("join").expect("answered");
    }

    #[test]
    fn request_timeouts_are_humantime_or_milliseconds() {
        let ok = |s: &'static str| parse_timeout(&HeaderValue::from_static(s)).expect(s);
        assert_eq!(ok("250"), Duration::from_millis(250));
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok(" 2s "), Duration::from_secs(2));
        assert!(parse_timeout(&HeaderValue::from_static("soon")).is_err());
        assert!(parse_timeout(&HeaderValue::from_static("-5")).is_err());
    }
}
