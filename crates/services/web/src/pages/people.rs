//! People: the search (`/tcs/api/people` with `searchQuery`, `columnFilters`, `sort`, paging),
//! the person's record (`/tcs/api/people/{id}` and its history), and the contact-details form
//! (`PUT /tcs/api/contact-details`, the API's field errors shown beside their fields).
//!
//! What the user may not see the API does not send (scope: 404; sensitive fields: masked), so
//! the pages show what they get. The person's id is the path's: a form for someone out of the
//! user's scope is refused by the API (404) like any other read.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::form::{Field, FormPage, write_into};
use super::{Layout, Web, api_failure, current, degraded_notices, render};
use crate::api::ApiError;
use crate::format::shown as text;

/// One row of the search results.
#[derive(Debug)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub gmc: String,
    pub gdc: String,
    pub ntn: String,
    pub programme: String,
    pub status: String,
    pub owner: String,
}

#[derive(Template)]
#[template(path = "people.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    status: String,
    programme: String,
    sort: String,
    page: u64,
    rows: Vec<Row>,
    searched: bool,
    prev: Option<String>,
    next: Option<String>,
    sorts: Vec<(&'static str, &'static str)>,
}

const SORTS: &[(&str, &str)] = &[
    ("surname,asc", "Surname (A to Z)"),
    ("surname,desc", "Surname (Z to A)"),
    ("gmcNumber,asc", "GMC number"),
    ("id,desc", "Newest first"),
];

pub async fn search(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: http::Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = uri.path_and_query().map_or("/people", |p| p.as_str());
    let mut c = match current(&web, &headers, here).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    c.layout.title = "Find a person".into();
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (query, status, programme) = (get("q"), get("status"), get("programme"));
    let sort = SORTS
        .iter()
        .map(|s| s.0)
        .find(|s| *s == get("sort"))
        .unwrap_or("surname,asc")
        .to_owned();
    let page: u64 = get("page").parse().unwrap_or(0).min(10_000);
    let mut filters = serde_json::Map::new();
    if matches!(status.as_str(), "CURRENT" | "INACTIVE") {
        filters.insert("status".into(), Value::from(vec![status.clone()]));
    }
    if !programme.is_empty() {
        filters.insert("programmeName".into(), Value::from(vec![programme.clone()]));
    }
    let mut params = vec![
        ("page", page.to_string()),
        ("size", "20".into()),
        ("sort", sort.clone()),
    ];
    if !query.is_empty() {
        params.push(("searchQuery", query.clone()));
    }
    if !filters.is_empty() {
        params.push(("columnFilters", Value::Object(filters).to_string()));
    }
    let path = format!(
        "/tcs/api/people?{}",
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
        .map(|p| Row {
            id: text(&p["id"]),
            name: format!("{} {}", text(&p["forenames"]), text(&p["surname"])),
            gmc: text(&p["gmcNumber"]),
            gdc: text(&p["gdcNumber"]),
            ntn: text(&p["trainingNumber"]),
            programme: text(&p["programmeName"]),
            status: text(&p["status"]),
            owner: text(&p["currentOwner"]),
        })
        .collect();
    let link = |page: u64| {
        let q = serde_urlencoded::to_string([
            ("q", query.as_str()),
            ("status", status.as_str()),
            ("programme", programme.as_str()),
            ("sort", sort.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/people?{q}")
    };
    let prev = (page > 0).then(|| link(page - 1));
    let next = answer.has_next.then(|| link(page + 1));
    render(
        StatusCode::OK,
        &SearchPage {
            layout: c.layout,
            searched: !q.is_empty(),
            q: query,
            status,
            programme,
            sort,
            page,
            rows,
            prev,
            next,
            sorts: SORTS.to_vec(),
        },
    )
}

/// A section of the record: a heading and its label/value pairs.
#[derive(Debug)]
pub struct Section {
    pub heading: &'static str,
    pub rows: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "person.html")]
struct RecordPage {
    layout: Layout,
    id: String,
    name: String,
    sections: Vec<Section>,
    qualifications: Vec<Vec<String>>,
    memberships: Vec<Vec<String>>,
    history: Vec<Vec<String>>,
    history_note: String,
    may_edit: bool,
    placements: super::placements::PersonPlacements,
    may_place: bool,
}

/// "telephoneNumber" → "Telephone number".
pub fn label(field: &str) -> String {
    let mut out = String::new();
    for (i, ch) in field.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(ch.to_lowercase());
        } else if i == 0 {
            out.extend(ch.to_uppercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Fields the record's sections do not list: ids, timestamps, and the person's records
/// (shown in their own sections even when null).
const SKIPPED: &[&str] = &[
    "id",
    "amendedDate",
    "personalDetails",
    "contactDetails",
    "gmcDetails",
    "gdcDetails",
    "rightToWork",
];

fn section(heading: &'static str, record: &Value) -> Section {
    let rows = record
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, v)| !v.is_object() && !v.is_array() && !SKIPPED.contains(&k.as_str()))
                .map(|(k, v)| {
                    let shown = if v.is_null() {
                        "Not given".to_owned()
                    } else {
                        text(v)
                    };
                    (label(k), shown)
                })
                .collect()
        })
        .unwrap_or_default();
    Section { heading, rows }
}

pub async fn record(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/people/{}", encode(&id));
    let (mut c, id, person) =
        match super::one_record(&web, &headers, &here, "/tcs/api/people", &id).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    match q.get("saved").map(String::as_str) {
        Some("contact") => c.layout.notices.push("Contact details saved.".into()),
        Some("placement") => c.layout.notices.push("Placement saved.".into()),
        _ => {}
    }
    let contact = &person["contactDetails"];
    let name = format!(
        "{} {}",
        text(&contact["forenames"]),
        text(&contact["surname"])
    );
    c.layout.title = name.clone();
    let mut sections = vec![section("Person", &person)];
    for (heading, key) in [
        ("Personal details", "personalDetails"),
        ("Contact details", "contactDetails"),
        ("GMC registration", "gmcDetails"),
        ("GDC registration", "gdcDetails"),
        ("Right to work", "rightToWork"),
    ] {
        sections.push(section(heading, &person[key]));
    }
    let list = |v: &Value, fields: &[&str]| -> Vec<Vec<String>> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|item| fields.iter().map(|f| text(&item[*f])).collect())
                    .collect()
            })
            .unwrap_or_default()
    };
    let qualifications = list(
        &person["qualifications"],
        &[
            "qualification",
            "medicalSchool",
            "countryOfQualification",
            "qualificationAttainedDate",
        ],
    );
    let memberships = list(
        &person["programmeMemberships"],
        &[
            "programmeName",
            "programmeNumber",
            "programmeMembershipType",
            "programmeStartDate",
            "programmeEndDate",
        ],
    );
    let (history, history_note) = match web
        .gateway
        .get::<Vec<Value>>(c.token(), &format!("/tcs/api/people/{id}/history?size=20"))
        .await
    {
        Ok(a) => (
            list(
                &Value::from(a.body),
                &[
                    "changedAt",
                    "userName",
                    "record",
                    "field",
                    "oldValue",
                    "newValue",
                ],
            ),
            String::new(),
        ),
        Err(e) => (
            Vec::new(),
            format!("The change history cannot be shown: {e}"),
        ),
    };
    let may_edit = c.may_people("Update");
    let placements = super::placements::for_person(&web, &c, id).await;
    let may_place = c
        .principal
        .has_authority(super::placements::PLACEMENT_WRITE);
    render(
        StatusCode::OK,
        &RecordPage {
            layout: c.layout,
            id: id.to_string(),
            name,
            sections,
            qualifications,
            memberships,
            history,
            history_note,
            may_edit,
            placements,
            may_place,
        },
    )
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The contact-details fields the form edits.
fn contact_fields() -> Vec<Field> {
    use super::form::Kind::{Email, Tel, Text};
    [
        ("title", "Title", Text),
        ("forenames", "Forenames", Text),
        ("surname", "Surname", Text),
        ("knownAs", "Known as", Text),
        ("email", "Email address", Email),
        ("workEmail", "Work email address", Email),
        ("telephoneNumber", "Telephone number", Tel),
        ("mobileNumber", "Mobile number", Tel),
        ("address1", "Address line 1", Text),
        ("address2", "Address line 2", Text),
        ("address3", "Town or city", Text),
        ("postCode", "Postcode", Text),
    ]
    .into_iter()
    .map(|(name, label, kind)| Field::new(name, label, kind))
    .collect()
}

fn contact_page(layout: Layout, id: i64, record: &Value, fields: Vec<Field>) -> FormPage {
    let name = format!(
        "{} {}",
        text(&record["forenames"]),
        text(&record["surname"])
    );
    FormPage {
        layout,
        back: (format!("/people/{id}"), format!("Back to {name}")),
        heading: "Change contact details".into(),
        legend: name,
        action: format!("/people/{id}/contact"),
        fields,
        problems: Vec::new(),
        submit: "Save contact details".into(),
    }
}

pub async fn contact_form(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/people/{}/contact", encode(&id));
    let (c, id, record) =
        match super::one_record(&web, &headers, &here, "/tcs/api/contact-details", &id).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let fields = contact_fields()
        .into_iter()
        .map(|f| f.from_record(&record))
        .collect();
    contact_page(c.layout, id, &record, fields).show(StatusCode::OK)
}

pub async fn contact_save(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let here = format!("/people/{}/contact", encode(&id));
    let c = match super::form::posted(&web, &headers, &here, &form).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let Ok(id) = id.parse::<i64>() else {
        return api_failure(c.layout, &ApiError::NotFound);
    };
    // The stored record, with the form's fields over it (an emptied field is cleared).
    let mut record = match web
        .gateway
        .get::<Value>(c.token(), &format!("/tcs/api/contact-details/{id}"))
        .await
    {
        Ok(a) => a.body,
        Err(e) => return api_failure(c.layout, &e),
    };
    let fields: Vec<Field> = contact_fields()
        .into_iter()
        .map(|f| f.from_form(&form))
        .collect();
    write_into(&mut record, &fields);
    record["id"] = Value::from(id);
    let page = contact_page(c.layout.clone(), id, &record, fields);
    super::form::save(
        &web,
        &c,
        page,
        reqwest::Method::PUT,
        "/tcs/api/contact-details",
        &record,
        &format!("/people/{id}?saved=contact"),
    )
    .await
}

/// The value of `name` in a submitted form.
pub fn form_value<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
