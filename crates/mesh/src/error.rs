//! Errors of the client stack: one small type per condition, and [`MeshError`], the enum a
//! caller matches on.
//!
//! Which to use where:
//! - inside the stack, layers return `BoxError` (tower's habit, and what the balancer forces);
//!   each layer boxes one of the small types below, so that layers further up can tell them
//!   apart with `is::<T>()` (the breaker, to know a deadline is not the endpoint's fault; the
//!   retry policy, to know what is worth another try);
//! - [`crate::ServiceClient::call`] turns the box into a [`MeshError`] once, at the top;
//! - the edge turns a [`MeshError`] into an HTTP answer with `HttpError::from`, the one place
//!   where conditions become status codes:
//!
//! | condition | status | code |
//! |---|---|---|
//! | [`NoHealthyEndpoints`] | 503 + `Retry-After` | `no_healthy_endpoints` |
//! | [`Overloaded`] | 503 + `Retry-After` | `overloaded` |
//! | [`BreakerOpen`] | 503 + `Retry-After` | `upstream_unavailable` |
//! | [`DeadlineExceeded`] | 504 | `deadline_exceeded` |
//! | [`Timeout`] (a try, not the caller's deadline) | 504 | `upstream_timeout` |
//! | [`Connect`], [`Upstream`] | 502 | `upstream_unavailable` |
//! | [`RequestBody`] (the caller's own body failed) | 400 | `invalid_request_body` |
//!
//! An upstream that *answers*, even with a 503, is not an error here: its response is
//! returned as it is, so its own error body reaches the caller.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use tis_core::HttpError;
use tis_core::error::code;

/// The error type every layer of the stack returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every endpoint of the service is ejected (or there is none): failed at once, without
/// waiting for a timeout.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no healthy endpoint of `{service}`")]
pub struct NoHealthyEndpoints {
    pub service: Arc<str>,
}

/// The endpoint's breaker opened after it was chosen; the request was not sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the breaker of `{service}` endpoint {endpoint} is open")]
pub struct BreakerOpen {
    pub service: Arc<str>,
    pub endpoint: SocketAddr,
}

/// The service's concurrency limit is reached; the request was shed without queueing.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{service}` is overloaded: {limit} requests already in flight")]
pub struct Overloaded {
    pub service: Arc<str>,
    pub limit: usize,
}

/// The caller's deadline passed (or left nothing to send with).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the deadline passed before `{service}` answered")]
pub struct DeadlineExceeded {
    pub service: Arc<str>,
}

/// No connection could be made to the endpoint (refused, unreachable, connect timeout).
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to `{service}` endpoint {endpoint}: {}", chain(.source.as_ref()))]
pub struct Connect {
    pub service: Arc<str>,
    pub endpoint: SocketAddr,
    #[source]
    pub source: BoxError,
}

/// One try got no response headers within the per-try timeout.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{service}` endpoint {endpoint} did not answer within {after:?}")]
pub struct Timeout {
    pub service: Arc<str>,
    pub endpoint: SocketAddr,
    pub after: Duration,
}

/// The connection failed after the request was sent (reset, protocol error).
#[derive(Debug, thiserror::Error)]
#[error("`{service}` endpoint {endpoint} failed: {}", chain(.source.as_ref()))]
pub struct Upstream {
    pub service: Arc<str>,
    pub endpoint: SocketAddr,
    #[source]
    pub source: BoxError,
}

/// The caller's request body failed while it was being read for buffering.
#[derive(Debug, thiserror::Error)]
#[error("the request body could not be read: {}", chain(.source.as_ref()))]
pub struct RequestBody {
    #[source]
    pub source: BoxError,
}

/// What went wrong with a call, one variant per condition.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    #[error(transparent)]
    NoHealthyEndpoints(#[from] NoHealthyEndpoints),
    #[error(transparent)]
    BreakerOpen(#[from] BreakerOpen),
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    #[error(transparent)]
    DeadlineExceeded(#[from] DeadlineExceeded),
    #[error(transparent)]
    Connect(#[from] Connect),
    #[error(transparent)]
    Timeout(#[from] Timeout),
    #[error(transparent)]
    Upstream(#[from] Upstream),
    #[error(transparent)]
    RequestBody(#[from] RequestBody),
    /// Something no layer should produce: a bug.
    #[error("unexpected client error: {0}")]
    Internal(BoxError),
}

impl MeshError {
    /// Recovers the typed condition from a boxed error of the stack.
    pub fn from_box(err: BoxError) -> Self {
        macro_rules! try_as {
            ($err:ident, $($ty:ident),+) => {{
                let mut e = $err;
                $(
                    e = match e.downcast::<$ty>() {
                        Ok(t) => return MeshError::$ty(*t),
                        Err(e) => e,
                    };
                )+
                e
            }};
        }
        let rest = try_as!(
            err,
            NoHealthyEndpoints,
            BreakerOpen,
            Overloaded,
            DeadlineExceeded,
            Connect,
            Timeout,
            Upstream,
            RequestBody
        );
        MeshError::Internal(rest)
    }

    /// The status the edge answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            MeshError::NoHealthyEndpoints(_)
            | MeshError::Overloaded(_)
            | MeshError::BreakerOpen(_) => StatusCode::SERVICE_UNAVAILABLE,
            MeshError::DeadlineExceeded(_) | MeshError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            MeshError::Connect(_) | MeshError::Upstream(_) => StatusCode::BAD_GATEWAY,
            MeshError::RequestBody(_) => StatusCode::BAD_REQUEST,
            MeshError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message for a caller outside TIS: what failed, by service, without the
    /// endpoint addresses and transport causes of [`Display`](std::fmt::Display) (those
    /// belong in the log, not in a public error body).
    pub fn public_message(&self) -> String {
        match self {
            MeshError::BreakerOpen(e) => {
                format!("`{}` is not answering; try again shortly", e.service)
            }
            MeshError::Connect(e) => format!("`{}` could not be reached", e.service),
            MeshError::Upstream(e) => format!("`{}` failed before it answered", e.service),
            MeshError::Timeout(e) => format!("`{}` did not answer in time", e.service),
            MeshError::Internal(_) => "unexpected error calling a service".to_owned(),
            other => other.to_string(),
        }
    }

    /// The stable machine-readable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            MeshError::NoHealthyEndpoints(_) => code::NO_HEALTHY_ENDPOINTS,
            MeshError::Overloaded(_) => code::OVERLOADED,
            MeshError::DeadlineExceeded(_) => code::DEADLINE_EXCEEDED,
            MeshError::Timeout(_) => code::UPSTREAM_TIMEOUT,
            MeshError::BreakerOpen(_) | MeshError::Connect(_) | MeshError::Upstream(_) => {
                code::UPSTREAM_UNAVAILABLE
            }
            MeshError::RequestBody(_) => code::INVALID_REQUEST_BODY,
            MeshError::Internal(_) => code::INTERNAL_ERROR,
        }
    }
}

impl From<MeshError> for HttpError {
    fn from(err: MeshError) -> Self {
        let status = err.status();
        let http = HttpError::new(status, err.code(), err.to_string());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            http.with_retry_after(1)
        } else {
            http
        }
    }
}

/// An error and its causes, `outer: inner: root` (hyper's own messages say little alone:
/// "client error (Connect)").
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// What a failed try means to the layers that judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Nothing reached the endpoint (connect error, breaker opened under us).
    NotSent,
    /// The endpoint did not answer in time.
    TimedOut,
    /// The caller's deadline ended it: no fault of the endpoint.
    Deadline,
    /// The connection broke after sending.
    Broken,
    /// Anything else (shed, no endpoints): not about one endpoint.
    Other,
}

pub(crate) fn classify(err: &BoxError) -> Failure {
    if err.is::<Connect>() || err.is::<BreakerOpen>() {
        Failure::NotSent
    } else if err.is::<Timeout>() {
        Failure::TimedOut
    } else if err.is::<DeadlineExceeded>() {
        Failure::Deadline
    } else if err.is::<Upstream>() {
        Failure::Broken
    } else {
        Failure::Other
    }
}

/// Whether an upstream's error response reports an outage of something *every* endpoint of
/// the service shares (`tis_core::degradation::is_shared_outage`): `TIS-Degraded:
/// db-read-only` (its database has no primary, so writes get 503 `primary_unavailable` from
/// every instance alike), or `dependency-<service>` (a service it calls is down: Profile's
/// writes get 503 `dependency_unavailable` while Reference is). Such a response is the endpoint working as designed: it must not trip the
/// endpoint's breaker (ejecting every instance would turn a write outage into a total one,
/// reads included), and another try elsewhere cannot help.
pub(crate) fn shared_outage<B>(res: &http::Response<B>) -> bool {
    res.headers()
        .get_all(tis_core::context::DEGRADED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(tis_core::degradation::is_shared_outage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_database_is_a_shared_outage_not_the_endpoints() {
        let res = |degraded: Option<&str>| {
            let mut b = http::Response::builder().status(503);
            if let Some(d) = degraded {
                b = b.header("tis-degraded", d);
            }
            b.body(()).expect("response")
        };
        assert!(shared_outage(&res(Some("db-read-only"))));
        assert!(shared_outage(&res(Some("idp, db-read-only"))));
        assert!(shared_outage(&res(Some("dependency-reference"))));
        assert!(!shared_outage(&res(Some("idp"))));
        assert!(!shared_outage(&res(None)));
    }

    fn svc() -> Arc<str> {
        Arc::from("reference")
    }

    #[test]
    fn boxed_errors_come_back_as_their_variant() {
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let cases: Vec<(BoxError, &str, u16)> = vec![
            (
                Box::new(NoHealthyEndpoints { service: svc() }),
                "no_healthy_endpoints",
                503,
            ),
            (
                Box::new(Overloaded {
                    service: svc(),
                    limit: 1,
                }),
                "overloaded",
                503,
            ),
            (
                Box::new(DeadlineExceeded { service: svc() }),
                "deadline_exceeded",
                504,
            ),
            (
                Box::new(Connect {
                    service: svc(),
                    endpoint: addr,
                    source: "refused".into(),
                }),
                "upstream_unavailable",
                502,
            ),
            (
                Box::new(BreakerOpen {
                    service: svc(),
                    endpoint: addr,
                }),
                "upstream_unavailable",
                503,
            ),
            (
                Box::new(Timeout {
                    service: svc(),
                    endpoint: addr,
                    after: Duration::from_secs(1),
                }),
                "upstream_timeout",
                504,
            ),
            ("something else".into(), "internal_error", 500),
        ];
        for (boxed, code, status) in cases {
            let err = MeshError::from_box(boxed);
            assert_eq!(err.code(), code, "{err}");
            let public = err.public_message();
            assert!(
                !public.contains(&addr.to_string()) && !public.contains("refused"),
                "a public message names no address or transport cause: {public}"
            );
            let http = HttpError::from(err);
            assert_eq!(http.status.as_u16(), status);
            assert_eq!(http.code, code);
            assert_eq!(http.retry_after_secs.is_some(), status == 503);
        }
    }
}
