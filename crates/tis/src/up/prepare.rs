//! The data folder of `tis up`, prepared on first start and reused after.
//!
//! ```text
//! .tis/
//!   idp/realms.toml      the demo realm (users admin, sensitive, trust.admin, observer; password tis)
//!   idp/keys/            the identity provider's signing keys
//!   keys/principal.key   the gateway's Ed25519 key for TIS-Principal (0600), and .pub
//!   keys/admin.token     the bearer token of the gateway's admin writes (0600): `tis up`'s
//!                        announcements and `tis ctl` send it
//!   keys/jwks-*.json     each process's last-good copy of the identity provider's keys
//!   <service>.db         each service's SQLite database (WAL), migrated and seeded, for every
//!                        entry of the services table (`reference.db`, `profile.db`); in
//!                        PostgreSQL mode, `[up.postgres]`, they live on the primary instead
//!                        (`tis_reference`, `tis_profile`)
//!   run/<process>.toml   each process's configuration (0600), passed with `--config`
//!   run/<process>.addr   where each process listens (written by the process)
//!   run/up.json          every ready process and its address, while `tis up` runs
//!   run/registry.json    every ready service instance, loaded by a (re)starting gateway
//!   run/hold/<process>   while present, that process is not restarted when it exits
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use crate::config::Config;
use crate::services::SERVICES;

/// A process that is ready.
#[derive(Debug, Clone)]
pub struct Running {
    pub service: String,
    pub addr: SocketAddr,
    /// Other listeners it announced (the gateway's `admin`).
    pub others: Vec<(String, SocketAddr)>,
    pub pid: u32,
}

impl Running {
    /// The admin listener, if this is the gateway.
    pub fn admin(&self) -> Option<SocketAddr> {
        self.others
            .iter()
            .find(|(name, _)| name == "admin")
            .map(|(_, a)| *a)
    }
}

/// Where things are, once prepared.
#[derive(Debug, Clone)]
pub struct Layout {
    pub data_dir: PathBuf,
    pub run_dir: PathBuf,
    pub keys_dir: PathBuf,
    pub principal_key: PathBuf,
    pub principal_pub: PathBuf,
    /// The gateway's admin token (`gateway.admin_token_file`).
    pub admin_token: PathBuf,
}

impl Layout {
    pub fn state_file(&self) -> PathBuf {
        self.run_dir.join("up.json")
    }

    /// `run/registry.json`: every ready service instance by service, which the gateway
    /// loads into its registry when it (re)starts (`gateway.registry_file`).
    pub fn registry_file(&self) -> PathBuf {
        self.run_dir.join("registry.json")
    }

    /// Writes `run/up.json`: the supervisor's pid, the demo realm's issuer and every ready
    /// process with its address and pid.
    pub fn write_state(
        &self,
        ready: &BTreeMap<String, Running>,
        issuer: &str,
    ) -> anyhow::Result<()> {
        let processes: serde_json::Map<String, serde_json::Value> = ready
            .iter()
            .map(|(name, r)| {
                let mut entry = serde_json::json!({"service": r.service, "addr": r.addr.to_string(), "pid": r.pid});
                for (other, addr) in &r.others {
                    entry[other.as_str()] = serde_json::Value::from(addr.to_string());
                }
                (name.clone(), entry)
            })
            .collect();
        let state = serde_json::json!({"pid": std::process::id(), "issuer": issuer, "processes": processes});
        crate::supervised::write_atomically(
            &self.state_file(),
            &serde_json::to_string_pretty(&state)?,
        )?;
        let mut registry: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for r in ready
            .values()
            .filter(|r| crate::services::is_service(&r.service))
        {
            registry
                .entry(r.service.as_str())
                .or_default()
                .push(r.addr.to_string());
        }
        crate::supervised::write_atomically(
            &self.registry_file(),
            &serde_json::to_string_pretty(&registry)?,
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

    // The principal keys: the gateway signs TIS-Principal, services trust the public half.
    let keys_dir = data_dir.join("keys");
    std::fs::create_dir_all(&keys_dir)
        .with_context(|| format!("could not create {}", keys_dir.display()))?;
    let (principal_key, principal_pub) = (
        keys_dir.join("principal.key"),
        keys_dir.join("principal.pub"),
    );
    let kid = tis_auth::principal::keyfile::ensure_keypair_files(&principal_key, &principal_pub)?;
    tracing::debug!(key.id = %kid, "principal key pair ready");
    let admin_token = admin_token_file(&data_dir);
    tis_auth::StaticToken::ensure_file(&admin_token)?;

    // Each service's database: migrated and seeded here, once, before its instances start,
    // so that two instances never race to migrate the same file. A database set explicitly
    // (`[<service>.database] url`) is kept.
    let postgres = config.up.postgres.clone();
    for service in SERVICES {
        let section = (service.section)(config);
        let mut database = section.base().database;
        if database.url == section.default_base().database.url {
            place_database(&mut database, &postgres, &data_dir, service.name).await?;
            *section.base_mut().database = database.clone();
        }
        let db = prepare_database(&database, (service.migrations)()).await?;
        report_seed(service.name, (service.seed)(db.clone()).await?);
        db.close().await;
    }

    Ok(Layout {
        data_dir,
        run_dir,
        keys_dir,
        principal_key,
        principal_pub,
        admin_token,
    })
}

/// The admin token of the gateway `tis up` runs from `data_dir` (`tis ctl` reads it too).
pub fn admin_token_file(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("keys").join("admin.token")
}

fn sqlite_url(data_dir: &std::path::Path, service: &str) -> String {
    format!(
        "sqlite://{}",
        data_dir.join(format!("{service}.db")).display()
    )
}

/// Points `cfg` at the service's database: a SQLite file in the data folder, or its own
/// database on the PostgreSQL primary (created when missing) read through every replica.
async fn place_database(
    cfg: &mut tis_store::DbConfig,
    pg: &super::UpPostgres,
    data_dir: &std::path::Path,
    service: &str,
) -> anyhow::Result<()> {
    let Some(primary) = &pg.primary else {
        cfg.url = sqlite_url(data_dir, service);
        return Ok(());
    };
    let name = pg.database_name(service);
    if super::postgres::ensure_database(primary, &name).await? {
        tracing::info!(tis.service = service, db.name = %name, "database created on the primary");
    }
    cfg.url = super::postgres::database_url(primary, &name)?;
    cfg.replicas = pg
        .replicas
        .iter()
        .map(|r| super::postgres::database_url(r, &name))
        .collect::<Result<_, _>>()?;
    for replica in &cfg.replicas {
        super::postgres::wait_for_replica(replica, pg.replica_wait).await?;
    }
    Ok(())
}

async fn prepare_database(
    cfg: &tis_store::DbConfig,
    migrations: &tis_store::Migrations,
) -> anyhow::Result<tis_store::Db> {
    // Migrations and demo data are written on the primary: no replica pools for this.
    let cfg = tis_store::DbConfig {
        replicas: Vec::new(),
        ..cfg.clone()
    };
    let db = tis_store::Db::connect(&cfg)?;
    db.migrate(migrations)
        .await
        .with_context(|| format!("migrating {}", tis_store::db::redact(&cfg.url)))?;
    Ok(db)
}

fn report_seed(service: &str, rows: usize) {
    if rows > 0 {
        tracing::info!(tis.service = service, rows, "demo data loaded");
    }
}
