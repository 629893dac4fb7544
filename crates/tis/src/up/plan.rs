//! Which processes `tis up` runs, with what settings, and what it tells the person at the
//! terminal once they are ready.
//!
//! A process's settings are the supervisor's own configuration (defaults, file, `TIS_…`
//! environment and flags, already merged by `main`) with the process's part set through the
//! typed structs: its listener, the keys, the drain delay, a service instance's database
//! (placed by `prepare`) and its clients of other services. `config_file` writes the result to
//! `run/<process>.toml`, passed with `--config`; children inherit no `TIS_…` variable, so that
//! file is everything they read, and a renamed field is a compile error here.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use tis_core::service::{GATEWAY, IDP};
use tis_gateway::DiscoveryConfig;

use super::prepare::Layout;
use crate::config::Config;
use crate::services::{self, SERVICES, Service};

/// A process to start: its name, what it runs, and its whole configuration.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Unique, e.g. `reference-1`; also the name of its configuration file.
    pub name: String,
    /// The service it runs, e.g. `reference`.
    pub service: String,
    /// The subcommand and its arguments (`--config` is added when the file is written).
    pub args: Vec<OsString>,
    pub config: Config,
}

/// The audience `tis up`'s processes accept access tokens for (the demo realm's clients).
const AUDIENCE: &str = "tis";

/// The issuer of the demo realm, at the identity provider's real address.
pub fn issuer(ready: &BTreeMap<String, super::Running>, config: &Config) -> String {
    ready
        .get(IDP)
        .map(|idp| {
            format!(
                "http://{}/realms/{}",
                idp.addr,
                tis_idp::realm::demo::DEMO_REALM
            )
        })
        .unwrap_or_else(|| config.token.issuer.clone())
}

/// The processes of wave `n`, given those already `ready`; empty when there is no such wave.
/// Wave 0 is the identity provider; wave 1 the gateway, which verifies tokens against the
/// provider's real address; wave 2 every instance of every service of the table, which
/// `tis up` announces to the gateway's registry as each becomes ready.
pub fn wave(
    n: usize,
    config: &Config,
    layout: &Layout,
    ready: &BTreeMap<String, super::Running>,
) -> Vec<Planned> {
    let issuer = issuer(ready, config);
    match n {
        0 => vec![identity_provider(config)],
        1 => vec![gateway(config, layout, &issuer)],
        2 => {
            let registry = ready
                .values()
                .find_map(super::Running::admin)
                .map(|a| format!("http://{a}/admin/registry"));
            let gateway = ready.get(GATEWAY).map(|g| format!("http://{}", g.addr));
            SERVICES
                .iter()
                .flat_map(|service| (1..=config.up.instances).map(move |i| (service, i)))
                .map(|(service, i)| {
                    let mut planned =
                        instance(service, i, config, layout, &issuer, registry.as_deref());
                    if let Some(url) = &gateway {
                        (service.find_gateway)(&mut planned.config, url);
                    }
                    planned
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn identity_provider(config: &Config) -> Planned {
    let mut config = config.clone();
    // `prepare` has pointed `idp.realm_file` and `idp.key_dir` into the data folder.
    config.idp.drain.drain_delay = config.up.drain_delay;
    Planned {
        name: IDP.into(),
        service: IDP.into(),
        args: vec![OsString::from(IDP)],
        config,
    }
}

fn gateway(config: &Config, layout: &Layout, issuer: &str) -> Planned {
    let mut config = config.clone();
    let gw = &mut config.gateway;
    services::gateway_defaults(gw);
    gw.auth.issuer = issuer.to_owned();
    gw.auth.audience = vec![AUDIENCE.to_owned()];
    gw.auth.keys_file = Some(layout.keys_dir.join("jwks-gateway.json"));
    gw.principal.signing_key_file = Some(layout.principal_key.clone());
    gw.admin_token_file = Some(layout.admin_token.clone());
    gw.drain.drain_delay = config.up.drain_delay;
    // A restarted gateway starts with the instances it had, not an empty registry.
    gw.registry_file = Some(layout.registry_file());
    // The status page's history outlives a restart of the gateway.
    gw.status_history.file = Some(layout.data_dir.join("status-history.jsonl"));
    Planned {
        name: GATEWAY.into(),
        service: GATEWAY.into(),
        args: vec![OsString::from(GATEWAY)],
        config,
    }
}

/// Instance `i` of `service`: listening on a free port, on its database (already migrated,
/// its replicas too), trusting the gateway's principal key, verifying access tokens against
/// the local IdP with its own last-good key file, and finding the services it calls in the
/// gateway's `registry` (`kind = "remote"`).
fn instance(
    service: &Service,
    i: u16,
    config: &Config,
    layout: &Layout,
    issuer: &str,
    registry: Option<&str>,
) -> Planned {
    let name = format!("{}-{i}", service.name);
    let mut config = config.clone();
    let drain_delay = config.up.drain_delay;
    let base = (service.section)(&mut config).base_mut();
    *base.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    base.database.migrate = false;
    base.drain.drain_delay = drain_delay;
    base.principal.trusted_key_files = vec![layout.principal_pub.clone()];
    let tokens = base.access_tokens.get_or_insert_with(Default::default);
    tokens.issuer = issuer.to_owned();
    tokens.audience = vec![AUDIENCE.to_owned()];
    tokens.keys_file = Some(layout.keys_dir.join(format!("jwks-{name}.json")));
    if let Some(url) = registry {
        let discovery = DiscoveryConfig::Remote {
            url: url.to_owned(),
            name: None,
            interval: Duration::from_secs(1),
        };
        (service.find_calls)(&mut config, &discovery);
    }
    Planned {
        name,
        service: service.name.into(),
        args: vec![OsString::from("serve"), OsString::from(service.name)],
        config,
    }
}

/// The demo realm's users, as the banner lists them (a test checks them against the realm
/// `tis_idp::realm::demo::demo_realm_file` writes).
pub const DEMO_USERS: &str = "admin, sensitive, trust.admin, observer, profile.admin";

/// Where everything is, for the person who typed `tis up`.
pub fn print_banner(
    config: &Config,
    layout: &Layout,
    ready: &BTreeMap<String, super::Running>,
    took: Duration,
) {
    eprintln!("{}", banner(config, layout, ready, took));
}

/// The text of [`print_banner`].
pub fn banner(
    config: &Config,
    layout: &Layout,
    ready: &BTreeMap<String, super::Running>,
    took: Duration,
) -> String {
    let mut by_service: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in ready.values().filter(|r| services::is_service(&r.service)) {
        by_service
            .entry(r.service.as_str())
            .or_default()
            .push(r.addr.to_string());
    }
    let mut text = format!(
        "\nTIS is up in {:.1}s (local mode, data in {}).\n\n",
        took.as_secs_f64(),
        layout.data_dir.display()
    );
    if let Some(primary) = &config.up.postgres.primary {
        text.push_str(&format!(
            "  Database:  PostgreSQL {} with {} replica(s); databases {}\n",
            tis_store::db::redact(primary),
            config.up.postgres.replicas.len(),
            SERVICES
                .iter()
                .map(|s| config.up.postgres.database_name(s.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(gw) = ready.get(GATEWAY) {
        text.push_str(&format!(
            "  Web:       http://{}/        sign in as admin, sensitive, trust.admin… (password: tis)\n",
            gw.addr
        ));
        text.push_str(&format!(
            "  Gateway:   http://{}        status page: http://{}/status\n",
            gw.addr, gw.addr
        ));
        if let Some(admin) = gw.admin() {
            text.push_str(&format!(
                "  Admin:     http://{admin}/admin/status   (metrics: /metrics)\n"
            ));
        }
    }
    for (service, addrs) in &by_service {
        text.push_str(&format!(
            "  {:<10} {}\n",
            format!("{service}:"),
            addrs.join("  ")
        ));
    }
    let gateway = ready
        .get(GATEWAY)
        .map_or_else(|| "127.0.0.1:8080".to_owned(), |g| g.addr.to_string());
    let issuer = issuer(ready, config);
    let token = if issuer == config.token.issuer {
        "tis token --user admin".to_owned()
    } else {
        format!("tis token --user admin --issuer {issuer}")
    };
    text.push_str(&format!(
        "\n  Log in:  TOKEN=$({token})\n\
         \x20 Try:     curl -H \"Authorization: Bearer $TOKEN\" http://{gateway}/reference/api/grades\n\
         \x20          users: {DEMO_USERS} (password: tis); client: etl (secret: tis)\n\
         \x20 Issuer:  {issuer}\n\
         \x20 Stop:    Ctrl-C\n"
    ));
    text
}
