use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{ETL_SECRET, spawn_idp, verify};

#[tokio::test]
async fn a_service_account_gets_its_realm_roles_and_keycloak_username() {
    let idp = spawn_idp().await;
    let res = idp
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "etl"),
            ("client_secret", ETL_SECRET),
        ])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token for client_credentials"
    );
    assert_eq!(body["refresh_expires_in"], 0);
    let c = verify(
        body["access_token"].as_str().unwrap(),
        &idp.jwks().await,
        &idp.issuer,
    )
    .expect("verifies");
    assert_eq!(c["preferred_username"], "service-account-etl");
    assert_eq!(c["azp"], "etl");
    assert_eq!(c["client_id"], "etl");
    assert_eq!(c["aud"], "tis");
    assert_eq!(
        c["realm_access"]["roles"],
        json!(["uma_authorization", "ETL"])
    );
    assert!(
        c.get("sid").is_none(),
        "a service account has no login session"
    );
}

#[tokio::test]
async fn a_client_may_authenticate_with_http_basic() {
    let idp = spawn_idp().await;
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("etl:{ETL_SECRET}"));
    let res = idp
        .http
        .post(idp.token_url("lin"))
        .header("authorization", format!("Basic {creds}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        crate::helpers::peek(body["access_token"].as_str().unwrap())["azp"],
        "etl"
    );
}

async fn refused(idp: &crate::helpers::TestIdp, form: &[(&str, &str)]) -> (u16, Value, bool) {
    let res = idp.token(form).await;
    let status = res.status().as_u16();
    let challenge = res.headers().contains_key("www-authenticate");
    (status, res.json().await.unwrap(), challenge)
}

#[tokio::test]
async fn a_wrong_or_missing_secret_and_an_unknown_client_are_invalid_client_401() {
    let idp = spawn_idp().await;
    let cases: [&[(&str, &str)]; 4] = [
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "etl"),
            ("client_secret", "nope"),
        ],
        &[("grant_type", "client_credentials"), ("client_id", "etl")],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "ghost"),
            ("client_secret", "x"),
        ],
        &[("grant_type", "client_credentials")],
    ];
    for form in cases {
        let (status, body, challenge) = refused(&idp, form).await;
        assert_eq!(status, 401, "{form:?}");
        assert_eq!(body["error"], "invalid_client", "{form:?}");
        assert!(challenge, "401 carries WWW-Authenticate: {form:?}");
    }
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials() {
    let idp = spawn_idp().await;
    let (status, body, _) = refused(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "tis-ui"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unauthorized_client");
}
