//! The services table's promises: every entry reaches its own section, has migrations on both
//! backends, is a name `tis serve`/`tis migrate` accept, and gets a gateway route by default.
//! (`up::tests` checks that `tis up` plans and configures every entry.)

use std::collections::BTreeSet;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

#[test]
fn names_are_unique_and_never_those_of_the_other_processes() {
    let names: BTreeSet<&str> = SERVICES.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), SERVICES.len(), "a name twice in the table");
    for s in SERVICES {
        assert!(
            !["idp", "gateway"].contains(&s.name),
            "`{}` would clash with a process of `tis up`",
            s.name
        );
        assert!(
            s.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "`{}`: a name is a section, a registry name and part of a database name",
            s.name
        );
    }
}

#[test]
fn each_entry_reaches_its_own_section_of_the_configuration() {
    let mut config = Config::default();
    let top = toml::Table::try_from(&config).expect("the configuration is a TOML table");
    for s in SERVICES {
        let section = (s.section)(&mut config);
        assert_eq!(
            section.base().principal.audience,
            s.name,
            "principals for {}",
            s.name
        );
        assert!(top.contains_key(s.name), "no `[{}]` in Config", s.name);
        // Setting through the entry changes that section, as `tis up` relies on.
        *(s.section)(&mut config).base_mut().demo_data = true;
        let after = toml::Table::try_from(&config).expect("table");
        assert_eq!(
            after[s.name]["demo_data"].as_bool(),
            Some(true),
            "{}",
            s.name
        );
    }
}

#[test]
fn every_service_has_migrations_on_both_backends_and_calls_only_services_of_the_table() {
    for s in SERVICES {
        let m = (s.migrations)();
        assert!(
            m.sqlite.iter().count() > 0,
            "{}: no SQLite migrations",
            s.name
        );
        assert!(
            m.postgres.iter().count() > 0,
            "{}: no PostgreSQL migrations",
            s.name
        );
        for called in s.route.calls {
            assert!(
                is_service(called),
                "{} calls `{called}`, not in the table",
                s.name
            );
            assert_ne!(*called, s.name);
        }
        if s.route.public {
            // The web application signs people in itself and serves every other path.
            assert_eq!(s.route.prefix, "/", "{}", s.name);
        } else {
            assert_eq!(
                s.route.prefix,
                format!("/{}", s.name),
                "the kit serves /<name>/api"
            );
        }
    }
}

#[test]
fn serve_and_migrate_take_every_name_of_the_table_and_refuse_others() {
    for s in SERVICES {
        match Cli::try_parse_from(["tis", "serve", s.name])
            .expect("parses")
            .command
        {
            Command::Serve(args) => assert_eq!(args.service.name, s.name),
            other => panic!("{other:?}"),
        }
        match Cli::try_parse_from(["tis", "migrate", s.name])
            .expect("parses")
            .command
        {
            Command::Migrate(args) => assert_eq!(args.service.name, s.name),
            other => panic!("{other:?}"),
        }
    }
    let err = Cli::try_parse_from(["tis", "serve", "nope"]).expect_err("not a service");
    for s in SERVICES {
        assert!(err.to_string().contains(s.name), "{err}");
    }
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn the_gateway_gets_a_route_and_a_registry_service_for_every_entry_when_given_none() {
    let mut gw = GatewayConfig::default();
    gateway_defaults(&mut gw);
    assert_eq!(gw.routes.len(), SERVICES.len());
    for s in SERVICES {
        let route = gw
            .routes
            .iter()
            .find(|r| r.service == s.name)
            .unwrap_or_else(|| panic!("no route to {}", s.name));
        assert_eq!(route.prefix, s.route.prefix);
        assert_eq!(route.title.as_deref(), Some(s.route.title));
        assert_eq!(route.principal_audiences, s.route.calls);
        assert_eq!(route.forward_access_token, s.route.forward_access_token);
        assert_eq!(route.public, s.route.public);
        assert_eq!(
            gw.services[s.name].discovery,
            DiscoveryConfig::Registry { name: None }
        );
    }
    let profile = named("profile").expect("profile").route_config();
    assert_eq!(profile.principal_audiences, ["reference"]);
    assert!(profile.forward_access_token);
    let web = named("web").expect("web").route_config();
    assert!(web.public && web.prefix == "/" && !web.forward_access_token);
    assert!(
        SERVICES.iter().filter(|s| s.route.public).count() == 1,
        "only the web application signs people in itself"
    );
    // The web application's pages are neither cut early nor retried once answered; the APIs
    // keep the mesh's defaults.
    let pages = &gw.services["web"].mesh;
    assert!(!pages.latency_timeout.enabled && pages.retry.retry_statuses.is_empty());
    let api = &gw.services["reference"].mesh;
    assert_eq!(*api, tis_gateway::ServiceConfig::default().mesh);
}

#[test]
fn the_operators_routes_and_services_are_kept() {
    let mut gw = GatewayConfig {
        routes: vec![
            RouteConfig::new("/ref", "reference"),
            RouteConfig::new("/elsewhere", "other"),
        ],
        ..GatewayConfig::default()
    };
    let mine = tis_gateway::ServiceConfig {
        discovery: DiscoveryConfig::Static {
            addrs: vec!["127.0.0.1:9".parse().expect("addr")],
        },
        ..Default::default()
    };
    gw.services.insert("other".into(), mine.clone());
    gateway_defaults(&mut gw);
    assert_eq!(gw.routes.len(), 2, "routes given are the routes");
    assert_eq!(gw.services["other"], mine);
    assert_eq!(
        gw.services["reference"].discovery,
        DiscoveryConfig::Registry { name: None },
        "a routed service of the table without a section gets the registry"
    );
    assert_eq!(gw.services.len(), 2, "unrouted services are not added");

    let mut from_file = GatewayConfig {
        routes_file: Some("routes.toml".into()),
        ..GatewayConfig::default()
    };
    gateway_defaults(&mut from_file);
    assert!(from_file.routes.is_empty() && from_file.services.is_empty());
}
