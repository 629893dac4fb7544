//! The route table: which service a path goes to, and which pool of that service.
//!
//! A [`RouteTable`] is immutable once built. The gateway holds the current one in an
//! `ArcSwap` (see [`crate::reload`]); each request loads it once, at the deadline step, and
//! keeps that `Arc` until it is answered, so a reload never changes a request half-way and
//! an old table (with its clients) lives exactly as long as the requests that use it.
//!
//! Matching: a route's `prefix` matches the path `prefix` itself and every path under it
//! (`/reference` matches `/reference` and `/reference/api/grades`, not `/referencedata`); the
//! longest matching prefix wins. The path is forwarded unchanged.
//!
//! Pools: each service has one or more pools (`blue`, `green`), each with its own
//! [`ServiceClient`] — its own discovery, balancer and breakers — and a weight. A request
//! picks a pool at random in proportion to the weights, then the pool's balancer picks an
//! instance. Changing weights (a blue/green switch, a rollback) is a reload that keeps every
//! client, and so every breaker and latency estimate.

mod build;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use metrics::{Counter, Histogram};
use tis_mesh::ServiceClient;

use crate::config::{DiscoveryConfig, RouteConfig};

pub use build::{BuildError, build};

/// One compiled route.
#[derive(Debug)]
pub struct Route {
    pub prefix: String,
    pub service: Arc<Service>,
    pub timeout: Option<Duration>,
    /// The audiences of the principal minted for this route: the service first, then those
    /// it calls on the caller's behalf.
    pub audiences: Vec<Arc<str>>,
    /// The audiences joined, as a cache key for minted principals.
    pub(crate) audience_key: Arc<str>,
    /// A hash of `audience_key`, made once: the cache key of minted principals (a hit is
    /// checked against `audience_key`), so that no request touches the route's shared
    /// reference counts for it.
    pub(crate) audience_hash: u64,
    pub forward_access_token: bool,
    /// No token required, no principal minted (see [`RouteConfig::public`]).
    pub public: bool,
    pub(crate) metrics: RouteMetrics,
}

impl Route {
    /// Whether `path` is this route's prefix or under it.
    pub fn matches(&self, path: &str) -> bool {
        matches_prefix(&self.prefix, path)
    }
}

pub(crate) fn matches_prefix(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// One service and its pools.
pub struct Service {
    pub name: Arc<str>,
    /// What people call it on the status page.
    pub title: String,
    pub pools: Vec<Pool>,
    total_weight: u32,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("pools", &self.pools)
            .finish()
    }
}

/// One pool of a service.
#[derive(Clone)]
pub struct Pool {
    pub name: Arc<str>,
    pub weight: u32,
    pub client: ServiceClient,
    pub(crate) discovery: DiscoveryConfig,
    pub(crate) mesh: tis_mesh::MeshConfig,
    /// Shared by every table that reuses this pool's client: tells a reused client from a
    /// new one.
    pub(crate) identity: Arc<()>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.name)
            .field("weight", &self.weight)
            .field("discovery", &self.discovery)
            .finish()
    }
}

impl Service {
    pub(crate) fn new(name: Arc<str>, title: String, pools: Vec<Pool>) -> Self {
        let total_weight = pools.iter().map(|p| p.weight).sum();
        Service {
            name,
            title,
            pools,
            total_weight,
        }
    }

    /// The pool for a request: at random, in proportion to the weights.
    pub fn choose(&self) -> &Pool {
        self.choose_with(fastrand::u32(0..self.total_weight.max(1)))
    }

    /// The pool `ticket` (0 ≤ ticket < total weight) falls in.
    pub(crate) fn choose_with(&self, mut ticket: u32) -> &Pool {
        if let [only] = self.pools.as_slice() {
            return only;
        }
        for pool in &self.pools {
            if ticket < pool.weight {
                return pool;
            }
            ticket -= pool.weight;
        }
        // Unreachable with a validated table (total weight > 0); the first pool is as good
        // an answer as any.
        &self.pools[0]
    }

    /// Another pool with weight, to try when `failed` had no healthy endpoint.
    pub fn fallback(&self, failed: &Pool) -> Option<&Pool> {
        self.pools
            .iter()
            .filter(|p| p.weight > 0 && !Arc::ptr_eq(&p.name, &failed.name))
            .max_by_key(|p| p.weight)
    }
}

/// Metric handles of one route, registered when the table is built so that the request
/// path never builds a label set.
#[derive(Debug, Clone)]
pub(crate) struct RouteMetrics {
    classes: [Counter; 5],
    pub duration: Histogram,
}

impl RouteMetrics {
    pub(crate) fn new(prefix: &str) -> Self {
        crate::metrics::describe();
        let class = |c: &'static str| metrics::counter!(crate::metrics::REQUESTS_TOTAL, "route" => prefix.to_owned(), "class" => c);
        RouteMetrics {
            classes: [
                class("1xx"),
                class("2xx"),
                class("3xx"),
                class("4xx"),
                class("5xx"),
            ],
            duration: metrics::histogram!(crate::metrics::REQUEST_DURATION, "route" => prefix.to_owned()),
        }
    }

    pub(crate) fn answered(&self, status: http::StatusCode, elapsed: Duration) {
        let i = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.classes[i].increment(1);
        self.duration.record(elapsed.as_secs_f64());
    }
}

/// The routes and services, as one immutable value.
#[derive(Debug)]
pub struct RouteTable {
    pub generation: u64,
    pub loaded_at: SystemTime,
    /// Where it came from: `configuration` or the routes file's path.
    pub source: String,
    /// Longest prefix first.
    pub routes: Vec<Arc<Route>>,
    pub services: BTreeMap<String, Arc<Service>>,
    /// The configuration it was built from (for the admin status).
    pub(crate) config: Vec<RouteConfig>,
}

impl RouteTable {
    /// The route for `path`, if any.
    pub fn route(&self, path: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| r.matches(path))
    }

    /// An empty table (nothing routed), before the first one is built.
    pub fn empty() -> Self {
        RouteTable {
            generation: 0,
            loaded_at: SystemTime::now(),
            source: "none".into(),
            routes: Vec::new(),
            services: BTreeMap::new(),
            config: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
