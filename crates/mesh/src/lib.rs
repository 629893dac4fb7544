//! tis-mesh: the client stack every caller uses to reach a service — the gateway, and services
//! calling each other.
//!
//! It closes three failures of the old system: calls could not reach other instances (F5:
//! discovery from a static list, the local registry of `tis up`, or DNS/Kubernetes headless
//! Services), there was no balancing behind the edge (F6: P2C over peak-EWMA in every
//! caller), and one slow dependency cascaded (F8: per-endpoint breakers with health checks,
//! budgeted retries, deadlines on every hop, a concurrency limit that sheds).
//!
//! It owns discovery, balancing, breakers, retries, deadlines, bulkheads and the pooled HTTP
//! client. It must not touch routing tables, authentication or authorisation (the gateway's),
//! nor the request context middleware (tis-core's, whose context it reads).
//!
//! The whole stack is assembled in one place, [`client::stack`], whose documentation draws it;
//! [`ServiceClient`] is the entry point, [`MeshError`] what the edge matches on.
//!
//! # Layout
//! - [`client`]: [`ServiceClient`] (`new`, `call`, `snapshot`); `stack` assembles the layers,
//!   `driver` follows discovery into the balancer and the board.
//! - [`config`]: [`MeshConfig`] and its parts, with defaults and validation.
//! - [`discover`]: the [`Discovery`] trait, [`StaticDiscovery`], the set-diffing
//!   [`Changes`](discover::Changes) stream; [`discover::dns`] for A/AAAA/SRV.
//! - [`registry`]: the in-memory [`Registry`] that `tis up` feeds through the gateway.
//! - [`retry`]: the retry policy and its [budget](retry::budget) (the arithmetic is there).
//! - [`deadline`]: `TIS-Deadline` on each try; refusing tries with no time left.
//! - [`limit`]: the concurrency limit that sheds.
//! - [`balance`]: P2C over peak-EWMA among ready endpoints, failing fast; its board of
//!   endpoint states and the EWMA arithmetic.
//! - [`breaker`]: the per-endpoint breaker below the balancer, and its state machine.
//! - [`health`]: active `GET /health/ready` checks feeding the breakers.
//! - [`timeout`]: the per-try timeout; [`latency`]: the early one, from the service's p99.
//! - [`connect`]: the pooled HTTP/1.1 / h2c client and the endpoint service.
//! - [`body`]: replayable request bodies.
//! - [`outbound`]: what a request carries through the stack; `traceparent`, `X-Request-Id`.
//! - [`error`]: one type per condition, [`MeshError`], and their HTTP mapping.
//! - [`metrics`]: the Prometheus names.
//! - [`snapshot`]: what the status page reads.

pub mod balance;
pub mod body;
pub mod breaker;
pub mod client;
pub mod config;
pub mod connect;
pub mod deadline;
pub mod discover;
pub mod error;
pub mod health;
pub mod latency;
pub mod limit;
pub mod metrics;
pub mod outbound;
pub mod registry;
pub mod retry;
pub mod snapshot;
pub mod timeout;

mod task;

pub use body::MeshBody;
pub use client::ServiceClient;
pub use config::{
    BalancerConfig, BreakerConfig, ConfigError, DnsConfig, HealthCheckConfig, LatencyTimeoutConfig,
    MeshConfig, RetryConfig,
};
pub use discover::config::{DiscoveryConfig, DiscoveryContext, DiscoveryError};
pub use discover::dns::{DnsDiscovery, DnsTarget, HickoryResolve, Resolve};
pub use discover::remote::RemoteRegistryDiscovery;
pub use discover::{Discovery, EndpointSet, StaticDiscovery};
pub use error::{
    BoxError, BreakerOpen, Connect, DeadlineExceeded, MeshError, NoHealthyEndpoints, Overloaded,
    RequestBody, Timeout, Upstream,
};
pub use outbound::{Deadline, IDEMPOTENCY_KEY, Served};
pub use registry::{Registry, RegistryDiscovery};
pub use snapshot::{EndpointSnapshot, EndpointState, HealthCheckSnapshot, ServiceSnapshot};
