//! Which processes `tis up` runs, with what settings, and what it tells the person at the
//! terminal once they are ready.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use tis_core::telemetry::LogFormat;

use super::child::ChildSpec;
use super::prepare::Layout;
use crate::config::Config;

/// Settings every process gets through the environment (which overrides `tis.toml`).
fn common_env(config: &Config, layout: &Layout) -> Vec<(String, String)> {
    let format = match config.log.format {
        LogFormat::Json => "json",
        LogFormat::Pretty => "pretty",
    };
    vec![
        ("TIS_MODE".into(), "local".into()),
        ("TIS_DATA_DIR".into(), layout.data_dir.display().to_string()),
        ("TIS_LOG__FORMAT".into(), format.into()),
        ("TIS_LOG__LEVEL".into(), config.log.level.clone()),
    ]
}

fn humantime(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The issuer of the demo realm, at the identity provider's real address.
pub fn issuer(ready: &BTreeMap<String, super::Running>, config: &Config) -> String {
    ready
        .get("idp")
        .map(|idp| {
            format!(
                "http://{}/realms/{}",
                idp.addr,
                tis_idp::realm::demo::DEMO_REALM
            )
        })
        .unwrap_or_else(|| config.token.issuer.clone())
}

/// Whether processes of `service` are announced to the gateway.
pub fn is_service(service: &str) -> bool {
    matches!(service, "reference" | "profile")
}

/// The processes of wave `n`, given those already `ready`; empty when there is no such wave.
/// Wave 0 is the identity provider; wave 1 the gateway, which verifies tokens against the
/// provider's real address; wave 2 every service instance, which `tis up` announces to the
/// gateway's registry as each becomes ready.
pub fn wave(
    n: usize,
    config: &Config,
    layout: &Layout,
    ready: &BTreeMap<String, super::Running>,
) -> Vec<ChildSpec> {
    let issuer = issuer(ready, config);
    match n {
        0 => vec![identity_provider(config, layout)],
        1 => vec![gateway(config, layout, &issuer)],
        2 => {
            let registry = ready
                .values()
                .find_map(super::Running::admin)
                .map(|a| format!("http://{a}/admin/registry"));
            let mut specs: Vec<ChildSpec> = (1..=config.up.instances)
                .map(|i| reference(i, config, layout, &issuer))
                .collect();
            specs.extend(
                (1..=config.up.instances)
                    .map(|i| profile(i, config, layout, &issuer, registry.as_deref())),
            );
            specs
        }
        _ => Vec::new(),
    }
}

fn gateway(config: &Config, layout: &Layout, issuer: &str) -> ChildSpec {
    let mut env = common_env(config, layout);
    env.extend([
        (
            "TIS_GATEWAY__LISTEN".into(),
            config.gateway.listen.to_string(),
        ),
        (
            "TIS_GATEWAY__ADMIN_LISTEN".into(),
            config.gateway.admin_listen.to_string(),
        ),
        ("TIS_GATEWAY__AUTH__ISSUER".into(), issuer.to_owned()),
        ("TIS_GATEWAY__AUTH__AUDIENCE".into(), "tis".into()),
        (
            "TIS_GATEWAY__AUTH__KEYS_FILE".into(),
            layout
                .keys_dir
                .join("jwks-gateway.json")
                .display()
                .to_string(),
        ),
        (
            "TIS_GATEWAY__PRINCIPAL__SIGNING_KEY_FILE".into(),
            layout.principal_key.display().to_string(),
        ),
        (
            "TIS_GATEWAY__DRAIN__DRAIN_DELAY".into(),
            humantime(config.up.drain_delay),
        ),
        // A restarted gateway starts with the instances it had, not an empty registry.
        (
            "TIS_GATEWAY__REGISTRY_FILE".into(),
            layout.registry_file().display().to_string(),
        ),
    ]);
    ChildSpec {
        name: "gateway".into(),
        service: "gateway".into(),
        args: vec![OsString::from("gateway")],
        env,
    }
}

/// Settings every service instance gets: its listener, database (already migrated; its
/// replicas too, so that a `tis.toml` is not needed for them), drain,
/// the gateway's public key, and direct access-token verification against the local IdP.
fn service_env(
    service: &str,
    i: u16,
    database: &tis_store::DbConfig,
    config: &Config,
    layout: &Layout,
    issuer: &str,
) -> Vec<(String, String)> {
    let prefix = format!("TIS_{}__", service.to_ascii_uppercase());
    let keys_file = layout.keys_dir.join(format!("jwks-{service}-{i}.json"));
    let mut env = common_env(config, layout);
    env.extend([
        (format!("{prefix}LISTEN"), "127.0.0.1:0".into()),
        (format!("{prefix}DATABASE__URL"), database.url.clone()),
        (
            format!("{prefix}DATABASE__REPLICAS"),
            toml_list(&database.replicas),
        ),
        (format!("{prefix}DATABASE__MIGRATE"), "false".into()),
        (
            format!("{prefix}DRAIN__DRAIN_DELAY"),
            humantime(config.up.drain_delay),
        ),
        (
            format!("{prefix}PRINCIPAL__TRUSTED_KEY_FILES"),
            toml_list(&[layout.principal_pub.display().to_string()]),
        ),
        (format!("{prefix}ACCESS_TOKENS__ISSUER"), issuer.to_owned()),
        (format!("{prefix}ACCESS_TOKENS__AUDIENCE"), "tis".into()),
        (
            format!("{prefix}ACCESS_TOKENS__KEYS_FILE"),
            keys_file.display().to_string(),
        ),
    ]);
    env
}

fn reference(i: u16, config: &Config, layout: &Layout, issuer: &str) -> ChildSpec {
    ChildSpec {
        name: format!("reference-{i}"),
        service: "reference".into(),
        args: vec![OsString::from("serve"), OsString::from("reference")],
        env: service_env(
            "reference",
            i,
            &config.reference.database,
            config,
            layout,
            issuer,
        ),
    }
}

fn profile(
    i: u16,
    config: &Config,
    layout: &Layout,
    issuer: &str,
    registry: Option<&str>,
) -> ChildSpec {
    let mut env = service_env(
        "profile",
        i,
        &config.profile.database,
        config,
        layout,
        issuer,
    );
    // Profile calls Reference directly, finding its instances in the gateway's registry.
    if let Some(url) = registry {
        env.extend([
            (
                "TIS_PROFILE__REFERENCE__DISCOVERY__KIND".into(),
                "remote".into(),
            ),
            (
                "TIS_PROFILE__REFERENCE__DISCOVERY__URL".into(),
                url.to_owned(),
            ),
        ]);
    }
    ChildSpec {
        name: format!("profile-{i}"),
        service: "profile".into(),
        args: vec![OsString::from("serve"), OsString::from("profile")],
        env,
    }
}

fn identity_provider(config: &Config, layout: &Layout) -> ChildSpec {
    let mut env = common_env(config, layout);
    env.extend([
        ("TIS_IDP__LISTEN".into(), config.idp.listen.to_string()),
        (
            "TIS_IDP__REALM_FILE".into(),
            config.idp.realm_file.display().to_string(),
        ),
        (
            "TIS_IDP__KEY_DIR".into(),
            config.idp.key_dir.display().to_string(),
        ),
        (
            "TIS_IDP__DRAIN__DRAIN_DELAY".into(),
            humantime(config.up.drain_delay),
        ),
    ]);
    ChildSpec {
        name: "idp".into(),
        service: "idp".into(),
        args: vec![OsString::from("idp")],
        env,
    }
}

/// A list value for a `TIS_…` variable (parsed as TOML by the configuration loader).
fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Where everything is, for the person who typed `tis up`.
pub fn print_banner(
    config: &Config,
    layout: &Layout,
    ready: &BTreeMap<String, super::Running>,
    took: Duration,
) {
    let mut by_service: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in ready.values().filter(|r| is_service(&r.service)) {
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
            ["reference", "profile"]
                .map(|s| config.up.postgres.database_name(s))
                .join(", ")
        ));
    }
    if let Some(gw) = ready.get("gateway") {
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
        .get("gateway")
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
         \x20          users: admin, sensitive, trust.admin, observer (password: tis); client: etl (secret: tis)\n\
         \x20 Issuer:  {issuer}\n\
         \x20 Stop:    Ctrl-C\n"
    ));
    eprintln!("{text}");
}
