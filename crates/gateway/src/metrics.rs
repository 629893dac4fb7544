//! The gateway's own Prometheus metrics (the recorder is `tis_core::metrics::handle()`; the
//! mesh clients and tis-auth add theirs to the same exposition on the admin `/metrics`).
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `gateway_requests_total` | counter | route, class | routed requests by status class (`2xx`…); route is the configured prefix, `none` when nothing matched |
//! | `gateway_request_duration_seconds` | histogram | route | time to the response headers |
//! | `gateway_requests_in_flight` | gauge | — | requests holding an admission permit |
//! | `gateway_shed_total` | counter | — | requests refused by admission (503 `overloaded`) |
//! | `gateway_auth_failures_total` | counter | code | requests refused by authentication or authorisation |
//! | `gateway_principal_mints_total` | counter | result | `minted` (signed now) or `reused` (from the cache) |
//! | `gateway_route_reloads_total` | counter | result | route table reloads: `success`, `failure` |
//! | `gateway_route_table_generation` | gauge | — | generation of the table in use |
//! | `gateway_pool_weight` | gauge | service, pool | the weight of each pool |
//! | `gateway_connections_open` | gauge | — | client connections open on the public listener |
//! | `gateway_connections_total` | counter | — | client connections accepted |
//! | `gateway_connections_idle_closed_total` | counter | — | connections closed by the idle timeout |
//! | `gateway_tls_handshake_failures_total` | counter | — | TLS handshakes that failed or timed out |
//!
//! Label values come from configuration or fixed lists, never from a request.

use std::sync::Once;

pub const REQUESTS_TOTAL: &str = "gateway_requests_total";
pub const REQUEST_DURATION: &str = "gateway_request_duration_seconds";
pub const IN_FLIGHT: &str = "gateway_requests_in_flight";
pub const SHED_TOTAL: &str = "gateway_shed_total";
pub const AUTH_FAILURES_TOTAL: &str = "gateway_auth_failures_total";
pub const PRINCIPAL_MINTS_TOTAL: &str = "gateway_principal_mints_total";
pub const RELOADS_TOTAL: &str = "gateway_route_reloads_total";
pub const TABLE_GENERATION: &str = "gateway_route_table_generation";
pub const POOL_WEIGHT: &str = "gateway_pool_weight";
pub const CONNECTIONS_OPEN: &str = "gateway_connections_open";
pub const CONNECTIONS_TOTAL: &str = "gateway_connections_total";
pub const CONNECTIONS_IDLE_CLOSED: &str = "gateway_connections_idle_closed_total";
pub const TLS_HANDSHAKE_FAILURES: &str = "gateway_tls_handshake_failures_total";

/// Registers the descriptions with the recorder (once per process).
pub fn describe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        tis_core::metrics::handle();
        describe_counter!(REQUESTS_TOTAL, "Routed requests by route and status class.");
        describe_histogram!(
            REQUEST_DURATION,
            Unit::Seconds,
            "Time to the response headers of a routed request."
        );
        describe_gauge!(IN_FLIGHT, "Requests holding an admission permit.");
        describe_counter!(SHED_TOTAL, "Requests shed by admission control.");
        describe_counter!(
            AUTH_FAILURES_TOTAL,
            "Requests refused by authentication or authorisation, by error code."
        );
        describe_counter!(
            PRINCIPAL_MINTS_TOTAL,
            "TIS-Principal tokens attached, minted now or reused."
        );
        describe_counter!(RELOADS_TOTAL, "Route table reloads by result.");
        describe_gauge!(TABLE_GENERATION, "Generation of the route table in use.");
        describe_gauge!(POOL_WEIGHT, "Weight of each pool of a service.");
        describe_gauge!(CONNECTIONS_OPEN, "Client connections open.");
        describe_counter!(CONNECTIONS_TOTAL, "Client connections accepted.");
        describe_counter!(
            CONNECTIONS_IDLE_CLOSED,
            "Client connections closed after the idle timeout."
        );
        describe_counter!(TLS_HANDSHAKE_FAILURES, "TLS handshakes that failed.");
    });
}

/// Registers, at zero, the series of the Profile client that the documented alerts watch
/// (`docs/operations.md`): absent until first used, an alert on them could not fire, nor a
/// dashboard tell "none" from "not scraped".
pub(crate) fn register_profile_client() {
    use tis_profile_client::metrics::{FETCHES, JOINS, LOOKUPS, REFRESH_FAILURES};
    describe();
    metrics::counter!(REFRESH_FAILURES).increment(0);
    metrics::counter!(JOINS).increment(0);
    for outcome in ["hit", "revalidate", "stale", "negative", "miss"] {
        metrics::counter!(LOOKUPS, "outcome" => outcome).increment(0);
    }
    for outcome in ["profile", "no_profile", "inactive", "failed"] {
        metrics::counter!(FETCHES, "outcome" => outcome).increment(0);
    }
}

pub(crate) fn pool_weight(service: &str, pool: &str, weight: u32) {
    describe();
    metrics::gauge!(POOL_WEIGHT, "service" => service.to_owned(), "pool" => pool.to_owned())
        .set(f64::from(weight));
}

pub(crate) fn reload(success: bool, generation: u64) {
    describe();
    let (result, other) = if success {
        ("success", "failure")
    } else {
        ("failure", "success")
    };
    metrics::counter!(RELOADS_TOTAL, "result" => result).increment(1);
    // Both series from the first reload on, so that `increase(…{result="failure"})` can fire.
    metrics::counter!(RELOADS_TOTAL, "result" => other).increment(0);
    metrics::gauge!(TABLE_GENERATION).set(generation as f64);
}

pub(crate) fn auth_failure(code: &'static str) {
    metrics::counter!(AUTH_FAILURES_TOTAL, "code" => code).increment(1);
}
