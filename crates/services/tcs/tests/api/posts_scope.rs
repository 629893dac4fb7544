//! Posts: each route's guard (403 without it), scope (another office's post is 404; a trust
//! admin sees the posts at their trusts' sites), the bulk routes and the ETL's patches, the
//! fundings patch, ESR's deanery filter, the post-view rebuild, a programme's posts, rotation
//! posts, and Reference being down.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::posts::{SOUTH_LONDON, WESSEX, admin, count, fields, names, post, start};

#[tokio::test]
async fn each_post_route_lets_the_permitted_through_refuses_others_403_and_hides_other_offices_posts_404()
 {
    for backend in BACKENDS {
        let (mut reference, app, n) = start(backend).await;
        let allowed = admin(&[SOUTH_LONDON]).token();
        let outsider = admin(&[WESSEX]).token();
        let forbidden = Caller::hee(&[SOUTH_LONDON]).token();
        let (status, _, created) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &allowed,
            Some(post(&n, Some("LDN/RJ122/076/ST1/001"))),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        let npn = "LDN%2FRJ122%2F076%2FST1%2F001";
        let reads = [
            format!("/tcs/api/posts/{id}"),
            "/tcs/api/posts".to_owned(),
            format!("/tcs/api/findByNationalPostNumber?searchQuery={npn}"),
            format!("/tcs/api/posts/in/{npn}"),
        ];
        for path in &reads {
            let (status, _, body) = call(&app, Method::GET, path, &allowed, None).await;
            assert!(
                status == 200 || status == 302,
                "{backend:?} {path}: {status}"
            );
            assert!(body.to_string().contains(&id.to_string()), "{path}: {body}");
            let (status, _, _) = call(&app, Method::GET, path, &forbidden, None).await;
            assert_eq!(status, 403, "{path}");
            let (status, _, body) = call(&app, Method::GET, path, &outsider, None).await;
            if path.ends_with(&format!("/posts/{id}")) {
                assert_eq!(status, 404, "{path}");
            } else {
                assert!(status == 200 || status == 302, "{path}: {status}");
                let ids: Vec<&serde_json::Value> = body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| &p["id"])
                    .collect();
                assert!(
                    !ids.contains(&&json!(id)),
                    "{path}: another office's post is left out: {body}"
                );
                assert!(
                    body.as_array()
                        .into_iter()
                        .flatten()
                        .all(|p| p["owner"] == "Wessex"),
                    "{path}: {body}"
                );
            }
        }
        // A trust admin: the posts at their trusts' sites, none other.
        let trust_admin = Caller::trust_admin(n.trust).granted(&["post:view"]).token();
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/posts/{id}"),
            &trust_admin,
            None,
        )
        .await;
        assert_eq!(
            status, 200,
            "{backend:?}: the post is at their trust's site"
        );
        let other_trust_admin = Caller::trust_admin(n.other_trust)
            .granted(&["post:view"])
            .token();
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/posts/{id}"),
            &other_trust_admin,
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (_, _, theirs) = call(
            &app,
            Method::GET,
            "/tcs/api/posts",
            &other_trust_admin,
            None,
        )
        .await;
        assert!(
            theirs
                .as_array()
                .into_iter()
                .flatten()
                .all(|p| p["primarySiteCode"] == "RHM01"),
            "only the posts at their trust's sites (the demo's): {theirs}"
        );
        // A programme observer: the posts of their programmes.
        let observer = Caller::observer(n.programme)
            .granted(&["post:view"])
            .token();
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/posts/{id}"),
            &observer,
            None,
        )
        .await;
        assert_eq!(status, 200);

        // Writes: 403 without the authority, 404 (or a 400 on owner) for another office.
        let writes = [
            (Method::PUT, "/tcs/api/posts", created.clone()),
            (Method::PUT, "/tcs/api/bulk-posts", json!([created.clone()])),
            (
                Method::PATCH,
                "/tcs/api/bulk-patch-post-sites",
                json!([{"id": id, "sites": created["sites"].clone()}]),
            ),
            (
                Method::PATCH,
                "/tcs/api/bulk-patch-post-grades",
                json!([{"id": id, "grades": created["grades"].clone()}]),
            ),
            (
                Method::PATCH,
                "/tcs/api/bulk-patch-post-specialties",
                json!([{"id": id, "specialties": created["specialties"].clone()}]),
            ),
            (
                Method::PATCH,
                "/tcs/api/bulk-patch-post-programmes",
                json!([{"id": id, "programmes": [{"id": n.programme}]}]),
            ),
            (
                Method::PATCH,
                "/tcs/api/bulk-patch-new-old-posts",
                json!([{"id": id}]),
            ),
            (
                Method::PATCH,
                "/tcs/api/post/fundings",
                json!({"id": id, "fundings": []}),
            ),
        ];
        for (method, path, body) in &writes {
            let (status, _, _) =
                call(&app, method.clone(), path, &forbidden, Some(body.clone())).await;
            assert_eq!(status, 403, "{method} {path}");
            let (status, _, res) =
                call(&app, method.clone(), path, &outsider, Some(body.clone())).await;
            assert_eq!(status, 404, "{backend:?} {method} {path}: {res}");
            let (status, _, res) =
                call(&app, method.clone(), path, &allowed, Some(body.clone())).await;
            assert_eq!(status, 200, "{backend:?} {method} {path}: {res}");
        }
        let mut another = post(&n, None);
        let (status, _, _) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &forbidden,
            Some(another.clone()),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &outsider,
            Some(another.clone()),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["owner"], "{res}");
        another["owner"] = json!("Wessex");
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-posts",
            &outsider,
            Some(json!([another])),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(
            fields(&res),
            ["[0].programmes[0].id"],
            "South London's programme is out of Wessex's scope: {res}"
        );
        for (caller, want) in [(&forbidden, 403), (&outsider, 404)] {
            let (status, _, _) = call(
                &app,
                Method::DELETE,
                &format!("/tcs/api/posts/{id}"),
                caller,
                None,
            )
            .await;
            assert_eq!(status, want);
        }
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/posts/{id}"),
            &allowed,
            None,
        )
        .await;
        assert_eq!(status, 200);
        reference.stop().await;
    }
}

#[tokio::test]
async fn bulk_writes_patches_fundings_esr_the_view_rebuild_and_a_programmes_posts_work_all_or_nothing()
 {
    for backend in BACKENDS {
        let (mut reference, app, n) = start(backend).await;
        let token = admin(&[SOUTH_LONDON]).token();
        let before = count(&app).await;
        // Bulk create: all or nothing, the errors prefixed [i].
        let mut bad = post(&n, Some("LDN/RJ122/076/ST1/002"));
        bad["sites"][0]["siteId"] = json!(999_999);
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-posts",
            &token,
            Some(json!([post(&n, Some("LDN/RJ122/076/ST1/001")), bad])),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["[1].sites[0].siteId"]);
        assert_eq!(count(&app).await, before);
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-posts",
            &token,
            Some(json!([{"id": 3}])),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        let (status, headers, saved) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-posts",
            &token,
            Some(json!([
                post(&n, Some("LDN/RJ122/076/ST1/001")),
                post(&n, Some("LDN/RJ122/076/ST1/002"))
            ])),
        )
        .await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.post.created");
        let (a, b) = (
            saved[0]["id"].as_i64().expect("a"),
            saved[1]["id"].as_i64().expect("b"),
        );
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-posts",
            &token,
            Some(json!([])),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-posts",
            &token,
            Some(json!([post(&n, None)])),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["[0].id"]);

        // The ETL's patches: one relation replaced, the rest kept.
        let (status, _, patched) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-patch-new-old-posts",
            &token,
            Some(json!([{"id": b, "oldPost": {"id": a}}])),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched[0]["oldPost"]["id"], a);
        assert_eq!(
            patched[0]["oldPost"]["nationalPostNumber"],
            "LDN/RJ122/076/ST1/001"
        );
        assert_eq!(
            patched[0]["sites"][0]["siteId"], n.site,
            "the sites are kept"
        );
        let (status, _, patched) = call(&app, Method::PATCH, "/tcs/api/bulk-patch-post-sites", &token, Some(json!([{"id": a, "sites": [{"siteId": n.site, "postSiteType": "PRIMARY"}, {"siteId": n.other_site, "postSiteType": "OTHER"}]}]))).await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched[0]["sites"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT COUNT(*) AS n FROM post_trust WHERE post_id = {a}")
            )
            .await,
            2
        );
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-patch-post-grades",
            &token,
            Some(json!([{"id": a, "grades": [{"gradeId": 999_999, "postGradeType": "APPROVED"}]}])),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["[0].grades[0].gradeId"]);
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-patch-post-specialties",
            &token,
            Some(json!([{"sites": []}])),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["[0].id"]);

        // PATCH /post/fundings: each funding answered with its messages, the valid ones saved.
        let (status, _, answered) = call(
            &app,
            Method::PATCH,
            "/tcs/api/post/fundings",
            &token,
            Some(json!({"id": a, "fundings": [
                {"fundingType": "TRUST", "startDate": "2027-08-01"},
                {"fundingType": "TRUST", "startDate": "2027-08-01", "endDate": "2026-01-01"}
            ]})),
        )
        .await;
        assert_eq!(status, 200, "{answered}");
        assert_eq!(answered[0]["messageList"], json!([]));
        assert!(answered[0]["id"].is_i64(), "{answered}");
        assert_eq!(
            answered[1]["messageList"].as_array().map(Vec::len),
            Some(1),
            "{answered}"
        );
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT COUNT(*) AS n FROM post_funding WHERE post_id = {a}")
            )
            .await,
            2
        );

        // ESR: the posts of these numbers, PostEsrDTO.
        let etl = {
            let mut c = Caller::hee(&[]);
            c.profile.roles.insert("ETL".into());
            c.token()
        };
        let (status, _, esr) = call(
            &app,
            Method::POST,
            "/tcs/api/posts/filter/deanery",
            &etl,
            Some(json!(["LDN/RJ122/076/ST1/002", "NOPE/1"])),
        )
        .await;
        assert_eq!(status, 200, "{esr}");
        assert_eq!(
            esr,
            json!([{"id": b, "nationalPostNumber": "LDN/RJ122/076/ST1/002", "status": "CURRENT", "owner": "South London"}])
        );
        let (status, _, _) = call(
            &app,
            Method::POST,
            "/tcs/api/posts/filter/deanery",
            &Caller::hee(&[SOUTH_LONDON]).token(),
            Some(json!([])),
        )
        .await;
        assert_eq!(status, 403);

        // The rebuild: a broken list row is rewritten from TCS's own data (the site's code and
        // name are Reference's, kept as the last write looked them up).
        app.db.write().execute(tis_store::Sql::new(&format!("UPDATE post_view SET primary_specialty_name = 'XXX', programme_names = NULL, search_text = '' WHERE id = {b}"))).await.expect("break it");
        let (status, headers, _) = call(
            &app,
            Method::POST,
            "/tcs/api/posts/build-post-view",
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-tcsapp-params"], "procedure is underway");
        let name = db_value(
            &app,
            &format!("SELECT name AS n FROM specialty WHERE id = {}", n.specialty),
        )
        .await;
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT primary_specialty_name AS n FROM post_view WHERE id = {b}")
            )
            .await,
            name
        );
        assert!(
            db_value(
                &app,
                &format!("SELECT programme_names AS n FROM post_view WHERE id = {b}")
            )
            .await
            .is_string()
        );
        let search = db_value(
            &app,
            &format!("SELECT search_text AS n FROM post_view WHERE id = {b}"),
        )
        .await;
        assert!(
            search
                .as_str()
                .is_some_and(|s| s.contains("ldn/rj122/076/st1/002") && s.contains("st thomas")),
            "{search}"
        );

        // A programme's posts; another office's programme is 404.
        let (status, _, mine) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme/{}/posts?npn=002", n.programme),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{mine}");
        assert_eq!(mine.as_array().map(Vec::len), Some(1));
        assert_eq!(mine[0]["id"], b);
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme/{}/posts", n.programme),
            &admin(&[WESSEX]).token(),
            None,
        )
        .await;
        assert_eq!(status, 404);

        // Rotation posts.
        let rotation = db_value(
            &app,
            &format!(
                "SELECT MIN(id) AS n FROM rotation WHERE programme_id = {}",
                n.programme
            ),
        )
        .await;
        if let Some(rotation) = rotation.as_i64() {
            let (status, _, saved) = call(&app, Method::POST, "/tcs/api/rotation-posts", &token, Some(json!([{"postId": a, "rotationId": rotation}, {"postId": a, "rotationId": rotation}]))).await;
            assert_eq!(status, 200, "{saved}");
            assert_eq!(saved[0]["id"], saved[1]["id"], "a pair once");
            let (status, _, listed) = call(
                &app,
                Method::GET,
                &format!("/tcs/api/rotation-posts/{a}"),
                &token,
                None,
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(listed.as_array().map(Vec::len), Some(1));
            let (_, _, theirs) = call(
                &app,
                Method::GET,
                "/tcs/api/rotation-posts",
                &admin(&[WESSEX]).token(),
                None,
            )
            .await;
            assert_eq!(theirs, json!([]));
            let (status, _, _) = call(
                &app,
                Method::DELETE,
                &format!("/tcs/api/rotation-posts/{a}"),
                &admin(&[WESSEX]).token(),
                None,
            )
            .await;
            assert_eq!(status, 404);
            let (status, _, _) = call(
                &app,
                Method::DELETE,
                &format!("/tcs/api/rotation-posts/{a}"),
                &token,
                None,
            )
            .await;
            assert_eq!(status, 200);
        }
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/rotation-posts",
            &token,
            Some(json!([{"postId": 999_999, "rotationId": 999_999}])),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["[0].postId", "[0].rotationId"]);
        reference.stop().await;
    }
}

#[tokio::test]
async fn with_reference_down_a_post_at_sites_seen_before_is_written_marked_stale_and_a_new_site_is_503()
 {
    for backend in BACKENDS {
        let reference = start_reference().await;
        let app = spawn_with_people_and_reference(backend, 2, vec![reference.addr], |c| {
            c.reference.fresh_for = Duration::ZERO;
            c.reference.stale_while_revalidate = Duration::ZERO;
            c.reference.retry_after_failure = Duration::ZERO;
        })
        .await;
        let n = names(&app, &reference).await;
        let mut reference = reference;
        let token = admin(&[SOUTH_LONDON]).token();
        let (status, headers, _) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &token,
            Some(post(&n, Some("LDN/RJ122/076/ST1/001"))),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}");
        assert!(headers.get("tis-degraded").is_none());
        reference.stop().await;

        let before = count(&app).await;
        let (status, headers, res) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &token,
            Some(post(&n, Some("LDN/RJ122/076/ST1/002"))),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {res}");
        assert_eq!(headers["tis-degraded"], "reference-stale");
        let mut never = post(&n, Some("LDN/RJ122/076/ST1/003"));
        never["sites"][0]["siteId"] = json!(n.other_site);
        let (status, _, res) =
            call(&app, Method::POST, "/tcs/api/posts", &token, Some(never)).await;
        assert_eq!(status, 503, "{res}");
        assert_eq!(res["error"]["code"], "dependency_unavailable");
        assert_eq!(
            count(&app).await,
            before + 1,
            "{backend:?}: nothing written"
        );
    }
}

#[tokio::test]
async fn when_a_posts_sites_move_to_another_trust_the_trust_admins_see_its_trainees_follow() {
    use crate::placements::{day, etl, without_demo_placements};
    for backend in BACKENDS {
        let (_reference, app, n) = start(backend).await;
        without_demo_placements(&app).await;
        let admin = admin(&[SOUTH_LONDON]).token();
        let (status, _, created) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &admin,
            Some(post(&n, Some("LDN/RJ122/076/ST1/009"))),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        let id = created["id"].as_i64().expect("id");
        let (status, _, placed) = call(
            &app,
            Method::POST,
            "/tcs/api/placements",
            &etl(),
            Some(json!({
                "traineeId": 1, "postId": id, "siteId": n.site, "gradeId": n.grade,
                "placementType": "IN_POST", "dateFrom": day(-10), "dateTo": day(100)
            })),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {placed}");
        let at = |trust: i64| Caller::trust_admin(trust).token();
        let sees = |token: String| {
            let app = &app;
            async move {
                call(app, Method::GET, "/tcs/api/people/1", &token, None)
                    .await
                    .0
            }
        };
        assert_eq!(
            sees(at(n.trust)).await,
            200,
            "{backend:?}: the post's trust"
        );
        assert_eq!(sees(at(n.other_trust)).await, 404, "{backend:?}");

        // The ETL's bulk patch moves the post to a site of another trust: the person follows.
        let moved =
            json!([{"id": id, "sites": [{"siteId": n.other_site, "postSiteType": "PRIMARY"}]}]);
        let (status, _, body) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-patch-post-sites",
            &admin,
            Some(moved),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        assert_eq!(
            sees(at(n.trust)).await,
            404,
            "{backend:?}: no longer theirs"
        );
        assert_eq!(
            sees(at(n.other_trust)).await,
            200,
            "{backend:?}: now theirs"
        );

        // A whole-post PUT moves it back.
        let (status, _, stored) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/posts/{id}"),
            &admin,
            None,
        )
        .await;
        assert_eq!(status, 200, "{stored}");
        let mut back = stored.clone();
        back["sites"] = json!([{"siteId": n.site, "postSiteType": "PRIMARY"}]);
        let (status, _, body) = call(&app, Method::PUT, "/tcs/api/posts", &admin, Some(back)).await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        assert_eq!(sees(at(n.trust)).await, 200, "{backend:?}: theirs again");
        assert_eq!(sees(at(n.other_trust)).await, 404, "{backend:?}");
    }
}
