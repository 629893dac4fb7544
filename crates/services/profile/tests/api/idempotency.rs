//! `Idempotency-Key` on every route of Profile that writes, on both backends: a retry gets the
//! first response and writes nothing; the same key for another request is a 422.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::*;

const KEY: &str = "Idempotency-Key";
const REGISTER: &str = "profile:register:trainee";
const MAPPINGS: &str = "profile:view:all:mappings";
const ROLES: &str = "/profile/api/roles";

/// `method path` with `body` and `Idempotency-Key: key`, as `principal`.
async fn keyed(
    app: &TestApp,
    principal: &str,
    (method, path): (Method, &str),
    key: &str,
    body: &Value,
) -> Response {
    app.request(method, path, Some(principal))
        .header(KEY, key)
        .json(body)
        .send()
        .await
        .expect("send")
}

/// A role granting one permission.
fn role(name: &str, permission: &str) -> Value {
    json!({"name": name, "permissions": [{"name": permission}]})
}

fn replayed(res: &Response) -> bool {
    res.headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

/// `X-Total-Count` of a list, read with `principal`.
async fn total(app: &TestApp, list: &str, principal: &str) -> u64 {
    let res = app
        .request(Method::GET, &format!("{list}?size=1"), Some(principal))
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 200, "{list}");
    res.headers()["x-total-count"]
        .to_str()
        .ok()
        .and_then(|n| n.parse().ok())
        .expect("X-Total-Count")
}

#[tokio::test]
async fn a_replayed_keyed_post_returns_the_first_result_and_creates_nothing_new() {
    let admin = admin();
    let kim = json!({"name": "kim.lee", "firstName": "Kim", "active": true,
                     "roles": [{"name": "HEE Trust Admin"}], "designatedBodyCodes": ["None"]});
    let role = role("Curriculum Reader", "curriculum:view");
    let permission = json!({"name": "ltft:approve", "type": "PERSON", "resource": "tis:people::ltft:",
                            "actions": ["Approve"], "effect": "Deny"});
    let cases = [
        ("/profile/api/hee-users", "user-1", kim),
        (ROLES, "role-1", role),
        ("/profile/api/permissions", "permission-1", permission),
    ];
    for b in BACKENDS {
        let app = spawn_app(b).await;
        for (path, key, body) in &cases {
            let before = total(&app, path, &admin).await;
            let first = keyed(&app, &admin, (Method::POST, path), key, body).await;
            assert_eq!(first.status(), 201, "{b:?} {path}");
            assert!(!replayed(&first), "{b:?} {path}");
            let location = first.headers()["location"].clone();
            let stored: Value = first.json().await.expect("json");

            let again = keyed(&app, &admin, (Method::POST, path), key, body).await;
            assert_eq!(again.status(), 201, "{b:?} {path}: the first status");
            assert!(replayed(&again), "{b:?} {path}");
            assert_eq!(again.headers()["location"], location, "{b:?} {path}");
            assert_eq!(again.json::<Value>().await.expect("json"), stored);
            assert_eq!(total(&app, path, &admin).await, before + 1, "{b:?} {path}");

            // Without the key the same request really runs again: as the original's `save`, it
            // replaces the record of that name (201 again, nothing more created).
            let unkeyed = app.send(Method::POST, path, body).await;
            assert_eq!(unkeyed.status(), 201, "{b:?} {path}");
            assert!(!replayed(&unkeyed), "{b:?} {path}");
            assert_eq!(total(&app, path, &admin).await, before + 1, "{b:?} {path}");
        }

        // A registration run twice answers "already of this body" the second time; the
        // replay answers what the first run did, and no id is made twice.
        let registrar = holding(&[REGISTER, MAPPINGS]);
        let path = "/profile/api/trainee-id/1-AIIDWA/register";
        let body =
            json!([{"gmcNumber": "7200001"}, {"gmcNumber": "7200002", "dateAdded": "2024-05-01"}]);
        let first = keyed(&app, &registrar, (Method::POST, path), "register-1", &body).await;
        assert_eq!(first.status(), 200, "{b:?}");
        let stored: Value = first.json().await.expect("json");
        let again = keyed(&app, &registrar, (Method::POST, path), "register-1", &body).await;
        assert!(replayed(&again), "{b:?}");
        assert_eq!(again.json::<Value>().await.expect("json"), stored);
        let mappings = "/profile/api/trainee-id/1-AIIDWA/mappings";
        assert_eq!(total(&app, mappings, &registrar).await, 2, "{b:?}");
    }
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_with_422_and_writes_nothing() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let admin = admin();
        let reader = role("Curriculum Reader", "curriculum:view");
        let res = keyed(&app, &admin, (Method::POST, ROLES), "k", &reader).await;
        assert_eq!(res.status(), 201, "{b:?}");
        let other = role("Specialty Reader", "specialty:view");
        let res = keyed(&app, &admin, (Method::POST, ROLES), "k", &other).await;
        let (status, code, body) = error_code(res).await;
        assert_eq!(
            (status, code.as_str()),
            (422, "idempotency_key_reused"),
            "{b:?}: {body}"
        );
        let path = format!("{ROLES}/Specialty%20Reader");
        let res = app.request(Method::GET, &path, Some(&admin)).send().await;
        assert_eq!(res.expect("GET").status(), 404, "{b:?}: nothing ran");
    }
}

#[tokio::test]
async fn puts_honour_the_key_too_as_in_reference() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let (admin, reader) = (admin(), role("Curriculum Reader", "curriculum:view"));
        let first = keyed(&app, &admin, (Method::PUT, ROLES), "put-1", &reader).await;
        assert_eq!(first.status(), 201, "{b:?}: a PUT of a new name creates");
        let again = keyed(&app, &admin, (Method::PUT, ROLES), "put-1", &reader).await;
        assert_eq!(again.status(), 201, "{b:?}: the first answer, not 200");
        assert!(replayed(&again), "{b:?}");
    }
}
