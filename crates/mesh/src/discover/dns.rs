//! DNS discovery, for Kubernetes headless Services and any DNS that lists instances.
//!
//! A headless Service answers its name with one A/AAAA record per ready pod, and
//! `_port._proto.name` with SRV records naming each pod and port. [`DnsDiscovery`] resolves its
//! target when it starts, then again every `refresh_interval` (5 s by default), and publishes
//! the set of addresses when it changed.
//!
//! Failures keep what is known: if a lookup fails (timeout, SERVFAIL), the last good set stays
//! — a DNS hiccup must not empty the balancer. An authoritative *empty* answer (no records,
//! NXDOMAIN) does empty it: the instances are really gone. For SRV, only the targets of the
//! lowest priority are used (RFC 2782), each resolved to its addresses.
//!
//! Resolution goes through the [`Resolve`] trait: [`HickoryResolve`] in production
//! (hickory-resolver, from `/etc/resolv.conf` or explicit name servers), a fake in unit tests
//! of the refresh logic, and hickory against a tiny DNS server on `127.0.0.1:0` in the
//! integration tests.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::future::BoxFuture;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::watch;

use super::{Discovery, EndpointSet};
use crate::config::DnsConfig;
use crate::task::AbortOnDrop;

/// What to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsTarget {
    /// A and AAAA records of `name`, each with `port`.
    Host { name: String, port: u16 },
    /// SRV records of `name` (e.g. `_http._tcp.reference.tis.svc.cluster.local`).
    Srv { name: String },
}

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// Why a lookup gave no addresses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// An authoritative answer that there is nothing: the set is empty.
    #[error("no records")]
    NoRecords,
    /// The lookup itself failed: keep what was known.
    #[error("lookup failed: {0}")]
    Failed(String),
}

/// A DNS resolver, as discovery needs it.
pub trait Resolve: Send + Sync + 'static {
    fn lookup_ip(&self, host: &str) -> BoxFuture<'static, Result<Vec<IpAddr>, ResolveError>>;
    fn lookup_srv(&self, name: &str) -> BoxFuture<'static, Result<Vec<SrvRecord>, ResolveError>>;
}

/// [`Resolve`] with hickory-resolver.
#[derive(Clone)]
pub struct HickoryResolve(TokioResolver);

impl HickoryResolve {
    pub fn new(resolver: TokioResolver) -> Self {
        HickoryResolve(resolver)
    }

    /// The system's resolver configuration (`/etc/resolv.conf`), caching answers no longer
    /// than the refresh interval so that every refresh sees changes.
    pub fn from_system_conf(cfg: &DnsConfig) -> Result<Self, ResolveError> {
        let mut builder =
            TokioResolver::builder_tokio().map_err(|e| ResolveError::Failed(e.to_string()))?;
        builder.options_mut().positive_max_ttl = Some(cfg.refresh_interval);
        builder.options_mut().negative_max_ttl = Some(cfg.refresh_interval);
        let resolver = builder
            .build()
            .map_err(|e| ResolveError::Failed(e.to_string()))?;
        Ok(HickoryResolve(resolver))
    }

    /// Explicit name servers over UDP (any port), without search domains.
    pub fn with_name_servers(
        servers: &[SocketAddr],
        cfg: &DnsConfig,
    ) -> Result<Self, ResolveError> {
        let servers = servers
            .iter()
            .map(|s| {
                let mut conn = ConnectionConfig::udp();
                conn.port = s.port();
                NameServerConfig::new(s.ip(), true, vec![conn])
            })
            .collect();
        let mut builder = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        );
        builder.options_mut().positive_max_ttl = Some(cfg.refresh_interval);
        builder.options_mut().negative_max_ttl = Some(cfg.refresh_interval);
        let resolver = builder
            .build()
            .map_err(|e| ResolveError::Failed(e.to_string()))?;
        Ok(HickoryResolve(resolver))
    }
}

fn net_error(e: hickory_resolver::net::NetError) -> ResolveError {
    if e.is_no_records_found() || e.is_nx_domain() {
        ResolveError::NoRecords
    } else {
        ResolveError::Failed(e.to_string())
    }
}

impl Resolve for HickoryResolve {
    fn lookup_ip(&self, host: &str) -> BoxFuture<'static, Result<Vec<IpAddr>, ResolveError>> {
        let (resolver, host) = (self.0.clone(), host.to_owned());
        Box::pin(async move {
            let found = resolver.lookup_ip(host.as_str()).await.map_err(net_error)?;
            Ok(found.iter().collect())
        })
    }

    fn lookup_srv(&self, name: &str) -> BoxFuture<'static, Result<Vec<SrvRecord>, ResolveError>> {
        let (resolver, name) = (self.0.clone(), name.to_owned());
        Box::pin(async move {
            let found = resolver
                .srv_lookup(name.as_str())
                .await
                .map_err(net_error)?;
            Ok(found
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::SRV(srv) => Some(SrvRecord {
                        priority: srv.priority,
                        weight: srv.weight,
                        port: srv.port,
                        target: srv.target.to_string(),
                    }),
                    _ => None,
                })
                .collect())
        })
    }
}

/// Resolves `target` once into a set of addresses.
pub async fn resolve(
    resolver: &dyn Resolve,
    target: &DnsTarget,
) -> Result<BTreeSet<SocketAddr>, ResolveError> {
    let result = match target {
        DnsTarget::Host { name, port } => resolver.lookup_ip(name).await.map(|ips| {
            ips.into_iter()
                .map(|ip| SocketAddr::new(ip, *port))
                .collect()
        }),
        DnsTarget::Srv { name } => resolve_srv(resolver, name).await,
    };
    match result {
        Err(ResolveError::NoRecords) => Ok(BTreeSet::new()),
        other => other,
    }
}

async fn resolve_srv(
    resolver: &dyn Resolve,
    name: &str,
) -> Result<BTreeSet<SocketAddr>, ResolveError> {
    let records = resolver.lookup_srv(name).await?;
    let Some(best) = records.iter().map(|r| r.priority).min() else {
        return Ok(BTreeSet::new());
    };
    let lookups = records
        .iter()
        .filter(|r| r.priority == best)
        .map(|r| async move {
            match resolver.lookup_ip(&r.target).await {
                Ok(ips) => Ok(ips
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, r.port))
                    .collect::<Vec<_>>()),
                Err(ResolveError::NoRecords) => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        });
    let mut set = BTreeSet::new();
    for addrs in futures::future::join_all(lookups).await {
        set.extend(addrs?);
    }
    Ok(set)
}

/// Endpoints from DNS, refreshed in the background for as long as this value lives.
pub struct DnsDiscovery {
    rx: watch::Receiver<EndpointSet>,
    _refresh: AbortOnDrop,
}

impl DnsDiscovery {
    /// Resolves `target` once (so the first request finds endpoints), then keeps refreshing
    /// it every `cfg.refresh_interval`. A first lookup that fails is logged, not fatal: DNS may
    /// come up after us.
    pub async fn start(resolver: Arc<dyn Resolve>, target: DnsTarget, cfg: &DnsConfig) -> Self {
        let (tx, rx) = watch::channel(EndpointSet::default());
        refresh_once(&*resolver, &target, &tx).await;
        let interval = cfg.refresh_interval;
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                refresh_once(&*resolver, &target, &tx).await;
            }
        });
        DnsDiscovery {
            rx,
            _refresh: AbortOnDrop(task),
        }
    }
}

async fn refresh_once(resolver: &dyn Resolve, target: &DnsTarget, tx: &watch::Sender<EndpointSet>) {
    match resolve(resolver, target).await {
        Ok(set) => {
            tx.send_if_modified(|current| {
                if **current == set {
                    return false;
                }
                tracing::info!(?target, endpoints = set.len(), "DNS endpoints changed");
                *current = Arc::new(set);
                true
            });
        }
        Err(e) => {
            tracing::warn!(?target, error.message = %e, "DNS lookup failed; keeping the last endpoints")
        }
    }
}

impl Discovery for DnsDiscovery {
    fn subscribe(&self) -> watch::Receiver<EndpointSet> {
        self.rx.clone()
    }
}

#[cfg(test)]
mod tests;
