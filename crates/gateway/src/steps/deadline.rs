//! Step 2: the request's deadline.
//!
//! The deadline is the client's `X-Request-Timeout` (`"250ms"`, `"2s"`, or a number of
//! milliseconds), capped at `max_timeout`; otherwise the route's `timeout`; otherwise
//! `default_timeout` (10 s). [`crate::routed`] passes it to every step that may wait, and
//! to tis-mesh as the [`tis_mesh::Deadline`] request extension; whatever waits honours it,
//! so that when it passes the request ends with 504 `deadline_exceeded`, whatever step it
//! was in:
//! - tis-mesh, for everything about the service: it sends `TIS-Deadline` (milliseconds left)
//!   on each try, cuts a try at the deadline, never retries or waits for an endpoint past it;
//! - [`within`], around the gateway's own waits (fetching keys for an unknown `kid`,
//!   resolving a profile).
//!
//! Admission never waits, so it needs no deadline. There is deliberately no timer around the
//! whole stack: on the common path nothing waits but the service, and tis-mesh already
//! times that; a second timer per request would be registered and cancelled for nothing.
//!
//! The route's own timeout needs the route: that is why [`crate::routed`] matches it before
//! any step runs.

use std::time::Duration;

use http::HeaderValue;
use tis_mesh::BoxError;
use tokio::time::Instant;

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

/// Runs `fut`, one of the gateway's own waits, within `deadline`. A future that is ready at
/// once never arms a timer.
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

    fn step() -> DeadlineStep {
        DeadlineStep {
            default_timeout: Duration::from_secs(10),
            max_timeout: Duration::from_secs(60),
        }
    }

    fn headers(timeout: Option<&'static str>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        if let Some(t) = timeout {
            h.insert(REQUEST_TIMEOUT, HeaderValue::from_static(t));
        }
        h
    }

    #[test]
    fn the_clients_timeout_wins_up_to_the_cap_and_otherwise_the_default_applies() {
        let step = step();
        let budget = |t| step.budget(&headers(t), None).expect("valid");
        assert_eq!(budget(Some("200ms")), Duration::from_millis(200));
        assert_eq!(budget(None), Duration::from_secs(10));
        assert_eq!(budget(Some("1h")), Duration::from_secs(60), "capped");
        let err = step.budget(&headers(Some("soon")), None).expect_err("bad");
        assert_eq!(err.value, "soon");
    }

    #[tokio::test(start_paused = true)]
    async fn the_gateways_own_waits_end_at_the_deadline_and_a_ready_one_arms_no_timer() {
        let started = Instant::now();
        let deadline = Some(started + step().budget(&headers(Some("200")), None).expect("ok"));
        let slow = within(deadline, "keys", async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<(), BoxError>(())
        });
        let err = slow.await.expect_err("past the deadline");
        assert!(err.is::<DeadlineExceeded>(), "{err}");
        assert_eq!(Instant::now() - started, Duration::from_millis(200));
        let ready = within(deadline, "keys", async { Ok::<u8, BoxError>(1) });
        assert_eq!(ready.await.expect("ready"), 1);
        let unbounded = within(None, "keys", async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<u8, BoxError>(2)
        });
        assert_eq!(unbounded.await.expect("no deadline, no cut"), 2);
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
