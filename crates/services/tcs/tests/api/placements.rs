//! Placements, as the original's `PlacementResourceIntTest` has them (create, read, update,
//! the list patch, delete only future ones, close only current ones, filter, the person and
//! post views), with the overlap rules at their edges, validation, and what a placement
//! feeds (history, the trainee's trusts and list row, the post's current trainee). Posts are
//! written straight into the database (the posts module owns their API).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use tis_service_kit::testing::url_encode;

pub const VIEW: &str = "tcs:view:entities";
pub const MODIFY: &str = "tcs:add:modify:entities";
pub const DELETE: &str = "tcs:delete:entities";
pub const APPROVE: &str = "placement:approve";

/// The ETL with every placement authority.
pub fn etl() -> String {
    Caller::etl()
        .granted(&[VIEW, MODIFY, DELETE, APPROVE, "post:view"])
        .token()
}

/// A day `days` from today, as `YYYY-MM-DD`.
pub fn day(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

/// Where the test posts' ids start (the demo data has posts of its own).
pub const POSTS: i64 = 9000;

/// Writes post `POSTS + id` (National Post Number `NPN/{id}`) owned by `owner`, at trust `trust`, in
/// programme `programme` with specialty `specialty` (when given).
pub async fn post(
    app: &TestApp,
    id: i64,
    owner: &str,
    trust: Option<i64>,
    programme: Option<i64>,
    specialty: Option<i64>,
) {
    let (npn, id) = (id, POSTS + id);
    let exec = |sql: String| async move {
        app.db
            .write()
            .execute(tis_store::Sql::new(&sql))
            .await
            .expect(&sql);
    };
    exec(format!(
        "INSERT INTO post (id, national_post_number, status, owner) VALUES ({id}, 'NPN/{npn}', 'CURRENT', '{owner}')"
    ))
    .await;
    exec(format!(
        "INSERT INTO post_view (id, national_post_number, status, owner, search_text) VALUES ({id}, 'NPN/{npn}', 'CURRENT', '{owner}', 'npn/{npn}')"
    ))
    .await;
    if let Some(t) = trust {
        exec(format!(
            "INSERT INTO post_trust (post_id, trust_id, trust_code) VALUES ({id}, {t}, 'T{t}')"
        ))
        .await;
    }
    if let Some(p) = programme {
        exec(format!(
            "INSERT INTO post_programme (post_id, programme_id) VALUES ({id}, {p})"
        ))
        .await;
    }
    if let Some(s) = specialty {
        exec(format!(
            "INSERT INTO post_specialty (post_id, specialty_id, post_specialty_type) VALUES ({id}, {s}, 'PRIMARY')"
        ))
        .await;
    }
}

/// The owner of person `id` now.
pub async fn owner_of(app: &TestApp, id: i64) -> String {
    db_value(
        app,
        &format!("SELECT current_owner AS n FROM person WHERE id = {id}"),
    )
    .await
    .as_str()
    .expect("an owner")
    .to_owned()
}

/// A new placement of `trainee` in test post `post` (`POSTS + post`) from `from` to `to` (none: open-ended).
pub fn body(trainee: i64, post: i64, from: &str, to: Option<&str>) -> Value {
    json!({
        "traineeId": trainee,
        "postId": POSTS + post,
        "siteId": 1,
        "siteCode": "S1",
        "gradeId": 1,
        "gradeAbbreviation": "F1",
        "placementType": "IN_POST",
        "dateFrom": from,
        "dateTo": to,
        "wholeTimeEquivalent": 1.0,
        "trainingDescription": "A ward",
        "localPostNumber": "LPN1",
    })
}

pub async fn count(app: &TestApp, table: &str) -> i64 {
    db_value(app, &format!("SELECT COUNT(*) AS n FROM {table}"))
        .await
        .as_i64()
        .unwrap_or(-1)
}

/// The demo placements out of the way: each test places people from a known state.
pub async fn without_demo_placements(app: &TestApp) {
    for table in ["placement", "person_trust"] {
        app.db
            .write()
            .execute(tis_store::Sql::new(&format!("DELETE FROM {table}")))
            .await
            .expect("delete");
    }
}

/// TCS (with the default 2 MB body limit) with 4 demo people (without their demo placements), Reference with its demo data, and posts 1 and 2 owned by the
/// owner of person 1 (post 1 at trust 7 in person 1's first programme, with its curriculum's
/// specialty).
pub async fn setup(backend: Backend) -> (TestApp, TestReference) {
    let reference = start_reference().await;
    let app = spawn_with_people_and_reference(backend, 4, vec![reference.addr], |c| {
        // The default body limit (the test configuration's is 64 KiB): a 1 MB comment reaches the checks.
        c.body_limit = 2 * 1024 * 1024;
    })
    .await;
    without_demo_placements(&app).await;
    let owner = owner_of(&app, 1).await;
    let programme = db_value(
        &app,
        "SELECT MIN(programme_id) AS n FROM programme_membership WHERE person_id = 1",
    )
    .await
    .as_i64();
    let specialty = db_value(&app, "SELECT MIN(id) AS n FROM specialty")
        .await
        .as_i64();
    post(&app, 1, &owner, Some(7), programme, specialty).await;
    post(&app, 2, &owner, None, None, None).await;
    (app, reference)
}

#[tokio::test]
async fn a_placement_is_created_read_updated_listed_and_deleted_as_the_original_did() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let etl = etl();
        let before = count(&app, "person_history").await;

        let mut new = body(1, 1, &day(30), Some(&day(200)));
        new["specialties"] = json!([{"specialtyId": 1, "placementSpecialtyType": "PRIMARY"}]);
        new["sites"] = json!([{"siteId": 2, "placementSiteType": "OTHER"}]);
        new["supervisors"] = json!([{"person": {"id": 2}, "type": 1}]);
        new["comments"] = json!([{"body": "Starts on nights"}]);
        let (status, headers, created) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl,
            Some(new.clone()),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        let id = created["id"].as_i64().expect("an id");
        assert_eq!(
            headers["location"],
            format!("/tcs/api/placements/{id}").as_str()
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.placement.created");
        assert_eq!(headers["x-tcsapp-params"], id.to_string().as_str());
        assert_eq!(created["nationalPostNumber"], "NPN/1");
        assert_eq!(created["status"], "FUTURE");
        assert_eq!(created["lifecycleState"], "APPROVED", "the ETL may approve");
        assert_eq!(created["specialties"][0]["specialtyId"], 1);
        assert_eq!(created["sites"][0]["siteId"], 2);
        assert_eq!(created["supervisors"][0]["person"]["id"], 2);
        assert_eq!(created["comments"][0]["body"], "Starts on nights");
        assert!(created["traineeLastName"].is_string(), "{created}");
        // The answer is the placement as read back (the create reads only the children it wrote).
        let (status, _, read) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{id}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{read}");
        assert_eq!(created, read, "{backend:?}");
        assert!(
            count(&app, "person_history").await > before,
            "history written"
        );

        // An id on create: 400 idexists.
        let (status, headers, _) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl,
            Some(created.clone()),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(headers["x-tcsapp-error"], "error.idexists");

        // GET, PUT.
        let (status, _, got) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{id}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(got, created);
        let mut changed = got.clone();
        changed["wholeTimeEquivalent"] = json!(0.6);
        changed["comments"] = json!([{"body": "Days only"}]);
        let (status, headers, updated) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl,
            Some(changed),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.placement.updated");
        assert_eq!(updated["wholeTimeEquivalent"], 0.6);
        assert_eq!(updated["comments"][0]["body"], "Days only");
        assert_eq!(
            count(&app, "placement_comment").await,
            1,
            "the latest comment is rewritten"
        );
        // A PUT without an id creates; of an unknown id, 404.
        let (status, _, second) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl,
            Some(body(1, 2, &day(300), Some(&day(400)))),
        )
        .await;
        assert_eq!(status, 201, "{second}");
        let mut unknown = second.clone();
        unknown["id"] = json!(999_999);
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &etl,
            Some(unknown),
        )
        .await;
        assert_eq!(status, 404);

        // The list, the filter, the PATCH list.
        let (status, headers, page) = call(
            &app,
            Method::GET,
            "/tcs/api/placements?size=1&sort=id,desc",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-total-count"], "2");
        assert_eq!(page[0]["id"], second["id"]);
        assert_eq!(page[0]["placementWholeTimeEquivalent"], 1.0);
        let filters = url_encode(r#"{"postId":[9002]}"#);
        let (status, headers, found) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/filter?columnFilters={filters}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(headers["x-total-count"], "1");
        assert_eq!(found[0]["id"], second["id"]);
        let (status, _, bad) = call(
            &app,
            Method::GET,
            &format!(
                "/tcs/api/placements/filter?columnFilters={}",
                url_encode(r#"{"surname":["x"]}"#)
            ),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 400, "{bad}");
        let mut patch = page[0].clone();
        patch["trainingDescription"] = json!("Patched");
        let (status, _, patched) = call(
            &app,
            Method::PATCH,
            "/tcs/api/placements",
            &etl,
            Some(json!([patch])),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched[0]["trainingDescription"], "Patched");

        // The person's and the post's views.
        let gmc = db_value(&app, "SELECT gmc_number AS n FROM gmc_details WHERE id = 1").await;
        let gmc = gmc.as_str().expect("a gmc number");
        for path in [
            "/tcs/api/people/1/placements".to_owned(),
            format!("/tcs/api/people/gmc/{gmc}/placements"),
        ] {
            let (status, _, views) = call(&app, Method::GET, &path, &etl, None).await;
            assert_eq!(status, 200, "{path}: {views}");
            assert_eq!(views.as_array().map(Vec::len), Some(2), "{views}");
            assert_eq!(views[0]["id"], second["id"], "latest first");
            let (status, _, summaries) =
                call(&app, Method::GET, &format!("{path}/new"), &etl, None).await;
            assert_eq!(status, 200);
            assert_eq!(summaries[1]["placementId"], id);
            assert_eq!(summaries[1]["placementStatus"], "FUTURE");
            assert_eq!(summaries[1]["placementWholeTimeEquivalent"], 0.6);
            assert!(
                summaries[1]["primarySpecialtyName"].is_string(),
                "{summaries}"
            );
        }
        let (status, _, views) = call(
            &app,
            Method::GET,
            "/tcs/api/posts/9001/placements",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(views[0]["id"], id);
        let (status, _, summaries) = call(
            &app,
            Method::GET,
            "/tcs/api/posts/9001/placements/new",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(summaries[0]["nationalPostNumber"], "NPN/1");
        for path in [
            "/tcs/api/people/99999/placements",
            "/tcs/api/people/gmc/0000000/placements",
            "/tcs/api/posts/99999/placements",
        ] {
            let (status, _, _) = call(&app, Method::GET, path, &etl, None).await;
            assert_eq!(status, 404, "{path}");
        }

        // Delete: a future placement goes with its children; an unknown one is 404.
        let (status, headers, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/placements/{id}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.placement.deleted");
        assert_eq!(count(&app, "placement_supervisor").await, 0);
        assert_eq!(count(&app, "placement_comment").await, 0);
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{id}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/placements/{id}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn only_a_current_placement_closes_and_only_a_future_one_is_deleted() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let etl = etl();
        let (_, _, current) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl,
            Some(body(1, 1, &day(-30), Some(&day(30)))),
        )
        .await;
        let current = current["id"].as_i64().expect("an id");
        let (_, _, today) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl,
            Some(body(2, 2, &day(0), None)),
        )
        .await;
        let today = today["id"].as_i64().expect("an id");

        // Started today: neither closed (it would end before it starts) nor deleted.
        let (status, _, res) = call(
            &app,
            Method::PUT,
            &format!("/tcs/api/placements/{today}/close"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 409, "{res}");
        let (status, _, res) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/placements/{today}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 409, "{res}");
        assert!(
            res["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("not a future")
        );

        let (status, _, closed) = call(
            &app,
            Method::PUT,
            &format!("/tcs/api/placements/{current}/close"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{closed}");
        assert_eq!(closed["dateTo"], day(-1));
        assert_eq!(closed["status"], "PAST");
        let (status, _, _) = call(
            &app,
            Method::PUT,
            &format!("/tcs/api/placements/{current}/close"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 409, "a past placement does not close again");
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements/123456/close",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements/abc/close",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn the_demo_placements_keep_the_rules_within_their_programmes_past_present_and_future() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 300).await;
        let n = |sql: &'static str| {
            let app = &app;
            async move { db_value(app, sql).await.as_i64().unwrap_or(-1) }
        };
        assert!(
            n("SELECT COUNT(*) AS n FROM placement").await > 300,
            "{backend:?}"
        );
        for (what, sql) in [
            (
                "a trainee in two placements on one day",
                "SELECT COUNT(*) AS n FROM placement a JOIN placement b ON a.trainee_id = b.trainee_id AND a.id < b.id AND a.date_from <= b.date_to AND b.date_from <= a.date_to",
            ),
            (
                "a post with two placements on one day",
                "SELECT COUNT(*) AS n FROM placement a JOIN placement b ON a.post_id = b.post_id AND a.id < b.id AND a.date_from <= b.date_to AND b.date_from <= a.date_to",
            ),
            (
                "a placement outside its trainee's memberships of the post's programmes",
                "SELECT COUNT(*) AS n FROM placement pl WHERE NOT EXISTS (SELECT 1 FROM programme_membership pm JOIN post_programme pp ON pp.programme_id = pm.programme_id WHERE pm.person_id = pl.trainee_id AND pp.post_id = pl.post_id AND pm.programme_start_date <= pl.date_from AND pl.date_to <= pm.programme_end_date)",
            ),
        ] {
            assert_eq!(n(sql).await, 0, "{backend:?}: {what}");
        }
        let today = day(0);
        for (when, cond) in [
            ("past", format!("date_to < '{today}'")),
            (
                "current",
                format!("date_from <= '{today}' AND date_to >= '{today}'"),
            ),
            ("future", format!("date_from > '{today}'")),
        ] {
            let sql = format!("SELECT COUNT(*) AS n FROM placement WHERE {cond}");
            let count = db_value(&app, &sql).await.as_i64().unwrap_or(-1);
            assert!(count > 0, "{backend:?}: no {when} placements");
        }
        assert!(n("SELECT COUNT(*) AS n FROM placement WHERE lifecycle_state = 'DRAFT'").await > 0);
        assert!(
            n("SELECT COUNT(*) AS n FROM person_trust").await > 0,
            "trust admins see the placed"
        );
        assert!(
            n("SELECT COUNT(*) AS n FROM post_view WHERE current_trainee_id IS NOT NULL").await > 0
        );
        assert!(n("SELECT COUNT(*) AS n FROM person_view WHERE grade_id IS NOT NULL").await > 0);
    }
}

/// A placement that does not change its post's current trainee (a future one) leaves the post's
/// list row and so the post list's data version alone: every writer of `post_view` takes the
/// version's one row until it commits, which serialised every placement create on PostgreSQL.
/// One that does (a current one) moves both.
#[tokio::test]
async fn only_a_placement_that_changes_its_posts_current_trainee_writes_the_post_list() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let etl = etl();
        let version = || db_value(&app, "SELECT version AS n FROM search_post_view_version");
        let shown = format!(
            "SELECT current_trainee_id AS n FROM post_view WHERE id = {}",
            POSTS + 1
        );
        let trainee = || db_value(&app, &shown);
        let before = version().await;
        assert_eq!(trainee().await, Value::Null, "{backend:?}");

        let future = body(1, 1, &day(400), Some(&day(500)));
        let (status, _, created) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl,
            Some(future),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        assert_eq!(version().await, before, "{backend:?}: a future placement");
        assert_eq!(trainee().await, Value::Null, "{backend:?}");

        let current = body(1, 1, &day(-10), Some(&day(30)));
        let (status, _, created) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl,
            Some(current),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        assert_ne!(version().await, before, "{backend:?}: a current placement");
        assert_eq!(trainee().await, json!(1), "{backend:?}");
    }
}
