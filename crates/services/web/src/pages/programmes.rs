//! Programmes and curricula: lists (searched and paged through the API) and a programme's
//! page with its curricula.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};

use super::list::{Filter, List, table};
use super::{Layout, Web, api_failure, current, render};
use crate::api::ApiError;
use crate::format::shown as text;

/// A record's status, as the lists filter it.
pub const STATUS_FILTER: &[Filter] = &[Filter {
    param: "status",
    label: "Status",
    api_field: "status",
    options: &[("CURRENT", "Current"), ("INACTIVE", "Inactive")],
}];

pub async fn list(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let list = List {
        fields: vec![
            ("programmeName", "Name"),
            ("programmeNumber", "Number"),
            ("owner", "Owner"),
            ("status", "Status"),
        ],
        link: Some("/programmes".into()),
        filters: STATUS_FILTER,
        ..List::new("/programmes", "Programmes", "/tcs/api/programmes")
    };
    table(&web, &headers, &q, list).await
}

pub async fn curricula(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let list = List {
        fields: vec![
            ("name", "Name"),
            ("curriculumSubType", "Sub-type"),
            ("assessmentType", "Assessment"),
            ("status", "Status"),
        ],
        filters: STATUS_FILTER,
        ..List::new("/curricula", "Curricula", "/tcs/api/curricula")
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
