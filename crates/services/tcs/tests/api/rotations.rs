//! Rotations as the original's `RotationResourceIntTest`: `programmeName` and
//! `programmeNumber` from the programme, `PUT` without an id creating, `authenticated` only;
//! and scoped through the programme (another programme's rotation is 404).

use reqwest::Method;
use serde_json::{Value, json};
use tis_service_kit::testing::url_encode;

use crate::helpers::*;
use crate::specialties::fields;

const EM: &str = "1-1RSSPZ7";

async fn programme(app: &TestApp, owner: &str, name: &str) -> i64 {
    let etl = Caller::etl().granted(&["programme:add:modify"]).token();
    let (status, _, body) = call(app, Method::POST, "/tcs/api/programmes", &etl,
        Some(json!({"status": "CURRENT", "owner": owner, "programmeName": name, "programmeNumber": format!("N-{name}")}))).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

fn rotation(programme: i64, name: &str) -> Value {
    json!({"programmeId": programme, "name": name, "status": "CURRENT"})
}

#[tokio::test]
async fn rotations_are_scoped_through_their_programme_and_name_it() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let path = "/tcs/api/rotations";
        let mine = programme(&app, "East Midlands", "Cardiology").await;
        let theirs = programme(&app, "North West London", "Surgery").await;
        let em = Caller::hee(&[EM]).token();
        let etl = Caller::etl().token();

        // Create: any authenticated caller; the programme's name and number are derived.
        let (status, headers, made) = call(
            &app,
            Method::POST,
            path,
            &em,
            Some(rotation(mine, "Rotation A")),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {made}");
        let id = made["id"].as_i64().unwrap();
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .ends_with(&format!("/rotations/{id}"))
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.rotation.created");
        assert_eq!(
            (&made["programmeName"], &made["programmeNumber"]),
            (&json!("Cardiology"), &json!("N-Cardiology"))
        );

        // Read-only fields are ignored on write.
        let mut changed = made.clone();
        changed["name"] = json!("Rotation B");
        changed["programmeName"] = json!("ignored");
        let (status, headers, body) = call(&app, Method::PUT, path, &em, Some(changed)).await;
        assert_eq!(
            (status, &body["name"], &body["programmeName"]),
            (200, &json!("Rotation B"), &json!("Cardiology")),
            "{body}"
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.rotation.updated");

        // PUT without an id creates, as the original.
        let (status, _, body) = call(
            &app,
            Method::PUT,
            path,
            &em,
            Some(rotation(mine, "Rotation C")),
        )
        .await;
        assert_eq!(status, 201, "{body}");

        // Validation.
        let (status, _, body) = call(&app, Method::POST, path, &em, Some(json!({}))).await;
        let mut named = fields(&body);
        named.sort();
        assert_eq!(
            (status, named),
            (
                400,
                vec!["name".to_owned(), "programmeId".into(), "status".into()]
            ),
            "{body}"
        );
        let (status, _, body) =
            call(&app, Method::POST, path, &em, Some(rotation(424_242, "X"))).await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["programmeId".to_owned()])
        );
        let mut with_id = rotation(mine, "X");
        with_id["id"] = json!(5);
        assert_eq!(
            call(&app, Method::POST, path, &em, Some(with_id)).await.0,
            400
        );
        assert_eq!(
            call(
                &app,
                Method::POST,
                path,
                &em,
                Some(json!({"programmeId": "one", "name": "X", "status": "CURRENT"}))
            )
            .await
            .0,
            400
        );

        // Scope: another owner's programme's rotations do not exist for them.
        let (status, _, other) = call(
            &app,
            Method::POST,
            path,
            &etl,
            Some(rotation(theirs, "Their rotation")),
        )
        .await;
        assert_eq!(status, 201);
        let other_id = other["id"].as_i64().unwrap();
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/{other_id}"), &em, None)
                .await
                .0,
            404
        );
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/{other_id}"), &etl, None)
                .await
                .0,
            200
        );
        assert_eq!(
            call(&app, Method::PUT, path, &em, Some(other.clone()))
                .await
                .0,
            404
        );
        assert_eq!(
            call(
                &app,
                Method::DELETE,
                &format!("{path}/{other_id}"),
                &em,
                None
            )
            .await
            .0,
            404
        );
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &em,
            Some(rotation(theirs, "Sneaky")),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["programmeId".to_owned()]),
            "out of scope reads as unknown"
        );
        let mut moved = made.clone();
        moved["programmeId"] = json!(theirs);
        assert_eq!(call(&app, Method::PUT, path, &em, Some(moved)).await.0, 400);

        // Lists: scoped, searched by name, filtered by programme, sorted by derived fields.
        let names = |b: &Value| {
            b.as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let (status, headers, body) = call(
            &app,
            Method::GET,
            &format!("{path}?sort=name,asc"),
            &em,
            None,
        )
        .await;
        assert_eq!(
            (status, names(&body)),
            (200, vec!["Rotation B".to_owned(), "Rotation C".into()])
        );
        assert_eq!(headers["x-total-count"], "2");
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}?sort=programmeName,desc"),
            &etl,
            None,
        )
        .await;
        assert_eq!(names(&body)[0], "Their rotation");
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=THEIR"),
            &etl,
            None,
        )
        .await;
        assert_eq!(names(&body), ["Their rotation"]);
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=THEIR"),
            &em,
            None,
        )
        .await;
        assert_eq!(body, json!([]));
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!(
                "{path}?columnFilters={}",
                url_encode(&format!(r#"{{"programmeId":["{mine}"]}}"#))
            ),
            &etl,
            None,
        )
        .await;
        assert_eq!(names(&body).len(), 2);
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!(
                "{path}?columnFilters={}",
                url_encode(r#"{"programmeName":["Surgery"]}"#)
            ),
            &etl,
            None,
        )
        .await;
        assert_eq!(names(&body), ["Their rotation"]);
        assert_eq!(
            call(
                &app,
                Method::GET,
                &format!("{path}?columnFilters={}", url_encode(r#"{"x":["1"]}"#)),
                &etl,
                None
            )
            .await
            .0,
            400
        );
        assert_eq!(
            call(
                &app,
                Method::GET,
                &format!("{path}?columnFilters=notjson"),
                &etl,
                None
            )
            .await
            .0,
            400
        );

        // An observer of the programme sees its rotations only.
        let observer = Caller::observer(theirs).token();
        let (_, _, body) = call(&app, Method::GET, path, &observer, None).await;
        assert_eq!(names(&body), ["Their rotation"]);

        // Guard: authenticated only.
        let res = app
            .request(Method::GET, path, None)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 401);

        // Delete: 200, then 404.
        let (status, headers, _) =
            call(&app, Method::DELETE, &format!("{path}/{id}"), &em, None).await;
        assert_eq!(
            (status, headers["x-tcsapp-alert"].to_str().unwrap()),
            (200, "tcsApp.rotation.deleted")
        );
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/{id}"), &em, None)
                .await
                .0,
            404
        );
    }
}

#[tokio::test]
async fn deleting_a_rotation_keeps_the_memberships_that_named_it() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 20).await;
        let id = db_value(
            &app,
            "SELECT MIN(rotation_id) AS n FROM programme_membership",
        )
        .await
        .as_i64()
        .unwrap();
        let before = db_value(&app, "SELECT COUNT(*) AS n FROM programme_membership").await;
        let (status, _, body) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/rotations/{id}"),
            &Caller::etl().token(),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            db_value(&app, "SELECT COUNT(*) AS n FROM programme_membership").await,
            before
        );
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT COUNT(*) AS n FROM programme_membership WHERE rotation_id = {id}")
            )
            .await,
            json!(0)
        );
    }
}
