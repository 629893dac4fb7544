//! tis-core: what every TIS process shares, and nothing about the domain.
//!
//! It owns configuration loading, telemetry (ECS JSON logs, Prometheus metrics, W3C trace
//! context), health and readiness, the HTTP server with its graceful drain, and the JSON error
//! shape every endpoint answers with. It must not know about trainees, tokens or databases:
//! those live in the services, `tis-auth` and `tis-store`.
//!
//! # Layout
//! - [`config`]: layered configuration (defaults → `tis.toml` → `TIS_…` environment).
//! - [`telemetry`]: the ECS JSON log formatter and subscriber set-up.
//! - [`metrics`]: the Prometheus recorder, `/metrics`, and per-route HTTP metrics.
//! - [`health`]: named readiness checks, draining, `/health/live` and `/health/ready`.
//! - [`context`]: the per-request context (request id, trace context, degradations) and the
//!   middleware that opens it, writes the access log and stamps the response headers.
//! - [`degradation`]: the names a `TIS-Degraded` answer can carry ([`Degradation`]).
//! - [`service`]: the names of TIS's services and processes, as other crates know them.
//! - [`trace_context`]: W3C `traceparent` parsing and formatting.
//! - [`error`]: the JSON error body, its codes ([`error::code`]), and the rejections of the
//!   standard extractors.
//! - [`extract`]: `Json`, `Query` and `Path` extractors whose rejections are JSON errors.
//! - [`paging`]: `page`/`size`/`sort` of a list (the allow-list and limits are the caller's)
//!   and the `X-Total-Count` and `Link` headers of its answer.
//! - [`server`]: binding (port 0 friendly), serving HTTP/1.1 and h2c, drain on shutdown.
//! - [`shutdown`]: SIGTERM/SIGINT as a future.
//! - [`http`]: the standard router wrapper every service uses.

pub mod config;
pub mod context;
pub mod degradation;
pub mod error;
pub mod extract;
pub mod health;
pub mod http;
pub mod metrics;
pub mod paging;
pub mod parse_errors;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;

pub use degradation::Degradation;
pub use error::{ErrorBody, FieldError, HttpError};
pub use health::{CheckStatus, Health};
pub use server::{DrainConfig, Server};
