//! Posts and placements (TCS part 2): the post list (`/tcs/api/posts`, searched, filtered,
//! paged), a post's page with its placements (`/tcs/api/posts/{id}`, `…/placements`), the
//! person record's placements and timeline (`/tcs/api/people/{id}/placements`, `…/timeline`,
//! gaps and overlaps flagged), and the placement form (`POST`/`PUT /tcs/api/placements`),
//! which shows the API's field messages beside their fields and its 409 overlap answer in
//! plain words.
//!
//! What the user may do decides what is offered (`post:view` for posts,
//! `tcs:add:modify:entities` for the form); the API decides what is allowed.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::form::{Field, FormPage, Kind, write_into};
use super::list::{Filter, List};
use super::names::{self, Named};
use super::people::form_value;
use super::programmes::STATUS_FILTER;
use super::{Current, Layout, Web, api_failure, current, render};
use crate::api::ApiError;
use crate::format::{raw, shown};

/// `hasAuthority('post:view')`.
pub const POST_VIEW: &str = "post:view";
/// What a placement write needs.
pub const PLACEMENT_WRITE: &str = "tcs:add:modify:entities";

const POST_FILTERS: &[Filter] = &[
    STATUS_FILTER[0],
    Filter {
        param: "owner",
        label: "Owner (local office)",
        api_field: "owner",
        options: &[],
    },
];

/// The list page's description (routed by `list::page`).
pub fn posts() -> List {
    List {
        fields: vec![
            ("nationalPostNumber", "National post number"),
            ("primarySiteName", "Site"),
            ("approvedGradeName", "Grade"),
            ("primarySpecialtyName", "Specialty"),
            ("programmeNames", "Programmes"),
            ("currentTraineeSurname", "Current trainee"),
            ("owner", "Owner"),
            ("status", "Status"),
        ],
        link: Some("/posts".into()),
        filters: POST_FILTERS,
        ..List::new("/posts", "Posts", "/tcs/api/posts")
    }
}

/// A placement as a row: a link to it, then its cells.
#[derive(Debug)]
pub struct PlacementRow {
    pub href: String,
    pub who: (String, String),
    pub cells: Vec<String>,
}

fn placement_rows(list: &Value) -> Vec<PlacementRow> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|p| PlacementRow {
                    href: format!("/placements/{}", raw(&p["id"])),
                    who: (
                        format!("/people/{}", raw(&p["traineeId"])),
                        format!(
                            "{} {}",
                            shown(&p["traineeFirstName"]),
                            shown(&p["traineeLastName"])
                        ),
                    ),
                    cells: vec![
                        shown(&p["dateFrom"]),
                        if p["dateTo"].is_null() {
                            "No end date".into()
                        } else {
                            shown(&p["dateTo"])
                        },
                        shown(&p["gradeAbbreviation"]),
                        shown(&p["siteCode"]),
                        shown(&p["placementType"]),
                        status_words(&p["status"], &p["lifecycleState"]),
                    ],
                })
                .collect()
        })
        .unwrap_or_default()
}

/// "Current", "Past", "Future", with "(draft)".
fn status_words(status: &Value, lifecycle: &Value) -> String {
    let s = match status.as_str() {
        Some("CURRENT") => "Current",
        Some("PAST") => "Past",
        Some("FUTURE") => "Future",
        _ => "",
    };
    if lifecycle.as_str() == Some("DRAFT") {
        format!("{s} (draft)")
    } else {
        s.to_owned()
    }
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage {
    layout: Layout,
    id: i64,
    number: String,
    rows: Vec<(String, String)>,
    placements: Vec<PlacementRow>,
    placements_note: String,
    may_place: bool,
}

pub async fn post(State(web): State<Web>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (mut c, id, p) =
        match super::one_record(&web, &headers, "/posts", "/tcs/api/posts", &id).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let number = shown(&p["nationalPostNumber"]);
    c.layout.title = format!("Post {number}");
    let names = |key: &str, field: &str| {
        p[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| shown(super::list::at(i, field)))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .join(", ")
    };
    let rows = vec![
        ("Status".into(), shown(&p["status"])),
        ("Owner".into(), shown(&p["owner"])),
        ("Local post number".into(), shown(&p["localPostNumber"])),
        (
            "Training description".into(),
            shown(&p["trainingDescription"]),
        ),
        ("Programmes".into(), names("programmes", "programmeName")),
        ("Specialties".into(), names("specialties", "specialty.name")),
        ("Sites".into(), named(&web, &mut c, &p, Named::Sites).await),
        (
            "Grades".into(),
            named(&web, &mut c, &p, Named::Grades).await,
        ),
    ];
    let (placements, placements_note) = match c
        .fetch(&web, &format!("/tcs/api/posts/{id}/placements"))
        .await
    {
        Ok(list) => (placement_rows(&list), String::new()),
        Err(_) => (
            Vec::new(),
            "The post's placements cannot be shown right now.".into(),
        ),
    };
    let may_place = c.principal.has_authority(PLACEMENT_WRITE);
    render(
        StatusCode::OK,
        &PostPage {
            layout: c.layout,
            id,
            number,
            rows,
            placements,
            placements_note,
            may_place,
        },
    )
}

/// A post's sites or grades by their names from Reference, each with its kind ("St Thomas'
/// Hospital (RJ122), primary"); their ids, with a note, when Reference cannot name them.
async fn named(web: &Web, c: &mut Current, post: &Value, kind: Named) -> String {
    let (list, id_key, kind_key, what) = match kind {
        Named::Sites => ("sites", "siteId", "postSiteType", "Site"),
        _ => ("grades", "gradeId", "postGradeType", "Grade"),
    };
    let items = post[list].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = items.iter().map(|i| raw(&i[id_key])).collect();
    let found = names::or_keys(web, c, kind, &ids).await;
    items
        .iter()
        .zip(&ids)
        .map(|(i, id)| {
            let name = found
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("{what} id {id}"));
            match i[kind_key].as_str() {
                Some(k) if !k.is_empty() => format!("{name}, {}", k.to_lowercase()),
                _ => name,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A period of the timeline, in words.
#[derive(Debug)]
pub struct TimelineRow {
    pub kind: &'static str,
    pub label: String,
    pub from: String,
    pub to: String,
    pub note: String,
}

/// The person record's placements and timeline.
#[derive(Debug, Default)]
pub struct PersonPlacements {
    pub rows: Vec<PlacementRow>,
    pub timeline: Vec<TimelineRow>,
    /// Gaps and overlaps, each a sentence.
    pub flags: Vec<String>,
    /// Why they cannot be shown, if they cannot.
    pub note: String,
}

fn until(to: &Value) -> String {
    if to.is_null() {
        "no end date".into()
    } else {
        shown(to)
    }
}

/// A person's placements and timeline (both person View: a failure leaves a note).
pub async fn for_person(web: &Web, c: &Current, id: i64) -> PersonPlacements {
    let list = web
        .gateway
        .get::<Value>(c.token(), &format!("/tcs/api/people/{id}/placements"))
        .await;
    let timeline = web
        .gateway
        .get::<Value>(c.token(), &format!("/tcs/api/people/{id}/timeline"))
        .await;
    let (list, timeline) = match (list, timeline) {
        (Ok(l), Ok(t)) => (l.body, t.body),
        (Err(e), _) | (_, Err(e)) => {
            return PersonPlacements {
                note: format!("Placements cannot be shown right now: {e}"),
                ..PersonPlacements::default()
            };
        }
    };
    let items = timeline["items"].as_array().cloned().unwrap_or_default();
    let rows = items
        .iter()
        .map(|i| TimelineRow {
            kind: match i["kind"].as_str() {
                Some("programmeMembership") => "Programme",
                Some("curriculumMembership") => "Curriculum",
                _ => "Placement",
            },
            label: shown(&i["label"]),
            from: shown(&i["from"]),
            to: until(&i["to"]),
            note: match (
                i["wholeTimeEquivalent"].as_f64(),
                i["lifecycleState"].as_str(),
            ) {
                (Some(w), Some("DRAFT")) => format!("{w} whole time, draft"),
                (Some(w), _) => format!("{w} whole time"),
                (None, Some("DRAFT")) => "draft".into(),
                _ => String::new(),
            },
        })
        .collect();
    let mut flags = Vec::new();
    for g in timeline["gaps"].as_array().into_iter().flatten() {
        flags.push(format!(
            "Gap: no placement from {} to {} ({} days) within a programme.",
            shown(&g["from"]),
            until(&g["to"]),
            shown(&g["days"]),
        ));
    }
    for o in timeline["overlaps"].as_array().into_iter().flatten() {
        flags.push(format!(
            "Overlap: placements {} run together from {} to {} ({} whole time).",
            o["placementIds"]
                .as_array()
                .map(|a| a.iter().map(shown).collect::<Vec<_>>().join(" and "))
                .unwrap_or_default(),
            shown(&o["from"]),
            until(&o["to"]),
            shown(&o["wholeTimeEquivalent"]),
        ));
    }
    PersonPlacements {
        rows: placement_rows(&list),
        timeline: rows,
        flags,
        note: String::new(),
    }
}

/// A 409 overlap answer in plain words: what the placement meets, each with its dates.
pub fn conflict_words(message: &str, conflicts: &[Value]) -> Vec<String> {
    let mut out = vec![crate::format::human_in(message)];
    for c in conflicts {
        let whose = match c["rule"].as_str() {
            Some("trainee") => "the trainee's placement",
            _ => "the placement already in post",
        };
        out.push(format!(
            "It overlaps {whose} {} in post {}, from {} to {}.",
            raw(&c["id"]),
            shown(&c["nationalPostNumber"]),
            shown(&c["dateFrom"]),
            until(&c["dateTo"]),
        ));
    }
    out
}

/// The original TIS placement types (Reference's codes); a stored other code is kept.
const PLACEMENT_TYPES: &[(&str, &str)] = &[
    ("IN_POST", "In Post"),
    ("IN_POST_ACTING_UP", "In Post - Acting Up"),
    ("IN_POST_EXTENSION", "In Post - Extension"),
    ("PARENTAL_LEAVE", "Parental Leave"),
    ("LONG_TERM_SICK", "Long-term sick"),
    ("SUSPENDED", "Suspended"),
    ("PHASED_RETURN", "Phased Return"),
    ("OOPT", "Out of Programme - Training"),
    ("OOPE", "Out of Programme - Experience"),
    ("OOPR", "Out of Programme - Research"),
    ("OOPC", "Out of Programme - Career Break"),
];

fn placement_fields(current_type: &str) -> Vec<Field> {
    let mut types: Vec<(String, String)> = vec![(String::new(), "Choose a type".into())];
    types.extend(
        PLACEMENT_TYPES
            .iter()
            .map(|(v, l)| ((*v).to_owned(), (*l).to_owned())),
    );
    if !current_type.is_empty() && !PLACEMENT_TYPES.iter().any(|(v, _)| *v == current_type) {
        types.push((current_type.to_owned(), current_type.to_owned()));
    }
    vec![
        Field::pick("traineeId", "Trainee", "Search by name or GMC number")
            .hint("Type the trainee's name or GMC number, press Find, then choose them."),
        Field::pick("postId", "Post", "Search by national post number").hint(
            "Type the national post number (or part of it), press Find, then choose the post.",
        ),
        Field::new("siteId", "Site", Kind::Select)
            .numeric()
            .hint("The post's sites."),
        Field::new("gradeId", "Grade", Kind::Select).numeric(),
        Field::new("placementType", "Placement type", Kind::Select).options(types),
        Field::new("dateFrom", "Start date", Kind::Date),
        Field::new("dateTo", "End date", Kind::Date)
            .hint("Leave empty if it has no end date yet. For example, 31 7 2027"),
        Field::new("wholeTimeEquivalent", "Whole time equivalent", Kind::Number)
            .hint("From 0 to 1, for example 0.8. Leave empty for whole time"),
    ]
}

/// The most matches a picker offers.
const MATCHES: usize = 10;

/// A post as a picker offers it: "EOE/RGT01/610/CT1/001: Addenbrooke's Hospital, Core
/// Training Year 1".
fn post_words(p: &Value) -> String {
    let more: Vec<String> = ["primarySiteName", "approvedGradeName"]
        .iter()
        .map(|k| raw(&p[*k]))
        .filter(|v| !v.is_empty())
        .collect();
    let npn = raw(&p["nationalPostNumber"]);
    if more.is_empty() {
        npn
    } else {
        format!("{npn}: {}", more.join(", "))
    }
}

/// A trainee as a picker offers them: "Paul Smith, GMC 2665199".
fn trainee_words(forenames: &Value, surname: &Value, gmc: &Value) -> String {
    let name = format!("{} {}", raw(forenames), raw(surname));
    match raw(gmc) {
        g if g.is_empty() => name.trim().to_owned(),
        g => format!("{}, GMC {g}", name.trim()),
    }
}

/// The matches of what was typed in a picker (`/tcs/api/posts` or `/tcs/api/people`,
/// `searchQuery`).
async fn find(
    web: &Web,
    c: &Current,
    field: &str,
    q: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let api = if field == "postId" {
        "/tcs/api/posts"
    } else {
        "/tcs/api/people"
    };
    let query = serde_urlencoded::to_string([("searchQuery", q), ("size", &MATCHES.to_string())])
        .unwrap_or_default();
    let found = web
        .gateway
        .get::<Value>(c.token(), &format!("{api}?{query}"))
        .await?;
    Ok(found
        .body
        .as_array()
        .into_iter()
        .flatten()
        .take(MATCHES)
        .map(|i| {
            let words = if field == "postId" {
                post_words(i)
            } else {
                trainee_words(&i["forenames"], &i["surname"], &i["gmcNumber"])
            };
            (raw(&i["id"]), words)
        })
        .collect())
}

/// Fills the pickers and choices of a placement form: each picker's matches (when `finding`)
/// and its current choice in words; the sites of the chosen post and the placement grades,
/// by their names from Reference (their ids, with a note, while Reference is unavailable).
async fn choices(web: &Web, c: &mut Current, fields: &mut [Field], record: &Value, finding: bool) {
    let value = |fields: &[Field], name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.clone())
            .unwrap_or_default()
    };
    // The chosen post: its words, sites and grades.
    let post_id = value(fields, "postId");
    let post = match post_id.parse::<i64>() {
        Ok(id) => web
            .gateway
            .get::<Value>(c.token(), &format!("/tcs/api/posts/{id}"))
            .await
            .map(|a| a.body)
            .ok(),
        Err(_) => None,
    };
    let trainee_id = value(fields, "traineeId");
    let trainee =
        if raw(&record["traineeId"]) == trainee_id && !raw(&record["traineeLastName"]).is_empty() {
            trainee_words(
                &record["traineeFirstName"],
                &record["traineeLastName"],
                &Value::Null,
            )
        } else {
            match trainee_id.parse::<i64>() {
                Ok(id) => match web
                    .gateway
                    .get::<Value>(c.token(), &format!("/tcs/api/people/{id}"))
                    .await
                {
                    Ok(a) => trainee_words(
                        &a.body["contactDetails"]["forenames"],
                        &a.body["contactDetails"]["surname"],
                        &a.body["gmcDetails"]["gmcNumber"],
                    ),
                    Err(_) => format!("Trainee {id}"),
                },
                Err(_) => String::new(),
            }
        };
    let site_ids: Vec<String> = post
        .as_ref()
        .and_then(|p| p["sites"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|s| raw(&s["siteId"]))
        .collect();
    let mut wanted_sites = site_ids.clone();
    wanted_sites.push(value(fields, "siteId"));
    let sites = names::or_keys(web, c, Named::Sites, &wanted_sites).await;
    let grades: Vec<(String, String)> = match web
        .gateway
        .get::<Value>(c.token(), "/reference/api/grades?size=500")
        .await
    {
        Ok(a) => a
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["placementGrade"] == Value::Bool(true) && raw(&g["status"]) != "INACTIVE")
            .map(|g| (raw(&g["id"]), Named::Grades.words(g)))
            .collect(),
        Err(_) => {
            if !c.layout.notices.iter().any(|n| n == names::NAMES_DOWN) {
                c.layout.notices.push(names::NAMES_DOWN.to_owned());
            }
            Vec::new()
        }
    };
    for f in fields.iter_mut() {
        match f.name {
            "traineeId" | "postId" => {
                if finding && !f.search.is_empty() {
                    match find(web, c, f.name, &f.search).await {
                        Ok(found) => f.options = found,
                        Err(e) => f.error = Some(format!("Cannot search right now: {e}.")),
                    }
                }
                let words = if f.name == "postId" {
                    post.as_ref()
                        .map(post_words)
                        .unwrap_or_else(|| format!("Post {}", f.value))
                } else {
                    trainee.clone()
                };
                let v = f.value.clone();
                f.offer(v, words);
            }
            "siteId" => {
                f.options = vec![(String::new(), "Choose a site".into())];
                if post.is_none() {
                    f.hint = "Choose the post first (press Find): its sites are offered here.";
                }
                for id in &site_ids {
                    f.offer(
                        id.clone(),
                        sites
                            .get(id)
                            .cloned()
                            .unwrap_or_else(|| format!("Site id {id}")),
                    );
                }
                let v = f.value.clone();
                let words = sites
                    .get(&v)
                    .cloned()
                    .unwrap_or_else(|| format!("Site id {v}"));
                f.offer(v, words);
            }
            "gradeId" => {
                f.options = vec![(String::new(), "Choose a grade".into())];
                f.options.extend(grades.iter().cloned());
                let v = f.value.clone();
                f.offer(v.clone(), format!("Grade id {v}"));
            }
            _ => {}
        }
    }
}

/// The id of an edited placement (`/placements/{id}`), or none for `/placements/new`.
fn placement_id(path: &str) -> Result<Option<i64>, ()> {
    if path == "new" {
        return Ok(None);
    }
    path.parse::<i64>().map(Some).map_err(|_| ())
}

fn placement_page(layout: Layout, id: Option<i64>, record: &Value, fields: Vec<Field>) -> FormPage {
    let trainee = raw(&record["traineeId"]);
    let (back, legend) = match (&id, trainee.is_empty()) {
        (_, false) => (
            (
                format!("/people/{trainee}"),
                "Back to the trainee".to_owned(),
            ),
            format!(
                "{} {}",
                shown(&record["traineeFirstName"]),
                shown(&record["traineeLastName"])
            ),
        ),
        _ => (
            ("/posts".to_owned(), "Back to posts".to_owned()),
            String::new(),
        ),
    };
    let legend = if legend.trim().is_empty() {
        "The placement".to_owned()
    } else {
        format!("Placement of {legend}")
    };
    FormPage {
        layout,
        back,
        heading: if id.is_some() {
            "Change a placement".into()
        } else {
            "Add a placement".into()
        },
        legend,
        action: match id {
            Some(id) => format!("/placements/{id}"),
            None => "/placements/new".into(),
        },
        fields,
        problems: Vec::new(),
        submit: "Save placement".into(),
    }
}

/// The record a new placement starts from: the trainee and post the link named, and the
/// post's primary site and approved grade.
async fn new_record(web: &Web, c: &Current, q: &HashMap<String, String>) -> Value {
    let mut record = serde_json::json!({});
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
    if let Some(t) = num("traineeId") {
        record["traineeId"] = Value::from(t);
    }
    if let Some(p) = num("postId") {
        record["postId"] = Value::from(p);
        if let Ok(a) = web
            .gateway
            .get::<Value>(c.token(), &format!("/tcs/api/posts/{p}"))
            .await
        {
            let pick = |key: &str, kind_key: &str, kind: &str, id_key: &str| {
                a.body[key].as_array().and_then(|l| {
                    l.iter()
                        .find(|i| i[kind_key].as_str() == Some(kind))
                        .map(|i| i[id_key].clone())
                })
            };
            if let Some(s) = pick("sites", "postSiteType", "PRIMARY", "siteId") {
                record["siteId"] = s;
            }
            if let Some(g) = pick("grades", "postGradeType", "APPROVED", "gradeId") {
                record["gradeId"] = g;
            }
        }
    }
    record
}

pub async fn placement_form(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(which): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = uri.path_and_query().map_or("/posts", |p| p.as_str());
    let mut c = match current(&web, &headers, here).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let Ok(id) = placement_id(&which) else {
        return api_failure(c.layout, &ApiError::NotFound);
    };
    let record = match id {
        Some(id) => match c.fetch(&web, &format!("/tcs/api/placements/{id}")).await {
            Ok(v) => v,
            Err(page) => return page,
        },
        None => new_record(&web, &c, &q).await,
    };
    let mut fields: Vec<Field> = placement_fields(&raw(&record["placementType"]))
        .into_iter()
        .map(|f| f.from_record(&record))
        .collect();
    choices(&web, &mut c, &mut fields, &record, false).await;
    let mut page = placement_page(c.layout, id, &record, fields);
    if !c.principal.has_authority(PLACEMENT_WRITE) {
        page.problems
            .push("You can see this placement, but not change it.".into());
    }
    page.show(StatusCode::OK)
}

pub async fn placement_save(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(which): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let here = format!(
        "/placements/{}",
        which.replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    let mut c = match super::form::posted(&web, &headers, &here, &form).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let Ok(id) = placement_id(&which) else {
        return api_failure(c.layout, &ApiError::NotFound);
    };
    // An update keeps what the form does not show (specialties, sites, supervisors, comment).
    let mut record = match id {
        Some(id) => match web
            .gateway
            .get::<Value>(c.token(), &format!("/tcs/api/placements/{id}"))
            .await
        {
            Ok(a) => a.body,
            Err(e) => return api_failure(c.layout, &e),
        },
        None => serde_json::json!({}),
    };
    let mut fields: Vec<Field> = placement_fields(form_value(&form, "placementType").unwrap_or(""))
        .into_iter()
        .map(|f| f.from_form(&form))
        .collect();
    // "Find": the pickers' matches, the form again; nothing is sent.
    let finding = form_value(&form, "find").is_some();
    choices(&web, &mut c, &mut fields, &record, finding).await;
    if finding {
        for f in &mut fields {
            f.error = None;
        }
        return placement_page(c.layout, id, &record, fields).show(StatusCode::OK);
    }
    for f in &mut fields {
        if f.kind == Kind::Pick && f.value.is_empty() && f.error.is_none() {
            f.error = Some(format!(
                "Choose the {}: search, then choose from the list",
                f.label.to_lowercase()
            ));
        }
    }
    write_into(&mut record, &fields);
    let method = match id {
        Some(id) => {
            record["id"] = Value::from(id);
            reqwest::Method::PUT
        }
        None => reqwest::Method::POST,
    };
    let done = format!(
        "/people/{}?saved=placement#placements",
        raw(&record["traineeId"])
    );
    let page = placement_page(c.layout.clone(), id, &record, fields);
    super::form::save(
        &web,
        &c,
        page,
        method,
        "/tcs/api/placements",
        &record,
        &done,
    )
    .await
}
