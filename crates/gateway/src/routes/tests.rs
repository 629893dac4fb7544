use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tis_mesh::Registry;

use super::*;
use crate::config::{PoolConfig, ServiceConfig};

fn route(prefix: &str, service: &str) -> RouteConfig {
    RouteConfig::new(prefix, service)
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn pooled(weights: &[(&str, u32)]) -> ServiceConfig {
    ServiceConfig {
        pools: weights
            .iter()
            .enumerate()
            .map(|(i, (name, weight))| {
                (
                    (*name).to_owned(),
                    PoolConfig {
                        weight: *weight,
                        discovery: DiscoveryConfig::Static {
                            addrs: vec![addr(40_000 + i as u16)],
                        },
                    },
                )
            })
            .collect(),
        ..ServiceConfig::default()
    }
}

async fn table(
    routes: &[RouteConfig],
    services: &BTreeMap<String, ServiceConfig>,
    previous: Option<&RouteTable>,
) -> Result<RouteTable, BuildError> {
    build(routes, services, previous, &Registry::new(), "test").await
}

#[test]
fn a_prefix_matches_itself_and_what_is_under_it_but_not_a_longer_word() {
    assert!(matches_prefix("/reference", "/reference"));
    assert!(matches_prefix("/reference", "/reference/api/grades"));
    assert!(!matches_prefix("/reference", "/referencedata"));
    assert!(!matches_prefix("/reference", "/tcs/reference"));
    assert!(matches_prefix("/", "/anything"));
}

#[tokio::test]
async fn the_longest_matching_prefix_wins() {
    let services = BTreeMap::from([
        ("reference".to_owned(), pooled(&[("a", 1)])),
        ("grades".to_owned(), pooled(&[("a", 1)])),
    ]);
    let t = table(
        &[
            route("/reference", "reference"),
            route("/reference/api/grades/", "grades"),
        ],
        &services,
        None,
    )
    .await
    .expect("valid");
    let name = |p: &str| t.route(p).map(|r| r.service.name.to_string());
    assert_eq!(name("/reference/api/grades/7").as_deref(), Some("grades"));
    assert_eq!(name("/reference/api/sites").as_deref(), Some("reference"));
    assert_eq!(name("/tcs/api/posts"), None);
}

#[tokio::test]
async fn pools_are_chosen_in_proportion_to_their_weights() {
    let services = BTreeMap::from([(
        "reference".to_owned(),
        pooled(&[("blue", 90), ("green", 10), ("grey", 0)]),
    )]);
    let t = table(&[route("/reference", "reference")], &services, None)
        .await
        .expect("valid");
    let service = &t.services["reference"];
    // Pools are in name order: blue [0, 90), green [90, 100), grey never.
    assert_eq!(&*service.choose_with(0).name, "blue");
    assert_eq!(&*service.choose_with(89).name, "blue");
    assert_eq!(&*service.choose_with(90).name, "green");
    assert_eq!(&*service.choose_with(99).name, "green");
    fastrand::seed(7);
    let mut green = 0;
    for _ in 0..10_000 {
        match &*service.choose().name {
            "green" => green += 1,
            "blue" => {}
            other => panic!("weight-0 pool {other} was chosen"),
        }
    }
    assert!((800..1200).contains(&green), "green got {green} of 10000");
}

#[tokio::test]
async fn changing_only_weights_keeps_every_client_and_changing_discovery_replaces_one() {
    let routes = [route("/reference", "reference")];
    let before = BTreeMap::from([(
        "reference".to_owned(),
        pooled(&[("blue", 90), ("green", 10)]),
    )]);
    let first = table(&routes, &before, None).await.expect("valid");
    let after = BTreeMap::from([(
        "reference".to_owned(),
        pooled(&[("blue", 0), ("green", 100)]),
    )]);
    let second = table(&routes, &after, Some(&first)).await.expect("valid");
    assert_eq!(second.generation, first.generation + 1);
    for (old, new) in first.services["reference"]
        .pools
        .iter()
        .zip(&second.services["reference"].pools)
    {
        assert!(
            Arc::ptr_eq(&old.identity, &new.identity),
            "{} was rebuilt",
            old.name
        );
    }
    assert_eq!(
        second.services["reference"].choose_with(0).name.as_ref(),
        "green"
    );

    let mut moved = after.clone();
    if let Some(p) = moved
        .get_mut("reference")
        .and_then(|s| s.pools.get_mut("green"))
    {
        p.discovery = DiscoveryConfig::Static {
            addrs: vec![addr(41_000)],
        };
    }
    let third = table(&routes, &moved, Some(&second)).await.expect("valid");
    let (blue2, green2) = (
        &second.services["reference"].pools[0],
        &second.services["reference"].pools[1],
    );
    let (blue3, green3) = (
        &third.services["reference"].pools[0],
        &third.services["reference"].pools[1],
    );
    assert!(Arc::ptr_eq(&blue2.identity, &blue3.identity));
    assert!(!Arc::ptr_eq(&green2.identity, &green3.identity));
}

#[tokio::test]
async fn bad_tables_are_refused_with_the_key_named() {
    let ok = BTreeMap::from([("reference".to_owned(), pooled(&[("a", 1)]))]);
    let key = |r: Result<RouteTable, BuildError>| r.expect_err("refused").key;
    assert_eq!(
        key(table(&[route("/tcs", "tcs")], &ok, None).await),
        "routes[0].service"
    );
    assert_eq!(
        key(table(&[route("reference", "reference")], &ok, None).await),
        "routes[0].prefix"
    );
    assert_eq!(
        key(table(
            &[
                route("/reference", "reference"),
                route("/reference/", "reference")
            ],
            &ok,
            None
        )
        .await),
        "routes[1].prefix"
    );
    let zero = BTreeMap::from([("reference".to_owned(), pooled(&[("a", 0), ("b", 0)]))]);
    assert_eq!(
        key(table(&[route("/reference", "reference")], &zero, None).await),
        "services.reference.pools"
    );
    let mut bad_mesh = ServiceConfig::default();
    bad_mesh.mesh.max_concurrency = 0;
    let bad = BTreeMap::from([("reference".to_owned(), bad_mesh)]);
    assert_eq!(
        key(table(&[route("/reference", "reference")], &bad, None).await),
        "services.reference.mesh.max_concurrency"
    );
    let timeout = RouteConfig {
        timeout: Some(Duration::ZERO),
        ..route("/reference", "reference")
    };
    assert_eq!(key(table(&[timeout], &ok, None).await), "routes[0].timeout");
}

#[tokio::test]
async fn a_service_without_pools_has_one_default_pool_on_the_registry() {
    let services = BTreeMap::from([("reference".to_owned(), ServiceConfig::default())]);
    let t = table(&[route("/reference", "reference")], &services, None)
        .await
        .expect("valid");
    let pools = &t.services["reference"].pools;
    assert_eq!(pools.len(), 1);
    assert_eq!(&*pools[0].name, "default");
    assert_eq!(
        pools[0].discovery,
        DiscoveryConfig::Registry {
            name: Some("reference".into())
        }
    );
    assert_eq!(t.services["reference"].title, "Reference");
}
