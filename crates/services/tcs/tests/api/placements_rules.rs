//! What a placement write refuses: the overlap rules at their edges (the same day,
//! open-ended placements, part-time), bad input (each a JSON 4xx naming the problem, nothing
//! written), comments, and Reference being down.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::placements::{body, count, day, etl, owner_of, post, setup};

fn fields(body: &Value) -> Vec<String> {
    let mut f: Vec<String> = body["error"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect();
    f.sort();
    f
}

/// Creates `b` as the ETL: the status and the answer.
async fn create(app: &TestApp, b: Value) -> (u16, Value) {
    let (status, _, res) = call(app, Method::POST, "/tcs/api/placements", &etl(), Some(b)).await;
    (status, res)
}

fn with_wte(mut b: Value, wte: Option<f64>) -> Value {
    b["wholeTimeEquivalent"] = json!(wte);
    b
}

#[tokio::test]
async fn a_trainee_is_never_placed_over_whole_time_on_any_day_at_the_edges() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        // Person 1 in post 1 from day 10 to day 100.
        let (status, first) = create(&app, body(1, 1, &day(10), Some(&day(100)))).await;
        assert_eq!(status, 201, "{backend:?}: {first}");
        let first = first["id"].as_i64().expect("an id");

        // Starting on its last day: one shared day, 409 naming the other placement.
        let (status, res) = create(&app, body(1, 2, &day(100), Some(&day(200)))).await;
        assert_eq!(status, 409, "{res}");
        assert_eq!(res["error"]["code"], "placement_overlap");
        let conflicts = res["error"]["conflicts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(conflicts.len(), 1, "{res}");
        assert_eq!(conflicts[0]["id"], first);
        assert_eq!(conflicts[0]["rule"], "trainee");
        assert_eq!(conflicts[0]["nationalPostNumber"], "NPN/1");
        assert!(
            res["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(&day(100))
        );
        // Starting the day after: fine.
        let (status, res) = create(&app, body(1, 2, &day(101), Some(&day(200)))).await;
        assert_eq!(status, 201, "{res}");
        let second = res["id"].as_i64().expect("an id");

        // Open-ended: one starting long after an open-ended placement overlaps it.
        let (status, res) = create(&app, body(2, 2, &day(400), None)).await;
        assert_eq!(status, 201, "{res}");
        let (status, res) = create(&app, body(2, 1, &day(4000), Some(&day(4010)))).await;
        assert_eq!(status, 409, "{res}");
        // …and one before it does not.
        let (status, res) = create(&app, body(2, 1, &day(300), Some(&day(399)))).await;
        assert_eq!(status, 201, "{res}");

        // Part time: 0.5 and 0.5 share days (in another post), 0.51 more does not.
        let (status, res) = create(
            &app,
            with_wte(body(3, 1, &day(500), Some(&day(600))), Some(0.5)),
        )
        .await;
        assert_eq!(status, 201, "{res}");
        let (status, res) = create(
            &app,
            with_wte(body(3, 2, &day(550), Some(&day(650))), Some(0.5)),
        )
        .await;
        assert_eq!(
            status, 409,
            "post 2 holds person 2's open-ended placement: {res}"
        );
        assert_eq!(res["error"]["conflicts"][0]["rule"], "post");
        let (status, res) = create(
            &app,
            with_wte(body(3, 1, &day(601), Some(&day(700))), Some(0.5)),
        )
        .await;
        assert_eq!(status, 201, "the same post, the next day: {res}");
        crate::placements::post(
            &app,
            3,
            &crate::placements::owner_of(&app, 1).await,
            None,
            None,
            None,
        )
        .await;
        let (status, res) = create(
            &app,
            with_wte(body(3, 3, &day(550), Some(&day(650))), Some(0.5)),
        )
        .await;
        assert_eq!(status, 201, "0.5 + 0.5: {res}");
        let before = count(&app, "placement").await;
        let (status, res) = create(
            &app,
            with_wte(body(3, 3, &day(580), Some(&day(590))), Some(0.01)),
        )
        .await;
        assert_eq!(status, 409, "0.5 + 0.5 + 0.01, and post 3 is taken: {res}");
        let rules: Vec<&str> = res["error"]["conflicts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["rule"].as_str())
            .collect();
        assert!(
            rules.contains(&"trainee") && rules.contains(&"post"),
            "{res}"
        );
        assert_eq!(count(&app, "placement").await, before, "nothing written");

        // An update is not measured against itself; moving onto another's days is.
        let (_, _, mut stored) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{second}"),
            &etl(),
            None,
        )
        .await;
        stored["dateTo"] = json!(day(210));
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl(),
            Some(stored.clone()),
        )
        .await;
        assert_eq!(status, 200, "{res}");
        stored["dateFrom"] = json!(day(50));
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl(),
            Some(stored),
        )
        .await;
        assert_eq!(status, 409, "{res}");

        // The original's question: any placement of the NPN's posts in the period.
        for (from, to, skip, want) in [
            (day(0), day(9), None, false),
            (day(0), day(10), None, true),
            (day(100), day(100), Some(first), false),
            (day(5000), day(5001), None, false),
        ] {
            let mut path = format!(
                "/tcs/api/placements/overlapping?npn={}&fromDate={from}&toDate={to}",
                tis_service_kit::testing::url_encode("NPN/1")
            );
            if let Some(skip) = skip {
                path.push_str(&format!("&placementId={skip}"));
            }
            let (status, _, res) = call(&app, Method::GET, &path, &etl(), None).await;
            assert_eq!(status, 200, "{res}");
            assert_eq!(res["overlapping"], want, "{path}");
        }
        let (status, _, res) = call(
            &app,
            Method::GET,
            "/tcs/api/placements/overlapping?npn=NPN%2F1&fromDate=tomorrow",
            &etl(),
            None,
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["fromDate", "toDate"]);
    }
}

/// Exactly one of racing creates placed (201), the others refused for the overlap (409).
fn one_placed(backend: Backend, answers: Vec<(u16, Value)>) {
    let placed = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(placed, 1, "{backend:?}: {answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{backend:?}: {answers:?}"
    );
}

/// Writes that race: on PostgreSQL two transactions could both read a trainee's (or a post's)
/// placements before either had written, and both pass the overlap rules; each write locks
/// the trainee's and the post's rows before it reads them.
#[tokio::test]
async fn racing_creates_are_checked_against_each_other() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let owner = owner_of(&app, 1).await;
        for id in 3..=10 {
            post(&app, id, &owner, None, None, None).await;
        }
        // One trainee, eight posts, the same days, all at once: one is placed.
        let tries = (3..=10).map(|p| create(&app, body(1, p, &day(10), Some(&day(100)))));
        one_placed(backend, futures::future::join_all(tries).await);
        // One post, four trainees, the same days, all at once: the post holds one.
        let tries = (1..=4).map(|t| create(&app, body(t, 2, &day(200), Some(&day(300)))));
        one_placed(backend, futures::future::join_all(tries).await);
        assert_eq!(count(&app, "placement").await, 2, "{backend:?}");
    }
}

#[tokio::test]
async fn bad_placements_are_refused_naming_the_problem_and_nothing_is_written() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let ok = body(1, 1, &day(10), Some(&day(100)));
        let mut cases: Vec<(Value, u16, Vec<&str>)> = Vec::new();
        let mut b = ok.clone();
        b["dateTo"] = json!(day(9));
        cases.push((b, 400, vec!["dateTo"]));
        let mut b = ok.clone();
        b["dateFrom"] = json!("2026-02-30");
        cases.push((b, 400, vec!["dateFrom"]));
        let mut b = ok.clone();
        b["siteId"] = json!(999_999);
        cases.push((b, 400, vec!["siteId"]));
        let mut b = ok.clone();
        b["gradeId"] = json!(999_999);
        b["placementType"] = json!("NOT_A_TYPE");
        cases.push((b, 400, vec!["gradeId", "placementType"]));
        let mut b = ok.clone();
        b["postId"] = json!(999_999);
        cases.push((b, 400, vec!["postId"]));
        let mut b = ok.clone();
        b["traineeId"] = json!(999_999);
        cases.push((b, 400, vec!["traineeId"]));
        let mut b = ok.clone();
        b["wholeTimeEquivalent"] = json!(1.5);
        cases.push((b, 400, vec!["wholeTimeEquivalent"]));
        let mut b = ok.clone();
        b["wholeTimeEquivalent"] = json!(0.333);
        cases.push((b, 400, vec!["wholeTimeEquivalent"]));
        let mut b = ok.clone();
        b["specialties"] = json!([
            {"specialtyId": 1, "placementSpecialtyType": "PRIMARY"},
            {"specialtyId": 999_999, "placementSpecialtyType": "PRIMARY"}
        ]);
        cases.push((b, 400, vec!["specialties"]));
        let mut b = ok.clone();
        b["supervisors"] = json!([{"person": {"id": 999_999}, "type": 1}]);
        cases.push((b, 400, vec!["supervisors[0].person"]));
        let mut b = ok.clone();
        b["comments"] = json!([{"body": "x".repeat(1024 * 1024)}]);
        cases.push((b, 400, vec!["comments[0].body"]));
        let empty = json!({});
        cases.push((
            empty,
            400,
            vec![
                "dateFrom",
                "gradeId",
                "placementType",
                "postId",
                "siteId",
                "traineeId",
            ],
        ));

        for (b, want, want_fields) in cases {
            let (status, _, res) =
                call(&app, Method::POST, "/tcs/api/placements", &etl(), Some(b)).await;
            assert_eq!(status, want, "{backend:?}: {want_fields:?}: {res}");
            assert_eq!(res["error"]["code"], "validation_failed", "{res}");
            assert_eq!(res["message"], "error.validation");
            let got = fields(&res);
            for f in &want_fields {
                assert!(got.iter().any(|g| g == f), "{f} in {got:?}: {res}");
            }
        }
        // Not JSON, a string for a number: 400 too, never a 500.
        let res = app
            .request(Method::POST, "/tcs/api/placements", Some(&etl()))
            .header("content-type", "application/json")
            .body("{\"traineeId\": ")
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), 400);
        let mut b = ok.clone();
        b["traineeId"] = json!("one");
        let (status, _, res) =
            call(&app, Method::POST, "/tcs/api/placements", &etl(), Some(b)).await;
        assert_eq!(status, 400, "{res}");
        for table in [
            "placement",
            "placement_specialty",
            "placement_supervisor",
            "placement_comment",
        ] {
            assert_eq!(count(&app, table).await, 0, "{table}");
        }
        // The list patch is all or nothing: the second item's error names it.
        let mut bad = ok.clone();
        bad["siteId"] = Value::Null;
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/placements",
            &etl(),
            Some(json!([ok.clone(), bad])),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["[1].siteId"]);
        assert_eq!(count(&app, "placement").await, 0);
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/placements",
            &etl(),
            Some(Value::Array(vec![ok.clone(); 1001])),
        )
        .await;
        assert_eq!(status, 400, "{res}");
    }
}

#[tokio::test]
async fn comments_are_added_read_changed_and_kept_to_a_size() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let (_, placement) = create(&app, body(1, 1, &day(10), Some(&day(100)))).await;
        let placement = placement["id"].as_i64().expect("an id");
        let etl = etl();
        let (status, headers, c) = call(
            &app,
            Method::POST,
            "/tcs/api/placementComment",
            &etl,
            Some(json!({"placementId": placement, "body": "Nights"})),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {c}");
        let id = c["id"].as_i64().expect("an id");
        assert_eq!(
            headers["location"],
            format!("/tcs/api/placementComment/{id}").as_str()
        );
        assert_eq!(c["author"], "hee.admin");
        assert_eq!(c["source"], "TIS");
        let (status, _, got) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placementComment/{id}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(got, c);
        let (status, _, latest) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placement/{placement}/placementComment"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(latest["body"], "Nights");
        let (status, _, changed) = call(
            &app,
            Method::PUT,
            "/tcs/api/placementComment",
            &etl,
            Some(json!({"id": id, "body": "Days"})),
        )
        .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["body"], "Days");

        for (method, b, want, field) in [
            (
                Method::POST,
                json!({"placementId": placement, "body": "x".repeat(10_001)}),
                400,
                "body",
            ),
            (Method::POST, json!({"placementId": placement}), 400, "body"),
            (
                Method::POST,
                json!({"placementId": 999_999, "body": "x"}),
                400,
                "placementId",
            ),
            (
                Method::POST,
                json!({"id": 5, "placementId": placement, "body": "x"}),
                400,
                "id",
            ),
            (Method::PUT, json!({"body": "x"}), 400, "id"),
            (
                Method::PUT,
                json!({"id": id, "body": "x", "source": "FAX"}),
                400,
                "source",
            ),
        ] {
            let (status, _, res) =
                call(&app, method, "/tcs/api/placementComment", &etl, Some(b)).await;
            assert_eq!(status, want, "{field}: {res}");
            assert!(fields(&res).contains(&field.to_owned()), "{field}: {res}");
        }
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/placementComment",
            &etl,
            Some(json!({"id": 999_999, "body": "x"})),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/placementComment/999999",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404);
        // A comment of 1 MB (under the 2 MB body limit): 400 naming `body`.
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/placementComment",
            &etl,
            Some(json!({"placementId": placement, "body": "x".repeat(1024 * 1024)})),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["body"]);
        assert_eq!(count(&app, "placement_comment").await, 1);
        let history = db_value(
            &app,
            "SELECT COUNT(*) AS n FROM person_history WHERE field LIKE '%].comment'",
        )
        .await;
        assert_eq!(history.as_i64(), Some(2), "added, then changed");
    }
}

#[tokio::test]
async fn with_reference_down_a_site_seen_before_is_written_marked_stale_and_a_new_one_is_503() {
    for backend in BACKENDS {
        let mut reference = start_reference().await;
        let app = spawn_with_people_and_reference(backend, 4, vec![reference.addr], |c| {
            c.reference.fresh_for = std::time::Duration::ZERO;
            c.reference.stale_while_revalidate = std::time::Duration::ZERO;
            c.reference.retry_after_failure = std::time::Duration::ZERO;
        })
        .await;
        crate::placements::without_demo_placements(&app).await;
        let owner = crate::placements::owner_of(&app, 1).await;
        crate::placements::post(&app, 1, &owner, None, None, None).await;
        let (status, res) = create(&app, body(1, 1, &day(10), Some(&day(100)))).await;
        assert_eq!(status, 201, "{backend:?}: {res}");
        let mut stored = res.clone();
        stored["siteId"] = json!(2);
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl(),
            Some(stored.clone()),
        )
        .await;
        assert_eq!(status, 200);
        reference.stop().await;

        // Unchanged Reference data: not asked.
        stored["trainingDescription"] = json!("Changed");
        let (status, headers, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl(),
            Some(stored.clone()),
        )
        .await;
        assert_eq!(status, 200, "{res}");
        assert!(headers.get("tis-degraded").is_none(), "{headers:?}");
        // Back to a site seen before: written, marked.
        stored["siteId"] = json!(1);
        let (status, headers, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl(),
            Some(stored.clone()),
        )
        .await;
        assert_eq!(status, 200, "{res}");
        assert_eq!(headers["tis-degraded"], "reference-stale");
        // A site never seen: 503, nothing written.
        stored["siteId"] = json!(3);
        stored["trainingDescription"] = json!("Not written");
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl(),
            Some(stored.clone()),
        )
        .await;
        assert_eq!(status, 503, "{res}");
        assert_eq!(res["error"]["code"], "dependency_unavailable");
        let (_, _, now) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{}", stored["id"]),
            &etl(),
            None,
        )
        .await;
        assert_eq!(now["siteId"], 1);
        assert_eq!(now["trainingDescription"], "Changed");
    }
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_places_the_trainee_once() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let res = app
                .request(Method::POST, "/tcs/api/placements", Some(&etl()))
                .header("idempotency-key", "place-1-once")
                .json(&body(1, 1, &day(10), Some(&day(100))))
                .send()
                .await
                .expect("POST");
            assert_eq!(
                res.status(),
                201,
                "{backend:?}: the retry answers as the first"
            );
            let b: Value = res.json().await.expect("json");
            ids.push(b["id"].as_i64());
        }
        assert_eq!(ids[0], ids[1]);
        assert_eq!(
            count(&app, "placement").await,
            1,
            "not a 409 overlap with itself"
        );
    }
}
