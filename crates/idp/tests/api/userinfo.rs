use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{ALICE_PASSWORD, ETL_SECRET, spawn_idp};

#[tokio::test]
async fn userinfo_returns_the_claims_of_a_valid_access_token() {
    let idp = spawn_idp().await;
    let login = idp.login_alice().await;
    let access = login["access_token"].as_str().unwrap();
    let res = idp.userinfo(access).await;
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    let claims = crate::helpers::peek(access);
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(info["preferred_username"], "alice");
    assert_eq!(info["name"], "Alice Liddell");
    assert_eq!(info["email"], "alice@tis.localhost");
    assert_eq!(info["dbc"], json!(["1-AIIDWA", "1-AIIDVS"]));

    let post = idp
        .http
        .post(idp.userinfo_url("lin"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200, "userinfo also answers POST");
}

#[tokio::test]
async fn userinfo_works_for_a_service_account() {
    let idp = spawn_idp().await;
    let body: Value = idp
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "etl"),
            ("client_secret", ETL_SECRET),
        ])
        .await
        .json()
        .await
        .unwrap();
    let res = idp.userinfo(body["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["preferred_username"], "service-account-etl");
}

async fn refused(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    body
}

#[tokio::test]
async fn userinfo_refuses_an_expired_access_token() {
    let idp = spawn_idp().await;
    let login = idp.login_alice().await;
    idp.clock.advance(Duration::from_secs(301));
    let body = refused(idp.userinfo(login["access_token"].as_str().unwrap()).await).await;
    assert_eq!(body["error_description"], "Token is not active");
}

#[tokio::test]
async fn userinfo_refuses_garbage_missing_and_tampered_tokens() {
    let idp = spawn_idp().await;
    let login = idp.login_alice().await;
    let access = login["access_token"].as_str().unwrap();
    // Same signature, payload changed to another user.
    let parts: Vec<&str> = access.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    payload["preferred_username"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(serde_json::to_vec(&payload).unwrap()),
        parts[2]
    );
    let unsigned = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let huge = "a".repeat(20_000);
    for bad in [
        "garbage",
        "a.b.c",
        tampered.as_str(),
        unsigned.as_str(),
        huge.as_str(),
    ] {
        refused(idp.userinfo(bad).await).await;
    }
    let none = idp.http.get(idp.userinfo_url("lin")).send().await.unwrap();
    let body = refused(none).await;
    assert_eq!(body["error_description"], "Token not provided");
}

#[tokio::test]
async fn userinfo_refuses_a_refresh_token_and_a_token_of_another_realm() {
    let idp = spawn_idp().await;
    let login = idp.login_alice().await;
    refused(idp.userinfo(login["refresh_token"].as_str().unwrap()).await).await;

    let other: Value = idp
        .token_in(
            "other",
            &[
                ("grant_type", "password"),
                ("client_id", "tis-ui"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    refused(idp.userinfo(other["access_token"].as_str().unwrap()).await).await;
}
