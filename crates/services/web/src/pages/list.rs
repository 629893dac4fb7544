//! One searched, filtered, paged list page for every list that is a table of an API's list:
//! programmes, curricula, posts, each reference entity, Profile's users and roles. A page is
//! described by a [`List`]; the template is `table.html`.
//!
//! The API's paging is used when it pages (`X-Total-Count` or a `Link: rel="next"`); a list
//! the API answers whole (some of the original's reference lists) is paged here.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::names::{self, Named};
use super::{Layout, Web, api_failure, current, degraded_notices, render};
use crate::format::shown;

/// Rows a page shows.
pub const PAGE_SIZE: usize = 20;

/// A filter of a list: a query parameter, its label, the API's `columnFilters` field, and
/// either a free text (`options` empty) or a choice among `options` (value, label).
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub param: &'static str,
    pub label: &'static str,
    pub api_field: &'static str,
    pub options: &'static [(&'static str, &'static str)],
}

/// A filter as the page shows it.
#[derive(Debug)]
pub struct ShownFilter {
    pub param: &'static str,
    pub label: &'static str,
    pub value: String,
    pub options: &'static [(&'static str, &'static str)],
}

/// A list page: where it is, its heading, the API list behind it, its columns (JSON field —
/// a path `a.b` reaches into objects —, heading), where each row links (`<link>/{id}`), its
/// filters, and an "add" link when the user may add.
pub struct List {
    pub page_path: String,
    pub heading: String,
    pub api: String,
    pub fields: Vec<(&'static str, &'static str)>,
    pub link: Option<String>,
    /// The key of each row's link (`id` unless said).
    pub link_key: &'static str,
    pub filters: &'static [Filter],
    pub add: Option<(String, String)>,
    /// The query parameter the API searches with (`searchQuery`; Profile's users: `search`).
    pub search_param: &'static str,
    /// Where the rows are in the answer (`None`: the answer is the list; Profile's pages:
    /// `content`).
    pub rows_at: Option<&'static str>,
    /// Columns whose values are Reference keys, shown by their names (a user's designated
    /// bodies: "Kent, Surrey and Sussex (1-AIIDWA)"); the keys, with a note, while Reference
    /// is unavailable.
    pub named: &'static [(&'static str, Named)],
}

impl List {
    pub fn new(page_path: &str, heading: &str, api: &str) -> List {
        List {
            page_path: page_path.to_owned(),
            heading: heading.to_owned(),
            api: api.to_owned(),
            fields: Vec::new(),
            link: None,
            link_key: "id",
            filters: &[],
            add: None,
            search_param: "searchQuery",
            rows_at: None,
            named: &[],
        }
    }
}

#[derive(Template)]
#[template(path = "table.html")]
struct TablePage {
    layout: Layout,
    heading: String,
    action: String,
    q: String,
    filters: Vec<ShownFilter>,
    add: Option<(String, String)>,
    columns: Vec<&'static str>,
    /// Each row: an optional link, then the cells.
    rows: Vec<(Option<String>, Vec<String>)>,
    prev: Option<String>,
    next: Option<String>,
}

/// The route of a list page: `describe` says which list (see [`List`]).
pub fn page(describe: fn() -> List) -> axum::routing::MethodRouter<Web> {
    axum::routing::get(
        move |State(web): State<Web>,
              headers: HeaderMap,
              Query(q): Query<HashMap<String, String>>| async move {
            table(&web, &headers, &q, describe()).await
        },
    )
}

/// The value at `path` (`a.b`) of `item`.
pub fn at<'v>(item: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(item, |v, k| &v[k])
}

/// A searched, filtered, paged list.
pub async fn table(
    web: &Web,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    list: List,
) -> axum::response::Response {
    let mut c = match current(web, headers, &list.page_path).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    c.layout.title = list.heading.clone();
    if q.contains_key("saved") {
        c.layout.notices.push("Saved.".into());
    }
    let get = |k: &str| q.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
    let query = get("q");
    let page: usize = get("page").parse().unwrap_or(0).min(10_000);
    let mut params = vec![("page", page.to_string()), ("size", PAGE_SIZE.to_string())];
    if !query.is_empty() {
        params.push((list.search_param, query.clone()));
    }
    let mut column_filters = serde_json::Map::new();
    let filters: Vec<ShownFilter> = list
        .filters
        .iter()
        .map(|f| {
            let mut value = get(f.param);
            if !f.options.is_empty() && !f.options.iter().any(|(v, _)| *v == value) {
                value.clear();
            }
            if !value.is_empty() {
                column_filters.insert(f.api_field.into(), Value::from(vec![value.clone()]));
            }
            ShownFilter {
                param: f.param,
                label: f.label,
                value,
                options: f.options,
            }
        })
        .collect();
    if !column_filters.is_empty() {
        params.push(("columnFilters", Value::Object(column_filters).to_string()));
    }
    let path = format!(
        "{}?{}",
        list.api,
        serde_urlencoded::to_string(&params).unwrap_or_default()
    );
    let answer = match web.gateway.get::<Value>(c.token(), &path).await {
        Ok(a) => a,
        Err(e) => return api_failure(c.layout, &e),
    };
    c.layout.notices.extend(degraded_notices(&answer.degraded));
    let body = match list.rows_at {
        Some(key) => &answer.body[key],
        None => &answer.body,
    };
    let all = body.as_array().cloned().unwrap_or_default();
    // A whole list (no paging from the API): paged here.
    let paged_by_api = answer.total.is_some() || answer.has_next || all.len() <= PAGE_SIZE;
    let (items, has_next) = if paged_by_api {
        let more = answer.has_next
            || answer
                .total
                .is_some_and(|t| t > ((page + 1) * PAGE_SIZE) as u64);
        (all, more)
    } else {
        let from = (page * PAGE_SIZE).min(all.len());
        let to = (from + PAGE_SIZE).min(all.len());
        (all[from..to].to_vec(), to < all.len())
    };
    let mut named = HashMap::new();
    for (field, kind) in list.named {
        let keys: Vec<String> = items
            .iter()
            .flat_map(|i| match at(i, field) {
                Value::Array(a) => a.iter().map(shown).collect(),
                v => vec![shown(v)],
            })
            .collect();
        named.insert(*field, names::or_keys(web, &mut c, *kind, &keys).await);
    }
    let rows = items
        .iter()
        .map(|item| {
            let href = list.link.as_ref().map(|l| {
                let key: String =
                    url::form_urlencoded::byte_serialize(shown(&item[list.link_key]).as_bytes())
                        .collect();
                format!("{l}/{key}")
            });
            (
                href,
                list.fields
                    .iter()
                    .map(|(f, _)| match named.get(f) {
                        Some(words) => named_cell(at(item, f), words),
                        None => cell(at(item, f)),
                    })
                    .collect(),
            )
        })
        .collect();
    let link_to = |p: usize| {
        let mut pairs = vec![("q", query.clone())];
        for f in &filters {
            pairs.push((f.param, f.value.clone()));
        }
        pairs.push(("page", p.to_string()));
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{}?{q}", list.page_path)
    };
    let prev = (page > 0).then(|| link_to(page - 1));
    let next = has_next.then(|| link_to(page + 1));
    render(
        StatusCode::OK,
        &TablePage {
            layout: c.layout,
            heading: list.heading,
            action: list.page_path,
            q: query,
            filters,
            add: list.add,
            columns: list.fields.iter().map(|(_, l)| *l).collect(),
            rows,
            prev,
            next,
        },
    )
}

/// A cell of keys (one or a list) by their names; a key without a name as it is.
fn named_cell(v: &Value, words: &HashMap<String, String>) -> String {
    let one = |k: &Value| {
        let k = shown(k);
        words.get(&k).cloned().unwrap_or(k)
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect::<Vec<_>>().join(", "),
        other => one(other),
    }
}

/// A cell: a value as shown; a list of values (or of objects with a `name`) joined.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Object(_) => shown(&i["name"]),
                other => shown(other),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(o) => o
            .get("name")
            .or(o.get("label"))
            .map(shown)
            .unwrap_or_default(),
        other => shown(other),
    }
}
