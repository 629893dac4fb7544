//! `/userinfo`: the original `UserProfile` shape, the two negative answers, and how the caller
//! must authenticate.

use reqwest::Method;
use serde_json::{Value, json};
use tis_auth::RoleCatalogue;
use tis_auth::testing::TestKey;
use tis_profile::demo::{ALL_DBCS, TRUST_ADMIN_TRUST};

use crate::helpers::*;

/// The fields of the original `UserProfile` (DOMAIN §1.3; `UserProfileControllerTest`).
const USER_PROFILE_FIELDS: &[&str] = &[
    "assignedProgrammes",
    "assignedTrusts",
    "designatedBodyCodes",
    "emailAddress",
    "firstName",
    "fullName",
    "gmcId",
    "lastName",
    "permissionPolicies",
    "permissions",
    "phoneNumber",
    "roles",
    "userName",
];

#[tokio::test]
async fn userinfo_answers_the_callers_profile_in_exactly_the_original_shape() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app.userinfo_response("admin").await;
        assert_eq!(res.status(), 200, "{b:?}");
        let v: Value = res.json().await.expect("json");
        assert_eq!(keys(&v), USER_PROFILE_FIELDS, "{b:?}");
        assert_eq!(v["userName"], "admin");
        assert_eq!(v["fullName"], "Demo Admin");
        assert_eq!(v["emailAddress"], "admin@tis.localhost");
        assert_eq!(
            v["gmcId"],
            Value::Null,
            "absent values are null, not left out"
        );
        let mut all: Vec<&str> = ALL_DBCS.to_vec();
        all.sort();
        assert_eq!(v["designatedBodyCodes"], json!(all));
        assert_eq!(v["roles"], json!(["HEE Admin"]));
        let catalogue = RoleCatalogue::tis();
        let granted: Vec<&String> = catalogue.role("HEE Admin").expect("role").iter().collect();
        assert_eq!(v["permissions"], json!(granted));
        let policies = v["permissionPolicies"].as_array().expect("policies");
        assert_eq!(policies.len(), granted.len());
        assert_eq!(
            keys(&policies[0]),
            ["actions", "effect", "name", "principal", "resource"]
        );
        let person_view = policies
            .iter()
            .find(|p| p["name"] == "person:view")
            .expect("person:view");
        assert_eq!(
            person_view,
            &json!({"name": "person:view", "principal": "tis:profile::user:",
                    "resource": "tis:people::person:", "actions": ["View"], "effect": "Allow"})
        );
        assert_eq!(v["assignedTrusts"], json!([]));
    }
}

#[tokio::test]
async fn assigned_trusts_and_programmes_use_the_original_names() {
    let app = spawn_app(Backend::Sqlite).await;
    let v: Value = app
        .userinfo_response("trust.admin")
        .await
        .json()
        .await
        .expect("json");
    let (id, code, name) = TRUST_ADMIN_TRUST;
    assert_eq!(
        v["assignedTrusts"],
        json!([{"id": id, "trustCode": code, "trustName": name}])
    );
    assert_eq!(v["designatedBodyCodes"], json!(["1-AIIDWA"]));
    let v: Value = app
        .userinfo_response("observer")
        .await
        .json()
        .await
        .expect("json");
    let programme = &v["assignedProgrammes"][0];
    assert_eq!(keys(programme), ["id", "programmeName", "programmeNumber"]);
}

#[tokio::test]
async fn a_user_without_designated_bodies_has_the_single_code_none() {
    let app = spawn_app(Backend::Sqlite).await;
    let p = app.profile_of("service-account-etl").await;
    assert_eq!(
        p.designated_body_codes.into_iter().collect::<Vec<_>>(),
        vec!["None"]
    );
    assert!(p.permissions.contains("profile:register:trainee"));
}

#[tokio::test]
async fn a_policy_whose_principal_names_the_user_is_listed_even_without_a_role_granting_it() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .send(
                Method::POST,
                "/profile/api/permissions",
                &json!({"name": "observer:special", "type": "PERSON",
                        "principal": "tis:profile::user:observer",
                        "resource": "tis:people::person:", "actions": ["Update"]}),
            )
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        let p = app.profile_of("observer").await;
        assert!(
            p.permission_policies
                .iter()
                .any(|x| x.name == "observer:special"),
            "{b:?}"
        );
        assert!(
            !p.permissions.contains("observer:special"),
            "a name in `permissions` comes from a role only"
        );
        let other = app.profile_of("admin").await;
        assert!(
            !other
                .permission_policies
                .iter()
                .any(|x| x.name == "observer:special")
        );
    }
}

#[tokio::test]
async fn an_unknown_user_is_404_no_profile_and_an_inactive_one_403_inactive_user() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let (status, code, _) = error_code(app.userinfo_response("nobody").await).await;
        assert_eq!((status, code.as_str()), (404, "no_profile"), "{b:?}");
        let (status, code, _) = error_code(app.userinfo_response("inactive.admin").await).await;
        assert_eq!((status, code.as_str()), (403, "inactive_user"), "{b:?}");
    }
}

#[tokio::test]
async fn the_user_name_of_the_token_is_matched_ignoring_case_and_the_legacy_header_works() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app
        .client
        .get(app.url("/profile/api/userinfo"))
        .header("OIDC_access_token", app.access_token("Trust.Admin"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["userName"], "trust.admin");
}

#[tokio::test]
async fn userupdate_is_the_deprecated_alias_of_userinfo() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app
        .client
        .get(app.url("/profile/api/userupdate"))
        .bearer_auth(app.access_token("observer"))
        .send()
        .await
        .expect("userupdate");
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.expect("json");
    assert_eq!(keys(&v), USER_PROFILE_FIELDS);
    assert_eq!(v["roles"], json!(["HEE Programme Observer"]));
}

#[tokio::test]
async fn userinfo_needs_a_valid_access_token_and_not_a_principal() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, code, _) = error_code(
        app.client
            .get(app.url("/profile/api/userinfo"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!((status, code.as_str()), (401, "missing_token"));

    let (status, code, _) = error_code(
        app.request(Method::GET, "/profile/api/userinfo", Some(&admin()))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (401, "missing_token"),
        "a principal is not how /userinfo is called"
    );

    let forged = access_token_with(&TestKey::ec("idp-key"), &app.idp.issuer(), "admin");
    let (status, _, _) = error_code(
        app.client
            .get(app.url("/profile/api/userinfo"))
            .bearer_auth(forged)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(
        status, 401,
        "a token signed with another key under the same kid"
    );
}
