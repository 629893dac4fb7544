//! Where the Profile instances are, as configuration: a static list, or DNS (A/AAAA of a host
//! with a port, or SRV records, for Kubernetes headless Services).
//!
//! The gateway usually passes its own discovery instead (its local registry, fed by `tis up`)
//! to [`ProfileClient::new`](crate::ProfileClient::new); this is for processes that have no
//! registry. It mirrors the gateway's `DiscoveryConfig` minus the registry, which only exists
//! inside the gateway process. (The lead may move one such type into tis-mesh so every caller
//! shares it.)

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tis_mesh::{Discovery, DnsConfig, DnsDiscovery, DnsTarget, HickoryResolve, StaticDiscovery};

use crate::config::ConfigError;

/// Where a service's instances are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DiscoveryConfig {
    /// A fixed list.
    Static { addrs: Vec<SocketAddr> },
    /// A and AAAA records of `host`, each with `port`.
    Dns { host: String, port: u16 },
    /// SRV records of `name` (`_http._tcp.profile.tis.svc.cluster.local`).
    Srv { name: String },
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig::Static { addrs: Vec::new() }
    }
}

impl DiscoveryConfig {
    /// Checks the values; `key` names this section in errors.
    pub fn validate(&self, key: &'static str) -> Result<(), ConfigError> {
        match self {
            DiscoveryConfig::Static { .. } => Ok(()),
            DiscoveryConfig::Dns { host, port } if host.trim().is_empty() || *port == 0 => {
                Err(ConfigError::new(key, "needs a host and a port above zero"))
            }
            DiscoveryConfig::Srv { name } if name.trim().is_empty() => {
                Err(ConfigError::new(key, "needs an SRV name"))
            }
            _ => Ok(()),
        }
    }

    /// Starts following the configured source (a DNS source resolves once before returning).
    pub async fn start(
        &self,
        key: &'static str,
        dns: &DnsConfig,
    ) -> Result<Box<dyn Discovery>, ConfigError> {
        self.validate(key)?;
        let target = match self {
            DiscoveryConfig::Static { addrs } => {
                return Ok(Box::new(StaticDiscovery::new(addrs.iter().copied())));
            }
            DiscoveryConfig::Dns { host, port } => DnsTarget::Host {
                name: host.clone(),
                port: *port,
            },
            DiscoveryConfig::Srv { name } => DnsTarget::Srv { name: name.clone() },
        };
        let resolver = HickoryResolve::from_system_conf(dns)
            .map_err(|e| ConfigError::new(key, format!("DNS resolver: {e}")))?;
        Ok(Box::new(
            DnsDiscovery::start(Arc::new(resolver), target, dns).await,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_parses_and_empty_names_are_refused() {
        #[derive(Deserialize)]
        struct Holder {
            d: DiscoveryConfig,
        }
        let h: Holder =
            toml::from_str(r#"d = { kind = "static", addrs = ["127.0.0.1:9"] }"#).expect("static");
        assert_eq!(
            h.d,
            DiscoveryConfig::Static {
                addrs: vec!["127.0.0.1:9".parse().expect("addr")]
            }
        );
        let h: Holder =
            toml::from_str(r#"d = { kind = "dns", host = "", port = 80 }"#).expect("dns");
        assert_eq!(h.d.validate("x").expect_err("empty host").key, "x");
        assert!(toml::from_str::<Holder>(r#"d = { kind = "carrier-pigeon" }"#).is_err());
    }
}
