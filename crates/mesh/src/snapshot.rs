//! What the status page shows about a service client: a cheap copy of its state, taken without
//! waiting on any request (a few short locks, no I/O).
//!
//! Serialised in camelCase for `/api/status`.

use std::net::SocketAddr;

use serde::Serialize;

pub use crate::breaker::state::EndpointState;

/// One endpoint of a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSnapshot {
    pub address: SocketAddr,
    pub state: EndpointState,
    /// The peak-EWMA latency estimate, decayed to now (see [`crate::balance`]).
    pub ewma_latency_ms: f64,
    /// Successes over responses in the breaker's window, if there were any.
    pub success_rate: Option<f64>,
    pub responses_in_window: u32,
    pub consecutive_failures: u32,
    pub in_flight: usize,
    /// Tries that got an answer or failed, since the endpoint was discovered.
    pub requests_total: u64,
    pub failures_total: u64,
    /// When ejected: how long until the next probe may be sent.
    pub probation_ends_in_ms: Option<u64>,
    pub last_health_check: Option<HealthCheckSnapshot>,
}

/// The last active health check of an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckSnapshot {
    pub ok: bool,
    pub age_ms: u64,
    /// The status code, or the error.
    pub detail: String,
    /// What the endpoint said was degraded (`TIS-Degraded` of its readiness answer, such as
    /// `db-read-only`): known without waiting for traffic.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<String>,
}

/// The retry budget of a service (see [`crate::retry::budget`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetSnapshot {
    /// Calls that deposited into the budget during the window.
    pub requests_in_window: u64,
    /// Retries taken during the window.
    pub retries_in_window: u64,
    /// Retries the budget would allow now.
    pub available_retries: u64,
    pub exhausted_total: u64,
}

/// One downstream service as seen by this client.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    pub service: String,
    pub endpoints: Vec<EndpointSnapshot>,
    pub ready: usize,
    pub probation: usize,
    pub ejected: usize,
    pub in_flight: usize,
    pub max_concurrency: usize,
    pub shed_total: u64,
    pub no_healthy_endpoints_total: u64,
    pub retries_total: u64,
    pub retry_budget: BudgetSnapshot,
}
