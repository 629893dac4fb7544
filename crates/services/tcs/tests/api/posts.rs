//! Posts, as the original's `PostResourceIntTest` has them: created, read, listed, searched,
//! updated and deleted; their National Post Number checked (400), made when absent, unique
//! (409); their sites, grades and trusts checked with Reference (down: seen values go
//! through marked `reference-stale`, never-seen ones are a 503); bad input a clear 4xx.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

pub const SOUTH_LONDON: &str = "1-1RSSQ5L";
pub const WESSEX: &str = "1-1RUZUSF";

/// Every post authority.
pub const POST_AUTHORITIES: &[&str] = &[
    "post:view",
    "post:add:modify",
    "post:bulk:add:modify",
    "post:delete",
    "tcs:add:modify:entities",
];

/// An HEE admin of `dbcs` with every post authority.
pub fn admin(dbcs: &[&str]) -> Caller {
    Caller::hee(dbcs).granted(POST_AUTHORITIES)
}

/// What a post names: Reference ids (sites, grades, trusts) and TCS ids (a specialty, a
/// programme of South London).
pub struct Names {
    pub site: i64,
    pub other_site: i64,
    pub trust: i64,
    pub other_trust: i64,
    pub grade: i64,
    pub specialty: i64,
    pub specialty_code: String,
    pub programme: i64,
}

async fn reference_id(reference: &TestReference, sql: &str) -> i64 {
    reference
        .db
        .write()
        .fetch_one(tis_store::Sql::new(sql))
        .await
        .expect("a reference row")
        .get("n")
        .and_then(Value::as_i64)
        .expect("an id")
}

pub async fn names(app: &TestApp, reference: &TestReference) -> Names {
    let specialty = db_value(
        app,
        "SELECT MIN(id) AS n FROM specialty WHERE specialty_code IS NOT NULL",
    )
    .await
    .as_i64()
    .expect("a demo specialty");
    let specialty_code = db_value(
        app,
        &format!("SELECT specialty_code AS n FROM specialty WHERE id = {specialty}"),
    )
    .await
    .as_str()
    .expect("a code")
    .to_owned();
    Names {
        site: reference_id(
            reference,
            "SELECT id AS n FROM site WHERE site_code = 'RJ122'",
        )
        .await,
        other_site: reference_id(
            reference,
            "SELECT id AS n FROM site WHERE site_code = 'RHM01'",
        )
        .await,
        trust: reference_id(reference, "SELECT id AS n FROM trust WHERE code = 'RJ1'").await,
        other_trust: reference_id(reference, "SELECT id AS n FROM trust WHERE code = 'RHM'").await,
        grade: reference_id(
            reference,
            "SELECT id AS n FROM grade WHERE abbreviation = 'ST1'",
        )
        .await,
        specialty,
        specialty_code,
        programme: db_value(
            app,
            "SELECT MIN(id) AS n FROM programme WHERE owner = 'South London'",
        )
        .await
        .as_i64()
        .expect("a South London programme"),
    }
}

/// A whole post of South London at St Thomas' (RJ122), ST1.
pub fn post(n: &Names, npn: Option<&str>) -> Value {
    json!({
        "nationalPostNumber": npn,
        "status": "CURRENT",
        "owner": "South London",
        "postFamily": "Medical",
        "employingBodyId": n.trust,
        "trainingBodyId": n.trust,
        "trainingDescription": "General medicine",
        "localPostNumber": "SL-1",
        "sites": [{"siteId": n.site, "postSiteType": "PRIMARY"}],
        "grades": [{"gradeId": n.grade, "postGradeType": "APPROVED"}],
        "specialties": [{"specialty": {"id": n.specialty}, "postSpecialtyType": "PRIMARY"}],
        "programmes": [{"id": n.programme}],
        "fundings": [{"fundingType": "TARIFF", "startDate": "2024-08-01", "endDate": "2027-07-31", "info": "tariff"}]
    })
}

pub fn fields(body: &Value) -> Vec<String> {
    let mut f: Vec<String> = body["fieldErrors"]
        .as_array()
        .or(body["error"]["fields"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect();
    f.sort();
    f.dedup();
    f
}

pub async fn count(app: &TestApp) -> i64 {
    db_value(app, "SELECT COUNT(*) AS n FROM post")
        .await
        .as_i64()
        .unwrap_or(-1)
}

/// TCS (3 demo trainees and the catalogue) with Reference, and the names a post uses.
pub async fn start(backend: Backend) -> (TestReference, TestApp, Names) {
    let reference = start_reference().await;
    let app = spawn_with_people_and_reference(backend, 3, vec![reference.addr], |_| {}).await;
    let n = names(&app, &reference).await;
    (reference, app, n)
}

#[tokio::test]
async fn posts_are_created_read_listed_updated_and_deleted_as_the_original_did() {
    for backend in BACKENDS {
        let (mut reference, app, n) = start(backend).await;
        let token = admin(&[SOUTH_LONDON]).token();
        let before = count(&app).await;

        let (status, headers, created) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &token,
            Some(post(&n, Some("LDN/RJ122/076/ST1/001"))),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        let id = created["id"].as_i64().expect("an id");
        assert_eq!(headers["location"], format!("/tcs/api/posts/{id}").as_str());
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.post.created");
        assert_eq!(created["nationalPostNumber"], "LDN/RJ122/076/ST1/001");
        assert_eq!(created["sites"][0]["siteId"], n.site);
        assert_eq!(created["sites"][0]["postId"], id);
        assert_eq!(created["grades"][0]["postGradeType"], "APPROVED");
        assert_eq!(created["specialties"][0]["specialty"]["id"], n.specialty);
        assert!(
            created["specialties"][0]["specialty"]["name"].is_string(),
            "the specialty whole: {created}"
        );
        assert_eq!(created["programmes"][0]["id"], n.programme);
        assert!(created["programmes"][0]["programmeName"].is_string());
        assert_eq!(created["fundings"][0]["fundingType"], "TARIFF");
        assert_eq!(created["fundings"][0]["startDate"], "2024-08-01");
        assert_eq!(created["placementHistory"], json!([]));
        assert_eq!(count(&app).await, before + 1);
        // The post's trust, from its site, for trust admins.
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT trust_id AS n FROM post_trust WHERE post_id = {id}")
            )
            .await,
            n.trust
        );

        let (status, _, one) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/posts/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);
        // The one post's read alone answers its ESR positions (the original's findOne).
        assert_eq!(one["currentReconciledEvents"], json!([]));
        assert!(created["currentReconciledEvents"].is_null(), "{created}");
        let mut read_back = created.clone();
        read_back["currentReconciledEvents"] = json!([]);
        assert_eq!(one, read_back);
        let (status, _, _) = call(&app, Method::GET, "/tcs/api/posts/987654", &token, None).await;
        assert_eq!(status, 404);
        let (status, _, res) = call(&app, Method::GET, "/tcs/api/posts/abc", &token, None).await;
        assert_eq!(status, 400, "{res}");

        // Without a number, one is made: LO/site/specialty/grade/counter.
        let (status, _, made) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &token,
            Some(post(&n, None)),
        )
        .await;
        assert_eq!(status, 201, "{made}");
        let prefix = format!("LDN/RJ122/{}/ST1/", n.specialty_code.to_ascii_uppercase());
        assert_eq!(
            made["nationalPostNumber"],
            format!("{prefix}001").as_str(),
            "{made}"
        );
        let (_, _, again) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &token,
            Some(post(&n, None)),
        )
        .await;
        assert_eq!(again["nationalPostNumber"], format!("{prefix}002").as_str());
        let mut academic = post(&n, None);
        academic["suffix"] = json!("ACADEMIC");
        let (_, _, a) = call(&app, Method::POST, "/tcs/api/posts", &token, Some(academic)).await;
        assert_eq!(a["nationalPostNumber"], format!("{prefix}001/A").as_str());

        // The list: PostViewDTO rows, searchQuery, columnFilters, sort, paging headers.
        let (status, headers, page) = call(
            &app,
            Method::GET,
            "/tcs/api/posts?searchQuery=rj122%2F076&size=5",
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(headers["x-total-count"], "1");
        let row = &page[0];
        assert_eq!(row["id"], id);
        assert_eq!(row["primarySiteCode"], "RJ122");
        assert_eq!(row["primarySiteName"], "St Thomas' Hospital");
        assert_eq!(row["approvedGradeCode"], "ST1");
        assert_eq!(row["primarySpecialtyId"], n.specialty);
        assert_eq!(row["fundingType"], "TARIFF");
        assert_eq!(row["owner"], "South London");
        assert!(row["programmeNames"].is_string());
        // The demo data has posts at St Thomas' too.
        let at_site = db_value(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM post_view WHERE primary_site_id = {}",
                n.site
            ),
        )
        .await
        .to_string();
        assert!(at_site.parse::<i64>().unwrap_or_default() >= 4, "{at_site}");
        let (_, headers, page) = call(
            &app,
            Method::GET,
            "/tcs/api/posts?searchQuery=st%20thomas&sort=nationalPostNumber,desc",
            &token,
            None,
        )
        .await;
        assert_eq!(headers["x-total-count"], at_site.as_str());
        assert_eq!(
            page[0]["nationalPostNumber"],
            format!("{prefix}002").as_str()
        );
        let filter = format!(
            "/tcs/api/posts?columnFilters={}",
            urlencode(&json!({"primarySiteId": [n.site], "status": ["CURRENT"]}).to_string())
        );
        let (status, headers, _) = call(&app, Method::GET, &filter, &token, None).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-total-count"], at_site.as_str());
        let bad = format!(
            "/tcs/api/posts?columnFilters={}",
            urlencode(r#"{"nope":["1"]}"#)
        );
        let (status, _, res) = call(&app, Method::GET, &bad, &token, None).await;
        assert_eq!(status, 400, "an unknown columnFilters key: {res}");
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/posts?sort=nope,asc",
            &token,
            None,
        )
        .await;
        assert_eq!(status, 400);

        // findByNationalPostNumber: exact (ignoring case); /posts/in/{numbers}: 302.
        let (status, _, found) = call(
            &app,
            Method::GET,
            "/tcs/api/findByNationalPostNumber?searchQuery=ldn%2Frj122%2F076%2Fst1%2F001",
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found.as_array().map(Vec::len), Some(1));
        assert_eq!(found[0]["id"], id);
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/findByNationalPostNumber",
            &token,
            None,
        )
        .await;
        assert_eq!(status, 400);
        let (status, _, posts) = call(
            &app,
            Method::GET,
            &format!(
                "/tcs/api/posts/in/LDN%2FRJ122%2F076%2FST1%2F001,{}",
                urlencode(&format!("{prefix}001"))
            ),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 302);
        assert_eq!(posts.as_array().map(Vec::len), Some(2), "{posts}");

        // PUT: the post replaced, its list row with it.
        let mut update = one.clone();
        update["trainingDescription"] = json!("Acute medicine");
        update["sites"] = json!([{"siteId": n.other_site, "postSiteType": "PRIMARY"}]);
        update["employingBodyId"] = json!(n.other_trust);
        let (status, headers, updated) = call(
            &app,
            Method::PUT,
            "/tcs/api/posts",
            &token,
            Some(update.clone()),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.post.updated");
        assert_eq!(updated["trainingDescription"], "Acute medicine");
        assert_eq!(updated["sites"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT trust_id AS n FROM post_trust WHERE post_id = {id}")
            )
            .await,
            n.other_trust,
            "the trust follows the site"
        );
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT primary_site_code AS n FROM post_view WHERE id = {id}")
            )
            .await,
            "RHM01"
        );
        let mut no_id = update.clone();
        no_id["id"] = Value::Null;
        let (status, _, res) = call(&app, Method::PUT, "/tcs/api/posts", &token, Some(no_id)).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["id"]);
        let mut unknown = update.clone();
        unknown["id"] = json!(987654);
        let (status, _, _) = call(&app, Method::PUT, "/tcs/api/posts", &token, Some(unknown)).await;
        assert_eq!(status, 404);

        // DELETE: 409 while a placement names the post.
        app.db
            .write()
            .execute(tis_store::Sql::new(&format!(
                "INSERT INTO placement (trainee_id, post_id, site_id, grade_id, date_from, placement_type, lifecycle_state) VALUES (1, {id}, {}, {}, '2025-01-01', 'In Post', 'APPROVED')",
                n.site, n.grade
            )))
            .await
            .expect("a placement");
        let (status, _, res) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/posts/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 409, "{backend:?}: {res}");
        assert_eq!(res["error"]["code"], "conflict");
        app.db
            .write()
            .execute(tis_store::Sql::new(&format!(
                "DELETE FROM placement WHERE post_id = {id}"
            )))
            .await
            .expect("no placement");
        let (status, headers, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/posts/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.post.deleted");
        for method in [Method::GET, Method::DELETE] {
            let (status, _, _) =
                call(&app, method, &format!("/tcs/api/posts/{id}"), &token, None).await;
            assert_eq!(status, 404);
        }
        assert_eq!(
            db_value(
                &app,
                &format!("SELECT COUNT(*) AS n FROM post_view WHERE id = {id}")
            )
            .await,
            0
        );
        reference.stop().await;
    }
}

/// `s` percent-encoded for a query string or a path segment.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn bad_posts_are_refused_with_a_clear_error_naming_the_field_and_nothing_is_written() {
    for backend in BACKENDS {
        let (mut reference, app, n) = start(backend).await;
        let token = admin(&[SOUTH_LONDON]).token();
        let (status, _, _) = call(
            &app,
            Method::POST,
            "/tcs/api/posts",
            &token,
            Some(post(&n, Some("LDN/RJ122/076/ST1/001"))),
        )
        .await;
        assert_eq!(status, 201);
        let before = count(&app).await;
        let post_it = |b: Value| {
            let (app, token) = (&app, token.clone());
            async move { call(app, Method::POST, "/tcs/api/posts", &token, Some(b)).await }
        };
        let with = |f: &dyn Fn(&mut Value)| {
            let mut b = post(&n, Some("LDN/RJ122/076/ST1/002"));
            f(&mut b);
            b
        };
        let cases: Vec<(Value, u16, Vec<&str>)> = vec![
            (
                with(&|b| b["nationalPostNumber"] = json!("LDN-RJ122")),
                400,
                vec!["nationalPostNumber"],
            ),
            (
                with(&|b| b["nationalPostNumber"] = json!("LDN/RJ122/076/ST1/001/X")),
                400,
                vec!["nationalPostNumber"],
            ),
            (
                with(&|b| b["nationalPostNumber"] = json!("LDN/RJ122/076/ST1/001")),
                409,
                vec![],
            ),
            (
                with(&|b| b["sites"][0]["siteId"] = json!(999_999)),
                400,
                vec!["sites[0].siteId"],
            ),
            (
                with(&|b| b["grades"][0]["gradeId"] = json!(999_999)),
                400,
                vec!["grades[0].gradeId"],
            ),
            (
                with(&|b| b["employingBodyId"] = json!(999_999)),
                400,
                vec!["employingBodyId"],
            ),
            (
                with(&|b| b["fundings"][0]["fundingType"] = json!("NOPE")),
                400,
                vec!["fundings[0].fundingType"],
            ),
            (
                with(&|b| b["fundings"][0]["endDate"] = json!("2020-01-01")),
                400,
                vec!["fundings[0].endDate"],
            ),
            (
                with(&|b| b["fundings"][0]["startDate"] = json!("2024-02-30")),
                400,
                vec!["fundings[0].startDate"],
            ),
            (with(&|b| b["fundings"] = json!([])), 400, vec!["fundings"]),
            (
                with(&|b| b["specialties"][0]["specialty"]["id"] = json!(999_999)),
                400,
                vec!["specialties[0].specialty"],
            ),
            (
                with(&|b| b["specialties"][0]["postSpecialtyType"] = json!("MAIN")),
                400,
                vec!["specialties[0].postSpecialtyType"],
            ),
            (
                with(&|b| b["programmes"] = json!([{"id": 999_999}])),
                400,
                vec!["programmes[0].id"],
            ),
            (with(&|b| b["owner"] = json!("Wessex")), 400, vec!["owner"]),
            (
                with(&|b| b["owner"] = json!("Atlantis")),
                400,
                vec!["owner"],
            ),
            (with(&|b| b["owner"] = json!(5)), 400, vec!["owner"]),
            (
                with(&|b| b["suffix"] = json!("HONORARY")),
                400,
                vec!["suffix"],
            ),
            (with(&|b| b["status"] = json!("OPEN")), 400, vec!["status"]),
            (with(&|b| b["id"] = json!(5)), 400, vec!["id"]),
            (
                with(&|b| {
                    b["nationalPostNumber"] = Value::Null;
                    b["bypassNPNGeneration"] = json!(true);
                }),
                400,
                vec!["nationalPostNumber"],
            ),
            (
                json!({}),
                400,
                vec![
                    "employingBodyId",
                    "fundings",
                    "owner",
                    "programmes",
                    "trainingBodyId",
                ],
            ),
        ];
        for (body, want, named) in cases {
            let (status, _, res) = post_it(body.clone()).await;
            assert_eq!(status, want, "{backend:?} {body}: {res}");
            if status == 400 {
                assert_eq!(fields(&res), named, "{body}: {res}");
            } else {
                assert_eq!(res["error"]["code"], "conflict", "{res}");
                assert!(res.to_string().contains("nationalPostNumber"), "{res}");
            }
        }
        // Not JSON of the right shape at all.
        let res = app
            .request(Method::POST, "/tcs/api/posts", Some(&token))
            .header("content-type", "application/json")
            .body(format!("{} xyz", post(&n, None)))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"]["code"], "malformed_json");
        let res = app
            .request(Method::POST, "/tcs/api/posts", Some(&token))
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 415);
        assert_eq!(count(&app).await, before, "{backend:?}: nothing written");
        reference.stop().await;
    }
}

#[tokio::test]
async fn the_demo_posts_have_unique_well_formed_numbers_at_their_offices_trusts_and_scale_with_the_trainees()
 {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 2_000).await;
        // Unique: they are inserted under the unique index, which would refuse a second.
        assert_eq!(
            count(&app).await,
            500,
            "{backend:?}: a quarter as many as trainees"
        );
        let numbers = app
            .db
            .write()
            .fetch_all(tis_store::Sql::new(
                "SELECT national_post_number AS n FROM post_view",
            ))
            .await
            .expect("numbers");
        for row in &numbers {
            let npn = row["n"].as_str().expect("a number");
            assert_eq!(tis_tcs::posts::npn::check(npn), Ok(()), "{npn}");
        }
        // Every post has its site's trust, and its owner's programme.
        for sql in [
            "SELECT COUNT(*) AS n FROM post p WHERE NOT EXISTS (SELECT 1 FROM post_trust t WHERE t.post_id = p.id)",
            "SELECT COUNT(*) AS n FROM post p JOIN post_programme pp ON pp.post_id = p.id JOIN programme g ON g.id = pp.programme_id WHERE g.owner <> p.owner",
            "SELECT COUNT(*) AS n FROM post p WHERE p.owner NOT IN (SELECT owner FROM post_view v WHERE v.id = p.id)",
        ] {
            assert_eq!(db_value(&app, sql).await, 0, "{backend:?}: {sql}");
        }
    }
}
