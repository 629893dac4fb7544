//! Building a [`RouteTable`] from configuration, reusing what can be reused.
//!
//! Everything is checked before anything is swapped in: prefixes, that every route names a
//! defined service, pool weights, each service's `MeshConfig`. A table that fails a check is
//! refused whole ([`BuildError`] names the key), so a bad file can never leave the gateway
//! half-configured.
//!
//! Clients are kept across builds: a pool whose discovery and mesh settings are unchanged
//! gets the previous table's [`ServiceClient`] (a clone, sharing its balancer, breakers,
//! connection pool and health checks), so a weight change costs nothing and loses no state.
//! A changed pool gets a new client; the old one stops when the last request holding the
//! old table finishes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use tis_mesh::{DiscoveryContext, Registry, ServiceClient};

use super::{Pool, Route, RouteMetrics, RouteTable, Service};
use crate::config::{DiscoveryConfig, PoolConfig, RouteConfig, ServiceConfig};

/// The name of the implicit pool of a service configured without `pools`.
pub const DEFAULT_POOL: &str = "default";

/// Why a route table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route table refused: `{key}` {problem}")]
pub struct BuildError {
    pub key: String,
    pub problem: String,
}

fn err<T>(key: impl Into<String>, problem: impl Into<String>) -> Result<T, BuildError> {
    Err(BuildError {
        key: key.into(),
        problem: problem.into(),
    })
}

/// Checks `routes` and `services` and builds the table (see the module documentation).
pub async fn build(
    routes: &[RouteConfig],
    services: &BTreeMap<String, ServiceConfig>,
    previous: Option<&RouteTable>,
    registry: &Arc<Registry>,
    source: &str,
) -> Result<RouteTable, BuildError> {
    check(routes, services)?;
    let mut built: BTreeMap<String, Arc<Service>> = BTreeMap::new();
    for (name, cfg) in services {
        let title = routes
            .iter()
            .find(|r| &r.service == name)
            .and_then(|r| r.title.clone())
            .unwrap_or_else(|| default_title(name));
        let mut pools = Vec::new();
        for (pool_name, pool) in pools_of(name, cfg) {
            let old = previous
                .and_then(|t| t.services.get(name))
                .and_then(|s| s.pools.iter().find(|p| *p.name == *pool_name))
                .filter(|p| p.discovery == pool.discovery && p.mesh == cfg.mesh);
            let (client, identity) = match old {
                Some(p) => (p.client.clone(), p.identity.clone()),
                None => (
                    new_client(name, &pool_name, &pool.discovery, cfg, registry).await?,
                    Arc::new(()),
                ),
            };
            pools.push(Pool {
                name: Arc::from(pool_name.as_str()),
                weight: pool.weight,
                client,
                discovery: pool.discovery.clone(),
                mesh: cfg.mesh.clone(),
                identity,
            });
        }
        built.insert(
            name.clone(),
            Arc::new(Service::new(Arc::from(name.as_str()), title, pools)),
        );
    }
    let mut compiled: Vec<Arc<Route>> = routes
        .iter()
        .map(|r| {
            let prefix = match r.prefix.trim_end_matches('/') {
                "" => "/".to_owned(),
                p => p.to_owned(),
            };
            let service = built[&r.service].clone();
            let mut audiences: Vec<Arc<str>> = vec![service.name.clone()];
            for extra in &r.principal_audiences {
                if !audiences.iter().any(|a| **a == **extra) {
                    audiences.push(Arc::from(extra.as_str()));
                }
            }
            let audience_key: Arc<str> = Arc::from(audiences.join(",").as_str());
            let audience_hash = std::hash::BuildHasher::hash_one(
                &std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default(),
                &*audience_key,
            );
            Arc::new(Route {
                metrics: RouteMetrics::new(&prefix),
                prefix,
                service,
                timeout: r.timeout,
                audiences,
                audience_key,
                audience_hash,
                forward_access_token: r.forward_access_token,
                public: r.public,
            })
        })
        .collect();
    compiled.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
    let generation = previous.map_or(1, |t| t.generation + 1);
    for service in built.values() {
        for pool in &service.pools {
            crate::metrics::pool_weight(&service.name, &pool.name, pool.weight);
        }
    }
    Ok(RouteTable {
        generation,
        loaded_at: SystemTime::now(),
        source: source.to_owned(),
        routes: compiled,
        services: built,
        config: routes.to_vec(),
    })
}

/// "reference" → "Reference"; routes may set a better `title`.
fn default_title(service: &str) -> String {
    let mut chars = service.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The pools of a service: its named pools, or one `default` pool from its discovery.
fn pools_of(service: &str, cfg: &ServiceConfig) -> Vec<(String, PoolConfig)> {
    if cfg.pools.is_empty() {
        return vec![(
            DEFAULT_POOL.to_owned(),
            PoolConfig {
                weight: 100,
                discovery: resolve_registry_name(&cfg.discovery, service.to_owned()),
            },
        )];
    }
    cfg.pools
        .iter()
        .map(|(name, pool)| {
            let mut pool = pool.clone();
            pool.discovery = resolve_registry_name(&pool.discovery, format!("{service}-{name}"));
            (name.clone(), pool)
        })
        .collect()
}

/// Fills in the default registry name, so that equal configurations compare equal.
fn resolve_registry_name(d: &DiscoveryConfig, default: String) -> DiscoveryConfig {
    match d {
        DiscoveryConfig::Registry { name: None } => DiscoveryConfig::Registry {
            name: Some(default),
        },
        other => other.clone(),
    }
}

fn check(
    routes: &[RouteConfig],
    services: &BTreeMap<String, ServiceConfig>,
) -> Result<(), BuildError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, r) in routes.iter().enumerate() {
        let key = format!("routes[{i}].prefix");
        if !r.prefix.starts_with('/') {
            return err(key, "must start with '/'");
        }
        if r.prefix.contains(['*', '?', '#', ' ']) {
            return err(key, "is a plain path prefix: no wildcards, query or spaces");
        }
        let normal = r.prefix.trim_end_matches('/');
        if !seen.insert(normal.to_owned()) {
            return err(key, format!("{:?} is routed twice", r.prefix));
        }
        if !services.contains_key(&r.service) {
            return err(
                format!("routes[{i}].service"),
                format!("names {:?}, which is not under `services`", r.service),
            );
        }
        if r.timeout.is_some_and(|t| t.is_zero()) {
            return err(format!("routes[{i}].timeout"), "must be longer than zero");
        }
    }
    for (name, cfg) in services {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return err(
                format!("services.{name}"),
                "a service name is letters, digits, '-' and '_'",
            );
        }
        if let Err(e) = cfg.mesh.validate() {
            return err(format!("services.{name}.mesh.{}", e.key), e.problem);
        }
        if !cfg.pools.is_empty() {
            if cfg.pools.values().map(|p| u64::from(p.weight)).sum::<u64>() == 0 {
                return err(format!("services.{name}.pools"), "need a weight above zero");
            }
            if cfg.pools.values().map(|p| u64::from(p.weight)).sum::<u64>()
                > u64::from(u32::MAX / 2)
            {
                return err(format!("services.{name}.pools"), "weights are too large");
            }
        }
        for (pool, p) in &cfg.pools {
            check_discovery(
                &format!("services.{name}.pools.{pool}.discovery"),
                &p.discovery,
            )?;
        }
        if cfg.pools.is_empty() {
            check_discovery(&format!("services.{name}.discovery"), &cfg.discovery)?;
        }
    }
    Ok(())
}

fn check_discovery(key: &str, d: &DiscoveryConfig) -> Result<(), BuildError> {
    d.validate().map_err(|e| BuildError {
        key: key.to_owned(),
        problem: e.problem,
    })
}

async fn new_client(
    service: &str,
    pool: &str,
    discovery: &DiscoveryConfig,
    cfg: &ServiceConfig,
    registry: &Arc<Registry>,
) -> Result<ServiceClient, BuildError> {
    let key = format!("services.{service}");
    // The client's name labels its metrics and errors: `reference`, or `reference/green`.
    let client_name = if pool == DEFAULT_POOL {
        service.to_owned()
    } else {
        format!("{service}/{pool}")
    };
    let ctx = DiscoveryContext {
        registry: Some(registry.clone()),
        dns: cfg.mesh.dns.clone(),
    };
    let source = discovery
        .start(service, &ctx)
        .await
        .map_err(|e| BuildError {
            key: key.clone(),
            problem: e.problem,
        })?;
    ServiceClient::new(client_name, cfg.mesh.clone(), source).map_err(|e| BuildError {
        key: format!("{key}.mesh.{}", e.key),
        problem: e.problem.to_owned(),
    })
}
