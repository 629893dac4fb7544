//! `/trainee-id/{dbc}/register` and `/mappings`: ids are created once, kept, and moved between
//! designated bodies.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const REGISTER: &str = "profile:register:trainee";
const MAPPINGS: &str = "profile:view:all:mappings";

async fn register(app: &TestApp, dbc: &str, body: Value) -> Value {
    let res = app
        .request(
            Method::POST,
            &format!("/profile/api/trainee-id/{dbc}/register"),
            Some(&holding(&[REGISTER])),
        )
        .json(&body)
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 200, "{:?}", app.backend);
    res.json().await.expect("json")
}

#[tokio::test]
async fn registering_gets_or_creates_trainee_ids_and_moves_trainees_between_bodies() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let first = register(
            &app,
            "1-AIIDWA",
            // `dateAdded` as the original's RegistrationRequest took it: dd/MM/yyyy.
            json!([{"gmcNumber": "7100001", "dateAdded": "31/01/2024"}, {"gmcNumber": "7100002"},
                   {"gmcNumber": "7100001"}]),
        )
        .await;
        let ids = first["traineeIds"].as_array().expect("ids");
        assert_eq!(ids.len(), 2, "a repeated GMC number counts once");
        assert_eq!(
            keys(&ids[0]),
            [
                "active",
                "dateAdded",
                "designatedBodyCode",
                "gmcNumber",
                "tisId"
            ]
        );
        assert_eq!(ids[0]["dateAdded"], "2024-01-31");
        let id1 = ids[0]["tisId"].as_i64().expect("id");

        let again = register(
            &app,
            "1-AIIDWA",
            json!([{"gmcNumber": "7100001", "dateAdded": "2024-01-31"}]),
        )
        .await;
        assert_eq!(again["traineeIds"][0]["tisId"], id1, "{b:?}");

        let moved = register(
            &app,
            "1-AIIDHJ",
            json!([{"gmcNumber": "7100001", "dateAdded": "2025-02-01"}, {"gmcNumber": "7100003"}]),
        )
        .await;
        let moved = moved["traineeIds"].as_array().expect("ids");
        assert_eq!(moved[0]["gmcNumber"], "7100003", "new ones first");
        assert_eq!(moved[1]["tisId"], id1);
        assert_eq!(moved[1]["designatedBodyCode"], "1-AIIDHJ");
        assert_eq!(moved[1]["dateAdded"], "2025-02-01");

        let res = app
            .request(
                Method::GET,
                "/profile/api/trainee-id/1-AIIDWA/mappings?page=0&size=10",
                Some(&holding(&[MAPPINGS])),
            )
            .send()
            .await
            .expect("mappings");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-total-count"], "1");
        let page: Value = res.json().await.expect("json");
        assert_eq!(keys(&page), ["content", "totalElements", "totalPages"]);
        assert_eq!(page["content"][0]["gmcNumber"], "7100002", "{b:?}");
        assert_eq!(page["totalPages"], 1);
    }
}

#[tokio::test]
async fn a_trainee_may_be_registered_without_a_date() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        // The very first registration of a fresh database has no date: the statement must
        // not be prepared with a NULL of the wrong type.
        let v = register(&app, "1-AIIDWA", json!([{"gmcNumber": "7100005"}])).await;
        assert_eq!(v["traineeIds"][0]["dateAdded"], Value::Null, "{b:?}");
        let v = register(&app, "1-AIIDHJ", json!([{"gmcNumber": "7100005"}])).await;
        assert_eq!(
            v["traineeIds"][0]["designatedBodyCode"], "1-AIIDHJ",
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn registration_input_is_checked_before_anything_is_written() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app
        .request(
            Method::POST,
            "/profile/api/trainee-id/1-AIIDWA/register",
            Some(&holding(&[REGISTER])),
        )
        .json(&json!([{"gmcNumber": "7100009"}, {"gmcNumber": " ", "dateAdded": "yesterday"}]))
        .send()
        .await
        .expect("register");
    let (status, code, v) = error_code(res).await;
    assert_eq!((status, code.as_str()), (400, "validation_failed"));
    let fields: Vec<&str> = v["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(fields, ["[1].gmcNumber", "[1].dateAdded"]);
    assert_eq!(
        v["message"], "error.validation",
        "the original's body too: {v}"
    );
    assert_eq!(
        v["fieldErrors"][1],
        json!({"objectName": "registrationRequest", "field": "[1].dateAdded", "message": "typeMismatch"})
    );
    let page = app
        .request(
            Method::GET,
            "/profile/api/trainee-id/1-AIIDWA/mappings",
            Some(&holding(&[MAPPINGS])),
        )
        .send()
        .await
        .expect("mappings");
    assert_eq!(page.headers()["x-total-count"], "0", "nothing was written");
}
