use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn every_permission_is_checked_and_named() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let gender = json!({"code": "F", "label": "Female"});

        let (status, code, _) = error_code(
            app.request(Method::GET, "/reference/api/genders", None)
                .send()
                .await
                .expect("get"),
        )
        .await;
        assert_eq!((status, code.as_str()), (401, "missing_token"), "{b:?}");
        let (status, _, _) = error_code(
            app.request(Method::GET, "/reference/api/genders", Some("not-a-token"))
                .send()
                .await
                .expect("get"),
        )
        .await;
        assert_eq!(status, 401);

        let reader = reader();
        assert_eq!(
            app.request(Method::GET, "/reference/api/genders", Some(&reader))
                .send()
                .await
                .expect("get")
                .status(),
            200
        );
        let (status, code, body) = error_code(
            app.request(Method::POST, "/reference/api/genders", Some(&reader))
                .json(&gender)
                .send()
                .await
                .expect("post"),
        )
        .await;
        assert_eq!((status, code.as_str()), (403, "forbidden"), "{b:?}");
        assert!(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .contains(WRITE)
        );
        let (status, _, _) = error_code(
            app.request(Method::POST, "/reference/api/bulk-genders", Some(&reader))
                .body("not even json")
                .send()
                .await
                .expect("post"),
        )
        .await;
        assert_eq!(
            status, 403,
            "the permission is checked before the body is read"
        );

        let writer = token(&[WRITE], &[]);
        let res = app
            .request(Method::POST, "/reference/api/genders", Some(&writer))
            .json(&gender)
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 201, "{b:?}");
        let id = res.json::<Value>().await.expect("json")["id"].clone();
        let path = format!("/reference/api/genders/{id}");
        let (status, _, body) = error_code(
            app.request(Method::DELETE, &path, Some(&writer))
                .send()
                .await
                .expect("delete"),
        )
        .await;
        assert_eq!(status, 403);
        assert!(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .contains(DELETE)
        );

        let deleter = token(&[DELETE], &[]);
        assert_eq!(
            app.request(Method::DELETE, &path, Some(&deleter))
                .send()
                .await
                .expect("delete")
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn open_paths_need_no_principal() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/reference/api-docs",
    ] {
        assert_eq!(
            app.request(Method::GET, path, None)
                .send()
                .await
                .expect("get")
                .status(),
            200,
            "{path}"
        );
    }
}

#[tokio::test]
async fn user_look_ups_return_only_the_callers_designated_bodies_and_offices() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        app.bulk("dbcs", json!([
            {"dbc": "1-AIIDWA", "name": "Health Education England North West London", "abbr": "HENWL", "type": "DEANERY_LETB"},
            {"dbc": "1-AIIDHJ", "name": "Health Education England Wessex", "abbr": "HEWX", "type": "DEANERY_LETB"},
            {"dbc": "1-1RSSPZ7", "name": "Health Education England East Midlands", "abbr": "HEEM", "type": "DEANERY_LETB"}
        ])).await;
        app.bulk(
            "local-offices",
            json!([
                {"abbreviation": "HENWL", "name": "Health Education England North West London", "postAbbreviation": "NWL"},
                {"abbreviation": "HEWX", "name": "Health Education England Wessex", "postAbbreviation": "WX"},
                {"abbreviation": "HEEM", "name": "Health Education England East Midlands", "postAbbreviation": "EM"}
            ]),
        )
        .await;
        let me = token(&[], &["1-AIIDWA", "1-1RSSPZ7", "1-UNKNOWN"]);
        let dbcs: Value = app
            .request(Method::GET, "/reference/api/dbcs/user", Some(&me))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let mut got: Vec<&str> = dbcs
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|d| d["dbc"].as_str())
            .collect();
        got.sort_unstable();
        assert_eq!(got, vec!["1-1RSSPZ7", "1-AIIDWA"], "{b:?}");
        let offices: Value = app
            .request(Method::GET, "/reference/api/local-offices/user", Some(&me))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let mut got: Vec<&str> = offices
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|d| d["abbreviation"].as_str())
            .collect();
        got.sort_unstable();
        assert_eq!(got, vec!["HEEM", "HENWL"], "{b:?}");
        let nobody: Value = app
            .request(Method::GET, "/reference/api/dbcs/user", Some(&reader()))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(nobody, json!([]));
    }
}
