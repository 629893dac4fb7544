//! Specialties and curricula on the kit's CRUD, as the original's `SpecialtyResourceIntTest`
//! and `CurriculumResourceIntTest`: the nested specialty group and specialty, the set of
//! specialty types, the defaults, the guards, validation and bad input.

use reqwest::Method;
use serde_json::{Value, json};
use tis_service_kit::testing::url_encode;

use crate::helpers::*;

const SPECIALTY_AUTHORITIES: &[&str] = &[
    "specialty:view",
    "specialty:add:modify",
    "specialty:bulk:add:modify",
    "tcs:delete:entities",
];

pub fn specialty_admin() -> String {
    Caller::hee(&[]).granted(SPECIALTY_AUTHORITIES).token()
}

pub fn fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A specialty group, created; its id.
pub async fn group(app: &TestApp, name: &str) -> i64 {
    let (status, _, body) = call(
        app,
        Method::POST,
        "/tcs/api/specialty-groups",
        &specialty_admin(),
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

/// A specialty, created; its body.
pub async fn specialty(app: &TestApp, code: &str, types: Value) -> Value {
    let (status, _, body) = call(
        app,
        Method::POST,
        "/tcs/api/specialties",
        &specialty_admin(),
        Some(json!({"name": format!("Specialty {code}"), "specialtyCode": code, "college": "RCP", "specialtyTypes": types})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn specialties_nest_their_group_and_keep_a_set_of_types() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let who = specialty_admin();
        let path = "/tcs/api/specialties";
        let g = group(&app, "Medicine").await;

        // Create: the group nested, the types in the enum's order, each once; status CURRENT.
        let (status, headers, made) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(
                json!({"name": "Cardiology", "specialtyCode": "300", "specialtyGroup": {"id": g},
                        "specialtyTypes": ["POST", "CURRICULUM", "POST"]}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {made}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.specialty.created");
        let id = made["id"].as_i64().expect("id");
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .ends_with(&format!("/specialties/{id}"))
        );
        assert_eq!(made["status"], "CURRENT");
        assert_eq!(made["specialtyTypes"], json!(["CURRICULUM", "POST"]));
        assert_eq!(made["specialtyGroup"]["name"], "Medicine");
        assert_eq!(made["blockIndemnity"], false);
        assert!(made["uuid"].is_string(), "{made}");

        let (status, _, one) = call(&app, Method::GET, &format!("{path}/{id}"), &who, None).await;
        assert_eq!((status, &one), (200, &made));

        // Update: PUT needs an id; the set may become empty.
        let mut changed = made.clone();
        changed["specialtyTypes"] = json!([]);
        changed["status"] = json!("INACTIVE");
        let (status, headers, body) = call(&app, Method::PUT, path, &who, Some(changed)).await;
        assert_eq!(
            (status, &body["specialtyTypes"], &body["status"]),
            (200, &json!([]), &json!("INACTIVE")),
            "{body}"
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.specialty.updated");
        let (status, _, body) = call(
            &app,
            Method::PUT,
            path,
            &who,
            Some(json!({"name": "X", "specialtyCode": "1"})),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["id".to_owned()]),
            "{body}"
        );
        let (status, _, _) = call(
            &app,
            Method::PUT,
            path,
            &who,
            Some(json!({"id": 999_999, "name": "X", "specialtyCode": "1", "status": "CURRENT"})),
        )
        .await;
        assert_eq!(status, 404);
        // The original's updateSpecialtyShouldFailWhenStatusIsNull / …WhenIdIsNegative.
        let mut no_status = made.clone();
        no_status["status"] = Value::Null;
        let (status, _, body) = call(&app, Method::PUT, path, &who, Some(no_status)).await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["status".to_owned()]),
            "{body}"
        );
        let mut negative = made.clone();
        negative["id"] = json!(-11111);
        let (status, _, body) = call(&app, Method::PUT, path, &who, Some(negative)).await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["id".to_owned()]),
            "{body}"
        );
        let mut long = made.clone();
        long["name"] = json!("x".repeat(101));
        let (status, _, body) = call(&app, Method::PUT, path, &who, Some(long)).await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["name".to_owned()]),
            "{body}"
        );

        // Validation: blank code and name, an unknown type, an unknown group, an id on create.
        let (status, _, body) =
            call(&app, Method::POST, path, &who, Some(json!({"name": " "}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["message"], "error.validation", "{body}");
        let mut named = fields(&body);
        named.sort();
        assert_eq!(named, ["name", "specialtyCode"]);
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"name": "A", "specialtyCode": "1", "specialtyTypes": ["NOPE"]})),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["specialtyTypes".to_owned()]),
            "{body}"
        );
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"name": "A", "specialtyCode": "1", "specialtyTypes": "POST"})),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["specialtyTypes".to_owned()]),
            "{body}"
        );
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"name": "A", "specialtyCode": "1", "specialtyGroup": {"id": 987}})),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["specialtyGroup".to_owned()]),
            "{body}"
        );
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"id": 4, "name": "A", "specialtyCode": "1"})),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["id".to_owned()]),
            "{body}"
        );
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"name": "A", "specialtyCode": 1})),
        )
        .await;
        assert_eq!(status, 400, "wrong type: {body}");

        // Lists: a type filter matches the sets holding it; search over name, code, college.
        specialty(&app, "400", json!(["POST", "PLACEMENT"])).await;
        specialty(&app, "401", json!(["SUB_SPECIALTY"])).await;
        let list = |q: String| {
            let app = &app;
            let who = who.clone();
            async move {
                let (status, headers, body) =
                    call(app, Method::GET, &format!("{path}?{q}"), &who, None).await;
                assert_eq!(status, 200, "{q}: {body}");
                (headers, body.as_array().cloned().unwrap_or_default())
            }
        };
        let codes = |rows: &[Value]| {
            rows.iter()
                .map(|r| r["specialtyCode"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        };
        let (headers, rows) = list(format!(
            "columnFilters={}",
            url_encode(r#"{"specialtyTypes":["PLACEMENT","SUB_SPECIALTY"]}"#)
        ))
        .await;
        assert_eq!(codes(&rows), ["400", "401"]);
        assert_eq!(headers["x-total-count"], "2");
        let (_, rows) = list(format!(
            "columnFilters={}",
            url_encode(&format!(r#"{{"specialtyGroup":["{g}"]}}"#))
        ))
        .await;
        assert_eq!(codes(&rows), ["300"]);
        let (_, rows) = list(format!(
            "columnFilters={}",
            url_encode(r#"{"status":["CURRENT"]}"#)
        ))
        .await;
        assert_eq!(codes(&rows), ["400", "401"]);
        let (_, rows) = list("searchQuery=specialty%20401".into()).await;
        assert_eq!(codes(&rows), ["401"]);
        let (_, rows) = list("sort=specialtyCode,desc&size=1".into()).await;
        assert_eq!(codes(&rows), ["401"]);
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}?columnFilters={}", url_encode(r#"{"bogus":["1"]}"#)),
            &who,
            None,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("bogus"), "{body}");
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!(
                "{path}?columnFilters={}",
                url_encode(r#"{"specialtyTypes":["NOPE"]}"#)
            ),
            &who,
            None,
        )
        .await;
        assert_eq!(status, 400);
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/current/specialties",
            &who,
            None,
        )
        .await;
        assert!(
            status == 404 || status == 405,
            "no /current/specialties in the original: {status}"
        );

        // /specialties/in/{ids}: 200, SpecialtySimpleDTO, junk skipped.
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}/in/{id},x,999"),
            &who,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body.as_array().map(Vec::len), Some(1));
        assert_eq!(body[0]["specialtyCode"], "300");
        assert!(body[0].get("specialtyTypes").is_none(), "{body}");
        let (status, _, body) = call(&app, Method::GET, &format!("{path}/in/x"), &who, None).await;
        assert_eq!((status, body), (200, json!([])));

        // Bulk: all or none; ids on create refused; 1,001 items refused.
        let (status, headers, body) = call(&app, Method::POST, "/tcs/api/bulk-specialties", &who,
            Some(json!([{"name": "B1", "specialtyCode": "501"}, {"name": "B2", "specialtyCode": "502", "specialtyGroup": {"id": 999}}]))).await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["[1].specialtyGroup".to_owned()]),
            "{body}"
        );
        let _ = headers;
        let (_, _, rows) = call(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=B1"),
            &who,
            None,
        )
        .await;
        assert_eq!(rows, json!([]), "nothing half-written");
        let (status, _, body) = call(&app, Method::POST, "/tcs/api/bulk-specialties", &who,
            Some(json!([{"name": "B1", "specialtyCode": "501"}, {"name": "B2", "specialtyCode": "502", "specialtyTypes": ["POST"]}]))).await;
        assert_eq!(
            (status, body.as_array().map(Vec::len)),
            (200, Some(2)),
            "{body}"
        );
        assert_eq!(body[1]["specialtyTypes"], json!(["POST"]));
        let (status, headers, _) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-specialties",
            &who,
            Some(json!([{"id": 1, "name": "B"}])),
        )
        .await;
        assert_eq!(
            (status, headers["x-tcsapp-error"].to_str().unwrap()),
            (400, "error.ids.exist")
        );
        let many: Vec<Value> = (0..1001)
            .map(|i| json!({"name": format!("N{i}"), "specialtyCode": "9"}))
            .collect();
        let (status, _, body) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-specialties",
            &who,
            Some(Value::Array(many)),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        let mut again = body_of(&app, &format!("{path}/{id}"), &who).await;
        again["name"] = json!("Cardiology 2");
        let (status, _, body) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-specialties",
            &who,
            Some(json!([again])),
        )
        .await;
        assert_eq!(
            (status, &body[0]["name"]),
            (200, &json!("Cardiology 2")),
            "{body}"
        );

        // Delete: 200, then 404.
        let (status, headers, _) =
            call(&app, Method::DELETE, &format!("{path}/{id}"), &who, None).await;
        assert_eq!(
            (status, headers["x-tcsapp-alert"].to_str().unwrap()),
            (200, "tcsApp.specialty.deleted")
        );
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/{id}"), &who, None)
                .await
                .0,
            404
        );

        // Malformed JSON is a JSON 400.
        let res = app
            .request(Method::POST, path, Some(&who))
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 400);
    }
}

async fn body_of(app: &TestApp, path: &str, who: &str) -> Value {
    let (status, _, body) = call(app, Method::GET, path, who, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[tokio::test]
async fn specialty_routes_have_the_original_guards() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let made = specialty(&app, "300", json!(["POST"])).await;
        let id = made["id"].as_i64().unwrap();
        let nobody = Caller::hee(&[]).token();
        let viewer = Caller::hee(&[]).granted(&["specialty:view"]).token();
        let writer = Caller::hee(&[]).granted(&["specialty:add:modify"]).token();
        for (method, path, body) in [
            (Method::GET, "/tcs/api/specialties".to_owned(), None),
            (Method::GET, format!("/tcs/api/specialties/{id}"), None),
            (Method::GET, format!("/tcs/api/specialties/in/{id}"), None),
            (
                Method::POST,
                "/tcs/api/specialties".to_owned(),
                Some(json!({"name": "A", "specialtyCode": "1"})),
            ),
            (
                Method::PUT,
                "/tcs/api/specialties".to_owned(),
                Some(made.clone()),
            ),
            (
                Method::POST,
                "/tcs/api/bulk-specialties".to_owned(),
                Some(json!([])),
            ),
            (
                Method::PUT,
                "/tcs/api/bulk-specialties".to_owned(),
                Some(json!([made.clone()])),
            ),
            (Method::DELETE, format!("/tcs/api/specialties/{id}"), None),
        ] {
            assert_eq!(
                call(&app, method.clone(), &path, &nobody, body.clone())
                    .await
                    .0,
                403,
                "{method} {path}"
            );
        }
        assert_eq!(
            call(
                &app,
                Method::GET,
                &format!("/tcs/api/specialties/{id}"),
                &viewer,
                None
            )
            .await
            .0,
            200
        );
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/specialties",
                &viewer,
                Some(made.clone())
            )
            .await
            .0,
            403
        );
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/specialties",
                &writer,
                Some(made.clone())
            )
            .await
            .0,
            200
        );
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/bulk-specialties",
                &writer,
                Some(json!([made]))
            )
            .await
            .0,
            403,
            "bulk needs specialty:bulk:add:modify"
        );
        assert_eq!(
            call(
                &app,
                Method::DELETE,
                &format!("/tcs/api/specialties/{id}"),
                &writer,
                None
            )
            .await
            .0,
            403
        );
    }
}

#[tokio::test]
async fn a_specialty_groups_specialties_are_a_page() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let who = specialty_admin();
        let g = group(&app, "Medicine").await;
        for code in ["1", "2", "3"] {
            let (status, _, _) = call(&app, Method::POST, "/tcs/api/specialties", &who,
                Some(json!({"name": format!("S{code}"), "specialtyCode": code, "specialtyGroup": {"id": g}}))).await;
            assert_eq!(status, 201);
        }
        specialty(&app, "4", json!([])).await;
        let path = format!("/tcs/api/specialty-groups/specialties/{g}");
        let (status, headers, body) = call(
            &app,
            Method::GET,
            &format!("{path}?size=2&sort=specialtyCode,desc"),
            &who,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["x-total-count"], "3");
        assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
        let codes: Vec<&str> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["specialtyCode"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["3", "2"]);
        assert_eq!(body[0]["specialtyGroup"]["name"], "Medicine");
        let (status, _, body) = call(
            &app,
            Method::GET,
            "/tcs/api/specialty-groups/specialties/999",
            &who,
            None,
        )
        .await;
        assert_eq!((status, body), (200, json!([])));
        assert_eq!(
            call(
                &app,
                Method::GET,
                "/tcs/api/specialty-groups/specialties/x",
                &who,
                None
            )
            .await
            .0,
            400
        );
        assert_eq!(
            call(&app, Method::GET, &path, &Caller::hee(&[]).token(), None)
                .await
                .0,
            403
        );
    }
}
