use tis_auth::PrincipalVerifier;

use crate::support::*;

#[tokio::test]
async fn the_service_gets_a_principal_for_itself_and_never_the_clients_internal_headers() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;

    let res = gw
        .client
        .get(gw.url("/reference/echo?x=1"))
        .bearer_auth(idp.token())
        .header("tis-principal", "forged")
        .header("tis-degraded", "nothing")
        .header("tis-deadline", "999999")
        .header("connection", "x-private")
        .header("x-private", "hop")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-request-id", "req-42")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "req-42");
    let seen = up.last();
    assert!(
        seen.get("x-private").is_none(),
        "a header named in Connection was forwarded"
    );
    assert!(seen.get("tis-degraded").is_none());
    assert!(
        seen.get("authorization").is_none(),
        "the IdP token is not forwarded"
    );
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-request-id"], "req-42");
    assert!(seen.contains_key("traceparent"));
    let deadline: u64 = seen["tis-deadline"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("ms");
    assert!(
        deadline <= 10_000 && deadline > 9_000,
        "TIS-Deadline {deadline}"
    );

    let principal = seen["tis-principal"].to_str().expect("ascii");
    assert_ne!(principal, "forged");
    let cfg = tis_auth::PrincipalConfig {
        audience: "reference".into(),
        trusted_keys_pem: vec![gw.principal_pem.clone()],
        ..tis_auth::PrincipalConfig::default()
    };
    let verified = PrincipalVerifier::from_config(&cfg)
        .expect("verifier")
        .verify(principal)
        .expect("the principal verifies for reference");
    assert_eq!(verified.user_name(), "jdoe");
    assert!(verified.has_role("HEE Admin"));
    let other = tis_auth::PrincipalConfig {
        audience: "tcs".into(),
        ..cfg
    };
    assert!(
        PrincipalVerifier::from_config(&other)
            .expect("verifier")
            .verify(principal)
            .is_err(),
        "a principal for reference must not pass at tcs"
    );
}

#[tokio::test]
async fn a_route_can_name_more_audiences_and_forward_the_access_token() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, addr) = Upstream::start("a").await;
    let mut cfg = config(&idp, &dir, vec![addr]);
    cfg.routes = vec![tis_gateway::RouteConfig {
        principal_audiences: vec!["tcs".into()],
        forward_access_token: true,
        ..tis_gateway::RouteConfig::new("/reference", "reference")
    }];
    let gw = Gateway::start(cfg).await;
    let token = idp.token();

    let res = gw.get("/reference/echo", &token).await;
    assert_eq!(res.status(), 200);
    let seen = up.last();
    assert_eq!(
        seen["authorization"].to_str().expect("ascii"),
        format!("Bearer {token}"),
        "the route forwards the access token"
    );
    let principal = seen["tis-principal"].to_str().expect("ascii");
    for audience in ["reference", "tcs"] {
        let cfg = tis_auth::PrincipalConfig {
            audience: audience.into(),
            trusted_keys_pem: vec![gw.principal_pem.clone()],
            ..tis_auth::PrincipalConfig::default()
        };
        PrincipalVerifier::from_config(&cfg)
            .expect("verifier")
            .verify(principal)
            .unwrap_or_else(|e| panic!("the principal must pass at {audience}: {e}"));
    }
}

#[tokio::test]
async fn the_services_degradations_are_merged_and_its_hop_by_hop_headers_dropped() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;
    let res = gw.get("/reference/degraded", &idp.token()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["tis-degraded"], "db-read-only");
    assert!(res.headers().get("x-hop").is_none());
    assert!(res.headers().get("keep-alive").is_none());
    let status = gw.json(gw.url("/api/status")).await;
    assert_eq!(status["capabilities"][2]["id"], "writes");
    assert_eq!(status["capabilities"][2]["status"], "degraded");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_json_error() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, addr) = Upstream::start("a").await;
    let mut cfg = config(&idp, &dir, vec![addr]);
    cfg.body_limit = 1024;
    let gw = Gateway::start(cfg).await;
    let res = gw
        .client
        .post(gw.url("/reference/echo"))
        .bearer_auth(idp.token())
        .body(vec![b'x'; 4096])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 413);
    assert_eq!(error_code(res).await, "payload_too_large");
    let small = gw
        .client
        .post(gw.url("/reference/echo"))
        .bearer_auth(idp.token())
        .body(vec![b'x'; 100])
        .send()
        .await
        .expect("post");
    assert_eq!(small.status(), 200);
    assert_eq!(up.hits(), 1);
}
