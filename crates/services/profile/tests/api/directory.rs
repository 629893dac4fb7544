//! `/users?designatedBodyCode=&permissions=` and `/users/ro-user/{dbc}`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const GET_USERS: &str = "profile:get:users";
const GET_RO: &str = "profile:get:ro:user";

async fn users(app: &TestApp, query: &str) -> Value {
    let res = app
        .request(
            Method::GET,
            &format!("/profile/api/users?{query}"),
            Some(&holding(&[GET_USERS])),
        )
        .send()
        .await
        .expect("users");
    assert_eq!(res.status(), 200, "{:?} {query}", app.backend);
    res.json().await.expect("json")
}

fn names(v: &Value) -> Vec<&str> {
    v["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect()
}

#[tokio::test]
async fn users_are_found_by_their_exact_set_of_designated_bodies() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        // Active users holding a role, whose only designated body is 1-AIIDWA, by first name:
        // not `no.roles` (no role), not admin (every body).
        let v = users(&app, "designatedBodyCode=1-AIIDWA").await;
        assert_eq!(v["total"], 3, "{b:?} {v}");
        assert_eq!(names(&v), ["reval.admin", "ro.officer", "trust.admin"]);
        assert_eq!(
            keys(&v["users"][0]),
            [
                "designatedBodyCodes",
                "emailAddress",
                "firstName",
                "fullName",
                "gmcId",
                "lastName",
                "name",
                "phoneNumber"
            ]
        );
        assert_eq!(v["users"][1]["fullName"], "Demo Responsible Officer");
        assert_eq!(
            v["_links"]["self"]["href"],
            "/profile/api/users?designatedBodyCode=1-AIIDWA"
        );

        let v = users(
            &app,
            "designatedBodyCode=1-AIIDWA&permissions=revalidation:submit:to:gmc",
        )
        .await;
        assert_eq!(names(&v), ["reval.admin", "ro.officer"], "{b:?}");

        let v = users(&app, "designatedBodyCode=1-AIIDWA,1-AIIDVS").await;
        assert_eq!(v["total"], 0, "a subset is not the set");
    }
}

#[tokio::test]
async fn the_responsible_officer_of_a_designated_body_is_a_user_profile() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .request(
                Method::GET,
                "/profile/api/users/ro-user/1-AIIDWA",
                Some(&holding(&[GET_RO])),
            )
            .send()
            .await
            .expect("ro");
        assert_eq!(res.status(), 200, "{b:?}");
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["userName"], "ro.officer");
        assert_eq!(v["gmcId"], "7000001");
        assert_eq!(v["roles"], json!(["RVOfficer"]));

        let (status, code, _) = error_code(
            app.request(
                Method::GET,
                "/profile/api/users/ro-user/1-AIIDHJ",
                Some(&holding(&[GET_RO])),
            )
            .send()
            .await
            .expect("ro"),
        )
        .await;
        assert_eq!((status, code.as_str()), (404, "not_found"));
    }
}
