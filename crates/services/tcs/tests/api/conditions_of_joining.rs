//! A programme membership's Conditions of Joining (HEAD's `ConditionsOfJoiningDto`), stored
//! and served on the membership and by the later original's conditions-of-joining routes, and
//! the membership's nested `person` with the person's own fields, as the original's mapper
//! filled it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn etl() -> String {
    Caller::etl().granted(&["tcs:delete:entities"]).token()
}

/// The first demo membership of person 1: (programme, curriculum).
async fn programme_of_person_one(app: &TestApp) -> (i64, i64) {
    let (status, _, body) = call(
        app,
        Method::GET,
        "/tcs/api/trainee/1/programme-memberships",
        &etl(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        body[0]["programmeId"].as_i64().expect("programmeId"),
        body[0]["curriculumMemberships"][0]["curriculumId"]
            .as_i64()
            .expect("curriculumId"),
    )
}

fn membership(programme: i64, curriculum: i64, coj: Value) -> Value {
    json!({
        "programmeMembershipType": "SUBSTANTIVE",
        "person": {"id": 1},
        "programmeId": programme,
        "programmeStartDate": "2041-08-01",
        "programmeEndDate": "2044-07-31",
        "curriculumMemberships": [{
            "curriculumId": curriculum,
            "curriculumStartDate": "2041-08-01",
            "curriculumEndDate": "2044-07-31"
        }],
        "conditionsOfJoining": coj
    })
}

/// The instant a stored `signedAt` names (both backends answer RFC 3339, perhaps with
/// another precision).
fn instant(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        v.as_str().unwrap_or_else(|| panic!("an instant: {v}")),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|e| panic!("{v}: {e}"))
}

async fn cojs(app: &TestApp) -> i64 {
    db_value(app, "SELECT COUNT(*) AS n FROM conditions_of_joining")
        .await
        .as_i64()
        .unwrap_or(-1)
}

#[tokio::test]
async fn conditions_of_joining_are_recorded_with_a_membership_kept_through_updates_and_served() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 6).await;
        let etl = etl();
        let (programme, curriculum) = programme_of_person_one(&app).await;
        let signed = json!({"signedAt": "2041-07-01T09:30:00Z", "version": "GG9"});

        // Created with the membership: answered with its uuid and when TCS recorded it.
        let (status, _, created) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships",
            &etl,
            Some(membership(programme, curriculum, signed.clone())),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        let uuid = created["uuid"].as_str().expect("uuid").to_owned();
        let coj = &created["conditionsOfJoining"];
        assert_eq!(coj["version"], "GG9", "{created}");
        assert_eq!(coj["programmeMembershipUuid"], uuid.as_str());
        assert_eq!(
            instant(&coj["signedAt"]),
            instant(&json!("2041-07-01T09:30:00Z"))
        );
        let synced = instant(&coj["syncedAt"]);

        // The nested person carries the person's own fields, as the original's mapper.
        let person = created["person"].as_object().expect("a person");
        for key in [
            "id",
            "intrepidId",
            "addedDate",
            "amendedDate",
            "role",
            "status",
            "comments",
            "inactiveDate",
            "inactiveNotes",
            "publicHealthNumber",
            "regulator",
        ] {
            assert!(person.contains_key(key), "{backend:?}: person lacks {key}");
        }
        assert_eq!(person["id"], 1);
        assert!(person["role"].is_string(), "{backend:?}: {person:?}");
        assert!(person["status"].is_string(), "{backend:?}: {person:?}");

        // A PUT sending `conditionsOfJoining: null` keeps it (the original's
        // conditionsOfJoiningShouldSurviveProgrammeMembershipUpdate); one sending back what
        // it read changes nothing, not even syncedAt.
        let mut update = created.clone();
        update["conditionsOfJoining"] = Value::Null;
        update["leavingDestination"] = json!("Abroad");
        let (status, _, kept) = call(
            &app,
            Method::PUT,
            "/tcs/api/programme-memberships",
            &etl,
            Some(update),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {kept}");
        assert_eq!(kept["conditionsOfJoining"], created["conditionsOfJoining"]);
        let (status, _, same) = call(
            &app,
            Method::PUT,
            "/tcs/api/programme-memberships",
            &etl,
            Some(kept.clone()),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {same}");
        assert_eq!(instant(&same["conditionsOfJoining"]["syncedAt"]), synced);

        // A new signature replaces it.
        let mut resigned = same.clone();
        resigned["conditionsOfJoining"] =
            json!({"signedAt": "2041-07-20T10:00:00+01:00", "version": "GG10"});
        let (status, _, replaced) = call(
            &app,
            Method::PUT,
            "/tcs/api/programme-memberships",
            &etl,
            Some(resigned),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {replaced}");
        let coj = &replaced["conditionsOfJoining"];
        assert_eq!(coj["version"], "GG10");
        assert_eq!(
            instant(&coj["signedAt"]),
            instant(&json!("2041-07-20T09:00:00Z"))
        );
        assert_eq!(cojs(&app).await, 1, "{backend:?}: one per membership");

        // Served by the later original's routes, and on the person's record.
        let (status, _, one) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/conditions-of-joining/{uuid}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {one}");
        assert_eq!(&one, coj);
        let (status, _, theirs) = call(
            &app,
            Method::GET,
            "/tcs/api/trainee/1/conditions-of-joinings",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {theirs}");
        assert_eq!(theirs, json!([coj]));
        let (status, _, record) = call(&app, Method::GET, "/tcs/api/people/1", &etl, None).await;
        assert_eq!(status, 200, "{backend:?}: {record}");
        let on_record = record["programmeMemberships"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["uuid"] == uuid.as_str())
            .map(|m| m["conditionsOfJoining"].clone());
        assert_eq!(on_record.as_ref(), Some(coj), "{backend:?}: {record}");

        // The history says what changed.
        let (_, _, history) = call(
            &app,
            Method::GET,
            "/tcs/api/people/1/history?size=100",
            &etl,
            None,
        )
        .await;
        assert!(
            history.as_array().into_iter().flatten().any(|h| h["field"]
                == format!("[{uuid}].conditionsOfJoining.version").as_str()
                && h["oldValue"] == "GG9"
                && h["newValue"] == "GG10"),
            "{backend:?}: {history}"
        );

        // Not a UUID: 400; a membership without one, or none: 404; out of scope: 404.
        for (path, want) in [
            ("/tcs/api/conditions-of-joining/not-a-uuid".to_owned(), 400),
            (
                format!("/tcs/api/conditions-of-joining/{}", uuid::Uuid::new_v4()),
                404,
            ),
            (
                "/tcs/api/trainee/999999/conditions-of-joinings".to_owned(),
                404,
            ),
        ] {
            let (status, _, body) = call(&app, Method::GET, &path, &etl, None).await;
            assert_eq!(status, want, "{backend:?}: {path}: {body}");
        }
        let outsider = Caller::hee(&["1-25U-830"]).token();
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/conditions-of-joining/{uuid}"),
            &outsider,
            None,
        )
        .await;
        assert_eq!(status, 404, "{backend:?}: {body}");

        // It goes with its membership.
        let cm = replaced["curriculumMemberships"][0]["id"]
            .as_i64()
            .expect("cm");
        let (status, _, body) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/programme-memberships/{cm}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        assert_eq!(cojs(&app).await, 0, "{backend:?}");
    }
}

#[tokio::test]
async fn a_bad_conditions_of_joining_is_a_400_naming_its_field_and_nothing_is_written() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 4).await;
        let etl = etl();
        let (programme, curriculum) = programme_of_person_one(&app).await;
        let memberships = db_value(&app, "SELECT COUNT(*) AS n FROM programme_membership").await;
        for (coj, field) in [
            (
                json!({"signedAt": "2041-07-01T09:30:00Z", "version": "GG8"}),
                "conditionsOfJoining.version",
            ),
            (
                json!({"signedAt": "2041-07-01T09:30:00Z"}),
                "conditionsOfJoining.version",
            ),
            (
                json!({"signedAt": "yesterday", "version": "GG9"}),
                "conditionsOfJoining.signedAt",
            ),
            (json!({"version": "GG9"}), "conditionsOfJoining.signedAt"),
        ] {
            let (status, _, body) = call(
                &app,
                Method::POST,
                "/tcs/api/programme-memberships",
                &etl,
                Some(membership(programme, curriculum, coj.clone())),
            )
            .await;
            assert_eq!(status, 400, "{backend:?}: {coj}: {body}");
            assert_eq!(body["error"]["code"], "validation_failed", "{body}");
            let named: Vec<&str> = body["fieldErrors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["field"].as_str())
                .collect();
            assert_eq!(named, [field], "{backend:?}: {coj}: {body}");
        }
        assert_eq!(cojs(&app).await, 0, "{backend:?}");
        assert_eq!(
            db_value(&app, "SELECT COUNT(*) AS n FROM programme_membership").await,
            memberships,
            "{backend:?}: nothing written"
        );
    }
}
