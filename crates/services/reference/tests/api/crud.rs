use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_site_is_created_read_updated_and_deleted() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .send(Method::POST, "/reference/api/sites", &json!({"siteCode": "RJ122", "siteName": "St Thomas' Hospital", "trustCode": "RJ1", "trustId": 7, "startDate": "2013-04-01", "status": "CURRENT"}))
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        let location = res.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let site: Value = res.json().await.expect("json");
        let id = site["id"].as_i64().expect("id");
        assert_eq!(location, format!("/reference/api/sites/{id}"));
        assert_eq!(site["siteCode"], "RJ122");
        assert_eq!(site["startDate"], "2013-04-01", "{b:?}");
        assert_eq!(site["trustId"], 7);
        assert_eq!(site["endDate"], Value::Null);

        let read = app.get_json(&location).await;
        assert_eq!(read, site, "{b:?}");

        let mut changed = site.clone();
        changed["siteName"] = json!("St Thomas' Hospital (Lambeth)");
        changed["status"] = json!("INACTIVE");
        let res = app
            .send(Method::PUT, "/reference/api/sites", &changed)
            .await;
        assert_eq!(res.status(), 200, "{b:?}");
        assert_eq!(app.get_json(&location).await, changed, "{b:?}");

        let res = app
            .request(Method::DELETE, &location, Some(&admin()))
            .send()
            .await
            .expect("delete");
        assert_eq!(res.status(), 200);
        let (status, code, _) = error_code(app.get(&location).await).await;
        assert_eq!((status, code.as_str()), (404, "not_found"), "{b:?}");
    }
}

#[tokio::test]
async fn a_simple_lookup_round_trips_and_put_without_an_id_creates() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .send(
                Method::PUT,
                "/reference/api/genders",
                &json!({"code": "F", "label": "Female", "status": "CURRENT"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{b:?}: PUT without an id creates");
        let created: Value = res.json().await.expect("json");
        let id = created["id"].as_i64().expect("id");
        assert_eq!(
            app.get_json(&format!("/reference/api/genders/{id}")).await["label"],
            "Female"
        );
        let list = app.get_json("/reference/api/genders").await;
        assert_eq!(list.as_array().map(Vec::len), Some(1));
    }
}

#[tokio::test]
async fn invalid_bodies_are_400s_naming_the_fields() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let (status, code, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/dbcs",
                &json!({"dbc": " ", "abbr": "HEWX"}),
            )
            .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (400, "validation_failed"), "{b:?}");
        let fields: Vec<&str> = body["error"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["field"].as_str())
            .collect();
        assert_eq!(
            fields,
            vec!["dbc", "name", "type"],
            "blank, and the original's required fields; `internal` is false when absent"
        );

        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/grades",
                &json!({"abbreviation": "F1", "trainingGrade": "yes"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["fields"][0]["field"], "trainingGrade");

        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/genders",
                &json!({"code": "M", "label": "Male", "status": "LIVE"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "an unknown enum value");
        assert_eq!(body["error"]["fields"][0]["field"], "status");

        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/genders",
                &json!({"id": 4, "code": "M", "label": "Male"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "an id on create");
        assert_eq!(body["error"]["fields"][0]["field"], "id");

        let (status, code, _) = error_code(
            app.send(
                Method::POST,
                "/reference/api/genders",
                &json!({"code": "x".repeat(101), "label": "Long"}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (400, "validation_failed"),
            "too long"
        );
    }
}

#[tokio::test]
async fn unknown_ids_are_404s_but_a_put_naming_one_inserts_as_the_original_did() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        for method in [Method::GET, Method::DELETE] {
            let req = app.request(method.clone(), "/reference/api/titles/999", Some(&admin()));
            let (status, code, _) = error_code(req.send().await.expect("send")).await;
            assert_eq!(
                (status, code.as_str()),
                (404, "not_found"),
                "{b:?} {method}"
            );
        }
        // JPA's `save` merged a detached record: an id it did not know became a new row.
        let res = app
            .send(
                Method::PUT,
                "/reference/api/titles",
                &json!({"id": 999, "code": "X", "label": "X"}),
            )
            .await;
        assert_eq!(res.status(), 200, "{b:?}: PUT is an upsert");
        let title: Value = res.json().await.expect("json");
        assert_eq!(title["code"], "X");
        assert_ne!(title["id"], 999, "{b:?}: a new row has an id of its own");
        assert_eq!(
            app.get_json(&format!("/reference/api/titles/{}", title["id"]))
                .await["label"],
            "X"
        );
        let (status, code, _) = error_code(app.get("/reference/api/titles/abc").await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_path"));
    }
}

#[tokio::test]
async fn a_duplicate_code_is_a_409() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let body = json!({"code": "RJ1", "trustName": "Guy's and St Thomas'"});
        assert_eq!(
            app.send(Method::POST, "/reference/api/trusts", &body)
                .await
                .status(),
            201
        );
        let (status, code, _) =
            error_code(app.send(Method::POST, "/reference/api/trusts", &body).await).await;
        assert_eq!((status, code.as_str()), (409, "conflict"), "{b:?}");
    }
}

#[tokio::test]
async fn bulk_writes_are_all_or_nothing() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let dup = json!([{"code": "A", "label": "a"}, {"code": "B", "label": "b"}, {"code": "A", "label": "again"}]);
        let (status, _, _) = error_code(
            app.send(Method::POST, "/reference/api/bulk-titles", &dup)
                .await,
        )
        .await;
        assert_eq!(status, 409, "{b:?}");
        assert_eq!(
            app.get_json("/reference/api/titles").await,
            json!([]),
            "{b:?}: nothing kept"
        );

        let invalid = json!([{"code": "A", "label": "a"}, {"code": "B"}]);
        let (status, _, body) = error_code(
            app.send(Method::POST, "/reference/api/bulk-titles", &invalid)
                .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["fields"][0]["field"], "[1].label");
        assert_eq!(app.get_json("/reference/api/titles").await, json!([]));

        let created = app
            .bulk(
                "titles",
                json!([{"code": "DR", "label": "Dr"}, {"code": "MR", "label": "Mr"}]),
            )
            .await;
        let mut update: Vec<Value> = created.clone();
        update[0]["label"] = json!("Doctor");
        update[1]["code"] = json!("dr");
        let (status, _, _) = error_code(
            app.send(Method::PUT, "/reference/api/bulk-titles", &json!(update))
                .await,
        )
        .await;
        assert_eq!(
            status, 409,
            "{b:?}: a code taken (ignoring case) in a bulk update"
        );
        let list = app.get_json("/reference/api/titles?sort=code").await;
        assert_eq!(
            list[0]["label"], "Dr",
            "{b:?}: the first update was rolled back"
        );

        let (status, _, body) = error_code(
            app.send(
                Method::PUT,
                "/reference/api/bulk-titles",
                &json!([{"code": "X", "label": "x"}]),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["fields"][0]["field"], "[0].id");
    }
}

#[tokio::test]
async fn references_are_nested_objects_and_must_exist() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let office = &app
            .bulk(
                "local-offices",
                json!([{"abbreviation": "HEWX", "name": "Health Education England Wessex", "postAbbreviation": "WX"}]),
            )
            .await[0];
        let kind = &app
            .bulk(
                "local-office-contact-types",
                json!([{"code": "LTFT", "label": "Less than full time"}]),
            )
            .await[0];
        let res = app.send(Method::POST, "/reference/api/local-office-contacts", &json!({"localOffice": {"id": office["id"]}, "contactType": {"id": kind["id"]}, "contact": "ltft@example.nhs.uk"})).await;
        assert_eq!(res.status(), 201, "{b:?}");
        let contact: Value = res.json().await.expect("json");
        assert!(
            contact["id"].as_str().is_some_and(|s| s.len() == 36),
            "a UUID id: {contact}"
        );
        assert_eq!(
            contact["localOffice"]["name"], "Health Education England Wessex",
            "{b:?}"
        );
        assert_eq!(contact["contactType"]["code"], "LTFT");

        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/local-office-contacts",
                &json!({"localOffice": {"id": 999}, "contactType": {"id": kind["id"]}}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{b:?}");
        assert_eq!(body["error"]["fields"][0]["field"], "localOffice");

        let (status, code, _) = error_code(
            app.request(
                Method::DELETE,
                &format!("/reference/api/local-offices/{}", office["id"]),
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete"),
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (409, "reference_conflict"),
            "{b:?}: still referenced"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_413_and_other_content_types_415() {
    let app = spawn_app(Backend::Sqlite).await;
    let big = json!([{"code": "x".repeat(70 * 1024), "label": "big"}]);
    let (status, code, _) = error_code(
        app.send(Method::POST, "/reference/api/bulk-titles", &big)
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    let res = app
        .request(Method::POST, "/reference/api/titles", Some(&admin()))
        .header("content-type", "text/plain")
        .body(r#"{"code":"DR","label":"Dr"}"#)
        .send()
        .await
        .expect("send");
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (415, "unsupported_media_type"));
    let res = app
        .request(Method::POST, "/reference/api/titles", Some(&admin()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(res).await.1, "malformed_json");
}

/// A body is exactly one JSON value: a valid grade followed by anything (text, a second
/// grade) is 400 `malformed_json`, and nothing is stored (issue 16, item 1: the grade was
/// saved with a 201 before).
#[tokio::test]
async fn trailing_data_after_a_json_body_is_refused_and_nothing_is_stored() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let grade = r#"{"abbreviation":"TRAIL","name":"Trailing","trainingGrade":true,"postGrade":false,"placementGrade":false,"status":"CURRENT"}"#;
        for trailing in [" xyz", r#"{"abbreviation":"TRAIL2","name":"Second"}"#] {
            let res = app
                .request(Method::POST, "/reference/api/grades", Some(&admin()))
                .header("content-type", "application/json")
                .body(format!("{grade}{trailing}"))
                .send()
                .await
                .expect("send");
            let (status, code, _) = error_code(res).await;
            assert_eq!(
                (status, code.as_str()),
                (400, "malformed_json"),
                "{backend:?}: {trailing}"
            );
        }
        let found = app
            .get_json(
                "/reference/api/grades?columnFilters=%7B%22abbreviation%22%3A%5B%22TRAIL%22%5D%7D",
            )
            .await;
        assert_eq!(found, json!([]), "{backend:?}: nothing stored");
    }
}

/// Ids in paths are plain digits: `/grades/+1` is not grade 1 (issue 16 item 12).
#[tokio::test]
async fn an_id_with_a_sign_is_not_an_id() {
    let app = spawn_app(Backend::Sqlite).await;
    let grade = json!({"abbreviation": "SIGN", "name": "Signed", "trainingGrade": true, "postGrade": false, "placementGrade": false, "status": "CURRENT"});
    let res = app
        .send(Method::POST, "/reference/api/grades", &grade)
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.expect("json")["id"].clone();
    app.get_json(&format!("/reference/api/grades/{id}")).await;
    for path in [
        format!("/reference/api/grades/+{id}"),
        format!("/reference/api/grades/-{id}"),
    ] {
        let res = app
            .request(Method::GET, &path, Some(&admin()))
            .send()
            .await
            .expect("send");
        let (status, code, _) = error_code(res).await;
        assert_eq!((status, code.as_str()), (400, "invalid_path"), "{path}");
    }
}

#[tokio::test]
async fn a_record_sent_as_an_array_is_refused_while_bulk_routes_take_lists() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        // A GenderDTO's fields by position (id, uuid, code, label, status): serde's derive
        // alone would take it as {"code": "F", "label": "Female", …}.
        let positional = json!([null, null, "F", "Female", "CURRENT"]);
        for (method, path, body, field) in [
            (
                Method::POST,
                "/reference/api/genders",
                positional.clone(),
                "body",
            ),
            (
                Method::PUT,
                "/reference/api/genders",
                positional.clone(),
                "body",
            ),
            (
                Method::POST,
                "/reference/api/bulk-genders",
                json!([positional]),
                "[0]",
            ),
        ] {
            let (status, code, res) = error_code(app.send(method.clone(), path, &body).await).await;
            assert_eq!(
                (status, code.as_str()),
                (400, "validation_failed"),
                "{b:?} {method} {path}: {res}"
            );
            assert_eq!(res["error"]["fields"][0]["field"], field, "{res}");
            let message = res["error"]["fields"][0]["message"].as_str().unwrap_or("");
            assert!(
                message.starts_with("expected a JSON object, not an array (line 1 column "),
                "{b:?} {path}: {message}"
            );
        }
        assert_eq!(
            app.get_json("/reference/api/genders").await,
            json!([]),
            "{b:?}: nothing written"
        );
        let created = app
            .bulk(
                "genders",
                json!([{"code": "F", "label": "Female", "status": "CURRENT"}]),
            )
            .await;
        assert_eq!(
            created[0]["label"], "Female",
            "{b:?}: a list of objects is taken"
        );
    }
}
