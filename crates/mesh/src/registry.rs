//! The local registry: which instances of each service are running on this machine, as
//! `tis up`'s supervisor announces them.
//!
//! The supervisor starts and restarts instances on ephemeral ports, so nothing but the
//! supervisor knows where they are. It tells the gateway through the gateway's admin API,
//! which calls [`Registry::register`] and [`Registry::deregister`]; every
//! [`ServiceClient`](crate::ServiceClient) built on [`Registry::discovery`] follows the
//! changes at once (each service's set is a `watch` channel, see [`crate::discover`]).
//!
//! It is shared by `Arc` and cheap to read; writes are rare (an instance starting or
//! stopping).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::discover::{Discovery, EndpointSet};

/// Instances per service name.
#[derive(Debug, Default)]
pub struct Registry {
    services: RwLock<BTreeMap<String, watch::Sender<EndpointSet>>>,
}

impl Registry {
    pub fn new() -> Arc<Self> {
        Arc::new(Registry::default())
    }

    /// Runs `f` on the service's channel, creating it (empty) on first use.
    fn with<R>(&self, service: &str, f: impl FnOnce(&watch::Sender<EndpointSet>) -> R) -> R {
        if let Some(tx) = self
            .services
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(service)
        {
            return f(tx);
        }
        let mut services = self.services.write().unwrap_or_else(|p| p.into_inner());
        let tx = services
            .entry(service.to_owned())
            .or_insert_with(|| watch::channel(EndpointSet::default()).0);
        f(tx)
    }

    /// Adds an instance. Returns `false` if it was already registered.
    pub fn register(&self, service: &str, addr: SocketAddr) -> bool {
        let added = self.with(service, |tx| {
            tx.send_if_modified(|set| {
                if set.contains(&addr) {
                    return false;
                }
                let mut new = (**set).clone();
                new.insert(addr);
                *set = Arc::new(new);
                true
            })
        });
        if added {
            tracing::info!(tis.service = service, tis.instance.address = %addr, "instance registered");
        }
        added
    }

    /// Removes an instance. Returns `false` if it was not registered.
    pub fn deregister(&self, service: &str, addr: SocketAddr) -> bool {
        let removed = self.with(service, |tx| {
            tx.send_if_modified(|set| {
                if !set.contains(&addr) {
                    return false;
                }
                let mut new = (**set).clone();
                new.remove(&addr);
                *set = Arc::new(new);
                true
            })
        });
        if removed {
            tracing::info!(tis.service = service, tis.instance.address = %addr, "instance deregistered");
        }
        removed
    }

    /// Replaces every instance of a service at once (a supervisor re-announcing its state).
    pub fn set(&self, service: &str, addrs: impl IntoIterator<Item = SocketAddr>) {
        let new: BTreeSet<SocketAddr> = addrs.into_iter().collect();
        self.with(service, |tx| {
            tx.send_if_modified(|set| {
                if **set == new {
                    return false;
                }
                *set = Arc::new(new);
                true
            })
        });
    }

    /// The instances of a service, in address order.
    pub fn list(&self, service: &str) -> Vec<SocketAddr> {
        self.services
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(service)
            .map(|tx| tx.borrow().iter().copied().collect())
            .unwrap_or_default()
    }

    /// Every service with its instances.
    pub fn services(&self) -> BTreeMap<String, Vec<SocketAddr>> {
        self.services
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, tx)| (name.clone(), tx.borrow().iter().copied().collect()))
            .collect()
    }

    /// The current instances of a service and every later change.
    pub fn watch(&self, service: &str) -> watch::Receiver<EndpointSet> {
        self.with(service, |tx| tx.subscribe())
    }

    /// A discovery source following one service.
    pub fn discovery(self: &Arc<Self>, service: &str) -> RegistryDiscovery {
        RegistryDiscovery {
            registry: self.clone(),
            service: service.to_owned(),
        }
    }
}

/// One service of a [`Registry`], as a [`Discovery`] source.
#[derive(Debug, Clone)]
pub struct RegistryDiscovery {
    registry: Arc<Registry>,
    service: String,
}

impl Discovery for RegistryDiscovery {
    fn subscribe(&self) -> watch::Receiver<EndpointSet> {
        self.registry.watch(&self.service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[tokio::test]
    async fn registrations_are_listed_and_watchers_are_told() {
        let registry = Registry::new();
        let mut rx = registry.discovery("reference").subscribe();
        assert!(rx.borrow_and_update().is_empty());

        assert!(registry.register("reference", addr(2)));
        assert!(registry.register("reference", addr(1)));
        assert!(!registry.register("reference", addr(1)), "once only");
        assert!(rx.has_changed().expect("open"));
        assert_eq!(rx.borrow_and_update().len(), 2);
        assert_eq!(registry.list("reference"), vec![addr(1), addr(2)]);

        assert!(registry.deregister("reference", addr(1)));
        assert!(!registry.deregister("reference", addr(1)));
        rx.changed().await.expect("told");
        assert_eq!(registry.list("reference"), vec![addr(2)]);

        registry.register("tcs", addr(9));
        let all = registry.services();
        assert_eq!(all["tcs"], vec![addr(9)]);
        assert_eq!(all["reference"], vec![addr(2)]);
        assert!(registry.list("unknown").is_empty());
    }

    #[tokio::test]
    async fn setting_the_same_instances_again_wakes_nobody() {
        let registry = Registry::new();
        registry.set("profile", [addr(1), addr(2)]);
        let mut rx = registry.watch("profile");
        rx.borrow_and_update();
        registry.set("profile", [addr(2), addr(1)]);
        assert!(!rx.has_changed().expect("open"));
        registry.set("profile", [addr(3)]);
        assert!(rx.has_changed().expect("open"));
    }
}
