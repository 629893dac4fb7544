//! Curricula as the original's `CurriculumResourceIntTest`: the nested specialty (with its
//! group), the enums, required fields and `@DecimalMin(0)`, `/current/curricula`, bulk, guards.

use reqwest::Method;
use serde_json::{Value, json};
use tis_service_kit::testing::url_encode;

use crate::helpers::*;
use crate::specialties::{fields, group, specialty};

pub fn curriculum_admin() -> String {
    Caller::hee(&[])
        .granted(&[
            "curriculum:view",
            "curriculum:add:modify",
            "curriculum:bulk:add:modify",
            "tcs:delete:entities",
        ])
        .token()
}

pub fn curriculum(name: &str, specialty: i64) -> Value {
    json!({
        "name": name,
        "status": "CURRENT",
        "curriculumSubType": "MEDICAL_CURRICULUM",
        "length": 36,
        "assessmentType": "ARCP",
        "doesThisCurriculumLeadToCct": true,
        "periodOfGrace": 6,
        "specialty": {"id": specialty}
    })
}

/// A curriculum of a new specialty, created; its body.
pub async fn make_curriculum(app: &TestApp, name: &str, code: &str) -> Value {
    let s = specialty(app, code, json!(["CURRICULUM"])).await;
    let (status, _, body) = call(
        app,
        Method::POST,
        "/tcs/api/curricula",
        &curriculum_admin(),
        Some(curriculum(name, s["id"].as_i64().unwrap())),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn curricula_are_created_read_updated_listed_and_deleted_as_the_original() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let who = curriculum_admin();
        let path = "/tcs/api/curricula";
        let g = group(&app, "Surgery").await;
        let (_, _, s) = call(&app, Method::POST, "/tcs/api/specialties", &crate::specialties::specialty_admin(),
            Some(json!({"name": "General surgery", "specialtyCode": "100", "specialtyGroup": {"id": g}, "specialtyTypes": ["CURRICULUM"]}))).await;
        let sid = s["id"].as_i64().unwrap();

        let (status, headers, made) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(curriculum("General surgery", sid)),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {made}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.curriculum.created");
        let id = made["id"].as_i64().unwrap();
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .ends_with(&format!("/curricula/{id}"))
        );
        // The specialty is nested whole, with its own group and types.
        assert_eq!(made["specialty"]["name"], "General surgery");
        assert_eq!(made["specialty"]["specialtyGroup"]["name"], "Surgery");
        assert_eq!(made["specialty"]["specialtyTypes"], json!(["CURRICULUM"]));
        assert_eq!(made["eligibleForPeriodOfGrace"], false);

        let (status, _, one) = call(&app, Method::GET, &format!("{path}/{id}"), &who, None).await;
        assert_eq!((status, &one), (200, &made));
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/999999"), &who, None)
                .await
                .0,
            404
        );

        // Required fields, enums, not negative, the specialty must exist.
        let (status, _, body) = call(&app, Method::POST, path, &who, Some(json!({}))).await;
        assert_eq!(status, 400);
        let mut named = fields(&body);
        named.sort();
        assert_eq!(
            named,
            [
                "assessmentType",
                "doesThisCurriculumLeadToCct",
                "length",
                "name",
                "periodOfGrace",
                "specialty",
                "status"
            ],
            "{body}"
        );
        let mut bad = curriculum("X", sid);
        bad["length"] = json!(-1);
        bad["periodOfGrace"] = json!(-3);
        bad["curriculumSubType"] = json!("NOPE");
        let (status, _, body) = call(&app, Method::POST, path, &who, Some(bad)).await;
        let mut named = fields(&body);
        named.sort();
        assert_eq!(
            (status, named),
            (
                400,
                vec![
                    "curriculumSubType".to_owned(),
                    "length".into(),
                    "periodOfGrace".into()
                ]
            ),
            "{body}"
        );
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(curriculum("X", 424_242)),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["specialty".to_owned()]),
            "{body}"
        );
        let mut with_id = curriculum("X", sid);
        with_id["id"] = json!(3);
        assert_eq!(
            call(&app, Method::POST, path, &who, Some(with_id)).await.0,
            400
        );

        // Update: PUT without id is 400 naming id; with one it updates.
        let (status, _, body) =
            call(&app, Method::PUT, path, &who, Some(curriculum("Y", sid))).await;
        assert_eq!((status, fields(&body)), (400, vec!["id".to_owned()]));
        let mut changed = made.clone();
        changed["status"] = json!("INACTIVE");
        changed["length"] = json!(48);
        let (status, headers, body) = call(&app, Method::PUT, path, &who, Some(changed)).await;
        assert_eq!(
            (status, &body["length"], &body["status"]),
            (200, &json!(48), &json!("INACTIVE")),
            "{body}"
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.curriculum.updated");

        // Lists: /current/curricula leaves the inactive one out; filters and search.
        let other = make_curriculum(&app, "Paediatrics", "200").await;
        let names = |b: &Value| {
            b.as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let (status, headers, body) = call(
            &app,
            Method::GET,
            &format!("{path}?sort=name,asc"),
            &who,
            None,
        )
        .await;
        assert_eq!(
            (status, names(&body)),
            (
                200,
                vec!["General surgery".to_owned(), "Paediatrics".into()]
            )
        );
        assert_eq!(headers["x-total-count"], "2");
        let (_, _, body) = call(&app, Method::GET, "/tcs/api/current/curricula", &who, None).await;
        assert_eq!(names(&body), ["Paediatrics"]);
        let (_, _, body) = call(
            &app,
            Method::GET,
            "/tcs/api/current/curricula?searchQuery=surg",
            &who,
            None,
        )
        .await;
        assert_eq!(names(&body), Vec::<String>::new());
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=SURG"),
            &who,
            None,
        )
        .await;
        assert_eq!(names(&body), ["General surgery"]);
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!(
                "{path}?columnFilters={}",
                url_encode(r#"{"assessmentType":["ARCP"],"status":["CURRENT"]}"#)
            ),
            &who,
            None,
        )
        .await;
        assert_eq!(names(&body), ["Paediatrics"]);
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("{path}?columnFilters={}", url_encode(r#"{"nope":["1"]}"#)),
            &who,
            None,
        )
        .await;
        assert_eq!(status, 400);
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("{path}?sort=nope,asc"),
            &who,
            None,
        )
        .await;
        assert_eq!(status, 400);

        // Bulk: all or nothing.
        let (status, _, body) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-curricula",
            &who,
            Some(json!([curriculum("B1", sid), curriculum("B2", 999_999)])),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["[1].specialty".to_owned()]),
            "{body}"
        );
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=B1"),
            &who,
            None,
        )
        .await;
        assert_eq!(body, json!([]));
        let (status, _, body) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-curricula",
            &who,
            Some(json!([curriculum("B1", sid), curriculum("B2", sid)])),
        )
        .await;
        assert_eq!(
            (status, body.as_array().map(Vec::len)),
            (200, Some(2)),
            "{body}"
        );
        let (status, headers, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-curricula",
            &who,
            Some(json!([curriculum("B3", sid)])),
        )
        .await;
        assert_eq!(
            (status, headers["x-tcsapp-error"].to_str().unwrap()),
            (400, "error.bulk.update.failed.noId")
        );

        // A specialty its curricula name cannot be deleted (409), nor a curriculum a
        // programme names.
        let (status, _, body) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/specialties/{sid}"),
            &crate::specialties::specialty_admin(),
            None,
        )
        .await;
        assert_eq!(status, 409, "{body}");
        let etl = Caller::etl().granted(&["programme:add:modify"]).token();
        let (status, _, _) = call(&app, Method::POST, "/tcs/api/programmes", &etl,
            Some(json!({"status": "CURRENT", "owner": "Wessex", "programmeName": "P", "curricula": [{"curriculum": {"id": id}}]}))).await;
        assert_eq!(status, 201);
        let (status, _, body) =
            call(&app, Method::DELETE, &format!("{path}/{id}"), &who, None).await;
        assert_eq!(status, 409, "{body}");

        // Delete.
        let oid = other["id"].as_i64().unwrap();
        let (status, headers, _) =
            call(&app, Method::DELETE, &format!("{path}/{oid}"), &who, None).await;
        assert_eq!(
            (status, headers["x-tcsapp-alert"].to_str().unwrap()),
            (200, "tcsApp.curriculum.deleted")
        );
        assert_eq!(
            call(&app, Method::DELETE, &format!("{path}/{oid}"), &who, None)
                .await
                .0,
            404
        );
    }
}

#[tokio::test]
async fn curriculum_routes_have_the_original_guards() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let made = make_curriculum(&app, "Cardiology", "300").await;
        let id = made["id"].as_i64().unwrap();
        let nobody = Caller::hee(&[]).granted(&["specialty:view"]).token();
        let viewer = Caller::hee(&[]).granted(&["curriculum:view"]).token();
        let writer = Caller::hee(&[]).granted(&["curriculum:add:modify"]).token();
        for (method, path) in [
            (Method::GET, "/tcs/api/curricula".to_owned()),
            (Method::GET, "/tcs/api/current/curricula".to_owned()),
            (Method::GET, format!("/tcs/api/curricula/{id}")),
        ] {
            assert_eq!(
                call(&app, method.clone(), &path, &nobody, None).await.0,
                403,
                "{path}"
            );
            assert_eq!(
                call(&app, method, &path, &viewer, None).await.0,
                200,
                "{path}"
            );
        }
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/curricula",
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
                "/tcs/api/curricula",
                &writer,
                Some(made.clone())
            )
            .await
            .0,
            200
        );
        // The original's bulk update asks only curriculum:add:modify; its bulk create more.
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/bulk-curricula",
                &writer,
                Some(json!([made]))
            )
            .await
            .0,
            200
        );
        assert_eq!(
            call(
                &app,
                Method::POST,
                "/tcs/api/bulk-curricula",
                &writer,
                Some(json!([]))
            )
            .await
            .0,
            403
        );
        assert_eq!(
            call(
                &app,
                Method::DELETE,
                &format!("/tcs/api/curricula/{id}"),
                &writer,
                None
            )
            .await
            .0,
            403
        );
    }
}
