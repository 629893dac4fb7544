//! `tis idp` reading Keycloak's realm-export JSON: the production export Keycloak imports
//! (`deploy/kubernetes/overlays/production/lin-realm.json`, no users) and the demo realm in
//! the same format, each served and issuing tokens whose roles are the export's.

use std::sync::Arc;

use serde_json::{Value, json};
use tis_idp::clock::ManualClock;
use tis_idp::realm::demo;

use crate::helpers::{TestIdp, spawn_in, test_config, verify};

const ETL_SECRET: &str = "etl-secret-from-the-environment";

/// Serves `export` (a realm-export JSON text) as the realm file `lin-realm.json`. The
/// placeholders are filled in first, as a deployment's tooling (or Keycloak) would: the test
/// process's environment is not touched.
async fn serve(export: &str) -> TestIdp {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let text = export
        .replace("${TIS_ETL_CLIENT_SECRET}", ETL_SECRET)
        .replace("${TIS_WEB_CLIENT_SECRET}", "web-secret");
    let path = dir.path().join("lin-realm.json");
    std::fs::write(&path, text).expect("write the export");
    let mut config = test_config(&dir);
    config.realm_file = path;
    spawn_in(dir, config, Arc::new(ManualClock::new())).await
}

async fn token(idp: &TestIdp, form: &[(&str, &str)]) -> Value {
    let res = idp.token(form).await;
    assert_eq!(res.status(), 200, "{form:?}");
    let body: Value = res.json().await.expect("json");
    let claims = verify(
        body["access_token"].as_str().expect("an access token"),
        &idp.jwks().await,
        &idp.issuer,
    )
    .expect("the token verifies with aud = tis");
    json!({"body": body, "claims": claims})
}

#[tokio::test]
async fn the_production_realm_export_serves_etl_with_its_role_and_lifetimes() {
    // The export's access-token lifespan, changed from the default 300 s, must be the one used.
    let export: Value =
        serde_json::from_str(demo::PRODUCTION_REALM_EXPORT).expect("the production export");
    let mut export = export;
    export["accessTokenLifespan"] = json!(120);
    let idp = serve(&export.to_string()).await;
    let t = token(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "etl"),
            ("client_secret", ETL_SECRET),
        ],
    )
    .await;
    assert_eq!(t["body"]["expires_in"], 120);
    assert_eq!(t["claims"]["preferred_username"], "service-account-etl");
    assert_eq!(
        t["claims"]["realm_access"]["roles"],
        json!(["offline_access", "uma_authorization", "ETL"])
    );
    // No users: the export has none, and the provider invents none.
    let res = idp
        .token(&[
            ("grant_type", "password"),
            ("client_id", "tis-ui"),
            ("username", "admin"),
            ("password", demo::DEMO_PASSWORD),
        ])
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
    // A wrong secret is still refused.
    let res = idp
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "etl"),
            ("client_secret", "tis"),
        ])
        .await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_demo_realm_in_keycloaks_format_signs_in_its_users_with_their_roles() {
    let export = demo::demo_realm_export().expect("the demo export");
    let idp = serve(&export.to_string()).await;
    for (user, role, dbcs) in [
        ("admin", "HEE Admin", demo::ALL_DBCS.len()),
        ("trust.admin", "HEE Trust Admin", 1),
    ] {
        let t = token(
            &idp,
            &[
                ("grant_type", "password"),
                ("client_id", "tis-ui"),
                ("username", user),
                ("password", demo::DEMO_PASSWORD),
            ],
        )
        .await;
        assert_eq!(t["body"]["expires_in"], 300);
        assert_eq!(
            t["claims"]["realm_access"]["roles"],
            json!(["offline_access", "uma_authorization", role]),
            "{user}"
        );
        assert_eq!(t["claims"]["dbc"].as_array().expect("dbc").len(), dbcs);
        assert_eq!(t["claims"]["preferred_username"], user);
    }
}

#[tokio::test]
async fn an_export_naming_an_unset_placeholder_is_refused_at_start_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lin-realm.json");
    std::fs::write(
        &path,
        demo::PRODUCTION_REALM_EXPORT
            .replace("${TIS_WEB_CLIENT_SECRET}", "web-secret")
            .replace("TIS_ETL_CLIENT_SECRET", "TIS_TEST_SURELY_UNSET_42"),
    )
    .expect("write");
    let mut config = test_config(&dir);
    config.realm_file = path;
    let Err(err) = tis_idp::App::build(config).await else {
        panic!("the provider must refuse to start");
    };
    let err = err.to_string();
    assert!(err.contains("TIS_TEST_SURELY_UNSET_42"), "{err}");
}

/// A user exported by Keycloak with its default kind of hash (PBKDF2): `user1` / `password`,
/// pbkdf2-sha256, 27,500 iterations, as Keycloak 25 wrote it in a published workshop realm.
/// Served for real: the right password gets a token, a wrong one `invalid_grant`, and an
/// unknown user the same answer.
#[tokio::test]
async fn a_user_exported_with_keycloaks_pbkdf2_hash_signs_in_with_that_password() {
    let mut export: Value =
        serde_json::from_str(demo::PRODUCTION_REALM_EXPORT).expect("the production export");
    export["users"] = json!([{
        "username": "user1", "enabled": true, "realmRoles": ["HEE Admin"],
        "credentials": [{"type": "password",
            "secretData": "{\"value\":\"JsfNbCOIdZUbyBJ+BT+VoGI91Ec2rWLOvkLPDaX8e9k=\",\"salt\":\"P5rtFkGtPfoaryJ6PizUJw==\",\"additionalParameters\":{}}",
            "credentialData": "{\"hashIterations\":27500,\"algorithm\":\"pbkdf2-sha256\",\"additionalParameters\":{}}"}]
    }]);
    let idp = serve(&export.to_string()).await;
    let form = |user: &'static str, password: &'static str| {
        [
            ("grant_type", "password"),
            ("client_id", "tis-ui"),
            ("username", user),
            ("password", password),
        ]
    };
    let t = token(&idp, &form("user1", "password")).await;
    assert_eq!(t["claims"]["preferred_username"], "user1");
    assert_eq!(
        t["claims"]["realm_access"]["roles"],
        json!(["offline_access", "uma_authorization", "HEE Admin"])
    );
    for (user, password) in [
        ("user1", "Password"),
        ("user1", "password "),
        ("nobody", "password"),
    ] {
        let res = idp.token(&form(user, password)).await;
        assert_eq!(res.status(), 400, "{user}/{password}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"], "invalid_grant", "{user}/{password}");
    }
}
