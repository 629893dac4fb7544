use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    ALICE_PASSWORD, DORA_PASSWORD, ETL_SECRET, peek, spawn_idp, spawn_with, verify,
};

async fn login(idp: &crate::helpers::TestIdp, user: &str, password: &str) -> (u16, Value) {
    let res = idp
        .token(&[
            ("grant_type", "password"),
            ("client_id", "tis-ui"),
            ("username", user),
            ("password", password),
        ])
        .await;
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_user_logs_in_with_the_password_grant_and_gets_keycloak_shaped_tokens() {
    let idp = spawn_idp().await;
    let body = idp.login_alice().await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["refresh_expires_in"], 1800);
    assert_eq!(body["scope"], "profile email");
    assert!(
        body.get("id_token").is_none(),
        "no openid scope, no ID token"
    );
    let access = body["access_token"].as_str().unwrap();

    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let jwks = idp.jwks().await;
    assert_eq!(header.kid.as_deref(), jwks.keys[0].common.key_id.as_deref());

    let c = verify(access, &jwks, &idp.issuer).expect("the token verifies with the JWKS");
    assert_eq!(c["iss"], idp.issuer);
    assert_eq!(c["typ"], "Bearer");
    assert_eq!(c["azp"], "tis-ui");
    assert_eq!(c["aud"], json!(["tis", "account"]));
    assert!(uuid::Uuid::parse_str(c["sub"].as_str().unwrap()).is_ok());
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 300);
    assert_eq!(c["nbf"], c["iat"]);
    assert!(uuid::Uuid::parse_str(c["jti"].as_str().unwrap()).is_ok());
    assert_eq!(c["sid"], c["session_state"]);
    assert_eq!(c["session_state"], body["session_state"]);
    assert_eq!(c["scope"], "profile email");
    assert_eq!(c["preferred_username"], "alice");
    assert_eq!(c["given_name"], "Alice");
    assert_eq!(c["family_name"], "Liddell");
    assert_eq!(c["name"], "Alice Liddell");
    assert_eq!(c["email"], "alice@tis.localhost");
    assert_eq!(c["email_verified"], true);
    assert_eq!(
        c["realm_access"]["roles"],
        json!(["uma_authorization", "HEE Admin"])
    );
    assert_eq!(
        c["resource_access"]["account"]["roles"],
        json!(["view-profile"])
    );
    assert_eq!(c["dbc"], json!(["1-AIIDWA", "1-AIIDVS"]));

    let refresh = peek(body["refresh_token"].as_str().unwrap());
    assert_eq!(refresh["typ"], "Refresh");
    assert_eq!(refresh["azp"], "tis-ui");
    assert_eq!(refresh["sub"], c["sub"]);
    assert_eq!(refresh["sid"], c["sid"]);
}

#[tokio::test]
async fn the_subject_is_stable_across_logins_and_usernames_ignore_case() {
    let idp = spawn_idp().await;
    let (_, a) = login(&idp, "alice", ALICE_PASSWORD).await;
    let (status, b) = login(&idp, "ALICE", ALICE_PASSWORD).await;
    assert_eq!(status, 200);
    let (a, b) = (
        peek(a["access_token"].as_str().unwrap()),
        peek(b["access_token"].as_str().unwrap()),
    );
    assert_eq!(a["sub"], b["sub"]);
    assert_ne!(a["sid"], b["sid"], "each login is its own session");
    assert_eq!(b["preferred_username"], "alice");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_invalid_grant() {
    let idp = spawn_idp().await;
    let wrong = login(&idp, "alice", "not her password").await;
    let unknown = login(&idp, "mallory", ALICE_PASSWORD).await;
    assert_eq!(wrong.0, 400);
    assert_eq!(
        wrong.1,
        json!({"error": "invalid_grant", "error_description": "Invalid user credentials"})
    );
    assert_eq!(
        unknown, wrong,
        "an unknown user must look like a wrong password"
    );
}

#[tokio::test]
async fn a_disabled_user_is_refused_and_only_told_so_with_the_right_password() {
    let idp = spawn_idp().await;
    let (status, body) = login(&idp, "dora", DORA_PASSWORD).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Account disabled");
    let (_, body) = login(&idp, "dora", "guess").await;
    assert_eq!(body["error_description"], "Invalid user credentials");
}

#[tokio::test]
async fn the_openid_scope_adds_an_id_token_and_an_unknown_scope_is_refused() {
    let idp = spawn_idp().await;
    let res = idp
        .token(&[
            ("grant_type", "password"),
            ("client_id", "tis-ui"),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
            ("scope", "openid"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "openid profile email");
    let id = peek(body["id_token"].as_str().unwrap());
    assert_eq!(id["typ"], "ID");
    assert_eq!(id["aud"], "tis-ui");
    assert_eq!(id["preferred_username"], "alice");

    let res = idp
        .token(&[
            ("grant_type", "password"),
            ("client_id", "tis-ui"),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
            ("scope", "openid superuser"),
        ])
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope");
}

#[tokio::test]
async fn a_client_not_allowed_the_password_grant_is_unauthorized_client() {
    let idp = spawn_idp().await;
    let res = idp
        .token(&[
            ("grant_type", "password"),
            ("client_id", "etl"),
            ("client_secret", ETL_SECRET),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ])
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn repeated_failures_lock_a_username_until_the_window_passes() {
    let idp = spawn_with(|c| {
        c.max_failed_logins = 3;
        c.failed_login_window = Duration::from_secs(60);
    })
    .await;
    for _ in 0..3 {
        assert_eq!(login(&idp, "alice", "wrong").await.0, 400);
    }
    let (status, body) = login(&idp, "alice", ALICE_PASSWORD).await;
    assert_eq!(status, 400, "locked: even the right password is refused");
    assert_eq!(body["error_description"], "Invalid user credentials");

    idp.clock.advance(Duration::from_secs(61));
    let (status, _) = login(&idp, "alice", ALICE_PASSWORD).await;
    assert_eq!(status, 200, "unlocked once the window has passed");
}
