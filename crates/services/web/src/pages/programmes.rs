//! Programmes and curricula: lists (searched and paged through the API) and a programme's
//! page with its curricula.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::people::text;
use super::{Layout, Web, api_failure, current, degraded_notices, render};
use crate::api::ApiError;

#[derive(Template)]
#[template(path = "table.html")]
struct TablePage {
    layout: Layout,
    heading: String,
    action: &'static str,
    q: String,
    columns: Vec<&'static str>,
    /// Each row: an optional link, then the cells.
    rows: Vec<(Option<String>, Vec<String>)>,
    prev: Option<String>,
    next: Option<String>,
}

/// A list page: where it is, its heading, the API list behind it, its columns (JSON field,
/// heading), and where its first column links to (`<link>/{id}`).
struct List {
    page_path: &'static str,
    heading: &'static str,
    api: &'static str,
    fields: &'static [(&'static str, &'static str)],
    link: Option<&'static str>,
}

/// A searched, paged list.
async fn table(
    web: &Web,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    list: List,
) -> Response {
    let List {
        page_path,
        heading,
        api,
        fields,
        link,
    } = list;
    let mut c = match current(web, headers, page_path).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    c.layout.title = heading.to_owned();
    let query = q.get("q").map(|s| s.trim().to_owned()).unwrap_or_default();
    let page: u64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
        .min(10_000);
    let mut params = vec![("page", page.to_string()), ("size", "20".into())];
    if !query.is_empty() {
        params.push(("searchQuery", query.clone()));
    }
    let path = format!(
        "{api}?{}",
        serde_urlencoded::to_string(&params).unwrap_or_default()
    );
    let answer = match web.gateway.get::<Vec<Value>>(c.token(), &path).await {
        Ok(a) => a,
        Err(e) => return api_failure(c.layout, &e),
    };
    c.layout.notices.extend(degraded_notices(&answer.degraded));
    let rows = answer
        .body
        .iter()
        .map(|item| {
            let href = link.map(|l| format!("{l}/{}", text(&item["id"])));
            (href, fields.iter().map(|(f, _)| text(&item[*f])).collect())
        })
        .collect();
    let at = |p: u64| {
        let q = serde_urlencoded::to_string([("q", query.as_str()), ("page", &p.to_string())]);
        format!("{page_path}?{}", q.unwrap_or_default())
    };
    let prev = (page > 0).then(|| at(page - 1));
    let next = answer.has_next.then(|| at(page + 1));
    render(
        StatusCode::OK,
        &TablePage {
            layout: c.layout,
            heading: heading.to_owned(),
            action: page_path,
            q: query,
            columns: fields.iter().map(|(_, l)| *l).collect(),
            rows,
            prev,
            next,
        },
    )
}

pub async fn list(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let list = List {
        page_path: "/programmes",
        heading: "Programmes",
        api: "/tcs/api/programmes",
        fields: &[
            ("programmeName", "Name"),
            ("programmeNumber", "Number"),
            ("owner", "Owner"),
            ("status", "Status"),
        ],
        link: Some("/programmes"),
    };
    table(&web, &headers, &q, list).await
}

pub async fn curricula(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let list = List {
        page_path: "/curricula",
        heading: "Curricula",
        api: "/tcs/api/curricula",
        fields: &[
            ("name", "Name"),
            ("curriculumSubType", "Sub-type"),
            ("assessmentType", "Assessment"),
            ("status", "Status"),
        ],
        link: None,
    };
    table(&web, &headers, &q, list).await
}

#[derive(Template)]
#[template(path = "programme.html")]
struct ProgrammePage {
    layout: Layout,
    name: String,
    rows: Vec<(String, String)>,
    curricula: Vec<Vec<String>>,
}

pub async fn one(State(web): State<Web>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut c = match current(&web, &headers, "/programmes").await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let Ok(id) = id.parse::<i64>() else {
        return api_failure(c.layout, &ApiError::NotFound);
    };
    let p = match c.fetch(&web, &format!("/tcs/api/programmes/{id}")).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let name = text(&p["programmeName"]);
    c.layout.title = name.clone();
    let rows = ["programmeNumber", "owner", "status", "intrepidId"]
        .iter()
        .map(|f| (super::people::label(f), text(&p[*f])))
        .collect();
    let curricula = p["curricula"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|pc| {
                    vec![
                        text(&pc["curriculum"]["name"]),
                        text(&pc["gmcProgrammeCode"]),
                        text(&pc["curriculum"]["status"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    render(
        StatusCode::OK,
        &ProgrammePage {
            layout: c.layout,
            name,
            rows,
            curricula,
        },
    )
}
