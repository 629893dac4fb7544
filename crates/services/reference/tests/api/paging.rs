use serde_json::{Value, json};

use crate::helpers::*;
use tis_service_kit::testing::url_encode;

fn codes(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn five_grades(app: &TestApp) {
    app.bulk("grades", json!([
        {"abbreviation": "F1", "name": "Foundation Year 1", "trainingGrade": true, "postGrade": true, "placementGrade": true, "status": "CURRENT"},
        {"abbreviation": "F2", "name": "Foundation Year 2", "trainingGrade": true, "postGrade": true, "placementGrade": true, "status": "CURRENT"},
        {"abbreviation": "CT1", "name": "Core Training 1", "trainingGrade": true, "postGrade": false, "placementGrade": true, "status": "INACTIVE"},
        {"abbreviation": "SHO", "name": "Senior House Officer", "trainingGrade": false, "postGrade": true, "placementGrade": true, "status": "CURRENT"},
        {"abbreviation": "ST3", "name": "Specialty 50%_Training", "trainingGrade": true, "postGrade": true, "placementGrade": false}
    ])).await;
}

#[tokio::test]
async fn pages_carry_the_total_and_spring_link_headers() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        five_grades(&app).await;
        let res = app
            .get("/reference/api/grades?page=1&size=2&sort=abbreviation,asc")
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-total-count"], "5", "{b:?}");
        let p = "/reference/api/grades";
        let s = "sort=abbreviation%2Casc";
        assert_eq!(
            res.headers()["link"].to_str().expect("ascii"),
            format!(
                "<{p}?page=2&size=2&{s}>; rel=\"next\",<{p}?page=0&size=2&{s}>; rel=\"prev\",<{p}?page=2&size=2&{s}>; rel=\"last\",<{p}?page=0&size=2&{s}>; rel=\"first\""
            )
        );
        let body: Value = res.json().await.expect("json");
        assert_eq!(codes(&body, "abbreviation"), vec!["F2", "SHO"], "{b:?}");
        let beyond = app.get("/reference/api/grades?page=9&size=2").await;
        assert_eq!(beyond.headers()["x-total-count"], "5");
        assert_eq!(beyond.json::<Value>().await.expect("json"), json!([]));
    }
}

#[tokio::test]
async fn sorting_is_by_json_names_both_ways_and_unknown_fields_are_refused() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        five_grades(&app).await;
        let asc = app
            .get_json("/reference/api/grades?sort=abbreviation")
            .await;
        assert_eq!(
            codes(&asc, "abbreviation"),
            vec!["CT1", "F1", "F2", "SHO", "ST3"],
            "{b:?}"
        );
        let desc = app
            .get_json("/reference/api/grades?sort=trainingGrade,asc&sort=abbreviation,desc")
            .await;
        assert_eq!(
            codes(&desc, "abbreviation"),
            vec!["SHO", "ST3", "F2", "F1", "CT1"],
            "{b:?}"
        );
        let (status, code, body) =
            error_code(app.get("/reference/api/grades?sort=password,desc").await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_query"));
        assert!(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .contains("password")
        );
    }
}

#[tokio::test]
async fn search_is_a_case_insensitive_contains_with_literal_wildcards() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        five_grades(&app).await;
        let found = app
            .get_json("/reference/api/grades?searchQuery=foundation&sort=abbreviation")
            .await;
        assert_eq!(codes(&found, "abbreviation"), vec!["F1", "F2"], "{b:?}");
        let literal = app
            .get_json("/reference/api/grades?searchQuery=50%25_")
            .await;
        assert_eq!(
            codes(&literal, "abbreviation"),
            vec!["ST3"],
            "{b:?}: % and _ match themselves"
        );
        let none = app.get_json("/reference/api/grades?searchQuery=%25").await;
        assert_eq!(
            codes(&none, "abbreviation"),
            vec!["ST3"],
            "{b:?}: a lone % is not a wildcard"
        );
        let quoted = app
            .get_json("/reference/api/grades?searchQuery=%22sho%22")
            .await;
        assert_eq!(codes(&quoted, "abbreviation"), vec!["SHO"]);
    }
}

#[tokio::test]
async fn column_filters_or_within_a_column_and_and_across_columns() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        five_grades(&app).await;
        let q = |f: &str| {
            format!(
                "/reference/api/grades?sort=abbreviation&columnFilters={}",
                url_encode(f)
            )
        };
        let or = app
            .get_json(&q(r#"{"status":["CURRENT","INACTIVE"]}"#))
            .await;
        assert_eq!(
            codes(&or, "abbreviation"),
            vec!["CT1", "F1", "F2", "SHO"],
            "{b:?}"
        );
        let and = app
            .get_json(&q(
                r#"{"status":["CURRENT","INACTIVE"],"trainingGrade":["true"],"postGrade":[true]}"#,
            ))
            .await;
        assert_eq!(codes(&and, "abbreviation"), vec!["F1", "F2"], "{b:?}");
        let res = app.get(&q(r#"{"status":["CURRENT"]}"#)).await;
        assert_eq!(res.headers()["x-total-count"], "3");
        let twice = format!(
            "/reference/api/grades?columnFilters={}",
            url_encode(&url_encode(r#"{"placementGrade":[false]}"#))
        );
        assert_eq!(
            codes(&app.get_json(&twice).await, "abbreviation"),
            vec!["ST3"],
            "encoded twice, as the old UI did"
        );
        for bad in [
            r#"{"status":["LIVE"]}"#,
            r#"{"nope":["x"]}"#,
            r#"{"status":"CURRENT"}"#,
            "{status",
            "[]",
        ] {
            let (status, code, _) = error_code(app.get(&q(bad)).await).await;
            assert_eq!(
                (status, code.as_str()),
                (400, "invalid_query"),
                "{b:?} {bad}"
            );
        }
    }
}

#[tokio::test]
async fn current_lists_only_current_records_and_page_sizes_are_bounded() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        five_grades(&app).await;
        let res = app
            .get("/reference/api/current/grades?sort=abbreviation")
            .await;
        assert_eq!(res.headers()["x-total-count"], "3", "{b:?}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(codes(&body, "abbreviation"), vec!["F1", "F2", "SHO"]);
        let (status, code, _) = error_code(app.get("/reference/api/grades?size=51").await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_query"));
        assert_eq!(app.get("/reference/api/grades?size=50").await.status(), 200);
        let (status, _, _) = error_code(app.get("/reference/api/grades?page=x").await).await;
        assert_eq!(status, 400);
    }
}

/// Sites have a search structure (an FTS5 trigram table on SQLite, trigram indexes on
/// PostgreSQL): the search answers the same as the plain scan, and follows every write.
#[tokio::test]
async fn site_search_through_the_search_structure_follows_writes() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let sites = app.bulk("sites", json!([
            {"siteCode": "RJ122", "siteName": "St Thomas' Hospital", "postCode": "SE1 7EH", "status": "CURRENT"},
            {"siteCode": "RJ121", "siteName": "Guy's Hospital", "address": "Great Maze Pond", "status": "CURRENT"},
            {"siteCode": "RYJ01", "siteName": "ST MARY'S HOSPITAL", "status": "INACTIVE"},
            {"siteCode": "X50", "siteName": "Ward 50%_B \"East\"", "status": "CURRENT"}
        ])).await;
        let search = |term: &str, filters: &str| {
            format!(
                "/reference/api/sites?sort=siteCode&searchQuery={}&columnFilters={}",
                url_encode(term),
                url_encode(filters)
            )
        };
        let found = |list: Value| codes(&list, "siteCode");
        assert_eq!(
            found(app.get_json(&search("hospital", "{}")).await),
            ["RJ121", "RJ122", "RYJ01"],
            "{b:?}"
        );
        assert_eq!(
            found(app.get_json(&search("s HOSP", "{}")).await),
            ["RJ121", "RYJ01"],
            "{b:?}: ignoring case, spaces count"
        );
        assert_eq!(
            found(app.get_json(&search("maze", "{}")).await),
            ["RJ121"],
            "{b:?}: the address"
        );
        assert_eq!(
            found(app.get_json(&search("se1 7", "{}")).await),
            ["RJ122"],
            "{b:?}: the post code"
        );
        assert_eq!(
            found(app.get_json(&search("50%_", "{}")).await),
            ["X50"],
            "{b:?}: wildcards are literal"
        );
        assert_eq!(
            found(app.get_json(&search("\"east\"", "{}")).await),
            ["X50"],
            "{b:?}: a quoted term is unquoted"
        );
        assert_eq!(
            found(app.get_json(&search("b \"east", "{}")).await),
            ["X50"],
            "{b:?}: quotes inside match themselves"
        );
        assert_eq!(
            found(app.get_json(&search("rj", "{}")).await),
            ["RJ121", "RJ122"],
            "{b:?}: a short term scans"
        );
        let res = app
            .get(&search("hospital", r#"{"status":["CURRENT"]}"#))
            .await;
        assert_eq!(res.headers()["x-total-count"], "2", "{b:?}");

        let mut guys = sites[1].clone();
        guys["siteName"] = json!("Guy's Campus");
        let res = app
            .send(reqwest::Method::PUT, "/reference/api/sites", &guys)
            .await;
        assert_eq!(res.status(), 200, "{b:?}");
        assert_eq!(
            found(app.get_json(&search("hospital", "{}")).await),
            ["RJ122", "RYJ01"],
            "{b:?}: after an update"
        );
        assert_eq!(
            found(app.get_json(&search("campus", "{}")).await),
            ["RJ121"],
            "{b:?}"
        );
        let id = sites[0]["id"].as_i64().expect("id");
        let res = app
            .request(
                reqwest::Method::DELETE,
                &format!("/reference/api/sites/{id}"),
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete");
        assert_eq!(res.status(), 200, "{b:?}");
        assert_eq!(
            found(app.get_json(&search("hospital", "{}")).await),
            ["RYJ01"],
            "{b:?}: after a delete"
        );
        let page = app
            .get(&format!("{}&size=1&page=1", search("hospital", "{}")))
            .await;
        assert_eq!(
            page.headers()["x-total-count"],
            "1",
            "{b:?}: past the last row, counted"
        );
    }
}

/// `n` sites whose names contain "Lister", codes `L000`…
fn listers(from: usize, n: usize) -> Value {
    (from..from + n)
        .map(|i| json!({"siteCode": format!("L{i:03}"), "siteName": format!("Lister Unit {i}"), "status": "CURRENT"}))
        .collect()
}

fn lister_page() -> String {
    format!(
        "/reference/api/sites?size=5&searchQuery=lister&columnFilters={}",
        url_encode(r#"{"status":["CURRENT"]}"#)
    )
}

async fn total(app: &TestApp, path: &str) -> String {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.headers()["x-total-count"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// A full page's total is kept against the site table's data version: a write by another
/// instance on the same database (insert, update, delete) changes it at once.
#[tokio::test]
async fn a_kept_total_follows_writes_by_another_instance() {
    for b in BACKENDS {
        let (one, two) = two_on_one_database(b).await;
        let sites = one.bulk("sites", listers(0, 12)).await;
        one.bulk(
            "sites",
            json!([{"siteCode": "O1", "siteName": "Other", "status": "CURRENT"}]),
        )
        .await;
        let page = lister_page();
        assert_eq!(total(&one, &page).await, "12", "{b:?}");
        assert_eq!(total(&one, &page).await, "12", "{b:?}: kept");
        two.bulk("sites", listers(12, 2)).await;
        assert_eq!(
            total(&one, &page).await,
            "14",
            "{b:?}: after an insert on two"
        );
        let mut renamed = sites[0].clone();
        renamed["siteName"] = json!("Renamed");
        let res = two
            .send(reqwest::Method::PUT, "/reference/api/sites", &renamed)
            .await;
        assert_eq!(res.status(), 200, "{b:?}");
        assert_eq!(
            total(&one, &page).await,
            "13",
            "{b:?}: after an update on two"
        );
        let id = sites[1]["id"].as_i64().expect("id");
        let res = two.delete(&format!("/reference/api/sites/{id}")).await;
        assert_eq!(res.status(), 200, "{b:?}");
        assert_eq!(
            total(&one, &page).await,
            "12",
            "{b:?}: after a delete on two"
        );
        assert_eq!(total(&two, &page).await, "12", "{b:?}: two agrees");
    }
}

/// The kept total is really reused while the data version stands (a write that does not bump
/// it, with the trigger dropped, leaves the old total), and read again when it moves.
#[tokio::test]
async fn a_total_is_reused_while_the_data_version_stands() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        app.bulk("sites", listers(0, 7)).await;
        let page = lister_page();
        assert_eq!(total(&app, &page).await, "7", "{b:?}");
        let drop = match b {
            Backend::Sqlite => "DROP TRIGGER search_site_version_insert",
            Backend::Postgres => "DROP TRIGGER search_site_version ON site",
        };
        app.db
            .write()
            .execute(tis_store::Sql::new(drop))
            .await
            .expect("drop trigger");
        app.bulk("sites", listers(7, 1)).await;
        assert_eq!(total(&app, &page).await, "7", "{b:?}: the kept total");
        app.db
            .write()
            .execute(tis_store::Sql::new(
                "UPDATE search_site_version SET version = version + 1",
            ))
            .await
            .expect("bump");
        assert_eq!(total(&app, &page).await, "8", "{b:?}: counted again");
    }
}
