//! `/roles`, `/restricted-roles`, `/permissions`: the seeded catalogue, writes, and deletes that
//! refuse to leave users or roles pointing at nothing.

use reqwest::Method;
use serde_json::{Value, json};
use tis_auth::RoleCatalogue;

use crate::helpers::*;

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("list")
        .iter()
        .filter_map(|x| x["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn roles_are_listed_by_name_with_their_permissions_and_restricted_ones_can_be_left_out() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let catalogue = RoleCatalogue::tis();
        let all = catalogue.role_names().count();
        let res = app
            .request(Method::GET, "/profile/api/roles?size=50", Some(&admin()))
            .send()
            .await
            .expect("roles");
        assert_eq!(res.headers()["x-total-count"], all.to_string().as_str());
        let roles: Value = res.json().await.expect("json");
        let expected: Vec<String> = catalogue.role_names().map(str::to_owned).collect();
        assert_eq!(names(&roles), expected, "{b:?}");
        let hee_admin = roles
            .as_array()
            .expect("list")
            .iter()
            .find(|r| r["name"] == "HEE Admin")
            .expect("HEE Admin");
        assert_eq!(
            keys(&hee_admin["permissions"][0]),
            [
                "actions",
                "description",
                "effect",
                "name",
                "principal",
                "resource",
                "type"
            ]
        );
        assert_eq!(
            hee_admin["permissions"].as_array().expect("list").len(),
            catalogue.role("HEE Admin").expect("role").len()
        );

        let restricted = app.get_json("/profile/api/restricted-roles").await;
        let mut expected: Vec<String> = tis_profile::demo::RESTRICTED_ROLES
            .iter()
            .map(|r| (*r).to_owned())
            .collect();
        expected.sort();
        assert_eq!(
            restricted,
            json!(expected),
            "the names, as the original's Set<String>"
        );
        let open = app
            .get_json("/profile/api/roles?size=50&excludeRestricted=true")
            .await;
        assert_eq!(names(&open).len(), all - expected.len());
        assert!(!names(&open).contains(&"ETL".to_owned()));
    }
}

#[tokio::test]
async fn a_role_is_created_replaced_and_deleted_only_when_nobody_holds_it() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let role =
            json!({"name": "Curriculum Reader", "permissions": [{"name": "curriculum:view"}]});
        let res = app.send(Method::POST, "/profile/api/roles", &role).await;
        assert_eq!(res.status(), 201, "{b:?}");
        assert_eq!(
            res.headers()["location"],
            "/profile/api/roles/Curriculum%20Reader"
        );
        assert_eq!(
            res.headers()["x-profileapp-alert"],
            "profileApp.role.created"
        );
        assert_eq!(res.headers()["x-profileapp-params"], "Curriculum Reader");
        // As the original's `save`: a POST naming an existing role (in any case) replaces it.
        let shouting = json!({"name": "CURRICULUM READER", "permissions": []});
        let res = app
            .send(Method::POST, "/profile/api/roles", &shouting)
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        let v = app.get_json("/profile/api/roles/curriculum%20reader").await;
        assert_eq!(v["name"], "Curriculum Reader", "the stored name is kept");
        assert_eq!(v["permissions"], json!([]));

        let res = app
            .send(
                Method::PUT,
                "/profile/api/roles",
                &json!({"name": "Curriculum Reader", "restricted": true,
                        "permissions": [{"name": "curriculum:view"}, {"name": "specialty:view"}]}),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["x-profileapp-alert"],
            "profileApp.role.updated"
        );
        let v = app.get_json("/profile/api/roles/Curriculum%20Reader").await;
        assert_eq!(v["restricted"], true);
        assert_eq!(
            names(&v["permissions"]),
            ["curriculum:view", "specialty:view"]
        );

        let (status, _, v) = error_code(
            app.send(
                Method::PUT,
                "/profile/api/roles",
                &json!({"name": "Curriculum Reader", "permissions": [{"name": "no:such"}]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(v["error"]["fields"][0]["field"], "permissions[0].name");
        assert_eq!(
            v["fieldErrors"][0],
            json!({"objectName": "roleDTO", "field": "permissions[0].name", "message": "Valid"})
        );

        let (status, code, v) = error_code(
            app.request(
                Method::DELETE,
                "/profile/api/roles/HEE%20Admin",
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete"),
        )
        .await;
        assert_eq!((status, code.as_str()), (409, "conflict"), "{b:?}");
        assert!(
            v["error"]["message"]
                .as_str()
                .expect("message")
                .contains("users hold it")
        );

        let res = app
            .request(
                Method::DELETE,
                "/profile/api/roles/Curriculum%20Reader",
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete");
        assert_eq!(res.status(), 204, "the later original's No Content");
        let (status, _, _) = error_code(
            app.request(
                Method::GET,
                "/profile/api/roles/Curriculum%20Reader",
                Some(&admin()),
            )
            .send()
            .await
            .expect("get"),
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn permissions_carry_their_policy_and_are_deleted_only_when_no_role_grants_them() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let catalogue = RoleCatalogue::tis();
        let res = app
            .request(
                Method::GET,
                "/profile/api/permissions?page=0&size=5",
                Some(&admin()),
            )
            .send()
            .await
            .expect("permissions");
        assert_eq!(
            res.headers()["x-total-count"],
            catalogue.permissions().count().to_string().as_str()
        );
        let first: Value = res.json().await.expect("json");
        assert_eq!(first.as_array().expect("list").len(), 5);

        let bulk = app
            .get_json("/profile/api/permissions/person:bulk:add:modify")
            .await;
        assert_eq!(
            bulk,
            json!({"name": "person:bulk:add:modify", "type": "PERSON", "description": null,
                   "principal": "tis:profile::user:consolidated_etl",
                   "resource": "tis:people::person:", "actions": ["Create", "Update"],
                   "effect": "Allow"})
        );

        let p = json!({"name": "ltft:approve", "type": "PERSON", "description": "Approve LTFT",
                       "resource": "tis:people::ltft:", "actions": ["Approve"], "effect": "Deny"});
        let res = app.send(Method::POST, "/profile/api/permissions", &p).await;
        assert_eq!(res.status(), 201, "{b:?}");
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["principal"], "tis:profile::user:");
        assert_eq!(v["effect"], "Deny");
        let res = app
            .send(
                Method::PUT,
                "/profile/api/permissions",
                &json!({"name": "LTFT:approve", "type": "PERSON", "resource": "tis:people::ltft:",
                        "actions": ["Approve", "Reject"]}),
            )
            .await;
        assert_eq!(res.status(), 201, "the original's PUT was its POST");
        assert_eq!(
            res.headers()["x-profileapp-alert"],
            "profileApp.permission.created"
        );
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["actions"], json!(["Approve", "Reject"]));
        assert_eq!(v["name"], "ltft:approve", "replaced under its stored name");

        let (status, code, _) = error_code(
            app.request(
                Method::DELETE,
                "/profile/api/permissions/person:view",
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete"),
        )
        .await;
        assert_eq!((status, code.as_str()), (409, "conflict"), "{b:?}");
        let res = app
            .request(
                Method::DELETE,
                "/profile/api/permissions/ltft:approve",
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete");
        assert_eq!(res.status(), 204);
    }
}
