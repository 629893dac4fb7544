//! `Idempotency-Key` on the routes that write, on both backends.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::*;

const KEY: &str = "Idempotency-Key";

async fn post_with_key(app: &TestApp, path: &str, key: &str, body: &Value) -> Response {
    app.request(Method::POST, path, Some(&admin()))
        .header(KEY, key)
        .json(body)
        .send()
        .await
        .expect("POST")
}

fn replayed(res: &Response) -> bool {
    res.headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

async fn count(app: &TestApp, plural: &str) -> usize {
    app.get_json(&format!("/reference/api/{plural}?size=50"))
        .await
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn a_retried_create_returns_the_first_response_and_writes_once() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let body = json!({"code": "DR", "label": "Doctor"});
        let first = post_with_key(&app, "/reference/api/titles", "k-1", &body).await;
        assert_eq!(first.status(), 201, "{b:?}");
        assert!(!replayed(&first));
        let location = first.headers()["location"].clone();
        let stored: Value = first.json().await.expect("json");

        let again = post_with_key(&app, "/reference/api/titles", "k-1", &body).await;
        assert_eq!(again.status(), 201, "{b:?}: the original status");
        assert!(replayed(&again), "{b:?}");
        assert_eq!(again.headers()["location"], location);
        assert_eq!(again.json::<Value>().await.expect("json"), stored, "{b:?}");
        assert_eq!(count(&app, "titles").await, 1, "{b:?}: written once");

        let bulk = json!([{"code": "MR", "label": "Mister"}, {"code": "MS", "label": "Ms"}]);
        let first = post_with_key(&app, "/reference/api/bulk-titles", "k-2", &bulk).await;
        assert_eq!(first.status(), 200, "{b:?}");
        let stored: Value = first.json().await.expect("json");
        let again = post_with_key(&app, "/reference/api/bulk-titles", "k-2", &bulk).await;
        assert!(replayed(&again), "{b:?}");
        assert_eq!(again.json::<Value>().await.expect("json"), stored);
        assert_eq!(
            count(&app, "titles").await,
            3,
            "{b:?}: the bulk written once"
        );
    }
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_with_422() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = post_with_key(
            &app,
            "/reference/api/titles",
            "k",
            &json!({"code": "DR", "label": "Doctor"}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let res = post_with_key(
            &app,
            "/reference/api/titles",
            "k",
            &json!({"code": "PROF", "label": "Professor"}),
        )
        .await;
        let (status, code, body) = error_code(res).await;
        assert_eq!(
            (status, code.as_str()),
            (422, "idempotency_key_reused"),
            "{b:?}: {body}"
        );
        assert_eq!(count(&app, "titles").await, 1, "{b:?}");
    }
}

#[tokio::test]
async fn a_refused_write_is_not_remembered_and_keys_belong_to_their_caller() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        // A 400 stores nothing: the same key may carry the corrected request.
        let res = post_with_key(&app, "/reference/api/titles", "k", &json!({"code": "DR"})).await;
        assert_eq!(res.status(), 400, "{b:?}");
        let body = json!({"code": "DR", "label": "Doctor"});
        let res = post_with_key(&app, "/reference/api/titles", "k", &body).await;
        assert_eq!(res.status(), 201, "{b:?}");
        assert!(!replayed(&res));

        // Another caller's same key is theirs alone: it runs (and meets the unique code).
        let other = token_for("someone-else", &[WRITE], &[]);
        let res = app
            .request(Method::POST, "/reference/api/titles", Some(&other))
            .header(KEY, "k")
            .json(&body)
            .send()
            .await
            .expect("POST");
        assert!(!replayed(&res), "{b:?}: never another caller's response");
        assert_eq!(res.status(), 409, "{b:?}");
        assert_eq!(count(&app, "titles").await, 1);
    }
}

#[tokio::test]
async fn concurrent_requests_with_one_key_execute_once() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        // Tariff rates have no unique column: only the key can stop a duplicate.
        let body = json!({"code": "TR-X", "tariffRate": "100"});
        let sends =
            (0..6).map(|_| post_with_key(&app, "/reference/api/tariff-rates", "same", &body));
        let responses = futures::future::join_all(sends).await;
        let mut ids = Vec::new();
        let mut replays = 0;
        for res in responses {
            assert_eq!(res.status(), 201, "{b:?}");
            replays += usize::from(replayed(&res));
            let v: Value = res.json().await.expect("json");
            ids.push(v["id"].clone());
        }
        assert_eq!(
            replays, 5,
            "{b:?}: one executed, the others waited and replayed"
        );
        assert!(ids.iter().all(|id| *id == ids[0]), "{b:?}: {ids:?}");
        assert_eq!(count(&app, "tariff-rates").await, 1, "{b:?}");
    }
}

#[tokio::test]
async fn an_expired_key_is_ignored_and_cleaned_up() {
    for b in BACKENDS {
        let app = spawn_with(b, |c| {
            c.database.idempotency_ttl = std::time::Duration::ZERO
        })
        .await;
        let body = json!({"code": "TR-Y", "tariffRate": "100"});
        for _ in 0..2 {
            let res = post_with_key(&app, "/reference/api/tariff-rates", "old", &body).await;
            assert_eq!(res.status(), 201, "{b:?}");
            assert!(!replayed(&res), "{b:?}: an expired key replays nothing");
        }
        assert_eq!(count(&app, "tariff-rates").await, 2, "{b:?}");
        let deleted = tis_store::idempotency::purge_expired(&app.db)
            .await
            .expect("purge");
        assert_eq!(deleted, 1, "{b:?}: the expired key is deleted");
    }
}

#[tokio::test]
async fn post_look_ups_only_read_and_ignore_the_key() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        app.bulk("titles", json!([{"code": "DR", "label": "Doctor"}]))
            .await;
        for codes in [json!(["DR"]), json!(["DR", "XX"])] {
            let res = post_with_key(&app, "/reference/api/titles/exists", "look", &codes).await;
            assert_eq!(res.status(), 200, "{b:?}: a look-up runs every time");
            assert!(!replayed(&res));
        }
    }
}
