//! Who may do what with placements: each route's guard (403 without it), the scope (a
//! placement follows its trainee and its post; out of scope is 404, a body naming another
//! office's trainee or post a 400), trust admins seeing the people placed at their trusts,
//! and HEAD's lifecycle (drafts until someone with `placement:approve` approves them).

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::placements::{APPROVE, DELETE, MODIFY, VIEW, body, day, etl, owner_of, setup};

/// A member of HEE staff of `dbc` with `authorities` (and the person policy).
fn staff(dbc: &str, authorities: &[&str]) -> String {
    Caller::hee(&[dbc]).granted(authorities).token()
}

/// The designated body owning person 1, and one that does not.
async fn dbcs(app: &TestApp) -> (&'static str, &'static str) {
    let owner = owner_of(app, 1).await;
    let mine = tis_tcs::domain::owners::dbc_of(&owner).expect("a dbc");
    let other = if owner == "Wessex" {
        "1-1RSSQ2H"
    } else {
        "1-1RUZUSF"
    };
    (mine, other)
}

#[tokio::test]
async fn each_route_refuses_a_caller_without_its_authority_with_403() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let (mine, _) = dbcs(&app).await;
        let (_, _, p) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl(),
            Some(body(1, 1, &day(10), Some(&day(20)))),
        )
        .await;
        let id = p["id"].as_i64().expect("an id");
        let nobody = Caller::hee(&[mine]).without_policies().token();
        let b = body(1, 1, &day(30), Some(&day(40)));
        for (method, path, token, payload) in [
            (
                Method::GET,
                format!("/tcs/api/placements/{id}"),
                nobody.clone(),
                None,
            ),
            (
                Method::GET,
                "/tcs/api/placements".into(),
                nobody.clone(),
                None,
            ),
            (
                Method::GET,
                "/tcs/api/placements/filter".into(),
                nobody.clone(),
                None,
            ),
            (
                Method::GET,
                "/tcs/api/placements/draftList/1".into(),
                nobody.clone(),
                None,
            ),
            (
                Method::GET,
                "/tcs/api/placements/overlapping?npn=x&fromDate=2026-01-01&toDate=2026-01-02"
                    .into(),
                nobody.clone(),
                None,
            ),
            (
                Method::POST,
                "/tcs/api/placements".into(),
                staff(mine, &[VIEW]),
                Some(b.clone()),
            ),
            (
                Method::PUT,
                "/tcs/api/placements".into(),
                staff(mine, &[VIEW]),
                Some(p.clone()),
            ),
            (
                Method::PATCH,
                "/tcs/api/placements".into(),
                staff(mine, &[VIEW]),
                Some(json!([p.clone()])),
            ),
            (
                Method::DELETE,
                format!("/tcs/api/placements/{id}"),
                staff(mine, &[VIEW, MODIFY]),
                None,
            ),
            (
                Method::PATCH,
                "/tcs/api/placements/approve/1".into(),
                staff(mine, &[VIEW, MODIFY]),
                None,
            ),
            (
                Method::PUT,
                format!("/tcs/api/placements/{id}/close"),
                nobody.clone(),
                None,
            ),
            (
                Method::GET,
                "/tcs/api/people/1/placements".into(),
                Caller::hee(&[mine])
                    .without_policies()
                    .granted(&[VIEW])
                    .token(),
                None,
            ),
            (
                Method::GET,
                "/tcs/api/people/1/timeline".into(),
                Caller::hee(&[mine])
                    .without_policies()
                    .granted(&[VIEW])
                    .token(),
                None,
            ),
            (
                Method::GET,
                "/tcs/api/posts/9001/placements".into(),
                staff(mine, &[VIEW]),
                None,
            ),
            (
                Method::GET,
                "/tcs/api/posts/9001/placements/new".into(),
                staff(mine, &[VIEW]),
                None,
            ),
            (
                Method::GET,
                format!("/tcs/api/placement/{id}/placementComment"),
                nobody.clone(),
                None,
            ),
            (
                Method::POST,
                "/tcs/api/placementComment".into(),
                staff(mine, &[VIEW]),
                Some(json!({"placementId": id, "body": "x"})),
            ),
            (
                Method::GET,
                "/tcs/api/programme/1/specialty/1/placements".into(),
                nobody.clone(),
                None,
            ),
        ] {
            let (status, _, res) = call(&app, method.clone(), &path, &token, payload).await;
            assert_eq!(status, 403, "{backend:?} {method} {path}: {res}");
        }
        // The ETL role passes the filter's guard without the authority.
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/placements/filter",
            &Caller::etl().token(),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn another_offices_placements_do_not_exist_for_a_caller_and_trust_admins_see_their_trusts() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let (mine, other) = dbcs(&app).await;
        let all = [VIEW, MODIFY, DELETE, "post:view"];
        let me = staff(mine, &all);
        let them = staff(other, &all);

        // Staff of the trainee's and the post's office place the trainee (a draft: no approve).
        let (status, _, p) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &me,
            Some(body(1, 1, &day(10), Some(&day(100)))),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {p}");
        assert_eq!(p["lifecycleState"], "DRAFT");
        let id = p["id"].as_i64().expect("an id");

        // Another office: 404 by id, left out of lists, 404 on the person's and post's views.
        for path in [
            format!("/tcs/api/placements/{id}"),
            "/tcs/api/people/1/placements".into(),
            "/tcs/api/people/1/timeline".into(),
            "/tcs/api/posts/9001/placements".into(),
            format!("/tcs/api/placement/{id}/placementComment"),
        ] {
            let (status, _, res) = call(&app, Method::GET, &path, &them, None).await;
            assert_eq!(status, 404, "{path}: {res}");
        }
        let (status, headers, _) =
            call(&app, Method::GET, "/tcs/api/placements", &them, None).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-total-count"], "0");
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/placements",
            &them,
            Some(p.clone()),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/placements/{id}"),
            &them,
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) = call(
            &app,
            Method::PUT,
            &format!("/tcs/api/placements/{id}/close"),
            &them,
            None,
        )
        .await;
        assert_eq!(status, 404);
        // A body naming their trainee and post: 400, as if neither existed.
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &them,
            Some(body(1, 2, &day(200), Some(&day(300)))),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        let named: Vec<&str> = res["error"]["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["field"].as_str())
            .collect();
        assert_eq!(named, ["traineeId", "postId"], "{res}");
        assert!(
            res["error"]["fields"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("does not exist")
        );

        // A trust admin of the post's trust (7) sees the placement and, through it, the person.
        let admin = Caller::trust_admin(7).granted(&[VIEW]).token();
        let (status, _, got) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{id}"),
            &admin,
            None,
        )
        .await;
        assert_eq!(status, 200, "{got}");
        let (status, _, people) = call(&app, Method::GET, "/tcs/api/people", &admin, None).await;
        assert_eq!(status, 200, "{people}");
        let ids: Vec<i64> = people
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["id"].as_i64())
            .collect();
        assert_eq!(ids, [1], "the person placed at trust 7");
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/people/1/placements",
            &admin,
            None,
        )
        .await;
        assert_eq!(status, 200);
        let stranger = Caller::trust_admin(8).granted(&[VIEW]).token();
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{id}"),
            &stranger,
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (_, _, people) = call(&app, Method::GET, "/tcs/api/people", &stranger, None).await;
        assert_eq!(people, json!([]));

        // The trainee's list row shows the current placement; the post's, its current trainee.
        let (status, _, _) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl(),
            Some(body(2, 2, &day(-10), Some(&day(10)))),
        )
        .await;
        assert_eq!(status, 201);
        let row = db_value(
            &app,
            "SELECT placement_type AS n FROM person_view WHERE id = 2",
        )
        .await;
        assert_eq!(row, "IN_POST");
        let trainee = db_value(
            &app,
            "SELECT current_trainee_id AS n FROM post_view WHERE id = 9002",
        )
        .await;
        assert_eq!(trainee, 2);
        // Deleting person 1's only placement takes them out of the trust admin's sight.
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/placements/{id}"),
            &me,
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (_, _, people) = call(&app, Method::GET, "/tcs/api/people", &admin, None).await;
        assert_eq!(people, json!([]));
    }
}

#[tokio::test]
async fn drafts_wait_in_the_programmes_draft_list_until_an_approver_approves_them() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let (mine, _) = dbcs(&app).await;
        let clerk = staff(mine, &[VIEW, MODIFY]);
        let approver = staff(mine, &[VIEW, MODIFY, APPROVE]);
        let programme = db_value(
            &app,
            "SELECT programme_id AS n FROM post_programme WHERE post_id = 9001",
        )
        .await;
        let programme = programme.as_i64().expect("post 1's programme");

        let mut b = body(1, 1, &day(10), Some(&day(100)));
        b["lifecycleState"] = json!("APPROVED");
        let (status, _, p) = call(&app, Method::POST, "/tcs/api/placements", &clerk, Some(b)).await;
        assert_eq!(status, 201, "{backend:?}: {p}");
        assert_eq!(p["lifecycleState"], "DRAFT", "a clerk cannot approve");
        let (status, _, drafts) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/draftList/{programme}"),
            &clerk,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(drafts.as_array().map(Vec::len), Some(1), "{drafts}");
        assert_eq!(drafts[0]["id"], p["id"]);

        // The planner's view of the programme and the post's specialty.
        let specialty = db_value(
            &app,
            "SELECT specialty_id AS n FROM post_specialty WHERE post_id = 9001",
        )
        .await;
        let (status, _, planned) = call(&app, Method::GET, &format!("/tcs/api/programme/{programme}/specialty/{specialty}/placements?fromDate=01/01/2000"), &clerk, None).await;
        assert_eq!(status, 200, "{planned}");
        assert_eq!(planned["totalPlacements"], 1);
        assert_eq!(
            planned["specialties"][0]["sites"][0]["posts"][0]["placements"][0]["id"],
            p["id"]
        );
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!(
                "/tcs/api/programme/{programme}/specialty/{specialty}/placements?fromDate=yesterday"
            ),
            &clerk,
            None,
        )
        .await;
        assert_eq!(status, 400);

        let (status, _, res) = call(
            &app,
            Method::PATCH,
            &format!("/tcs/api/placements/approve/{programme}"),
            &approver,
            None,
        )
        .await;
        assert_eq!(status, 200, "{res}");
        assert_eq!(res, json!({"updatedCount": 1}));
        let (_, _, got) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/{}", p["id"]),
            &clerk,
            None,
        )
        .await;
        assert_eq!(got["lifecycleState"], "APPROVED");
        let (_, _, drafts) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/placements/draftList/{programme}"),
            &clerk,
            None,
        )
        .await;
        assert_eq!(drafts, json!([]));
        let (_, _, res) = call(
            &app,
            Method::PATCH,
            &format!("/tcs/api/placements/approve/{programme}"),
            &approver,
            None,
        )
        .await;
        assert_eq!(res, json!({"updatedCount": 0}));
        // Nobody sends it back to draft.
        let mut back = got.clone();
        back["lifecycleState"] = json!("DRAFT");
        for who in [&clerk, &approver] {
            let (status, _, res) = call(
                &app,
                Method::PUT,
                "/tcs/api/placements",
                who,
                Some(back.clone()),
            )
            .await;
            assert_eq!(status, 200, "{res}");
            assert_eq!(res["lifecycleState"], "APPROVED");
        }
        let history = db_value(&app, "SELECT COUNT(*) AS n FROM person_history WHERE field LIKE '%].lifecycleState' AND new_value = 'APPROVED'").await;
        assert_eq!(
            history.as_i64(),
            Some(1),
            "the approval is in the trainee's history"
        );
        let (status, _, _) = call(
            &app,
            Method::PATCH,
            "/tcs/api/placements/approve/999999",
            &approver,
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
}
