//! The catalogue on the kit's CRUD: training numbers and specialty groups as the original
//! TCS answered them (`TrainingNumberResourceIntTest`, `SpecialtyGroupResourceIntTest`), and
//! the enumeration lists (`EnumTypeResource`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const VIEW: &str = "tcs:view:entities";
const MODIFY: &str = "tcs:add:modify:entities";
const DELETE: &str = "tcs:delete:entities";

fn admin() -> String {
    Caller::hee(&[])
        .granted(&[
            VIEW,
            MODIFY,
            DELETE,
            "specialty:view",
            "specialty:add:modify",
            "specialty:bulk:add:modify",
            "curriculum:view",
        ])
        .token()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    who: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.request(method, path, Some(who));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON")
    };
    (status, headers, body)
}

fn ntn(number: i64) -> Value {
    json!({
        "trainingNumberType": "NTN",
        "trainingNumber": format!("EMD/710/{number:03}/C"),
        "number": number,
        "appointmentYear": 2024,
        "typeOfContract": "Run through",
        "suffix": "C"
    })
}

/// The fields a 400 names (the standard body's `error.fields`; validation errors also carry
/// the original's `fieldErrors`, checked where it matters).
fn field_names(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn training_numbers_are_created_read_updated_and_deleted_as_the_original() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let who = admin();
        let path = "/tcs/api/training-numbers";

        let (status, headers, created) = send(&app, Method::POST, path, &who, Some(ntn(10))).await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        let id = created["id"].as_i64().expect("an id");
        let location = headers["location"].to_str().unwrap();
        assert!(
            location.ends_with(&format!("/training-numbers/{id}")),
            "{location}"
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.trainingNumber.created");

        let (status, _, one) = send(&app, Method::GET, &format!("{path}/{id}"), &who, None).await;
        assert_eq!(
            (status, one["trainingNumber"].as_str()),
            (200, Some("EMD/710/010/C"))
        );

        // The same number again: the unique key answers 409, nothing is stored.
        let (status, _, body) = send(&app, Method::POST, path, &who, Some(ntn(10))).await;
        assert_eq!(status, 409, "{backend:?}: {body}");

        // An id on create, required fields missing: 400 naming them.
        let (status, _, _) = send(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"id": 5, "number": 11})),
        )
        .await;
        assert_eq!(status, 400);
        let (status, _, body) =
            send(&app, Method::POST, path, &who, Some(json!({"number": 11}))).await;
        assert_eq!(status, 400);
        let fields = field_names(&body);
        for f in ["trainingNumberType", "appointmentYear", "typeOfContract"] {
            assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
        }
        let (status, _, body) = send(&app, Method::POST, path, &who, Some(json!({"trainingNumberType": "XYZ", "number": 12, "appointmentYear": 2024, "typeOfContract": "x"}))).await;
        assert_eq!(
            (status, field_names(&body)),
            (400, vec!["trainingNumberType".to_owned()]),
            "{body}"
        );

        // An NTN in another shape: 400 naming trainingNumber.
        for bad in [
            "EMD-710-001-C",
            "EMD/710/1/C",
            "emd/710/001/C",
            "EMD/710/001/C/X",
            "EMD/71!/001/C",
        ] {
            let mut body = ntn(15);
            body["trainingNumber"] = json!(bad);
            let (status, _, body) = send(&app, Method::POST, path, &who, Some(body)).await;
            assert_eq!(
                (status, field_names(&body)),
                (400, vec!["trainingNumber".to_owned()]),
                "{bad}: {body}"
            );
        }

        // PUT needs an id (400 naming it); an unknown id is a 404; a known one updates.
        let (status, _, body) = send(&app, Method::PUT, path, &who, Some(ntn(13))).await;
        assert_eq!(
            (status, field_names(&body)),
            (400, vec!["id".to_owned()]),
            "{body}"
        );
        let mut unknown = ntn(14);
        unknown["id"] = json!(999_999);
        assert_eq!(
            send(&app, Method::PUT, path, &who, Some(unknown)).await.0,
            404
        );
        let mut changed = created.clone();
        changed["suffix"] = json!("L");
        let (status, headers, body) = send(&app, Method::PUT, path, &who, Some(changed)).await;
        assert_eq!(
            (status, body["suffix"].as_str()),
            (200, Some("L")),
            "{body}"
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.trainingNumber.updated");

        // Lists: paged with X-Total-Count, filtered and searched.
        for n in 20..25 {
            assert_eq!(
                send(&app, Method::POST, path, &who, Some(ntn(n))).await.0,
                201
            );
        }
        let (status, headers, list) = send(
            &app,
            Method::GET,
            &format!("{path}?size=2&sort=number,desc"),
            &who,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-total-count"], "6");
        assert_eq!(list[0]["number"], 24);
        let filter = r#"{"number":["21","23"]}"#;
        let (_, _, list) = send(
            &app,
            Method::GET,
            &format!(
                "{path}?columnFilters={}",
                tis_service_kit::testing::url_encode(filter)
            ),
            &who,
            None,
        )
        .await;
        assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
        let (_, _, list) = send(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=710%2F022"),
            &who,
            None,
        )
        .await;
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

        // Bulk: creates every record or none.
        let (status, _, made) = send(
            &app,
            Method::POST,
            "/tcs/api/bulk-training-numbers",
            &who,
            Some(json!([ntn(30), ntn(31)])),
        )
        .await;
        assert_eq!(
            (status, made.as_array().map(Vec::len)),
            (200, Some(2)),
            "{made}"
        );

        // Delete: 200 then 404.
        let (status, headers, _) =
            send(&app, Method::DELETE, &format!("{path}/{id}"), &who, None).await;
        assert_eq!(status, 200, "{backend:?}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.trainingNumber.deleted");
        assert_eq!(
            send(&app, Method::GET, &format!("{path}/{id}"), &who, None)
                .await
                .0,
            404
        );
    }
}

#[tokio::test]
async fn training_numbers_and_specialty_groups_keep_the_originals_guards() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await;
    let viewer = Caller::hee(&[]).granted(&[VIEW]).token();
    let nobody = Caller::hee(&[]).token();
    let tn = "/tcs/api/training-numbers";
    assert_eq!(send(&app, Method::GET, tn, &viewer, None).await.0, 200);
    assert_eq!(send(&app, Method::GET, tn, &nobody, None).await.0, 403);
    let (status, _, body) = send(&app, Method::POST, tn, &viewer, Some(ntn(1))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        send(&app, Method::DELETE, &format!("{tn}/1"), &viewer, None)
            .await
            .0,
        403
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            "/tcs/api/specialty-groups",
            &viewer,
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            "/tcs/api/assessment-types",
            &viewer,
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        app.request(Method::GET, tn, None)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn specialty_groups_take_alphanumeric_names_only() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let who = admin();
        let path = "/tcs/api/specialty-groups";
        let (status, _, group) = send(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"name": "Medicine 2"})),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {group}");
        let (status, _, body) = send(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"name": "Medicine & Surgery"})),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["fieldErrors"][0]["field"], "name", "{body}");
        assert!(
            body.to_string()
                .contains("Specialty group name must be alphanumeric"),
            "{body}"
        );
        let (status, _, body) = send(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"name": "x".repeat(101)})),
        )
        .await;
        assert_eq!((status, field_names(&body)), (400, vec!["name".to_owned()]));
        let (status, _, body) = send(
            &app,
            Method::PUT,
            path,
            &who,
            Some(json!({"name": "No id"})),
        )
        .await;
        assert_eq!((status, field_names(&body)), (400, vec!["id".to_owned()]));
        let (_, _, list) = send(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=medic"),
            &who,
            None,
        )
        .await;
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
        assert_eq!(list[0]["name"], "Medicine 2");
    }
}

#[tokio::test]
async fn the_enumerations_are_listed_in_the_originals_order() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await;
    let who = admin();
    let (status, _, body) = send(&app, Method::GET, "/tcs/api/assessment-types", &who, None).await;
    assert_eq!((status, body), (200, json!(["ARCP", "RITA", "ACADEMIC"])));
    let (_, _, body) = send(&app, Method::GET, "/tcs/api/specialty-types", &who, None).await;
    assert_eq!(
        body,
        json!(["CURRICULUM", "POST", "PLACEMENT", "SUB_SPECIALTY"])
    );
    let (_, _, body) = send(
        &app,
        Method::GET,
        "/tcs/api/curriculum-sub-types",
        &who,
        None,
    )
    .await;
    assert_eq!(body.as_array().map(Vec::len), Some(16));
    assert_eq!(body[0], "MEDICAL_CURRICULUM");
}
