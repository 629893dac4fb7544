//! Where a service's endpoints come from, as configuration: one type for every caller (the
//! gateway, services calling services, the profile client), so every caller can use every
//! source.
//!
//! ```toml
//! discovery = { kind = "static", addrs = ["10.0.0.5:8080", "10.0.0.6:8080"] }
//! discovery = { kind = "registry" }                        # this process's local registry
//! discovery = { kind = "remote", url = "http://127.0.0.1:8081/admin/registry" }
//! discovery = { kind = "dns", host = "reference.tis.svc.cluster.local", port = 8080 }
//! discovery = { kind = "srv", name = "_http._tcp.reference.tis.svc.cluster.local" }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dns::{DnsDiscovery, DnsTarget, HickoryResolve};
use super::remote::RemoteRegistryDiscovery;
use super::{Discovery, StaticDiscovery};
use crate::config::DnsConfig;
use crate::registry::Registry;

/// A discovery source (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum DiscoveryConfig {
    /// A fixed list. (An empty list is not written out, so that layered configuration can
    /// switch the kind without leaving `addrs` behind.)
    Static {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        addrs: Vec<SocketAddr>,
    },
    /// This process's local registry (the gateway's, fed by `tis up` through its admin API).
    /// The name defaults to the service's. (An absent name is not written out either: the
    /// configuration's defaults are serialized and the file merged onto them key by key, so a
    /// `name` left there would be refused by the kind the file chose, e.g. `dns`.)
    Registry {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A registry served over HTTP (`GET url` → `{"service":{"instance":"addr"}}`, as the
    /// gateway's `/admin/registry`), polled every `interval`. The name defaults to the
    /// service's.
    Remote {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default = "default_poll", with = "humantime_serde")]
        interval: Duration,
    },
    /// A and AAAA records of `host`, each with `port` (Kubernetes headless Services).
    Dns { host: String, port: u16 },
    /// SRV records of `name`.
    Srv { name: String },
}

fn default_poll() -> Duration {
    Duration::from_secs(1)
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig::Static { addrs: Vec::new() }
    }
}

/// A discovery configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct DiscoveryError {
    pub problem: String,
}

fn bad(problem: impl Into<String>) -> Result<(), DiscoveryError> {
    Err(DiscoveryError {
        problem: problem.into(),
    })
}

/// What starting a source may need besides its configuration.
#[derive(Debug, Clone, Default)]
pub struct DiscoveryContext {
    /// The local registry, for `kind = "registry"`.
    pub registry: Option<Arc<Registry>>,
    pub dns: DnsConfig,
}

impl DiscoveryConfig {
    /// Checks the values without starting anything.
    pub fn validate(&self) -> Result<(), DiscoveryError> {
        match self {
            DiscoveryConfig::Static { .. } => Ok(()),
            DiscoveryConfig::Registry { name: Some(n) } if n.trim().is_empty() => {
                bad("registry name must not be empty")
            }
            DiscoveryConfig::Registry { .. } => Ok(()),
            DiscoveryConfig::Remote {
                url,
                name,
                interval,
            } => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bad("needs an http(s) url")
                } else if name.as_ref().is_some_and(|n| n.trim().is_empty()) {
                    bad("registry name must not be empty")
                } else if interval.is_zero() {
                    bad("interval must be above zero")
                } else {
                    Ok(())
                }
            }
            DiscoveryConfig::Dns { host, port } if host.trim().is_empty() || *port == 0 => {
                bad("needs a host and a port above zero")
            }
            DiscoveryConfig::Srv { name } if name.trim().is_empty() => bad("needs an SRV name"),
            DiscoveryConfig::Dns { .. } | DiscoveryConfig::Srv { .. } => Ok(()),
        }
    }

    /// Starts following the source for `service`. A DNS source resolves once before
    /// returning; a remote registry is polled once.
    pub async fn start(
        &self,
        service: &str,
        ctx: &DiscoveryContext,
    ) -> Result<Box<dyn Discovery>, DiscoveryError> {
        self.validate()?;
        let dns_target = match self {
            DiscoveryConfig::Static { addrs } => {
                return Ok(Box::new(StaticDiscovery::new(addrs.iter().copied())));
            }
            DiscoveryConfig::Registry { name } => {
                let registry = ctx.registry.as_ref().ok_or_else(|| DiscoveryError {
                    problem: "kind = \"registry\" needs a local registry, which only the gateway has; use kind = \"remote\"".into(),
                })?;
                return Ok(Box::new(
                    registry.discovery(name.as_deref().unwrap_or(service)),
                ));
            }
            DiscoveryConfig::Remote {
                url,
                name,
                interval,
            } => {
                let name = name.clone().unwrap_or_else(|| service.to_owned());
                return Ok(Box::new(
                    RemoteRegistryDiscovery::start(url.clone(), name, *interval).await,
                ));
            }
            DiscoveryConfig::Dns { host, port } => DnsTarget::Host {
                name: host.clone(),
                port: *port,
            },
            DiscoveryConfig::Srv { name } => DnsTarget::Srv { name: name.clone() },
        };
        let resolver = HickoryResolve::from_system_conf(&ctx.dns).map_err(|e| DiscoveryError {
            problem: format!("DNS resolver: {e}"),
        })?;
        Ok(Box::new(
            DnsDiscovery::start(Arc::new(resolver), dns_target, &ctx.dns).await,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_and_bad_values_are_refused() {
        #[derive(Deserialize)]
        struct W {
            d: DiscoveryConfig,
        }
        for (text, ok) in [
            (r#"d = { kind = "static", addrs = ["127.0.0.1:1"] }"#, true),
            (r#"d = { kind = "registry" }"#, true),
            (
                r#"d = { kind = "remote", url = "http://127.0.0.1:8081/admin/registry" }"#,
                true,
            ),
            (r#"d = { kind = "remote", url = "ftp://x" }"#, false),
            (r#"d = { kind = "dns", host = "a.b", port = 80 }"#, true),
            (r#"d = { kind = "dns", host = "", port = 80 }"#, false),
            (r#"d = { kind = "srv", name = "_http._tcp.a" }"#, true),
        ] {
            let w: W = toml::from_str(text).expect(text);
            assert_eq!(w.d.validate().is_ok(), ok, "{text}");
        }
        assert!(toml::from_str::<W>(r#"d = { kind = "static", adrs = [] }"#).is_err());
    }

    /// Layered configuration serializes a default and merges the file's table onto it key by
    /// key: a default's keys that no other kind knows must not be written out.
    #[test]
    fn a_default_without_values_writes_only_its_kind() {
        for d in [
            DiscoveryConfig::default(),
            DiscoveryConfig::Registry { name: None },
        ] {
            let v = serde_json::to_value(&d).unwrap();
            assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        }
        let named = DiscoveryConfig::Registry {
            name: Some("profile".into()),
        };
        assert_eq!(serde_json::to_value(&named).unwrap()["name"], "profile");
    }
}
