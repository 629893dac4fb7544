//! tis-gateway: the edge of TIS — stateless, any number of them (failure F6).
//!
//! It owns the route table (path prefix → service → weighted pools, reloaded without a
//! restart), the edge steps of ARCHITECTURE.md §3 (trace context, deadline, admission,
//! authentication, authorisation context, the `TIS-Principal`), header hygiene, the status
//! page people read when something is down (F7), the admin API (metrics, health, full
//! status, the local registry of `tis up`) and the public listener's defences (TLS,
//! header-read and idle timeouts, connection limit).
//!
//! It must not touch service data, nor re-implement what its neighbours own: balancing,
//! breakers, retries and deadline propagation are tis-mesh's (one `ServiceClient` per pool);
//! token verification, key lifecycle, principal signing and profiles are tis-auth's; the
//! request context, JSON errors, metrics recorder and the admin server are tis-core's.
//!
//! The public path is assembled in one place, [`stack`], whose documentation draws it; its
//! steps are plain calls in one future ([`routed`]), and every failure becomes an answer in
//! one function, [`rescue::rescue`].
//!
//! # Layout
//! - [`app`]: [`App`]: `build` (keys, signer, route table, both listeners), `run` (serve, drain).
//! - [`config`]: [`GatewayConfig`], the `[gateway]` section; [`checks`]: every problem in
//!   it at once, production's refusals and warnings.
//! - [`stack`]: the public path, assembled and drawn (the one place that gives the order):
//!   hygiene, tis-core's request context, the panic guard, then the public routes or
//!   [`routed`].
//! - [`routed`]: the routed path: route match, the steps in order, rescue, metrics.
//! - [`steps`]: one module per step, each a value with a method — `body_limit`,
//!   `deadline`, `admission`, `auth` (authenticate, authorise), `principal`, `hygiene`
//!   (headers in and out).
//! - [`proxy`]: the last step: a pool by weight, its tis-mesh client, the answer's headers;
//!   and [`Peer`](proxy::Peer), the client as `X-Forwarded-For` needs it.
//! - [`routes`]: the immutable [`RouteTable`](routes::RouteTable), matching, weighted pools;
//!   `build` checks a configuration and builds a table, reusing unchanged clients.
//! - [`reload`]: SIGHUP, the watched routes file, arc-swap; a bad table is refused.
//! - [`rescue`]: error types → statuses and the standard JSON body.
//! - [`error`]: the gateway's own conditions, one type each.
//! - [`status`]: capabilities for people (`/api/status`, `/status`), full detail for
//!   operators (`/admin/status`).
//! - [`admin`]: the admin router (writes need the admin token).
//! - [`registry`]: instance names over tis-mesh's registry; `PUT/DELETE/GET /admin/registry`.
//! - [`server`]: the public listener (TLS, timeouts, connection limit, drain).
//! - [`tls`]: rustls from PEM files.
//! - [`metrics`]: the gateway's metric names.
//!
//! `examples/gateway.rs` runs the [`App`] from a configuration file without the rest of
//! `tis`, and `examples/bare_proxy.rs` is the hyper-only floor; both serve
//! `bench/gateway.sh` (results in `BENCHMARKS.md`).

pub mod admin;
pub mod app;
pub mod checks;
pub mod config;
pub mod cors;
pub mod error;
pub mod metrics;
pub mod proxy;
pub mod registry;
pub mod reload;
pub mod rescue;
pub mod routed;
pub mod routes;
pub mod server;
pub mod stack;
pub mod status;
pub mod steps;
pub mod tls;

pub use app::App;
pub use config::{
    DiscoveryConfig, GatewayConfig, PoolConfig, ProfilesConfig, ProfilesSource, RouteConfig,
    ServiceConfig,
};
