//! Prometheus metrics of the client stack, recorded through the `metrics` facade (the
//! recorder is `tis_core::metrics::handle()`).
//!
//! Per service (`service` label) and per endpoint (`endpoint` = `ip:port`):
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `mesh_requests_total` | counter | service, outcome | calls, after retries; outcome is the status class (`2xx`…) or the error code |
//! | `mesh_request_duration_seconds` | histogram | service | time to the final response headers |
//! | `mesh_requests_in_flight` | gauge | service | tries holding a concurrency permit |
//! | `mesh_shed_total` | counter | service | calls refused by the concurrency limit |
//! | `mesh_no_healthy_endpoints_total` | counter | service | calls failed fast because every endpoint was ejected |
//! | `mesh_retries_total` | counter | service | retries sent |
//! | `mesh_retry_budget_exhausted_total` | counter | service | retries refused by the budget |
//! | `mesh_early_timeouts_total` | counter | service | tries cut at the latency-derived timeout (`crate::latency`) |
//! | `mesh_endpoints` | gauge | service, state | endpoints `ready`, in `probation` (half-open) or `ejected` (open) |
//! | `mesh_endpoint_requests_total` | counter | service, endpoint, outcome | tries: `success`, `failure`, `cancelled` |
//! | `mesh_endpoint_errors_total` | counter | service, endpoint, kind | failures: `connect`, `timeout`, `status`, `broken` |
//! | `mesh_endpoint_request_duration_seconds` | histogram | service, endpoint | time to the response headers of a try |
//! | `mesh_breaker_state` | gauge | service, endpoint | 0 closed, 1 half-open, 2 open |
//! | `mesh_health_checks_total` | counter | service, endpoint, result | active checks: `pass`, `fail` |
//!
//! Handles are registered once per service and endpoint, so the request path does not build
//! label sets.

use std::net::SocketAddr;
use std::sync::Once;

use metrics::{Counter, Gauge, Histogram};

pub const REQUESTS_TOTAL: &str = "mesh_requests_total";
pub const REQUEST_DURATION: &str = "mesh_request_duration_seconds";
pub const IN_FLIGHT: &str = "mesh_requests_in_flight";
pub const SHED_TOTAL: &str = "mesh_shed_total";
pub const NO_HEALTHY_TOTAL: &str = "mesh_no_healthy_endpoints_total";
pub const RETRIES_TOTAL: &str = "mesh_retries_total";
pub const RETRY_BUDGET_EXHAUSTED_TOTAL: &str = "mesh_retry_budget_exhausted_total";
pub const EARLY_TIMEOUTS_TOTAL: &str = "mesh_early_timeouts_total";
pub const ENDPOINTS: &str = "mesh_endpoints";
pub const ENDPOINT_REQUESTS_TOTAL: &str = "mesh_endpoint_requests_total";
pub const ENDPOINT_ERRORS_TOTAL: &str = "mesh_endpoint_errors_total";
pub const ENDPOINT_DURATION: &str = "mesh_endpoint_request_duration_seconds";
pub const BREAKER_STATE: &str = "mesh_breaker_state";
pub const HEALTH_CHECKS_TOTAL: &str = "mesh_health_checks_total";

static DESCRIBED: Once = Once::new();

fn describe() {
    DESCRIBED.call_once(|| {
        // Descriptions given before the recorder is installed are lost (and this runs once):
        // a client built before the server would leave every `mesh_*` metric without help text.
        use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        tis_core::metrics::handle();
        describe_counter!(
            REQUESTS_TOTAL,
            "Calls to a service, after retries, by outcome."
        );
        describe_histogram!(
            REQUEST_DURATION,
            Unit::Seconds,
            "Time to the final response headers of a call."
        );
        describe_gauge!(IN_FLIGHT, "Tries to a service in flight.");
        describe_counter!(SHED_TOTAL, "Calls shed by the concurrency limit.");
        describe_counter!(
            NO_HEALTHY_TOTAL,
            "Calls failed fast because no endpoint was healthy."
        );
        describe_counter!(RETRIES_TOTAL, "Retries sent.");
        describe_counter!(
            RETRY_BUDGET_EXHAUSTED_TOTAL,
            "Retries refused because the retry budget was spent."
        );
        describe_counter!(
            EARLY_TIMEOUTS_TOTAL,
            "Tries cut at the timeout derived from the service's p99 latency."
        );
        describe_gauge!(ENDPOINTS, "Endpoints of a service by breaker state.");
        describe_counter!(ENDPOINT_REQUESTS_TOTAL, "Tries sent to an endpoint.");
        describe_counter!(
            ENDPOINT_ERRORS_TOTAL,
            "Tries that counted as a failure of the endpoint."
        );
        describe_histogram!(
            ENDPOINT_DURATION,
            Unit::Seconds,
            "Time to the response headers of one try."
        );
        describe_gauge!(
            BREAKER_STATE,
            "Breaker state of an endpoint: 0 closed, 1 half-open, 2 open."
        );
        describe_counter!(HEALTH_CHECKS_TOTAL, "Active health checks by result.");
    });
}

/// Handles of one service's metrics.
#[derive(Debug, Clone)]
pub(crate) struct ServiceMetrics {
    service: String,
    pub duration: Histogram,
    pub in_flight: Gauge,
    pub shed: Counter,
    pub no_healthy: Counter,
    pub retries: Counter,
    pub budget_exhausted: Counter,
    pub early_timeouts: Counter,
    pub ready: Gauge,
    pub probation: Gauge,
    pub ejected: Gauge,
    classes: [Counter; 5],
}

impl ServiceMetrics {
    pub(crate) fn new(service: &str) -> Self {
        describe();
        let s = service.to_owned();
        let state =
            |st: &'static str| metrics::gauge!(ENDPOINTS, "service" => s.clone(), "state" => st);
        let class = |c: &'static str| metrics::counter!(REQUESTS_TOTAL, "service" => s.clone(), "outcome" => c);
        ServiceMetrics {
            duration: metrics::histogram!(REQUEST_DURATION, "service" => s.clone()),
            in_flight: metrics::gauge!(IN_FLIGHT, "service" => s.clone()),
            shed: metrics::counter!(SHED_TOTAL, "service" => s.clone()),
            no_healthy: metrics::counter!(NO_HEALTHY_TOTAL, "service" => s.clone()),
            retries: metrics::counter!(RETRIES_TOTAL, "service" => s.clone()),
            budget_exhausted: metrics::counter!(RETRY_BUDGET_EXHAUSTED_TOTAL, "service" => s.clone()),
            early_timeouts: metrics::counter!(EARLY_TIMEOUTS_TOTAL, "service" => s.clone()),
            ready: state("ready"),
            probation: state("probation"),
            ejected: state("ejected"),
            classes: [
                class("1xx"),
                class("2xx"),
                class("3xx"),
                class("4xx"),
                class("5xx"),
            ],
            service: s,
        }
    }

    /// Counts a finished call by its status class.
    pub(crate) fn answered(&self, status: http::StatusCode) {
        let i = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.classes[i].increment(1);
    }

    /// Counts a call that ended in an error (rare: labels are built here).
    pub(crate) fn failed(&self, code: &'static str) {
        metrics::counter!(REQUESTS_TOTAL, "service" => self.service.clone(), "outcome" => code)
            .increment(1);
    }
}

/// Handles of one endpoint's metrics.
#[derive(Debug, Clone)]
pub(crate) struct EndpointMetrics {
    pub success: Counter,
    pub failure: Counter,
    pub cancelled: Counter,
    pub duration: Histogram,
    pub breaker_state: Gauge,
    pub check_pass: Counter,
    pub check_fail: Counter,
    service: String,
    endpoint: String,
}

impl EndpointMetrics {
    pub(crate) fn new(service: &str, addr: SocketAddr) -> Self {
        describe();
        let s = service.to_owned();
        let e = addr.to_string();
        let outcome = |o: &'static str| metrics::counter!(ENDPOINT_REQUESTS_TOTAL, "service" => s.clone(), "endpoint" => e.clone(), "outcome" => o);
        let check = |r: &'static str| metrics::counter!(HEALTH_CHECKS_TOTAL, "service" => s.clone(), "endpoint" => e.clone(), "result" => r);
        // At zero from the start, so that an alert on their rate sees every endpoint.
        for kind in ["connect", "timeout", "status", "broken"] {
            metrics::counter!(ENDPOINT_ERRORS_TOTAL, "service" => s.clone(), "endpoint" => e.clone(), "kind" => kind).increment(0);
        }
        EndpointMetrics {
            success: outcome("success"),
            failure: outcome("failure"),
            cancelled: outcome("cancelled"),
            duration: metrics::histogram!(ENDPOINT_DURATION, "service" => s.clone(), "endpoint" => e.clone()),
            breaker_state: metrics::gauge!(BREAKER_STATE, "service" => s.clone(), "endpoint" => e.clone()),
            check_pass: check("pass"),
            check_fail: check("fail"),
            service: s,
            endpoint: e,
        }
    }

    /// Counts a failure by kind (`connect`, `timeout`, `status`, `broken`).
    pub(crate) fn error(&self, kind: &'static str) {
        metrics::counter!(ENDPOINT_ERRORS_TOTAL, "service" => self.service.clone(), "endpoint" => self.endpoint.clone(), "kind" => kind).increment(1);
    }
}
