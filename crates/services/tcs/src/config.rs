//! `[tcs]`: the TCS service's configuration: the keys every service section has (see
//! [`tis_service_kit::config`]), and how Reference is reached to check the Reference data a
//! write names (grades, sites, GMC statuses, titles…).
//!
//! ```toml
//! [tcs]
//! listen = "127.0.0.1:8083"
//! database = { url = "sqlite://tcs.db" }
//! principal = { trusted_key_files = ["keys/gateway.pub.pem"] }
//! [tcs.reference]                     # where Reference is (tis up fills this in)
//! discovery = { kind = "static", addrs = ["127.0.0.1:8088"] }
//! stale_if_error = "12h"              # see tis_reference_client::ReferenceClientConfig
//! ```

pub use tis_mesh::DiscoveryConfig;
pub use tis_reference_client::ReferenceClientConfig;

tis_service_kit::service_config! {
    /// `[tcs]`.
    pub struct TcsConfig(tis_core::service::TCS) checked by problems {
        /// How Reference is reached to check the Reference data writes name
        /// (tis-reference-client: fresh for 60 s, last-good for 12 h while Reference is down).
        pub reference: ReferenceClientConfig = ReferenceClientConfig::default(),
    }
}

/// TCS's own checks: the Reference client's section must be usable.
fn problems(cfg: &TcsConfig) -> Vec<String> {
    cfg.reference
        .problems()
        .into_iter()
        .map(|e| format!("`tcs.reference.{}` {}", e.key, e.problem))
        .collect()
}
