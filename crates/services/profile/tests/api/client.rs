//! Profile as its callers see it: tis-profile-client resolving users from the real service,
//! and batch callers that send an access token instead of a principal.

use reqwest::Method;
use tis_auth::AccessClaims;
use tis_mesh::StaticDiscovery;
use tis_profile_client::{ClientError, ProfileClient, ProfileClientConfig};

use crate::helpers::*;

fn claims(app: &TestApp, user: &str) -> AccessClaims {
    serde_json::from_value(serde_json::json!({
        "iss": app.idp.issuer(), "aud": "tis", "exp": 1, "preferred_username": user
    }))
    .expect("claims")
}

#[tokio::test]
async fn the_profile_client_resolves_users_from_the_real_service_with_their_own_tokens() {
    let app = spawn_app(Backend::Sqlite).await;
    let client = ProfileClient::new(
        &ProfileClientConfig::default(),
        StaticDiscovery::new([app.addr]),
    )
    .expect("client");

    let resolved = client
        .resolve(
            &app.access_token("trust.admin"),
            &claims(&app, "trust.admin"),
        )
        .await
        .expect("profile");
    assert!(!resolved.stale);
    assert_eq!(resolved.profile, app.profile_of("trust.admin").await);

    let err = client
        .resolve(&app.access_token("nobody"), &claims(&app, "nobody"))
        .await
        .expect_err("unknown");
    assert_eq!(err, ClientError::NoProfile("nobody".into()));
    assert_eq!(err.to_http().status, 403);
    let err = client
        .resolve(
            &app.access_token("inactive.admin"),
            &claims(&app, "inactive.admin"),
        )
        .await
        .expect_err("inactive");
    assert_eq!(err.to_http().code, "inactive_user");
    assert_eq!(client.stats().fetches, 3);
}

#[tokio::test]
async fn a_caller_with_an_access_token_is_authorised_from_profiles_own_database() {
    let app = spawn_app(Backend::Sqlite).await;
    let get = |user: &str| {
        app.client
            .get(app.url("/profile/api/hee-users"))
            .bearer_auth(app.access_token(user))
            .send()
    };
    assert_eq!(get("profile.admin").await.expect("get").status(), 200);
    let (status, code, _) = error_code(get("admin").await.expect("get")).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    let (status, code, _) = error_code(get("nobody").await.expect("get")).await;
    assert_eq!((status, code.as_str()), (403, "no_profile"));
    let (status, code, _) = error_code(get("inactive.admin").await.expect("get")).await;
    assert_eq!((status, code.as_str()), (403, "inactive_user"));
    let res = app
        .request(Method::GET, "/profile/api/roles", Some("not-a-principal"))
        .bearer_auth(app.access_token("profile.admin"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        res.status(),
        401,
        "a bad principal is never upgraded by an access token"
    );
}
