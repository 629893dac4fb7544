//! A post's fundings one by one (`/post-fundings`, as the original's
//! `PostFundingResourceIntTest`), placement funders (`PlacementFunderResourceIntTest`) and
//! the ESR interface's events (`esr-exported`, `esr-changed`): created, read, listed,
//! updated, deleted, within the caller's scope, behind the original's `tcs:*` guards, bad
//! input a clear 4xx with nothing written.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::person_schema::{keys, properties};
use crate::placements::{self as pl, POSTS};
use crate::posts::{SOUTH_LONDON, WESSEX, admin, fields, start};

const TCS: &[&str] = &[
    "tcs:view:entities",
    "tcs:add:modify:entities",
    "tcs:delete:entities",
];

/// Asserts that the OpenAPI document's answer of `method path` (status `status`) has exactly
/// the keys of `answer`, a real one.
async fn documented(
    app: &TestApp,
    path: &str,
    method: &str,
    status: &str,
    answer: &serde_json::Value,
) {
    let (_, _, doc) = call(
        app,
        Method::GET,
        "/tcs/api-docs",
        &Caller::etl().token(),
        None,
    )
    .await;
    let schema =
        &doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{path} {method} {status} is not documented"
    );
    assert_eq!(
        properties(&doc, schema),
        keys(answer),
        "{path}: the document and a real answer"
    );
}

/// Every funding row of post `id`.
async fn fundings_of(app: &TestApp, id: i64) -> i64 {
    db_value(
        app,
        &format!("SELECT COUNT(*) AS n FROM post_funding WHERE post_id = {id}"),
    )
    .await
    .as_i64()
    .unwrap_or(-1)
}

/// A post of South London numbered `npn`, as answered.
async fn one_post(
    app: &TestApp,
    token: &str,
    n: &crate::posts::Names,
    npn: &str,
) -> serde_json::Value {
    crate::posts_totals::create(app, token, n, &[npn])
        .await
        .remove(0)
}

#[tokio::test]
async fn post_fundings_are_created_read_listed_updated_and_deleted_through_their_post() {
    for backend in BACKENDS {
        let (_reference, app, n) = start(backend).await;
        let token = admin(&[SOUTH_LONDON]).granted(TCS).token();
        let created = one_post(&app, &token, &n, "LDN/RJ122/076/ST1/101").await;
        let post_id = created["id"].as_i64().expect("a post");
        let first = created["fundings"][0]["id"].as_i64().expect("a funding");

        // POST: 201, Location, the original's alert; the post's list row shows the latest.
        let body = json!({"postId": post_id, "fundingType": "TRUST", "startDate": "2027-08-01", "endDate": "2029-07-31", "info": "trust", "fundingBodyId": "RJ1"});
        let (status, headers, funding) = call(
            &app,
            Method::POST,
            "/tcs/api/post-fundings",
            &token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {funding}");
        let id = funding["id"].as_i64().expect("an id");
        assert_eq!(
            headers["location"],
            format!("/tcs/api/post-fundings/{id}").as_str()
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.postFunding.created");
        assert_eq!(funding["postId"], post_id);
        assert_eq!(funding["startDate"], "2027-08-01");
        assert_eq!(funding["messageList"], json!([]));
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT funding_type AS n FROM post_view WHERE id = {post_id}")
            )
            .await,
            "TRUST",
            "the list row's fundingType is the latest funding's"
        );

        // GET by id, the page (filtered by post), the post with both.
        let (status, _, one) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/post-fundings/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(one, funding);
        documented(&app, "/tcs/api/post-fundings/{id}", "get", "200", &one).await;
        let filter = format!(
            "/tcs/api/post-fundings?sort=id,desc&columnFilters={}",
            tis_service_kit::testing::url_encode(&json!({"postId": [post_id]}).to_string())
        );
        let (status, headers, page) = call(&app, Method::GET, &filter, &token, None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(headers["x-total-count"], "2");
        assert_eq!(page[0]["id"], id);
        assert_eq!(page[1]["id"], first);
        for (path, want) in [
            ("/tcs/api/post-fundings/987654", 404),
            ("/tcs/api/post-fundings/x", 400),
        ] {
            let (status, _, res) = call(&app, Method::GET, path, &token, None).await;
            assert_eq!(status, want, "{path}: {res}");
        }

        // PUT: 200 + alert; a whole post written back as read keeps its fundings' ids.
        let mut changed = funding.clone();
        changed["endDate"] = json!("2030-07-31");
        let (status, headers, updated) = call(
            &app,
            Method::PUT,
            "/tcs/api/post-fundings",
            &token,
            Some(changed),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.postFunding.updated");
        assert_eq!(updated["endDate"], "2030-07-31");
        let (_, _, whole) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/posts/{post_id}"),
            &token,
            None,
        )
        .await;
        let (status, _, rewritten) =
            call(&app, Method::PUT, "/tcs/api/posts", &token, Some(whole)).await;
        assert_eq!(status, 200, "{rewritten}");
        let mut ids: Vec<i64> = rewritten["fundings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["id"].as_i64())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, [first, id], "PUT /posts keeps the fundings' ids");
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/post-fundings/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);

        // PUT without an id creates; POST with one is the original's idexists.
        let (status, headers, third) = call(
            &app,
            Method::PUT,
            "/tcs/api/post-fundings",
            &token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 201, "{third}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.postFunding.created");
        let mut with_id = body.clone();
        with_id["id"] = json!(1);
        let (status, headers, res) = call(
            &app,
            Method::POST,
            "/tcs/api/post-fundings",
            &token,
            Some(with_id.clone()),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(headers["x-tcsapp-error"], "error.idexists");
        assert_eq!(fundings_of(&app, post_id).await, 3);

        // The bulk routes: all or none.
        let (status, headers, both) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-post-fundings",
            &token,
            Some(json!([body.clone(), body.clone()])),
        )
        .await;
        assert_eq!(status, 200, "{both}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.postFunding.created");
        assert_eq!(both.as_array().map(Vec::len), Some(2));
        assert_eq!(fundings_of(&app, post_id).await, 5);
        let (status, headers, _) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-post-fundings",
            &token,
            Some(json!([body.clone(), with_id])),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(headers["x-tcsapp-error"], "error.ids.exist");
        let mut late = both[1].clone();
        late["startDate"] = json!("2028-01-01");
        let mut bad = both[0].clone();
        bad["endDate"] = json!("2020-01-01");
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-post-fundings",
            &token,
            Some(json!([late.clone(), bad])),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["[1].endDate"]);
        assert_eq!(
            db_value(
                &app,
                &format!(
                    "SELECT start_date AS n FROM post_funding WHERE id = {}",
                    late["id"]
                )
            )
            .await,
            "2027-08-01",
            "nothing of the refused list was written"
        );
        let (status, _, updated) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-post-fundings",
            &token,
            Some(json!([late])),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated[0]["startDate"], "2028-01-01");
        for (list, error) in [
            (json!([]), "error.request.body.empty"),
            (json!([body.clone()]), "error.bulk.update.failed.noId"),
        ] {
            let (status, headers, _) = call(
                &app,
                Method::PUT,
                "/tcs/api/bulk-post-fundings",
                &token,
                Some(list),
            )
            .await;
            assert_eq!(status, 400);
            assert_eq!(headers["x-tcsapp-error"], error);
        }

        // Bad input: a clear 400 naming the field, nothing written.
        let before = fundings_of(&app, post_id).await;
        let mut cases = vec![
            (
                json!({"postId": post_id, "fundingType": "TRUST", "startDate": "2027-08-01", "endDate": "2026-01-01"}),
                "endDate",
            ),
            (
                json!({"postId": post_id, "fundingType": "TRUST", "startDate": "2027-02-30"}),
                "startDate",
            ),
            (
                json!({"postId": post_id, "startDate": "2027-08-01"}),
                "fundingType",
            ),
            (
                json!({"postId": post_id, "fundingType": "NOPE", "startDate": "2027-08-01"}),
                "fundingType",
            ),
            (
                json!({"fundingType": "TRUST", "startDate": "2027-08-01"}),
                "postId",
            ),
            (
                json!({"postId": 987654, "fundingType": "TRUST", "startDate": "2027-08-01"}),
                "postId",
            ),
        ];
        cases.push((json!({"postId": "x"}), "postId"));
        for (bad, field) in cases {
            let (status, _, res) = call(
                &app,
                Method::POST,
                "/tcs/api/post-fundings",
                &token,
                Some(bad.clone()),
            )
            .await;
            assert_eq!(status, 400, "{bad}: {res}");
            assert!(fields(&res).contains(&field.to_owned()), "{bad}: {res}");
        }
        assert_eq!(fundings_of(&app, post_id).await, before);

        // Another office's post: 404 by id, left out of the page, not written, not deleted;
        // a body naming it is a 400 as if it did not exist.
        let other = admin(&[WESSEX]).granted(TCS).token();
        for method in [Method::GET, Method::DELETE] {
            let (status, _, _) = call(
                &app,
                method,
                &format!("/tcs/api/post-fundings/{id}"),
                &other,
                None,
            )
            .await;
            assert_eq!(status, 404);
        }
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/post-fundings",
            &other,
            Some(updated[0].clone()),
        )
        .await;
        assert_eq!(status, 404, "{res}");
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/post-fundings",
            &other,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(
            res["fieldErrors"][0]["message"],
            format!("Post with id {post_id} does not exist").as_str()
        );
        let (_, _, page) = call(&app, Method::GET, &filter, &other, None).await;
        assert_eq!(page, json!([]));
        assert_eq!(fundings_of(&app, post_id).await, before);

        // The original's guards, each refused with 403 without its authority.
        let viewer = admin(&[SOUTH_LONDON])
            .without_policies()
            .granted(&["tcs:view:entities"])
            .token();
        let writer = admin(&[SOUTH_LONDON])
            .without_policies()
            .granted(&["tcs:add:modify:entities"])
            .token();
        for (method, path, who, payload) in [
            (
                Method::GET,
                "/tcs/api/post-fundings".to_owned(),
                &writer,
                None,
            ),
            (
                Method::GET,
                format!("/tcs/api/post-fundings/{id}"),
                &writer,
                None,
            ),
            (
                Method::POST,
                "/tcs/api/post-fundings".to_owned(),
                &viewer,
                Some(body.clone()),
            ),
            (
                Method::PUT,
                "/tcs/api/post-fundings".to_owned(),
                &viewer,
                Some(body.clone()),
            ),
            (
                Method::POST,
                "/tcs/api/bulk-post-fundings".to_owned(),
                &viewer,
                Some(json!([body.clone()])),
            ),
            (
                Method::PUT,
                "/tcs/api/bulk-post-fundings".to_owned(),
                &viewer,
                Some(json!([body.clone()])),
            ),
            (
                Method::DELETE,
                format!("/tcs/api/post-fundings/{id}"),
                &writer,
                None,
            ),
        ] {
            let (status, _, res) = call(&app, method.clone(), &path, who, payload).await;
            assert_eq!(status, 403, "{method} {path}: {res}");
        }

        // DELETE: 200 + alert; the list row follows the fundings left.
        let (status, headers, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/post-fundings/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.postFunding.deleted");
        assert_eq!(fundings_of(&app, post_id).await, before - 1);
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/post-fundings/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn placement_funders_are_the_originals_plain_list_behind_its_guards() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let token = Caller::hee(&[SOUTH_LONDON]).granted(TCS).token();
        let (status, headers, created) = call(
            &app,
            Method::POST,
            "/tcs/api/placement-funders",
            &token,
            Some(json!({"localOffice": "London LETBs", "trust": "Guy's and St Thomas'"})),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        let id = created["id"].as_i64().expect("an id");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.placementFunder.created");
        let (status, _, one) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placement-funders/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(one["trust"], "Guy's and St Thomas'");
        documented(&app, "/tcs/api/placement-funders/{id}", "get", "200", &one).await;
        let (status, _, updated) = call(
            &app,
            Method::PUT,
            "/tcs/api/placement-funders",
            &token,
            Some(json!({"id": id, "localOffice": "Wessex", "trust": "Guy's and St Thomas'"})),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["localOffice"], "Wessex");
        // PUT without an id creates, as the original; the bulk routes; the page.
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/placement-funders",
            &token,
            Some(json!({"localOffice": "Thames Valley", "trust": "Oxford"})),
        )
        .await;
        assert_eq!(status, 201);
        let (status, _, bulk) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-placement-funders",
            &token,
            Some(json!([{"localOffice": "A", "trust": "B"}, {"localOffice": "C", "trust": "D"}])),
        )
        .await;
        assert_eq!(status, 200, "{bulk}");
        let (status, headers, _) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-placement-funders",
            &token,
            Some(json!([{"id": id, "localOffice": "A"}])),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(headers["x-tcsapp-error"], "error.ids.exist");
        let (status, headers, page) = call(
            &app,
            Method::GET,
            "/tcs/api/placement-funders?sort=id,asc",
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-total-count"], "4");
        assert_eq!(page[0]["id"], id);
        // Too long a name: 400 naming it; not JSON: 400; nothing written.
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/placement-funders",
            &token,
            Some(json!({"localOffice": "x".repeat(256)})),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["localOffice"]);
        assert_eq!(pl::count(&app, "placement_funder").await, 4);
        // Guards.
        let viewer = Caller::hee(&[]).granted(&["tcs:view:entities"]).token();
        let writer = Caller::hee(&[])
            .granted(&["tcs:add:modify:entities"])
            .token();
        for (method, path, who) in [
            (
                Method::GET,
                "/tcs/api/placement-funders".to_owned(),
                &writer,
            ),
            (
                Method::POST,
                "/tcs/api/placement-funders".to_owned(),
                &viewer,
            ),
            (
                Method::PUT,
                "/tcs/api/bulk-placement-funders".to_owned(),
                &viewer,
            ),
            (
                Method::DELETE,
                format!("/tcs/api/placement-funders/{id}"),
                &writer,
            ),
        ] {
            let (status, _, _) = call(&app, method.clone(), &path, who, Some(json!([]))).await;
            assert_eq!(status, 403, "{method} {path}");
        }
        let (status, headers, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/placement-funders/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.placementFunder.deleted");
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placement-funders/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn esr_events_are_recorded_for_placements_and_posts_in_scope_and_read_back() {
    for backend in BACKENDS {
        let (app, _reference) = pl::setup(backend).await;
        let etl = pl::etl();
        let (status, _, placement) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl,
            Some(pl::body(1, 1, &pl::day(30), Some(&pl::day(90)))),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {placement}");
        let id = placement["id"].as_i64().expect("an id");

        // A placement exported: 200 with the stored event; also under /tcs/etl/api.
        let event = json!({"exportedAt": "2026-08-01T09:30:00Z", "filename": "DE_EMD_RMC_20260801_00001.DAT", "positionNumber": 4444, "positionId": 22222});
        let (status, _, stored) = call(
            &app,
            Method::POST,
            &format!("/tcs/api/placements/{id}/esr-exported"),
            &etl,
            Some(event.clone()),
        )
        .await;
        assert_eq!(status, 200, "{stored}");
        assert_eq!(stored["placementId"], id);
        assert_eq!(stored["status"], "EXPORTED");
        assert_eq!(stored["eventDateTime"], "2026-08-01T09:30:00Z");
        documented(
            &app,
            "/tcs/api/placements/{placementId}/esr-exported",
            "post",
            "200",
            &stored,
        )
        .await;
        let mut processed = event.clone();
        processed["status"] = json!("EXPORTED_AND_PROCESSED");
        processed["exportedAt"] = json!(1_785_600_000_000_i64);
        let (status, _, second) = call(
            &app,
            Method::POST,
            &format!("/tcs/etl/api/placements/{id}/esr-exported"),
            &etl,
            Some(processed),
        )
        .await;
        assert_eq!(status, 200, "{second}");
        assert_eq!(second["eventDateTime"], "2026-08-01T16:00:00Z");
        let (_, _, details) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{id}"),
            &etl,
            None,
        )
        .await;
        let events = details["esrEvents"].as_array().cloned().unwrap_or_default();
        assert_eq!(events.len(), 2, "{details}");
        assert_eq!(events[0]["filename"], "DE_EMD_RMC_20260801_00001.DAT");
        assert_eq!(events[0]["exportedAt"], "2026-08-01T09:30:00Z");
        assert_eq!(events[1]["status"], "EXPORTED_AND_PROCESSED");

        // A post's position reconciled, then deleted.
        let post = POSTS + 1;
        let changed = json!({"exportedAt": "2026-08-02T10:00:00Z", "filename": "pos.dat", "positionNumber": 7, "positionId": 8, "status": "RECONCILED"});
        let (status, _, answer) = call(
            &app,
            Method::POST,
            &format!("/tcs/api/posts/{post}/esr-changed"),
            &etl,
            Some(changed.clone()),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["postId"], post);
        assert_eq!(answer["status"], "RECONCILED");
        assert_eq!(answer["exportedAt"], "2026-08-02T10:00:00Z");
        documented(
            &app,
            "/tcs/api/posts/{postId}/esr-changed",
            "post",
            "200",
            &answer,
        )
        .await;
        let mut deleted = changed.clone();
        deleted["status"] = json!("DELETED");
        let (status, _, _) = call(
            &app,
            Method::POST,
            &format!("/tcs/etl/api/posts/{post}/esr-changed"),
            &etl,
            Some(deleted),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(pl::count(&app, "post_esr_event").await, 2);

        // Bad input: 400 naming the field, nothing written; unknown: 404.
        let before = (
            pl::count(&app, "placement_esr_event").await,
            pl::count(&app, "post_esr_event").await,
        );
        for (path, bad, field) in [
            (
                format!("/tcs/api/placements/{id}/esr-exported"),
                json!({"status": "LOST"}),
                "status",
            ),
            (
                format!("/tcs/api/placements/{id}/esr-exported"),
                json!({"exportedAt": "yesterday"}),
                "exportedAt",
            ),
            (
                format!("/tcs/api/placements/{id}/esr-exported"),
                json!({"filename": "f".repeat(256)}),
                "filename",
            ),
            (
                format!("/tcs/api/posts/{post}/esr-changed"),
                json!({"filename": "x"}),
                "status",
            ),
            (
                format!("/tcs/api/posts/{post}/esr-changed"),
                json!({"status": "RECONCILED", "positionNumber": "seven"}),
                "positionNumber",
            ),
            // Not a status of the original's (docs/tcs.md "ESR events").
            (
                format!("/tcs/api/posts/{post}/esr-changed"),
                json!({"status": "RECONCILED_EXP", "positionNumber": 7, "positionId": 8}),
                "status",
            ),
            (
                "/tcs/api/posts/x/esr-changed".to_owned(),
                changed.clone(),
                "postId",
            ),
        ] {
            let (status, _, res) = call(&app, Method::POST, &path, &etl, Some(bad.clone())).await;
            assert_eq!(status, 400, "{path} {bad}: {res}");
            assert!(
                fields(&res).contains(&field.to_owned()),
                "{path} {bad}: {res}"
            );
        }
        for (path, payload) in [
            ("/tcs/api/placements/987654/esr-exported", &event),
            ("/tcs/api/posts/987654/esr-changed", &changed),
        ] {
            let (status, _, res) =
                call(&app, Method::POST, path, &etl, Some(payload.clone())).await;
            assert_eq!(status, 404, "{path}: {res}");
        }
        assert_eq!(
            (
                pl::count(&app, "placement_esr_event").await,
                pl::count(&app, "post_esr_event").await,
            ),
            before
        );

        // Another office: 404, as if neither existed; without the authority: 403.
        let owner = pl::owner_of(&app, 1).await;
        let other = if owner == "South London" {
            WESSEX
        } else {
            SOUTH_LONDON
        };
        let outsider = Caller::hee(&[other])
            .granted(&["tcs:add:modify:entities"])
            .token();
        let viewer = Caller::hee(&[]).granted(&["tcs:view:entities"]).token();
        for (who, want) in [(&outsider, 404), (&viewer, 403)] {
            for (path, payload) in [
                (format!("/tcs/api/placements/{id}/esr-exported"), &event),
                (format!("/tcs/api/posts/{post}/esr-changed"), &changed),
            ] {
                let (status, _, res) =
                    call(&app, Method::POST, &path, who, Some(payload.clone())).await;
                assert_eq!(status, want, "{path}: {res}");
            }
        }
        assert_eq!(
            (
                pl::count(&app, "placement_esr_event").await,
                pl::count(&app, "post_esr_event").await,
            ),
            before
        );
    }
}

/// `GET /posts/{id}`'s `currentReconciledEvents`.
async fn reconciled(app: &TestApp, post: i64) -> serde_json::Value {
    let (status, _, res) = call(
        app,
        Method::GET,
        &format!("/tcs/api/posts/{post}"),
        &pl::etl(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{res}");
    res["currentReconciledEvents"].clone()
}

/// An ESR position's event (`at` its instant) about `post`.
async fn position_changed(app: &TestApp, post: i64, position: i64, status: &str, at: &str) {
    let event = json!({"exportedAt": at, "filename": format!("{status}.dat"), "positionNumber": 7, "positionId": position, "status": status});
    let (code, _, res) = call(
        app,
        Method::POST,
        &format!("/tcs/api/posts/{post}/esr-changed"),
        &pl::etl(),
        Some(event),
    )
    .await;
    assert_eq!(code, 200, "{res}");
}

#[tokio::test]
async fn a_posts_current_reconciled_events_are_its_positions_latest_reconciled_events() {
    for backend in BACKENDS {
        let (app, _reference) = pl::setup(backend).await;
        let (a, b) = (POSTS + 1, POSTS + 2);
        assert_eq!(
            reconciled(&app, a).await,
            json!([]),
            "{backend:?}: no events"
        );

        // Reconciled: the event, as esr-changed answered it.
        position_changed(&app, a, 8, "RECONCILED", "2026-08-02T10:00:00Z").await;
        let events = reconciled(&app, a).await;
        assert_eq!(
            events,
            json!([{"exportedAt": "2026-08-02T10:00:00Z", "filename": "RECONCILED.dat", "postId": a, "positionNumber": 7, "positionId": 8, "status": "RECONCILED"}]),
            "{backend:?}"
        );
        // Deleted later: none.
        position_changed(&app, a, 8, "DELETED", "2026-08-02T11:00:00Z").await;
        assert_eq!(reconciled(&app, a).await, json!([]), "{backend:?}: deleted");
        // Reconciled half a second after the deletion: the latest again (as text it would
        // sort before the deletion's instant).
        position_changed(&app, a, 8, "RECONCILED", "2026-08-02T11:00:00.5Z").await;
        let events = reconciled(&app, a).await;
        assert_eq!(
            events.as_array().map(Vec::len),
            Some(1),
            "{backend:?}: {events}"
        );
        assert_eq!(events[0]["exportedAt"], "2026-08-02T11:00:00.5Z");
        // An older event arriving late changes nothing; a second position is its own.
        position_changed(&app, a, 8, "DELETED", "2026-08-01T09:00:00Z").await;
        position_changed(&app, a, 9, "RECONCILED", "2026-07-01T09:00:00Z").await;
        let events = reconciled(&app, a).await;
        let positions: Vec<_> = events
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["positionId"].clone())
            .collect();
        assert_eq!(positions, [json!(8), json!(9)], "{backend:?}: {events}");

        // Position 8 reconciled with another post: that post's now, no longer this one's.
        position_changed(&app, b, 8, "RECONCILED", "2026-09-01T09:00:00Z").await;
        assert_eq!(reconciled(&app, a).await[0]["positionId"], 9, "{backend:?}");
        assert_eq!(reconciled(&app, a).await.as_array().map(Vec::len), Some(1));
        assert_eq!(reconciled(&app, b).await[0]["postId"], b, "{backend:?}");
    }
}

/// `DELETE /posts/{id}` as a caller with `post:delete`.
async fn delete_post(app: &TestApp, post: i64) -> (u16, serde_json::Value) {
    let token = Caller::etl().granted(&["post:view", "post:delete"]).token();
    let (status, _, res) = call(
        app,
        Method::DELETE,
        &format!("/tcs/api/posts/{post}"),
        &token,
        None,
    )
    .await;
    (status, res)
}

#[tokio::test]
async fn a_post_reconciled_with_esr_is_not_deleted_as_the_original_refused() {
    for backend in BACKENDS {
        let (app, _reference) = pl::setup(backend).await;
        let (a, b) = (POSTS + 1, POSTS + 2);
        position_changed(&app, a, 8, "RECONCILED", "2026-08-02T10:00:00Z").await;
        let events = || pl::count(&app, "post_esr_event");
        let before = events().await;

        // Reconciled: 409 with the original's message; the post and its events stay.
        let (status, res) = delete_post(&app, a).await;
        assert_eq!(status, 409, "{backend:?}: {res}");
        assert_eq!(res["error"]["code"], "conflict", "{backend:?}");
        assert_eq!(
            res["error"]["message"],
            "The post has been reconciled with ESR. Do you still want to delete the post?"
        );
        assert_eq!(reconciled(&app, a).await.as_array().map(Vec::len), Some(1));
        assert_eq!(events().await, before, "{backend:?}: nothing deleted");

        // The position reconciled with another post since: no longer this post's, deleted
        // (its events with it); the other post is now the one refused.
        position_changed(&app, b, 8, "RECONCILED", "2026-08-03T10:00:00Z").await;
        assert_eq!(delete_post(&app, b).await.0, 409, "{backend:?}");
        let (status, res) = delete_post(&app, a).await;
        assert_eq!(status, 200, "{backend:?}: {res}");
        assert_eq!(delete_post(&app, a).await.0, 404, "{backend:?}: gone");
        assert_eq!(
            events().await,
            before,
            "{backend:?}: a's one event went with it"
        );

        // Its position deleted in ESR: the post may go.
        position_changed(&app, b, 8, "DELETED", "2026-08-04T10:00:00Z").await;
        let (status, res) = delete_post(&app, b).await;
        assert_eq!(status, 200, "{backend:?}: {res}");
        assert_eq!(events().await, before - 1, "{backend:?}");
    }
}

#[tokio::test]
async fn a_funding_sent_as_an_array_is_refused_while_the_bulk_route_takes_its_list() {
    for backend in BACKENDS {
        let (_reference, app, n) = start(backend).await;
        let token = admin(&[SOUTH_LONDON]).granted(TCS).token();
        let created = one_post(&app, &token, &n, "LDN/RJ122/076/ST1/102").await;
        let post_id = created["id"].as_i64().expect("a post");
        let before = fundings_of(&app, post_id).await;

        // A PostFundingDTO's fields by position: serde's derive alone would take it.
        let positional = json!([
            null,
            null,
            "TRUST",
            "trust",
            "2027-08-01",
            "2029-07-31",
            "RJ1",
            post_id
        ]);
        for path in ["/tcs/api/post-fundings", "/tcs/api/bulk-post-fundings"] {
            let body = if path.contains("bulk") {
                json!([positional])
            } else {
                positional.clone()
            };
            let (status, _, res) = call(&app, Method::POST, path, &token, Some(body)).await;
            assert_eq!(status, 400, "{backend:?} {path}: {res}");
            assert_eq!(res["error"]["code"], "validation_failed", "{res}");
            let field = &res["error"]["fields"][0];
            assert_eq!(
                field["field"],
                if path.contains("bulk") { "[0]" } else { "body" },
                "{res}"
            );
            assert!(
                field["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("expected a JSON object, not an array")),
                "{res}"
            );
        }
        assert_eq!(
            fundings_of(&app, post_id).await,
            before,
            "{backend:?}: nothing written"
        );

        // The same funding as an object, in the bulk route's list: taken.
        let object = json!({"postId": post_id, "fundingType": "TRUST", "startDate": "2027-08-01", "endDate": "2029-07-31", "info": "trust", "fundingBodyId": "RJ1"});
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-post-fundings",
            &token,
            Some(json!([object])),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {res}");
        assert_eq!(fundings_of(&app, post_id).await, before + 1, "{backend:?}");
    }
}
