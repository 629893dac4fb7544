use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::*;

fn routes_file(blue: (u32, std::net::SocketAddr), green: (u32, std::net::SocketAddr)) -> String {
    let svc = pools(blue, green);
    #[derive(serde::Serialize)]
    struct File {
        routes: Vec<tis_gateway::RouteConfig>,
        services: BTreeMap<String, tis_gateway::ServiceConfig>,
    }
    toml::to_string(&File {
        routes: vec![tis_gateway::RouteConfig::new("/reference", "reference")],
        services: BTreeMap::from([("reference".to_owned(), svc)]),
    })
    .expect("toml")
}

async fn served_by(gw: &Gateway, token: &str) -> String {
    let res = gw.get("/reference/echo", token).await;
    assert_eq!(res.status(), 200);
    res.headers()["x-served-by"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

#[tokio::test]
async fn a_reload_moves_traffic_between_pools_and_a_bad_file_keeps_the_old_table() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_blue, blue_addr) = Upstream::start("blue").await;
    let (_green, green_addr) = Upstream::start("green").await;
    let file = dir.path().join("routes.toml");
    write(&file, &routes_file((100, blue_addr), (0, green_addr)));
    let mut cfg = config(&idp, &dir, vec![]);
    cfg.routes_file = Some(file.clone());
    cfg.routes_file_poll = Duration::from_millis(50);
    let gw = Gateway::start(cfg).await;
    let token = idp.token();
    for _ in 0..20 {
        assert_eq!(served_by(&gw, &token).await, "blue");
    }

    // Switch: the watcher picks the file up by itself.
    write(&file, &routes_file((0, blue_addr), (100, green_addr)));
    eventually("green to take the traffic", Duration::from_secs(5), || {
        let (gw, token) = (&gw, &token);
        async move { served_by(gw, token).await == "green" }
    })
    .await;
    for _ in 0..20 {
        assert_eq!(served_by(&gw, &token).await, "green");
    }

    // A broken file is refused; green keeps serving; the admin status says why.
    write(
        &file,
        "[[routes]]\nprefix = \"/reference\"\nservice = \"nowhere\"\n",
    );
    let res = gw
        .client
        .post(gw.admin_url("/admin/routes/reload"))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 422);
    assert_eq!(error_code(res).await, "route_table_refused");
    assert_eq!(served_by(&gw, &token).await, "green");
    let admin = gw.json(gw.admin_url("/admin/status")).await;
    let last = admin["routeTable"]["lastError"]
        .as_str()
        .unwrap_or_default();
    assert!(last.contains("routes[0].service"), "{admin}");
}

#[tokio::test]
async fn in_flight_requests_finish_on_the_table_they_started_with() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (blue, blue_addr) = Upstream::start("blue").await;
    let (_green, green_addr) = Upstream::start("green").await;
    let file = dir.path().join("routes.toml");
    write(&file, &routes_file((100, blue_addr), (0, green_addr)));
    let mut cfg = config(&idp, &dir, vec![]);
    cfg.routes_file = Some(file.clone());
    let gw = Gateway::start(cfg).await;
    let token = idp.token();
    let slow = {
        let (client, url, token) = (
            gw.client.clone(),
            gw.url("/reference/slow?ms=500"),
            token.clone(),
        );
        tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status())
        })
    };
    eventually("the slow request to start", Duration::from_secs(5), || {
        let blue = blue.clone();
        async move { blue.hits() == 1 }
    })
    .await;
    // Drop blue from the table entirely while the request is on it.
    write(&file, &routes_file((0, green_addr), (100, green_addr)));
    let res = gw
        .client
        .post(gw.admin_url("/admin/routes/reload"))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    assert_eq!(slow.await.expect("join").expect("request"), 200);
    assert_eq!(served_by(&gw, &token).await, "green");
}
