use serde_json::Value;

use crate::helpers::{spawn_idp, spawn_with};

#[tokio::test]
async fn discovery_names_the_issuer_and_endpoints_where_keycloak_puts_them() {
    let idp = spawn_idp().await;
    let res = idp
        .http
        .get(idp.url("/realms/lin/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    let issuer = format!("http://{}/realms/lin", idp.addr);
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(idp.issuer, issuer);
    let oidc = format!("{issuer}/protocol/openid-connect");
    assert_eq!(doc["jwks_uri"], format!("{oidc}/certs"));
    assert_eq!(doc["token_endpoint"], format!("{oidc}/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{oidc}/userinfo"));
    assert_eq!(doc["authorization_endpoint"], format!("{oidc}/auth"));
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "password",
            "client_credentials",
            "refresh_token"
        ])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    let methods = doc["token_endpoint_auth_methods_supported"].to_string();
    assert!(methods.contains("client_secret_basic") && methods.contains("client_secret_post"));

    let other: Value = idp
        .http
        .get(idp.url("/realms/other/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other["issuer"], format!("http://{}/realms/other", idp.addr));
}

#[tokio::test]
async fn a_configured_public_url_is_the_base_of_the_issuer() {
    let idp = spawn_with(|c| c.public_url = Some("https://login.example.org/auth/".into())).await;
    assert_eq!(idp.issuer, "https://login.example.org/auth/realms/lin");
    let doc: Value = idp
        .http
        .get(format!(
            "http://{}/realms/lin/.well-known/openid-configuration",
            idp.addr
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], "https://login.example.org/auth/realms/lin");
}

#[tokio::test]
async fn an_unknown_realm_is_a_404_json_error_on_every_endpoint() {
    let idp = spawn_idp().await;
    let oidc = "/realms/nope/protocol/openid-connect";
    for (method, path) in [
        (
            "GET",
            "/realms/nope/.well-known/openid-configuration".to_owned(),
        ),
        ("GET", format!("{oidc}/certs")),
        ("POST", format!("{oidc}/token")),
        ("GET", format!("{oidc}/userinfo")),
    ] {
        let res = idp
            .http
            .request(method.parse().unwrap(), idp.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=password")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "realm_not_found", "{path}");
    }
}

#[tokio::test]
async fn the_standard_health_and_metrics_endpoints_are_served() {
    let idp = spawn_idp().await;
    let live = idp.http.get(idp.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let ready: Value = idp
        .http
        .get(idp.url("/health/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["signing_keys"]["status"], "up");
    idp.login_alice().await;
    let metrics = idp
        .http
        .get(idp.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("idp_token_requests_total"),
        "token requests are counted"
    );
    assert!(metrics.contains("http_server_requests_total"));
}
