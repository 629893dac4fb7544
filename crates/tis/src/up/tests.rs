//! The plan of `tis up` and its configuration files, without starting anything.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tis_gateway::DiscoveryConfig;

use super::prepare::Layout;
use super::{Running, config_file, plan};
use crate::config::Config;
use crate::services::{self, SERVICES};

fn layout(dir: &Path) -> Layout {
    Layout {
        data_dir: dir.to_path_buf(),
        run_dir: dir.join("run"),
        keys_dir: dir.join("keys"),
        principal_key: dir.join("keys/principal.key"),
        principal_pub: dir.join("keys/principal.pub"),
        admin_token: dir.join("keys/admin.token"),
    }
}

fn running(service: &str, addr: &str, admin: Option<&str>) -> Running {
    Running {
        service: service.into(),
        addr: addr.parse().expect("addr"),
        others: admin
            .map(|a| vec![("admin".to_owned(), a.parse().expect("addr"))])
            .unwrap_or_default(),
        pid: 1,
    }
}

/// The idp and the gateway, ready: what wave 2 is planned from.
fn first_waves_ready() -> BTreeMap<String, Running> {
    BTreeMap::from([
        ("idp".to_owned(), running("idp", "127.0.0.1:7001", None)),
        (
            "gateway".to_owned(),
            running("gateway", "127.0.0.1:7002", Some("127.0.0.1:7003")),
        ),
    ])
}

/// A configuration as `main` would have merged it, with a database URL an operator set
/// for one service, which must reach its instances.
fn config(dir: &Path) -> Config {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.up.instances = 2;
    config.log.level = "warn,tis_mesh=debug".into();
    config.reference.database.url = format!("sqlite://{}/mine.db", dir.display());
    config.reference.database.replicas = vec!["postgres://r@127.0.0.1:1/x".into()];
    config
}

/// Writes a planned process's file and reads it back the way the child does.
fn written_and_read_back(run_dir: &Path, p: &plan::Planned) -> Config {
    let file = config_file::write(run_dir, &p.name, &p.config).expect("written");
    let mode = std::fs::metadata(&file).expect("file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}: private", file.display());
    tis_core::config::load::<Config>(Some(&file)).expect("the child reads its file")
}

#[test]
fn every_service_of_the_table_is_served_migrated_planned_and_routed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    let layout = layout(dir.path());
    let planned = plan::wave(2, &config, &layout, &first_waves_ready());
    assert_eq!(planned.len(), SERVICES.len() * 2);
    let gateway = &plan::wave(1, &config, &layout, &first_waves_ready())[0];
    for s in SERVICES {
        for i in 1..=2 {
            let name = format!("{}-{i}", s.name);
            let p = planned
                .iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("{name} is not planned"));
            assert_eq!(p.service, s.name);
            assert_eq!(p.args, ["serve", s.name]);
        }
        assert!(services::is_service(s.name), "announced to the gateway");
        assert!(
            gateway
                .config
                .gateway
                .routes
                .iter()
                .any(|r| r.service == s.name),
            "the gateway of `tis up` routes {}",
            s.name
        );
    }
}

#[test]
fn a_service_instances_file_parses_back_into_its_config_with_its_own_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    let layout = layout(dir.path());
    std::fs::create_dir_all(&layout.run_dir).expect("run dir");
    let planned = plan::wave(2, &config, &layout, &first_waves_ready());
    for p in &planned {
        let mut read = written_and_read_back(&layout.run_dir, p);
        assert_eq!(read, p.config, "{}: the file is the config", p.name);
        assert_eq!(
            read.log.level, "warn,tis_mesh=debug",
            "the parent's settings"
        );
        let service = services::named(&p.service).expect("a service");
        let base = (service.section)(&mut read).base();
        let default_listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        assert_eq!(base.listen, default_listen);
        assert!(!base.database.migrate, "tis up migrated it already");
        let expected = (service.section)(&mut config.clone()).base().database.url;
        assert_eq!(base.database.url, expected, "{}", p.name);
        assert_eq!(base.drain.drain_delay, config.up.drain_delay);
        assert_eq!(
            base.principal.trusted_key_files,
            std::slice::from_ref(&layout.principal_pub)
        );
        let tokens = base.access_tokens.expect("access tokens");
        assert_eq!(tokens.issuer, "http://127.0.0.1:7001/realms/lin");
        assert_eq!(tokens.audience, ["tis"]);
        assert_eq!(
            tokens.keys_file,
            Some(layout.keys_dir.join(format!("jwks-{}.json", p.name))),
            "each instance keeps its own last-good keys"
        );
    }
    let reference_1 = planned
        .iter()
        .find(|p| p.name == "reference-1")
        .expect("r1");
    assert_eq!(
        reference_1.config.reference.database.replicas,
        ["postgres://r@127.0.0.1:1/x"]
    );
    let profile_1 = planned.iter().find(|p| p.name == "profile-1").expect("p1");
    assert_eq!(
        profile_1.config.profile.reference.discovery,
        DiscoveryConfig::Remote {
            url: "http://127.0.0.1:7003/admin/registry".into(),
            name: None,
            interval: std::time::Duration::from_secs(1),
        },
        "Profile finds Reference in the gateway's registry"
    );
    // Another instance's section is untouched: only the process's own is set.
    assert_eq!(profile_1.config.reference, config.reference);
}

#[test]
fn the_identity_providers_and_the_gateways_files_parse_back_with_their_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    let layout = layout(dir.path());
    std::fs::create_dir_all(&layout.run_dir).expect("run dir");
    let ready = first_waves_ready();
    let idp = &plan::wave(0, &config, &layout, &ready)[0];
    let read = written_and_read_back(&layout.run_dir, idp);
    assert_eq!(read, idp.config);
    assert_eq!(read.idp.drain.drain_delay, config.up.drain_delay);
    assert_eq!(idp.args, ["idp"]);

    let gateway = &plan::wave(1, &config, &layout, &ready)[0];
    let read = written_and_read_back(&layout.run_dir, gateway);
    assert_eq!(read, gateway.config);
    let gw = &read.gateway;
    assert_eq!(gw.auth.issuer, "http://127.0.0.1:7001/realms/lin");
    assert_eq!(gw.auth.audience, ["tis"]);
    assert_eq!(
        gw.principal.signing_key_file,
        Some(layout.principal_key.clone())
    );
    assert_eq!(gw.registry_file, Some(layout.registry_file()));
    assert_eq!(gw.admin_token_file, Some(layout.admin_token.clone()));
    assert_eq!(gw.routes.len(), SERVICES.len());
    assert!(plan::wave(3, &config, &layout, &ready).is_empty());
}

#[test]
fn the_banner_and_the_idp_help_name_every_demo_user() {
    use clap::CommandFactory;
    let realm = tis_idp::realm::demo::demo_realm_file().expect("demo realm");
    let users: Vec<String> = realm
        .realms
        .iter()
        .flat_map(|r| r.users.iter().map(|u| u.username.clone()))
        .collect();
    assert!(users.iter().any(|u| u == "profile.admin"), "{users:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let banner = plan::banner(
        &config(dir.path()),
        &layout(dir.path()),
        &first_waves_ready(),
        std::time::Duration::from_secs(1),
    );
    let mut cli = crate::cli::Cli::command();
    let idp_help = cli
        .find_subcommand_mut("idp")
        .expect("tis idp")
        .render_long_help()
        .to_string();
    for user in &users {
        assert!(
            banner.contains(user.as_str()),
            "{user} not in the banner: {banner}"
        );
        assert!(
            idp_help.contains(user.as_str()),
            "{user} not in tis idp --help: {idp_help}"
        );
    }
}
