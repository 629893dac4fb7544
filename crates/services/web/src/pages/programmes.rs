//! Programmes and curricula: lists (searched and paged through the API) and a programme's
//! page with its curricula.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};

use super::list::{Filter, List};
use super::{Layout, Web, render};
use crate::format::shown as text;

/// A record's status, as the lists filter it.
pub const STATUS_FILTER: &[Filter] = &[Filter {
    param: "status",
    label: "Status",
    api_field: "status",
    options: &[("CURRENT", "Current"), ("INACTIVE", "Inactive")],
}];

/// The list page's description (routed by `list::page`).
pub fn list() -> List {
    List {
        fields: vec![
            ("programmeName", "Name"),
            ("programmeNumber", "Number"),
            ("owner", "Owner"),
            ("status", "Status"),
        ],
        link: Some("/programmes".into()),
        filters: STATUS_FILTER,
        ..List::new("/programmes", "Programmes", "/tcs/api/programmes")
    }
}

/// The list page's description (routed by `list::page`).
pub fn curricula() -> List {
    List {
        fields: vec![
            ("name", "Name"),
            ("curriculumSubType", "Sub-type"),
            ("assessmentType", "Assessment"),
            ("status", "Status"),
        ],
        filters: STATUS_FILTER,
        ..List::new("/curricula", "Curricula", "/tcs/api/curricula")
    }
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
    let (mut c, _, p) =
        match super::one_record(&web, &headers, "/programmes", "/tcs/api/programmes", &id).await {
            Ok(found) => found,
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
