//! The original's contract, walked: every Reference row of `tis-contract.tsv` (the original
//! services' handlers, both eras; a copy of its Reference rows is `data/original-contract.tsv`)
//! is served by our router with the original's guard, or is listed with a reason under "Not
//! served" in `docs/api-reference.md`. The OpenAPI document lists exactly the routes the
//! router serves (the registrar adds both at once, and `openapi.rs` calls each of them), so it
//! is what the rows are compared with.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

const CONTRACT: &str = include_str!("data/original-contract.tsv");
const DOCS: &str = include_str!("../../../../../docs/api-reference.md");

/// One row of the contract.
struct Row<'a> {
    era: &'a str,
    method: &'a str,
    path: &'a str,
    guard: &'a str,
}

fn rows() -> Vec<Row<'static>> {
    CONTRACT
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert!(cols.len() >= 5, "a contract row: {line}");
            assert_eq!(cols[0], "reference");
            Row {
                era: cols[1],
                method: cols[2],
                path: cols[3],
                guard: cols[4],
            }
        })
        .collect()
}

/// A path with its parameters' names erased: `/roles/categories/{categoryId}` and
/// `/roles/categories/{id}` are one route.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// The "Not served" section of the compatibility page.
fn not_served_section() -> &'static str {
    let start = DOCS
        .find("## Not served")
        .expect("docs/api-reference.md has a \"Not served\" section");
    let rest = &DOCS[start + 3..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i);
    &rest[..end]
}

#[tokio::test]
async fn every_route_of_the_original_contract_is_served_with_its_guard_or_listed_as_not_served() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc: Value = app
        .request(Method::GET, "/reference/api-docs", None)
        .send()
        .await
        .expect("api-docs")
        .json()
        .await
        .expect("json");
    let mut served: HashMap<(String, String), Value> = HashMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item[method].is_object() {
                served.insert((method.to_uppercase(), shape(path)), item[method].clone());
            }
        }
    }
    let not_served = not_served_section();

    let rows = rows();
    let mut served_rows = 0;
    let mut listed = Vec::new();
    let mut unaccounted = Vec::new();
    let mut wrong_guard = Vec::new();
    for row in &rows {
        match served.get(&(row.method.to_owned(), shape(row.path))) {
            Some(op) => {
                served_rows += 1;
                let responses = &op["responses"];
                let forbidden = responses["403"]["description"].as_str().unwrap_or("");
                let ok = match row.guard {
                    "authenticated" => responses["401"].is_object() && forbidden.is_empty(),
                    "none" => !responses["401"].is_object(),
                    guard => forbidden.contains(guard),
                };
                if !ok {
                    wrong_guard.push(format!(
                        "{} {} ({}): the original says {}, we say {:?}",
                        row.method, row.path, row.era, row.guard, forbidden
                    ));
                }
            }
            None => {
                let mention = format!("`{} {}`", row.method, row.path);
                if not_served.contains(&mention) {
                    listed.push(mention);
                } else {
                    unaccounted.push(format!("{mention} ({})", row.era));
                }
            }
        }
    }
    assert!(
        unaccounted.is_empty(),
        "rows of the original neither served nor listed under \"Not served\" in docs/api-reference.md:\n{}",
        unaccounted.join("\n")
    );
    assert!(
        wrong_guard.is_empty(),
        "routes whose guard is not the original's:\n{}",
        wrong_guard.join("\n")
    );
    // Every listing under "Not served" is really not served (no stale excuses).
    for line in not_served.lines().filter(|l| l.starts_with("| `")) {
        let mention = line.split('`').nth(1).unwrap_or_default();
        let (method, path) = mention.split_once(' ').unwrap_or_default();
        assert!(
            !served.contains_key(&(method.to_owned(), shape(path))),
            "{mention} is listed as not served, but it is"
        );
    }
    eprintln!(
        "original contract (Reference): {} rows, {served_rows} served, {} listed as not served",
        rows.len(),
        listed.len()
    );
    assert_eq!(rows.len(), 351, "the contract's Reference rows");
    assert!(served_rows >= 349, "{served_rows} rows served");
}

#[test]
fn route_shapes_ignore_parameter_names_only() {
    assert_eq!(
        shape("/reference/api/roles/categories/{categoryId}"),
        shape("/reference/api/roles/categories/{id}")
    );
    assert_ne!(
        shape("/reference/api/sites/exists"),
        shape("/reference/api/sites/exists/")
    );
    assert_eq!(shape("/a/{b}/c/{d}"), "/a/{}/c/{}");
}
