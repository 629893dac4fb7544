//! The post list's `searchQuery` within each kind of caller's scope, judged against the plain
//! statement (`LOWER(search_text) LIKE '%term%'` and the scope over `post_view`): the same
//! rows in the same order and the same `X-Total-Count`, page after page, with and without
//! other filters and sorts. On SQLite a term of three characters or more for a caller who
//! sees everything or some owners is answered by the search structure (its owner codes,
//! migration 0009), so the test also moves posts to another owner, to an owner never seen
//! before, changes a post's text and deletes one, and asks again.

use reqwest::Method;
use serde_json::Value;
use tis_tcs::domain::owners::owners_of;

use crate::helpers::*;
use crate::posts::{SOUTH_LONDON, WESSEX, admin, urlencode};

const EAST_MIDLANDS: &str = "1-1RSSPZ7";

/// The ids `path` answers to `token`, and its `X-Total-Count`.
async fn ids_and_total(app: &TestApp, token: &str, path: &str) -> (Vec<i64>, String) {
    let (status, headers, body) = call(app, Method::GET, path, token, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    let ids = body
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    let total = headers
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (ids, total)
}

/// The ids of every post whose text holds `term` (ignoring case), of `owners` (all when
/// `None`), with status CURRENT when `current`, ordered by `order`.
async fn expected(
    app: &TestApp,
    term: &str,
    owners: Option<&[&str]>,
    current: bool,
    order: &str,
) -> Vec<i64> {
    let mut sql =
        tis_store::Sql::new(r#"SELECT id AS "id" FROM post_view WHERE LOWER(search_text) LIKE "#);
    sql.bind(format!("%{}%", term.to_lowercase()));
    if let Some(owners) = owners {
        sql.push(" AND owner IN ")
            .bind_list(owners.iter().map(|o| (*o).to_owned()));
    }
    if current {
        sql.push(" AND status = 'CURRENT'");
    }
    sql.push(&format!(" ORDER BY {order}"));
    app.db
        .write()
        .fetch_all(sql)
        .await
        .expect("the expected rows")
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_i64))
        .collect()
}

/// Every page of every term for each caller, against [`expected`].
async fn compare(app: &TestApp, terms: &[&str]) {
    let etl = Caller::etl().granted(&["post:view"]).token();
    let callers: [(String, Option<Vec<&str>>); 3] = [
        (etl, None),
        (
            admin(&[SOUTH_LONDON]).token(),
            Some(owners_of([SOUTH_LONDON]).into_iter().collect()),
        ),
        (
            admin(&[SOUTH_LONDON, WESSEX, EAST_MIDLANDS]).token(),
            Some(
                owners_of([SOUTH_LONDON, WESSEX, EAST_MIDLANDS])
                    .into_iter()
                    .collect(),
            ),
        ),
    ];
    let status = urlencode(r#"{"status":["CURRENT"]}"#);
    for term in terms {
        let q = urlencode(term);
        for (token, owners) in &callers {
            for (sort, order, current) in [
                ("id,desc", "id DESC", false),
                ("id,asc", "id ASC", false),
                (
                    "nationalPostNumber,desc",
                    "national_post_number DESC, id ASC",
                    false,
                ),
                ("id,desc", "id DESC", true),
            ] {
                let all = expected(app, term, owners.as_deref(), current, order).await;
                let filters = if current {
                    format!("&columnFilters={status}")
                } else {
                    String::new()
                };
                for page in 0..3 {
                    let path = format!(
                        "/tcs/api/posts?searchQuery={q}&size=4&page={page}&sort={sort}{filters}"
                    );
                    let (ids, total) = ids_and_total(app, token, &path).await;
                    let want: Vec<i64> = all.iter().skip(page * 4).take(4).copied().collect();
                    assert_eq!(ids, want, "{path} ({owners:?})");
                    if !ids.is_empty() {
                        assert_eq!(total, all.len().to_string(), "{path} ({owners:?})");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_search_answers_the_rows_and_total_of_the_plain_statement_for_every_scope_and_after_writes()
 {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 400).await;
        let posts = db_value(&app, "SELECT COUNT(*) AS n FROM post_view").await;
        assert!(posts.as_i64().unwrap_or_default() >= 80, "{posts}");
        // A site's code, a number's first part, a specialty's first letters, a quote, a
        // term nothing holds, and one too short for the structure.
        let terms = ["rj1", "LDN/", "medic", "card", "x\"y", "zzzzq", "ne"];
        compare(&app, &terms).await;

        // Writes the structure follows: posts move to another owner and to one never seen
        // before, a post's text changes, a post goes.
        let write = |sql: &'static str| {
            let db = app.db.clone();
            async move {
                db.write()
                    .execute(tis_store::Sql::new(sql))
                    .await
                    .expect(sql);
            }
        };
        write(
            "UPDATE post_view SET owner = 'Wessex' WHERE id IN \
             (SELECT id FROM post_view WHERE owner = 'South London' ORDER BY id LIMIT 3)",
        )
        .await;
        write(
            "UPDATE post_view SET owner = 'Nowhere Office' WHERE id IN \
             (SELECT id FROM post_view WHERE owner = 'Wessex' ORDER BY id DESC LIMIT 2)",
        )
        .await;
        write(
            "UPDATE post_view SET search_text = search_text || ' zzzzq' WHERE id IN \
             (SELECT id FROM post_view WHERE owner = 'South London' ORDER BY id DESC LIMIT 5)",
        )
        .await;
        write(
            "DELETE FROM post_view WHERE id = \
             (SELECT MIN(id) FROM post_view WHERE LOWER(search_text) LIKE '%medic%')",
        )
        .await;
        compare(&app, &terms).await;
        let nowhere = db_value(
            &app,
            "SELECT COUNT(*) AS n FROM post_view WHERE owner = 'Nowhere Office'",
        )
        .await;
        assert_eq!(nowhere, 2, "{backend:?}");
    }
}
