use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tis_idp::client::{self, TokenError, TokenRequest};
use tis_idp::clock::ManualClock;
use tis_idp::password::Secret;
use tis_idp::realm::demo;

use crate::helpers::{peek, spawn_idp, spawn_in, test_config};

#[tokio::test]
async fn the_demo_realm_gives_tokens_to_its_users_and_the_etl_client_with_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir);
    let path = config.realm_file.clone();
    tokio::task::spawn_blocking(move || demo::write_demo_realm(&path))
        .await
        .unwrap()
        .unwrap();
    let idp = spawn_in(Arc::new(dir), config, Arc::new(ManualClock::new())).await;
    let issuer = idp.issuer.clone();
    assert!(issuer.ends_with("/realms/lin"));

    let admin = client::fetch_access_token(
        &issuer,
        &TokenRequest::user("admin"),
        client::DEFAULT_TIMEOUT,
    )
    .await
    .expect("admin logs in with the default password and client");
    let c = peek(&admin);
    assert_eq!(c["azp"], "tis-ui");
    assert_eq!(c["preferred_username"], "admin");
    assert!(
        c["realm_access"]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("HEE Admin"))
    );
    assert_eq!(c["dbc"].as_array().unwrap().len(), demo::ALL_DBCS.len());

    for (user, role) in [
        ("sensitive", "HEE Admin Sensitive"),
        ("trust.admin", "HEE Trust Admin"),
        ("observer", "HEE Programme Observer"),
    ] {
        let t =
            client::fetch_access_token(&issuer, &TokenRequest::user(user), client::DEFAULT_TIMEOUT)
                .await
                .unwrap_or_else(|e| panic!("{user}: {e}"));
        let c = peek(&t);
        assert!(
            c["realm_access"]["roles"]
                .as_array()
                .unwrap()
                .contains(&json!(role)),
            "{user}"
        );
    }

    let etl = client::fetch_token(
        &issuer,
        &TokenRequest::client("etl"),
        client::DEFAULT_TIMEOUT,
    )
    .await
    .expect("etl gets a service-account token with the default secret");
    assert!(etl.refresh_token.is_none());
    let c = peek(&etl.access_token);
    assert_eq!(c["preferred_username"], "service-account-etl");
    assert!(
        c["realm_access"]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("ETL"))
    );
}

#[tokio::test]
async fn a_refusal_is_reported_with_its_oauth_error() {
    let idp = spawn_idp().await;
    let request = TokenRequest::Password {
        client_id: "tis-ui".into(),
        client_secret: None,
        username: "alice".into(),
        password: Secret::new("wrong"),
    };
    let err = client::fetch_access_token(&idp.issuer, &request, client::DEFAULT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::Refused { .. }), "{err:?}");
    assert_eq!(err.to_string(), "invalid_grant: Invalid user credentials");
}

#[tokio::test]
async fn an_unreachable_provider_is_reported_as_such() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let issuer = format!("http://127.0.0.1:{port}/realms/lin");
    let err = client::fetch_access_token(
        &issuer,
        &TokenRequest::user("admin"),
        client::DEFAULT_TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TokenError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "the identity provider at {issuer} is not reachable"
        )),
        "{msg}"
    );
}

#[tokio::test]
async fn a_silent_provider_times_out_quickly() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // accept, never answer
        }
    });
    let started = std::time::Instant::now();
    let err = client::fetch_access_token(
        &format!("http://{addr}/realms/lin"),
        &TokenRequest::user("admin"),
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TokenError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    hold.abort();
}

#[tokio::test]
async fn an_issuer_without_a_discovery_document_is_not_oidc() {
    let idp = spawn_idp().await;
    let err = client::fetch_access_token(
        &idp.url("/realms/nope"),
        &TokenRequest::user("alice"),
        client::DEFAULT_TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TokenError::NotOidc { .. }), "{err:?}");
}
