//! The post list's full-page totals (`X-Total-Count`) are kept against the post list's data
//! version (migration 0011): several TCS instances share one database, so a write by any of
//! them must change the total every other instance answers next, and an unchanged version
//! must really reuse the kept total.

use reqwest::Method;
use serde_json::{Value, json};
use tis_tcs::TcsConfig;

use crate::helpers::*;
use crate::posts::{Names, SOUTH_LONDON, admin, names, post};

/// The pages counted: a filter (every caller's path), and a search term (on SQLite, the
/// search structure's own count).
fn pages() -> [String; 2] {
    [
        format!(
            "/tcs/api/posts?size=1&columnFilters={}",
            tis_service_kit::testing::url_encode(r#"{"status":["CURRENT"]}"#)
        ),
        "/tcs/api/posts?size=1&searchQuery=rj122".to_owned(),
    ]
}

/// The totals of [`pages`] on `app` as `token`.
async fn totals(app: &TestApp, token: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for path in pages() {
        let (status, headers, body) = call(app, Method::GET, &path, token, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        let total = headers["x-total-count"]
            .to_str()
            .ok()
            .and_then(|t| t.parse().ok())
            .expect("a total");
        out.push(total);
    }
    out
}

/// Creates a post of South London at RJ122 for each of `npns` on `app`, as `token`.
pub async fn create(app: &TestApp, token: &str, n: &Names, npns: &[&str]) -> Vec<Value> {
    let mut made = Vec::new();
    for npn in npns {
        let (status, _, created) = call(
            app,
            Method::POST,
            "/tcs/api/posts",
            token,
            Some(post(n, Some(npn))),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        made.push(created);
    }
    made
}

/// TCS and a second instance on the same database (both checking against `reference`).
async fn two_instances(backend: Backend, reference: &TestReference) -> (TestApp, TestApp) {
    let mut url = String::new();
    let one = spawn_with_people_and_reference(backend, 3, vec![reference.addr], |c| {
        url = tis_service_kit::config::ServiceConfig::base(c)
            .database
            .url
            .clone();
    })
    .await;
    let mut cfg: TcsConfig = tis_service_kit::testing::test_config(url);
    cfg.reference.discovery = tis_tcs::config::DiscoveryConfig::Static {
        addrs: vec![reference.addr],
    };
    let app = tis_tcs::build(&cfg).await.expect("build");
    let two = TestApp::run(backend, "tcs", app, tempfile::tempdir().expect("tempdir")).await;
    (one, two)
}

#[tokio::test]
async fn a_kept_post_total_follows_writes_by_another_instance() {
    for backend in BACKENDS {
        let reference = start_reference().await;
        let (one, two) = two_instances(backend, &reference).await;
        let n = names(&one, &reference).await;
        let token = admin(&[SOUTH_LONDON]).token();
        let etl = Caller::etl().granted(&["post:view"]).token();
        // Two current posts at RJ122 at least: every page below is full, so counted.
        create(
            &one,
            &token,
            &n,
            &["LDN/RJ122/076/ST1/501", "LDN/RJ122/076/ST1/502"],
        )
        .await;
        let before = totals(&one, &token).await;
        let everything = totals(&one, &etl).await;
        assert!(before.iter().all(|t| *t >= 2), "{backend:?}: {before:?}");
        assert_eq!(totals(&one, &token).await, before, "{backend:?}: kept");

        // An insert on two: one's totals grow by one.
        let third = create(&two, &token, &n, &["LDN/RJ122/076/ST1/503"])
            .await
            .remove(0);
        let plus = |t: &[i64], d: [i64; 2]| vec![t[0] + d[0], t[1] + d[1]];
        assert_eq!(
            totals(&one, &token).await,
            plus(&before, [1, 1]),
            "{backend:?}"
        );
        assert_eq!(
            totals(&one, &etl).await,
            plus(&everything, [1, 1]),
            "{backend:?}"
        );

        // An update on two (no longer current): one's filtered total drops, the search's not.
        let mut inactive: Value = third.clone();
        inactive["status"] = json!("INACTIVE");
        let (status, _, res) =
            call(&two, Method::PUT, "/tcs/api/posts", &token, Some(inactive)).await;
        assert_eq!(status, 200, "{backend:?}: {res}");
        assert_eq!(
            totals(&one, &token).await,
            plus(&before, [0, 1]),
            "{backend:?}"
        );

        // A delete on two: both back.
        let id = third["id"].as_i64().expect("an id");
        let (status, _, res) = call(
            &two,
            Method::DELETE,
            &format!("/tcs/api/posts/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {res}");
        assert_eq!(totals(&one, &token).await, before, "{backend:?}");
        assert_eq!(
            totals(&two, &token).await,
            before,
            "{backend:?}: two agrees"
        );
        assert_eq!(totals(&one, &etl).await, everything, "{backend:?}");
    }
}

/// The kept totals are really reused while the version stands (a write the version does not
/// see, with its trigger dropped, leaves them), and read again once it moves.
#[tokio::test]
async fn a_post_total_is_reused_while_the_data_version_stands() {
    for backend in BACKENDS {
        let reference = start_reference().await;
        let (one, _two) = two_instances(backend, &reference).await;
        let n = names(&one, &reference).await;
        let token = admin(&[SOUTH_LONDON]).token();
        create(
            &one,
            &token,
            &n,
            &["LDN/RJ122/076/ST1/601", "LDN/RJ122/076/ST1/602"],
        )
        .await;
        let before = totals(&one, &token).await;
        let drops: &[&str] = match backend {
            Backend::Sqlite => &[
                "DROP TRIGGER search_post_view_version_insert",
                "DROP TRIGGER search_post_view_version_update",
                "DROP TRIGGER search_post_view_version_delete",
            ],
            Backend::Postgres => &["DROP TRIGGER search_post_view_version ON post_view"],
        };
        for drop in drops {
            one.db
                .write()
                .execute(tis_store::Sql::new(drop))
                .await
                .expect("drop trigger");
        }
        create(&one, &token, &n, &["LDN/RJ122/076/ST1/603"]).await;
        assert_eq!(totals(&one, &token).await, before, "{backend:?}: kept");
        one.db
            .write()
            .execute(tis_store::Sql::new(
                "UPDATE search_post_view_version SET version = version + 1",
            ))
            .await
            .expect("bump");
        let after: Vec<i64> = before.iter().map(|t| t + 1).collect();
        assert_eq!(
            totals(&one, &token).await,
            after,
            "{backend:?}: counted again"
        );
    }
}
