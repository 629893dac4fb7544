//! `/hee-users`: create, replace, read (exact, ignoring case, by query, by roles), page,
//! search and delete, on both backends; designated bodies checked against a real Reference.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn jane() -> Value {
    json!({
        "name": "jane.doe", "firstName": "Jane", "lastName": "Doe", "gmcId": "1234567",
        "emailAddress": "jane.doe@nhs.net", "active": true, "password": "ignored by Profile",
        "roles": [{"name": "HEE Trust Admin"}],
        "designatedBodyCodes": ["1-AIIDWA"],
        "associatedTrusts": [{"trustId": 3, "trustCode": "RYJ", "trustName": "Imperial College Healthcare NHS Trust"}],
        "associatedProgrammes": [{"programmeId": 7, "programmeName": "GP", "programmeNumber": "NWL-GP-1"}]
    })
}

#[tokio::test]
async fn a_user_is_created_read_replaced_and_deleted() {
    let reference = start_reference().await;
    for b in BACKENDS {
        let app = spawn_with(b, vec![reference.addr], |_| {}).await;
        let res = app
            .send(Method::POST, "/profile/api/hee-users", &jane())
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        assert_eq!(res.headers()["location"], "/profile/api/hee-users/jane.doe");
        assert_eq!(
            res.headers()["x-profileapp-alert"],
            "profileApp.heeUser.created"
        );
        assert_eq!(res.headers()["x-profileapp-params"], "jane.doe");
        let created: Value = res.json().await.expect("json");
        assert_eq!(
            keys(&created),
            [
                "active",
                "associatedProgrammes",
                "associatedTrusts",
                "designatedBodyCodes",
                "emailAddress",
                "firstName",
                "gmcId",
                "lastName",
                "name",
                "phoneNumber",
                "roles"
            ]
        );
        assert_eq!(created["roles"][0]["name"], "HEE Trust Admin");
        assert!(
            created["roles"][0]["permissions"]
                .as_array()
                .expect("permissions")
                .iter()
                .any(|p| p["name"] == "person:view" && p["type"] == "PERSON")
        );
        assert_eq!(
            created["associatedTrusts"],
            json!([{"trustId": 3, "trustCode": "RYJ", "trustName": "Imperial College Healthcare NHS Trust"}])
        );

        // As the original's `save` under its case-insensitive key: a POST naming an existing
        // user, in any case, replaces it and keeps the stored name.
        let mut shouting = jane();
        shouting["name"] = json!("JANE.DOE");
        shouting["gmcId"] = json!("7654321");
        let again = app
            .send(Method::POST, "/profile/api/hee-users", &shouting)
            .await;
        assert_eq!(again.status(), 201, "{b:?}");
        let again: Value = again.json().await.expect("json");
        assert_eq!(
            (&again["name"], &again["gmcId"]),
            (&json!("jane.doe"), &json!("7654321"))
        );
        let users = app.get_json("/profile/api/hee-users?search=jane").await;
        assert_eq!(users["totalElements"], 1, "names are unique ignoring case");

        let one = app.get_json("/profile/api/hee-users/JANE.doe").await;
        assert_eq!(one["name"], "jane.doe", "looked up ignoring case");
        let ci = app
            .get_json("/profile/api/hee-users/Jane.Doe/ignore-case")
            .await;
        assert_eq!(ci[0]["name"], "jane.doe", "a list: {ci}");
        assert_eq!(ci.as_array().map(Vec::len), Some(1));
        let none = app
            .get_json("/profile/api/hee-users/nobody.here/ignore-case")
            .await;
        assert_eq!(none, json!([]));
        let single = app
            .get_json("/profile/api/single-hee-users?username=Jane.Doe")
            .await;
        assert_eq!(single["name"], "jane.doe");

        let mut changed = jane();
        changed["roles"] = json!([{"name": "HEE Trust Observer"}]);
        changed["designatedBodyCodes"] = json!(["1-AIIDWI", "1-AIIDVS"]);
        changed["associatedTrusts"] = json!([]);
        changed["active"] = json!(false);
        let res = app
            .send(Method::PUT, "/profile/api/hee-users", &changed)
            .await;
        assert_eq!(res.status(), 200, "{b:?}");
        assert_eq!(
            res.headers()["x-profileapp-alert"],
            "profileApp.heeUser.updated"
        );
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["roles"][0]["name"], "HEE Trust Observer");
        assert_eq!(v["designatedBodyCodes"], json!(["1-AIIDVS", "1-AIIDWI"]));
        assert_eq!(v["associatedTrusts"], json!([]));
        assert_eq!(v["active"], false);
        let (status, code, _) = error_code(app.userinfo_response("jane.doe").await).await;
        assert_eq!((status, code.as_str()), (403, "inactive_user"));

        let mut fresh = jane();
        fresh["name"] = json!("john.smith");
        let res = app
            .send(Method::PUT, "/profile/api/hee-users", &fresh)
            .await;
        assert_eq!(res.status(), 201, "PUT creates, as the original did");

        let res = app
            .request(
                Method::DELETE,
                "/profile/api/hee-users/jane.doe",
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete");
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["x-profileapp-alert"],
            "profileApp.heeUser.deleted"
        );
        let (status, code, _) = error_code(
            app.request(
                Method::GET,
                "/profile/api/hee-users/jane.doe",
                Some(&admin()),
            )
            .send()
            .await
            .expect("get"),
        )
        .await;
        assert_eq!((status, code.as_str()), (404, "not_found"));
        let (status, _, _) = error_code(
            app.request(
                Method::DELETE,
                "/profile/api/hee-users/jane.doe",
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete"),
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn the_user_list_is_a_spring_page_with_paging_headers_search_and_sort() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .request(
                Method::GET,
                "/profile/api/hee-users?page=1&size=2&sort=name,desc",
                Some(&admin()),
            )
            .send()
            .await
            .expect("page");
        assert_eq!(res.status(), 200, "{b:?}");
        let total = tis_profile::demo::USERS.len();
        assert_eq!(res.headers()["x-total-count"], total.to_string().as_str());
        let link = res.headers()["link"].to_str().expect("link").to_owned();
        assert!(
            link.starts_with(
                "</profile/api/hee-users?page=2&size=2&sort=name%2Cdesc>; rel=\"next\""
            ),
            "{link}"
        );
        let page: Value = res.json().await.expect("json");
        assert_eq!(page["totalElements"], total);
        assert_eq!(page["number"], 1);
        assert_eq!(page["size"], 2);
        assert_eq!(page["first"], false);
        let mut names: Vec<&str> = tis_profile::demo::USERS.iter().map(|u| u.name).collect();
        names.sort();
        names.reverse();
        assert_eq!(page["content"][0]["name"], names[2], "{b:?}");

        let found = app.get_json("/profile/api/hee-users?search=TRUST").await;
        let found: Vec<&str> = found["content"]
            .as_array()
            .expect("content")
            .iter()
            .filter_map(|u| u["name"].as_str())
            .collect();
        assert_eq!(found, vec!["trust.admin"], "{b:?}");
        let found = app.get_json("/profile/api/hee-users?search=100%25").await;
        assert_eq!(
            found["totalElements"], 0,
            "LIKE wildcards in the search match literally"
        );
    }
}

#[tokio::test]
async fn users_holding_any_of_the_named_roles_are_listed() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let v = app
            .get_json("/profile/api/hee-users-with-roles/HEE%20Admin,RVOfficer")
            .await;
        let names: Vec<&str> = v
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|u| u["name"].as_str())
            .collect();
        assert_eq!(
            names,
            vec!["admin", "inactive.admin", "ro.officer"],
            "{b:?}"
        );
        assert_eq!(
            keys(&v[0]),
            ["emailAddress", "firstName", "gmcId", "lastName", "name"],
            "BasicHeeUserDTO"
        );
    }
}

#[tokio::test]
async fn unknown_roles_and_designated_bodies_are_400s_naming_the_field() {
    let reference = start_reference().await;
    let app = spawn_with(Backend::Sqlite, vec![reference.addr], |_| {}).await;
    let mut body = jane();
    body["roles"] = json!([{"name": "HEE Trust Admin"}, {"name": "Wizard"}]);
    let (status, code, v) = error_code(
        app.send(Method::POST, "/profile/api/hee-users", &body)
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "validation_failed"));
    assert_eq!(v["error"]["fields"][0]["field"], "roles[1].name");
    assert_eq!(v["message"], "error.validation");
    assert_eq!(v["fieldErrors"][0]["objectName"], "heeUserDTO");

    let mut body = jane();
    body["designatedBodyCodes"] = json!(["1-AIIDWA", "NOT-A-DBC", "None"]);
    let (status, _, v) = error_code(
        app.send(Method::POST, "/profile/api/hee-users", &body)
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["error"]["fields"],
        json!([{"field": "designatedBodyCodes[1]", "message": "no designated body with code NOT-A-DBC"}]),
        "`None` is never checked"
    );
}
