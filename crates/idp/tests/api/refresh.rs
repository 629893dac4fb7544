use std::time::Duration;

use serde_json::Value;

use crate::helpers::{ALICE_PASSWORD, peek, spawn_idp, spawn_with, verify};

async fn refresh(idp: &crate::helpers::TestIdp, client: &str, token: &str) -> (u16, Value) {
    let res = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", token),
        ])
        .await;
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_refresh_gives_new_tokens_in_the_same_session_and_a_new_refresh_token() {
    let idp = spawn_idp().await;
    let first = idp.login_alice().await;
    let old_refresh = first["refresh_token"].as_str().unwrap();
    idp.clock.advance(Duration::from_secs(120));
    let (status, second) = refresh(&idp, "tis-ui", old_refresh).await;
    assert_eq!(status, 200, "{second}");
    let new_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh, "refresh tokens rotate");
    let a1 = peek(first["access_token"].as_str().unwrap());
    let a2 = verify(
        second["access_token"].as_str().unwrap(),
        &idp.jwks().await,
        &idp.issuer,
    )
    .expect("verifies");
    assert_eq!(a2["sid"], a1["sid"]);
    assert_eq!(a2["sub"], a1["sub"]);
    assert_eq!(
        a2["iat"].as_u64().unwrap(),
        a1["iat"].as_u64().unwrap() + 120
    );
    assert_ne!(peek(new_refresh)["jti"], peek(old_refresh)["jti"]);
}

#[tokio::test]
async fn a_used_refresh_token_is_refused_and_its_session_revoked() {
    let idp = spawn_idp().await;
    let first = idp.login_alice().await;
    let old = first["refresh_token"].as_str().unwrap();
    let (_, second) = refresh(&idp, "tis-ui", old).await;
    let successor = second["refresh_token"].as_str().unwrap();

    let (status, body) = refresh(&idp, "tis-ui", old).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = refresh(&idp, "tis-ui", successor).await;
    assert_eq!(status, 400, "a replay revokes the whole session");
}

#[tokio::test]
async fn an_expired_refresh_token_is_invalid_grant() {
    let idp = spawn_idp().await;
    let first = idp.login_alice().await;
    idp.clock.advance(Duration::from_secs(30 * 60 + 1));
    let (status, body) = refresh(&idp, "tis-ui", first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Invalid refresh token");
}

#[tokio::test]
async fn a_refresh_token_of_another_client_is_invalid_grant() {
    let idp = spawn_idp().await;
    let first = idp.login_alice().await;
    let (status, body) = refresh(&idp, "other-ui", first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("don't match")
    );
    let (status, _) = refresh(&idp, "tis-ui", first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the refusal did not use the token up");
}

#[tokio::test]
async fn an_access_token_or_garbage_is_not_a_refresh_token() {
    let idp = spawn_idp().await;
    let first = idp.login_alice().await;
    for bad in [
        first["access_token"].as_str().unwrap(),
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJ0eXAiOiJSZWZyZXNoIn0.",
    ] {
        let (status, body) = refresh(&idp, "tis-ui", bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["error"], "invalid_grant", "{bad}");
    }
}

#[tokio::test]
async fn a_refresh_token_from_another_realm_is_invalid_grant() {
    let idp = spawn_idp().await;
    let res = idp
        .token_in(
            "other",
            &[
                ("grant_type", "password"),
                ("client_id", "tis-ui"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ],
        )
        .await;
    let other: Value = res.json().await.unwrap();
    let (status, body) = refresh(&idp, "tis-ui", other["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn refreshing_cannot_keep_a_session_alive_past_its_maximum() {
    let idp = spawn_with(|c| c.session_max_lifetime = Duration::from_secs(40 * 60)).await;
    let first = idp.login_alice().await;
    idp.clock.advance(Duration::from_secs(25 * 60));
    let (status, second) = refresh(&idp, "tis-ui", first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        second["refresh_expires_in"],
        15 * 60,
        "the new refresh token ends with the session"
    );
    idp.clock.advance(Duration::from_secs(15 * 60));
    let (status, _) = refresh(&idp, "tis-ui", second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
}
