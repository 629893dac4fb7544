//! Search pages sorted by a column: the same rows in the same order whichever way they are
//! read. On SQLite a common term's page walks the sort column's index with the term checked
//! on each row (`query::walk`), a rare one is driven by the FTS5 match (`query::select`); the
//! API's page, both statements run directly, and the page cut from the id-ordered list
//! sorted here must agree, on generated sites with NULLs, duplicate names, and the two
//! non-ASCII letters FTS5 folds to ASCII (the Kelvin sign, the long s).

use serde_json::{Value, json};
use tis_reference::routes::dto::SITE;
use tis_service_kit::repo::query::{self, Filter, ListQuery, Page, Sort};
use tis_service_kit::testing::url_encode;
use tis_store::{Backend, Value as SqlValue};

use crate::helpers::*;

const OFFICES: [&str; 3] = ["North Office", "South Office", "West Office"];

/// 1,500 sites: "health" in most, "south" in a third (some spelt with a long s), "kelvin" in
/// some (some with a Kelvin sign), "zed" only in names that sort last, a few rare ones; some
/// names, codes and post codes NULL; many duplicate names.
fn generated() -> Vec<Value> {
    let mut seed: u64 = 11;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    (0..1500)
        .map(|i| {
            let prefix =
                ["", "South ", "\u{17f}outh ", "Park ", "Zed ", "North "][next(6) as usize];
            let kind = [
                "Health Centre",
                "Hospital",
                "Surgery",
                "Kelvin Clinic",
                "\u{212a}elvin Way",
            ][next(5) as usize];
            let name = if next(25) == 0 {
                Value::Null
            } else if i % 300 == 7 {
                json!(format!("Rare Caf\u{e9} {i}"))
            } else {
                json!(format!("{prefix}{kind} {}", next(40)))
            };
            let code = if next(30) == 0 {
                Value::Null
            } else {
                json!(format!("{}{i:05}", ["A", "G", "M", "T"][next(4) as usize]))
            };
            let post = if next(4) == 0 {
                Value::Null
            } else {
                json!(format!("AB{} {}XY", next(20), next(9)))
            };
            let address = if next(3) == 0 {
                "1 Health Road"
            } else {
                "2 High Street"
            };
            let trust = ["RJ1", "RYJ"][next(2) as usize];
            let status = if next(5) == 0 { "INACTIVE" } else { "CURRENT" };
            let office = OFFICES[next(3) as usize];
            json!({
                "siteCode": code,
                "siteName": name,
                "postCode": post,
                "address": address,
                "localOffice": office,
                "trustCode": trust,
                "status": status,
            })
        })
        .collect()
}

/// The query the API makes of `searchQuery=term` (none when empty) and `columnFilters`.
fn list_query(term: &str, filters: &Value) -> ListQuery {
    let mut q = ListQuery {
        search: (!term.is_empty()).then(|| term.to_owned()),
        ..ListQuery::default()
    };
    for (key, values) in filters.as_object().expect("object") {
        let values = values
            .as_array()
            .expect("values")
            .iter()
            .map(|v| SqlValue::Text(v.as_str().expect("text").into()))
            .collect();
        q.filters
            .push(Filter::new(SITE.field(key).expect("field"), values));
    }
    q
}

fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter().map(|r| r["id"].as_i64().expect("id")).collect()
}

#[tokio::test]
async fn a_sorted_search_page_is_the_same_whichever_way_it_is_read() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let sites = generated();
        for chunk in sites.chunks(100) {
            app.bulk("sites", json!(chunk)).await;
        }
        let mut walked = 0;
        for term in [
            "health",
            "south",
            "kelvin",
            "zed",
            "health c",
            "caf\u{e9}",
            "rare",
        ] {
            for filters in [
                json!({}),
                json!({"status": ["CURRENT"]}),
                json!({"status": ["CURRENT"], "localOffice": ["South Office"]}),
            ] {
                let filter = url_encode(&filters.to_string());
                let search = url_encode(term);
                // Every match, in id order (the match-driven read, never walked).
                let mut all = Vec::new();
                for page in 0.. {
                    let list = app
                        .get_json(&format!(
                            "/reference/api/sites?searchQuery={search}&columnFilters={filter}&size=50&page={page}"
                        ))
                        .await;
                    let list = list.as_array().expect("a list").clone();
                    let n = list.len();
                    all.extend(list);
                    if n < 50 {
                        break;
                    }
                }
                for (json_name, descending) in [
                    ("siteName", false),
                    ("siteName", true),
                    ("siteCode", true),
                    ("postCode", false),
                    ("postCode", true),
                ] {
                    let mut sorted = all.clone();
                    sorted.sort_by(|x, y| {
                        let (a, b) = (x[json_name].as_str(), y[json_name].as_str());
                        let by_value = match (a, b) {
                            (Some(a), Some(b)) if descending => b.cmp(a),
                            (Some(a), Some(b)) => a.cmp(b),
                            // NULLs last ascending, first descending (PostgreSQL's default).
                            (None, Some(_)) if descending => std::cmp::Ordering::Less,
                            (Some(_), None) if descending => std::cmp::Ordering::Greater,
                            (None, Some(_)) => std::cmp::Ordering::Greater,
                            (Some(_), None) => std::cmp::Ordering::Less,
                            (None, None) => std::cmp::Ordering::Equal,
                        };
                        by_value.then(x["id"].as_i64().cmp(&y["id"].as_i64()))
                    });
                    for (number, size) in [(0u64, 20u64), (2, 20), (1, 7)] {
                        let what = format!(
                            "{b:?} {term} {filters} {json_name} desc={descending} page {number} size {size}"
                        );
                        let dir = if descending { "desc" } else { "asc" };
                        let res = app
                            .get(&format!(
                                "/reference/api/sites?searchQuery={search}&columnFilters={filter}&sort={json_name},{dir}&page={number}&size={size}"
                            ))
                            .await;
                        assert_eq!(res.status(), 200, "{what}");
                        assert_eq!(
                            res.headers()["x-total-count"].to_str().expect("ascii"),
                            all.len().to_string(),
                            "{what}"
                        );
                        let page: Vec<Value> = res.json().await.expect("json");
                        let start = (number * size) as usize;
                        let want: Vec<Value> = sorted
                            .iter()
                            .skip(start)
                            .take(size as usize)
                            .cloned()
                            .collect();
                        assert_eq!(ids(&page), ids(&want), "{what}: the API's page");
                        if app.db.backend() != Backend::Sqlite {
                            continue;
                        }
                        // Both statements, run directly on the service's database.
                        let mut q = list_query(term, &filters);
                        q.sort = vec![Sort {
                            field: SITE.field(json_name).expect("field"),
                            descending,
                        }];
                        let page = Page { number, size };
                        let matched = app
                            .db
                            .read()
                            .fetch_all(query::select(&SITE, &q, Some(page), Backend::Sqlite))
                            .await
                            .expect("select");
                        let matched: Vec<Value> = matched.into_iter().map(|r| json!(r)).collect();
                        assert_eq!(ids(&matched), ids(&want), "{what}: match-driven");
                        let Some(walk) = query::walk(&SITE, &q, page, 100_000) else {
                            assert!(!term.is_ascii(), "{what}: an ASCII term can be walked");
                            continue;
                        };
                        let rows = app.db.read().fetch_all(walk).await.expect("walk");
                        let rows: Vec<Value> = rows.into_iter().map(|r| json!(r)).collect();
                        if rows.len() as u64 == size {
                            walked += 1;
                            assert_eq!(ids(&rows), ids(&want), "{what}: walked");
                        } else {
                            // Short: the list ends here, or NULLs come first.
                            let nulls_first = descending
                                && sorted.first().is_some_and(|r| r[json_name].is_null());
                            let reaches_nulls = want.iter().any(|r| r[json_name].is_null());
                            assert!(
                                want.len() < size as usize || nulls_first || reaches_nulls,
                                "{what}: a walk without budget is short only at the end or \
                                 before NULLs"
                            );
                        }
                    }
                }
            }
        }
        if app.db.backend() == Backend::Sqlite {
            assert!(walked > 100, "the walk was compared on {walked} pages only");
        }
    }
}

/// A page and its total come from the kept id sets of the list's conditions (`repo::Sets`:
/// each filter's and the term's ids, intersected; a sorted page read by id when small, else
/// cut from the sort column's index): the same rows and total as the page and `COUNT(*)`
/// statements run directly, for terms common and rare, with and without filters, in id order
/// and sorted by columns with NULLs both ways, past the end; and, once an id is too large to
/// be a bit (`repo::sets::MAX_ID`), the statements answer instead, still the same.
#[tokio::test]
async fn a_page_from_the_kept_id_sets_is_the_statements_page() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        for chunk in generated().chunks(100) {
            app.bulk("sites", json!(chunk)).await;
        }
        for round in ["sets", "an id past MAX_ID"] {
            if round != "sets" {
                app.db
                    .write()
                    .execute(tis_store::Sql::new(&format!(
                        "INSERT INTO site (id, site_name, status, local_office) VALUES ({}, \
                         'Far Health Centre', 'CURRENT', 'South Office')",
                        tis_service_kit::repo::sets::MAX_ID + 1
                    )))
                    .await
                    .expect("insert far id");
            }
            for term in [
                "",
                "health",
                "south",
                "zed",
                "rare",
                "caf\u{e9}",
                "he",
                "nowhere",
            ] {
                for filters in [
                    json!({}),
                    json!({"status": ["CURRENT"]}),
                    json!({"status": ["CURRENT", "INACTIVE"]}),
                    json!({"status": ["CURRENT"], "localOffice": ["South Office", "West Office"]}),
                ] {
                    let mut q = list_query(term, &filters);
                    let counted = app
                        .db
                        .read()
                        .fetch_one(query::count(&SITE, &q, app.db.backend()))
                        .await
                        .expect("count")["n"]
                        .as_i64()
                        .expect("n");
                    for (json_name, descending) in [
                        ("id", false),
                        ("id", true),
                        ("siteName", false),
                        ("siteName", true),
                        ("siteCode", true),
                        ("postCode", false),
                    ] {
                        q.sort = vec![Sort {
                            field: SITE.field(json_name).expect("field"),
                            descending,
                        }];
                        for (number, size) in [(0u64, 20u64), (3, 20), (1, 7), (500, 20)] {
                            let what = format!(
                                "{b:?} {round}: '{term}' {filters} {json_name} desc={descending} page {number} size {size}"
                            );
                            let dir = if descending { "desc" } else { "asc" };
                            let res = app
                                .get(&format!(
                                    "/reference/api/sites?searchQuery={}&columnFilters={}&sort={json_name},{dir}&page={number}&size={size}",
                                    url_encode(term),
                                    url_encode(&filters.to_string())
                                ))
                                .await;
                            assert_eq!(res.status(), 200, "{what}");
                            assert_eq!(
                                res.headers()["x-total-count"].to_str().expect("ascii"),
                                counted.to_string(),
                                "{what}: total"
                            );
                            let page: Vec<Value> = res.json().await.expect("json");
                            let want = app
                                .db
                                .read()
                                .fetch_all(query::select(
                                    &SITE,
                                    &q,
                                    Some(Page { number, size }),
                                    app.db.backend(),
                                ))
                                .await
                                .expect("select");
                            let want: Vec<Value> = want.into_iter().map(|r| json!(r)).collect();
                            assert_eq!(ids(&page), ids(&want), "{what}: page");
                        }
                    }
                }
            }
        }
    }
}

/// A column-sorted page of more than a thousand matches is cut from the column's kept order
/// (`repo::Order`), kept against the data version like the sets: a write on another instance
/// between two reads changes the next page (a renamed site moves to the top of the order both
/// ways, a deleted one leaves it), and each page is the statement's page.
#[tokio::test]
async fn a_write_between_two_sorted_reads_changes_the_next_page() {
    for b in BACKENDS {
        let (one, two) = two_on_one_database(b).await;
        let mut sites = Vec::new();
        for chunk in generated().chunks(100) {
            sites.extend(one.bulk("sites", json!(chunk)).await);
        }
        let filters = json!({"status": ["CURRENT", "INACTIVE"]});
        let mut q = list_query("", &filters);
        let page = |descending: bool, number: u64| {
            let dir = if descending { "desc" } else { "asc" };
            format!(
                "/reference/api/sites?columnFilters={}&sort=siteName,{dir}&page={number}&size=20",
                url_encode(&filters.to_string())
            )
        };
        let read = async |descending: bool, number: u64, q: &mut ListQuery| {
            q.sort = vec![Sort {
                field: SITE.field("siteName").expect("field"),
                descending,
            }];
            let res = one.get(&page(descending, number)).await;
            assert_eq!(res.status(), 200, "{b:?}");
            let total = res.headers()["x-total-count"]
                .to_str()
                .expect("ascii")
                .to_owned();
            let got = ids(&res.json::<Vec<Value>>().await.expect("json"));
            let want = one
                .db
                .read()
                .fetch_all(query::select(
                    &SITE,
                    q,
                    Some(Page { number, size: 20 }),
                    one.db.backend(),
                ))
                .await
                .expect("select");
            let want: Vec<Value> = want.into_iter().map(|r| json!(r)).collect();
            assert_eq!(
                got,
                ids(&want),
                "{b:?} desc={descending}: the statement's page"
            );
            (got, total.parse::<u64>().expect("total"))
        };
        // Descending, the sites without a name come first; then (in code points) the Kelvin
        // sign's names, so the renamed one starts with a fullwidth z.
        let nulls = sites.iter().filter(|s| s["siteName"].is_null()).count() as u64;
        let first_named = (nulls / 20, (nulls % 20) as usize);
        let (before_desc, total) = read(true, first_named.0, &mut q).await;
        let (before_asc, _) = read(false, 0, &mut q).await;
        assert!(total > 1000, "{b:?}: {total} matches take the kept order");
        // A site with a name in the middle of the order, not on either first page.
        let moved = sites
            .iter()
            .find(|s| {
                s["siteName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("Park "))
                    && !before_desc.contains(&s["id"].as_i64().expect("id"))
                    && !before_asc.contains(&s["id"].as_i64().expect("id"))
            })
            .expect("a site in the middle")
            .clone();
        let id = moved["id"].as_i64().expect("id");
        for (name, descending) in [("\u{ff5a}zzz Health", true), ("Aaaa Health", false)] {
            let mut renamed = moved.clone();
            renamed["siteName"] = json!(name);
            let res = two
                .send(reqwest::Method::PUT, "/reference/api/sites", &renamed)
                .await;
            assert_eq!(res.status(), 200, "{b:?}");
            let (number, at) = if descending { first_named } else { (0, 0) };
            let (after, after_total) = read(descending, number, &mut q).await;
            assert_eq!(
                after[at],
                id,
                "{b:?} {name}: first after the write on two ({nulls} nulls, {after:?}, {:?})",
                one.get_json(&format!("/reference/api/sites/{}", after[at]))
                    .await
            );
            assert_eq!(after_total, total, "{b:?}");
        }
        let res = two.delete(&format!("/reference/api/sites/{id}")).await;
        assert!(res.status().is_success(), "{b:?}: {}", res.status());
        let (after, after_total) = read(false, 0, &mut q).await;
        assert!(!after.contains(&id), "{b:?}: deleted");
        assert_eq!(after, before_asc, "{b:?}: the first page as it was");
        assert_eq!(after_total, total - 1, "{b:?}");
    }
}
