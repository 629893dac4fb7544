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
//!
//! `day_turn = true` (the default): the instance takes part in the turn of the day
//! ([`crate::day`]).

pub use tis_mesh::DiscoveryConfig;
pub use tis_reference_client::ReferenceClientConfig;

tis_service_kit::service_config! {
    /// `[tcs]`.
    pub struct TcsConfig(tis_core::service::TCS) checked by problems {
        /// How Reference is reached to check the Reference data writes name
        /// (tis-reference-client: fresh for 60 s, last-good for 12 h while Reference is down).
        pub reference: ReferenceClientConfig = ReferenceClientConfig::default(),
        /// Whether this instance takes part in the turn of the day (see [`crate::day`]):
        /// once a day, the list rows and owners of the people and posts whose memberships
        /// or placements started or ended re-derived. One instance of those that take part
        /// does it each day; `false` for an instance that must never write on its own.
        pub day_turn: bool = true,
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
