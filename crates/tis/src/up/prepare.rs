//! The data folder of `tis up`, prepared on first start and reused after.
//!
//! ```text
//! .tis/
//!   idp/realms.toml      the demo realm (users admin, sensitive, trust.admin, observer; password tis)
//!   idp/keys/            the identity provider's signing keys
//!   reference.db         the Reference service's SQLite database (WAL), migrated and seeded
//!   run/<process>.addr   where each process listens (written by the process)
//!   run/up.json          every ready process and its address, while `tis up` runs
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use crate::config::Config;

/// Where things are, once prepared.
#[derive(Debug, Clone)]
pub struct Layout {
    pub data_dir: PathBuf,
    pub run_dir: PathBuf,
}

impl Layout {
    pub fn state_file(&self) -> PathBuf {
        self.run_dir.join("up.json")
    }

    /// Writes `run/up.json`: the supervisor's pid and every ready process.
    pub fn write_state(
        &self,
        ready: &BTreeMap<String, (String, SocketAddr)>,
    ) -> anyhow::Result<()> {
        let processes: serde_json::Map<String, serde_json::Value> = ready
            .iter()
            .map(|(name, (service, addr))| {
                (
                    name.clone(),
                    serde_json::json!({"service": service, "addr": addr.to_string()}),
                )
            })
            .collect();
        let state = serde_json::json!({"pid": std::process::id(), "processes": processes});
        crate::supervised::write_atomically(
            &self.state_file(),
            &serde_json::to_string_pretty(&state)?,
        )
    }
}

/// Creates what is missing; fixes the paths in `config` to point into the data folder.
pub async fn prepare(config: &mut Config) -> anyhow::Result<Layout> {
    let data_dir = config.data_dir.clone();
    let run_dir = data_dir.join("run");
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("could not create {}", run_dir.display()))?;

    // The identity provider: keep explicitly configured paths, else use the data folder.
    let defaults = tis_idp::IdpConfig::default();
    if config.idp.realm_file == defaults.realm_file {
        config.idp.realm_file = data_dir.join("idp/realms.toml");
    }
    if config.idp.key_dir == defaults.key_dir {
        config.idp.key_dir = data_dir.join("idp/keys");
    }
    let realm_file = config.idp.realm_file.clone();
    let created =
        tokio::task::spawn_blocking(move || tis_idp::realm::demo::ensure_demo_realm(&realm_file))
            .await??;
    if created {
        tracing::info!(path = %config.idp.realm_file.display(), "demo realm written");
    }

    Ok(Layout { data_dir, run_dir })
}
