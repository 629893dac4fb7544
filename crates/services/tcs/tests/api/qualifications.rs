//! Qualifications, as the original's `QualificationResourceIntTest` has them, with each
//! route's guard and scope, their history, and the country checked with Reference (down:
//! a country seen before goes through marked `reference-stale`, one never seen is a 503).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const RESOURCE: &str = "tis:tcs::qualification:";
const DELETE: &str = "tcs:delete:entities";

fn admin(dbcs: &[&str]) -> Caller {
    Caller::hee(dbcs)
        .allowed(RESOURCE, &["View", "Create", "Update"])
        .granted(&[DELETE])
}

fn etl() -> String {
    let mut c = admin(&[]);
    c.profile.roles.insert("ETL".into());
    c.token()
}

fn qualification(person: i64) -> Value {
    json!({
        "qualification": "MBBS",
        "person": {"id": person},
        "qualificationType": "MBBS",
        "qualificationAttainedDate": "2010-07-01",
        "medicalSchool": "UCL",
        "countryOfQualification": "United Kingdom"
    })
}

fn fields(body: &Value) -> Vec<String> {
    let mut f: Vec<String> = body["fieldErrors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect();
    f.sort();
    f
}

async fn count(app: &TestApp) -> i64 {
    db_value(app, "SELECT COUNT(*) AS n FROM qualification")
        .await
        .as_i64()
        .unwrap_or(-1)
}

#[tokio::test]
async fn qualifications_are_created_read_updated_patched_and_deleted_as_the_original_did() {
    for backend in BACKENDS {
        let mut reference = start_reference().await;
        let app = spawn_with_people_and_reference(backend, 3, vec![reference.addr], |_| {}).await;
        let etl = etl();
        let before = count(&app).await;

        let (status, headers, created) = call(
            &app,
            Method::POST,
            "/tcs/api/qualifications",
            &etl,
            Some(qualification(1)),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        let id = created["id"].as_i64().expect("an id");
        assert_eq!(
            headers["location"],
            format!("/tcs/api/qualifications/{id}").as_str()
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.qualification.created");
        assert_eq!(headers["x-tcsapp-params"], id.to_string().as_str());
        assert_eq!(created["person"]["id"], 1);
        assert_eq!(created["qualificationAttainedDate"], "2010-07-01");
        assert!(created["amendedDate"].is_string());
        assert_eq!(count(&app).await, before + 1);

        let (status, _, one) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/qualifications/{id}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(one, created);
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/qualifications/987654",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404);

        // PUT: updated; without an id a 400 naming it; an unknown id 404.
        let mut update = one.clone();
        update["medicalSchool"] = json!("KCL");
        let (status, headers, updated) = call(
            &app,
            Method::PUT,
            "/tcs/api/qualifications",
            &etl,
            Some(update.clone()),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.qualification.updated");
        assert_eq!(updated["medicalSchool"], "KCL");
        let mut no_id = update.clone();
        no_id["id"] = Value::Null;
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/qualifications",
            &etl,
            Some(no_id),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["id"]);
        let mut unknown = update.clone();
        unknown["id"] = json!(987654);
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/qualifications",
            &etl,
            Some(unknown),
        )
        .await;
        assert_eq!(status, 404);

        // Bad input: an id on create, missing fields, an unknown person, country, type, types.
        let post = |b: Value| {
            let app = &app;
            let etl = etl.clone();
            async move { call(app, Method::POST, "/tcs/api/qualifications", &etl, Some(b)).await }
        };
        let (status, _, res) = post(update.clone()).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["id"]);
        let (status, _, res) = post(json!({"person": {"id": 1}})).await;
        assert_eq!(status, 400);
        assert_eq!(
            fields(&res),
            ["countryOfQualification", "medicalSchool", "qualification"]
        );
        assert_eq!(res["message"], "error.validation");
        assert_eq!(res["fieldErrors"][0]["objectName"], "QualificationDTO");
        let mut b = qualification(1);
        b["person"] = Value::Null;
        let (_, _, res) = post(b).await;
        assert_eq!(res["fieldErrors"][0]["message"], "person is required");
        let (status, _, res) = post(qualification(1020120)).await;
        assert_eq!(status, 400);
        assert_eq!(
            res["fieldErrors"][0]["message"],
            "Person with id 1020120 does not exist"
        );
        let mut b = qualification(1);
        b["countryOfQualification"] = json!("Atlantis");
        let (status, _, res) = post(b).await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["countryOfQualification"]);
        let mut b = qualification(1);
        b["qualificationType"] = json!("BOGUS");
        let (status, _, res) = post(b).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["qualificationType"]);
        let mut b = qualification(1);
        b["qualificationAttainedDate"] = json!("2010-02-30");
        let (status, _, res) = post(b).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["qualificationAttainedDate"]);
        let mut b = qualification(1);
        b["person"] = json!({"id": "one"});
        let (status, _, res) = post(b).await;
        assert_eq!(status, 400, "{res}");
        assert!(res.to_string().contains("person"), "{res}");
        assert_eq!(
            count(&app).await,
            before + 1,
            "{backend:?}: nothing written"
        );

        // Lists: the person's, and the page.
        let (status, _, mine) = call(
            &app,
            Method::GET,
            "/tcs/api/people/1/qualifications",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            mine.as_array()
                .is_some_and(|l| l.iter().any(|q| q["id"] == id))
        );
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/people/999999/qualifications",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, headers, page) = call(
            &app,
            Method::GET,
            "/tcs/api/qualifications?sort=id,desc&size=2",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page[0]["id"], id);
        assert_eq!(
            headers["x-total-count"],
            count(&app).await.to_string().as_str()
        );
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/qualifications?columnFilters=%7B%22nope%22%3A%5B%221%22%5D%7D",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 400, "an unknown columnFilters key");

        // PATCH: the list upsert, all or nothing.
        let mut changed = updated.clone();
        changed["qualification"] = json!("MB ChB");
        let mut bad = qualification(2);
        bad["countryOfQualification"] = Value::Null;
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/qualifications",
            &etl,
            Some(json!([changed.clone(), bad])),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["[1].countryOfQualification"]);
        let (status, headers, saved) = call(
            &app,
            Method::PATCH,
            "/tcs/api/qualifications",
            &etl,
            Some(json!([changed, qualification(2)])),
        )
        .await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.qualification.updated");
        assert_eq!(saved[0]["qualification"], "MB ChB");
        assert!(saved[1]["id"].is_i64());
        assert_eq!(count(&app).await, before + 2);
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/qualifications",
            &etl,
            Some(json!(vec![json!({}); 1001])),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["body"]);

        // DELETE.
        let (status, headers, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/qualifications/{id}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.qualification.deleted");
        for method in [Method::GET, Method::DELETE] {
            let (status, _, _) = call(
                &app,
                method,
                &format!("/tcs/api/qualifications/{id}"),
                &etl,
                None,
            )
            .await;
            assert_eq!(status, 404);
        }

        // The history of person 1: created, changed, deleted.
        let rows = db_value(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM person_history WHERE person_id = 1 AND record = 'qualification' AND field = '[{id}].medicalSchool'"
            ),
        )
        .await;
        assert_eq!(rows, 3, "{backend:?}");
        reference.stop().await;
    }
}

#[tokio::test]
async fn each_qualification_route_lets_the_permitted_through_refuses_others_403_and_hides_other_offices_404()
 {
    for backend in BACKENDS {
        let mut reference = start_reference().await;
        let app = spawn_with_people_and_reference(backend, 3, vec![reference.addr], |_| {}).await;
        let owner = db_value(&app, "SELECT current_owner AS n FROM person WHERE id = 1").await;
        let mine = tis_tcs::domain::owners::dbc_of(owner.as_str().expect("owner")).expect("dbc");
        let other = if owner == "Wessex" {
            "1-1RSSQ2H"
        } else {
            "1-1RUZUSF"
        };
        let allowed = admin(&[mine]).token();
        let forbidden = Caller::hee(&[mine]).token();
        let outsider = admin(&[other]).token();
        let id = db_value(
            &app,
            "SELECT MIN(id) AS n FROM qualification WHERE person_id = 1",
        )
        .await
        .as_i64()
        .expect("a demo qualification");
        for path in [
            format!("/tcs/api/qualifications/{id}"),
            "/tcs/api/people/1/qualifications".to_owned(),
        ] {
            let (status, _, _) = call(&app, Method::GET, &path, &allowed, None).await;
            assert_eq!(status, 200, "{backend:?} {path}");
            let (status, _, _) = call(&app, Method::GET, &path, &forbidden, None).await;
            assert_eq!(status, 403, "{path}");
            let (status, _, _) = call(&app, Method::GET, &path, &outsider, None).await;
            assert_eq!(status, 404, "{path}");
        }
        let (_, _, theirs) = call(
            &app,
            Method::GET,
            "/tcs/api/qualifications?size=500",
            &outsider,
            None,
        )
        .await;
        assert!(
            theirs
                .as_array()
                .into_iter()
                .flatten()
                .all(|q| q["person"]["id"] != 1),
            "{backend:?}"
        );
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/qualifications",
            &forbidden,
            None,
        )
        .await;
        assert_eq!(status, 403);

        let (_, _, stored) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/qualifications/{id}"),
            &allowed,
            None,
        )
        .await;
        let writes = [
            (Method::POST, qualification(1)),
            (Method::PUT, stored.clone()),
            (Method::PATCH, json!([stored.clone()])),
        ];
        for (method, b) in &writes {
            let (status, _, _) = call(
                &app,
                method.clone(),
                "/tcs/api/qualifications",
                &forbidden,
                Some(b.clone()),
            )
            .await;
            assert_eq!(status, 403, "{method}");
            let (status, _, res) = call(
                &app,
                method.clone(),
                "/tcs/api/qualifications",
                &outsider,
                Some(b.clone()),
            )
            .await;
            assert!(
                status == 404
                    || (status == 400
                        && res.to_string().contains("Person with id 1 does not exist")),
                "{backend:?} {method}: {status} {res}"
            );
            let (status, _, res) = call(
                &app,
                method.clone(),
                "/tcs/api/qualifications",
                &allowed,
                Some(b.clone()),
            )
            .await;
            assert!(status == 200 || status == 201, "{method}: {status} {res}");
        }
        let path = format!("/tcs/api/qualifications/{id}");
        let (status, _, _) = call(&app, Method::DELETE, &path, &forbidden, None).await;
        assert_eq!(status, 403);
        let (status, _, _) = call(&app, Method::DELETE, &path, &outsider, None).await;
        assert_eq!(status, 404);
        let (status, _, _) = call(&app, Method::DELETE, &path, &allowed, None).await;
        assert_eq!(status, 200);
        reference.stop().await;
    }
}

#[tokio::test]
async fn with_reference_down_a_country_seen_before_is_written_marked_stale_and_a_new_one_is_503() {
    for backend in BACKENDS {
        let mut reference = start_reference().await;
        let app = spawn_with_people_and_reference(backend, 2, vec![reference.addr], |c| {
            // Every answer must be confirmed again at once: the writes below take the stale path.
            c.reference.fresh_for = Duration::ZERO;
            c.reference.stale_while_revalidate = Duration::ZERO;
            c.reference.retry_after_failure = Duration::ZERO;
        })
        .await;
        let etl = etl();
        let (status, headers, _) = call(
            &app,
            Method::POST,
            "/tcs/api/qualifications",
            &etl,
            Some(qualification(1)),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}");
        assert!(headers.get("tis-degraded").is_none());
        reference.stop().await;

        let before = count(&app).await;
        let (status, headers, res) = call(
            &app,
            Method::POST,
            "/tcs/api/qualifications",
            &etl,
            Some(qualification(1)),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {res}");
        assert_eq!(headers["tis-degraded"], "reference-stale");
        let mut never = qualification(1);
        never["countryOfQualification"] = json!("Ireland");
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/qualifications",
            &etl,
            Some(never),
        )
        .await;
        assert_eq!(status, 503, "{res}");
        assert_eq!(res["error"]["code"], "dependency_unavailable", "{res}");
        assert_eq!(
            count(&app).await,
            before + 1,
            "{backend:?}: nothing written"
        );
    }
}
