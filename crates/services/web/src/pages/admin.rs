//! Administration: reference data (for users who may change it) and Profile's users and roles
//! (for Profile administrators).
//!
//! Reference data is generic, so it is one list and one form driven by a small description
//! per entity ([`RefEntity`]: its API name, headings, list columns and form fields), not a
//! page per entity. Users are particular (roles and designated bodies are choices among what
//! Profile and Reference hold) and have their own form, on the same form template.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::form::{Field, FormPage, Kind, write_into};
use super::list::{List, table};
use super::names::Named;
use super::programmes::STATUS_FILTER;
use super::{Current, Layout, Web, api_failure, current, render};
use crate::format::raw;

/// Reference's resource for its permission policies (its writes' guard).
pub const REFERENCE_RESOURCE: &str = "tis:references::reference:";
/// Profile's guards.
pub const PROFILE_VIEW: &str = "profile:view:entities";
pub const PROFILE_WRITE: &str = "profile:add:modify:entities";

/// Whether the user may change reference data.
pub fn may_change_reference(c: &tis_auth::Principal) -> bool {
    c.has_permission(REFERENCE_RESOURCE, "Update")
        || c.has_permission(REFERENCE_RESOURCE, "Create")
        || c.has_authority("reference:add:modify:entities")
}

/// Whether the menu offers the reference data pages: to those who may change reference data
/// or hold the original's admin-menu permission (`adminmenu:view:entities`, ReferenceAdmin's).
pub fn may_see_reference_menu(c: &tis_auth::Principal) -> bool {
    may_change_reference(c) || c.has_authority("adminmenu:view:entities")
}

/// A reference entity as the administration pages show it.
#[derive(Debug, Clone, Copy)]
pub struct RefEntity {
    /// The API's name: `/reference/api/{plural}`.
    pub plural: &'static str,
    /// "Sites".
    pub heading: &'static str,
    /// "site".
    pub one: &'static str,
    /// The list's columns (JSON field, heading).
    pub columns: &'static [(&'static str, &'static str)],
    /// The form's fields (JSON field, label, kind); `status` is a choice of statuses.
    pub fields: &'static [(&'static str, &'static str, Kind)],
}

const LOOKUP_COLUMNS: &[(&str, &str)] =
    &[("code", "Code"), ("label", "Label"), ("status", "Status")];
const LOOKUP_FIELDS: &[(&str, &str, Kind)] = &[
    ("code", "Code", Kind::Text),
    ("label", "Label", Kind::Text),
    ("status", "Status", Kind::Select),
];

const fn lookup(plural: &'static str, heading: &'static str, one: &'static str) -> RefEntity {
    RefEntity {
        plural,
        heading,
        one,
        columns: LOOKUP_COLUMNS,
        fields: LOOKUP_FIELDS,
    }
}

/// Every reference entity the pages administer.
pub const REF_ENTITIES: &[RefEntity] = &[
    RefEntity {
        plural: "sites",
        heading: "Sites",
        one: "site",
        columns: &[
            ("siteCode", "Code"),
            ("siteName", "Name"),
            ("trustCode", "Trust"),
            ("postCode", "Postcode"),
            ("status", "Status"),
        ],
        fields: &[
            ("siteCode", "Code", Kind::Text),
            ("siteName", "Name", Kind::Text),
            ("siteKnownAs", "Known as", Kind::Text),
            ("address", "Address", Kind::Text),
            ("postCode", "Postcode", Kind::Text),
            ("trustCode", "Trust code", Kind::Text),
            ("trustId", "Trust id", Kind::Number),
            ("localOffice", "Local office", Kind::Text),
            ("startDate", "Start date", Kind::Date),
            ("endDate", "End date", Kind::Date),
            ("status", "Status", Kind::Select),
        ],
    },
    RefEntity {
        plural: "trusts",
        heading: "Trusts",
        one: "trust",
        columns: &[
            ("code", "Code"),
            ("trustName", "Name"),
            ("localOffice", "Local office"),
            ("status", "Status"),
        ],
        fields: &[
            ("code", "Code", Kind::Text),
            ("trustName", "Name", Kind::Text),
            ("trustKnownAs", "Known as", Kind::Text),
            ("address", "Address", Kind::Text),
            ("postCode", "Postcode", Kind::Text),
            ("localOffice", "Local office", Kind::Text),
            ("status", "Status", Kind::Select),
        ],
    },
    RefEntity {
        plural: "grades",
        heading: "Grades",
        one: "grade",
        columns: &[
            ("abbreviation", "Abbreviation"),
            ("name", "Name"),
            ("placementGrade", "Placement grade"),
            ("status", "Status"),
        ],
        fields: &[
            ("abbreviation", "Abbreviation", Kind::Text),
            ("name", "Name", Kind::Text),
            ("label", "Label", Kind::Text),
            ("trainingGrade", "Training grade", Kind::YesNo),
            ("postGrade", "Post grade", Kind::YesNo),
            ("placementGrade", "Placement grade", Kind::YesNo),
            ("status", "Status", Kind::Select),
        ],
    },
    RefEntity {
        plural: "dbcs",
        heading: "Designated bodies",
        one: "designated body",
        columns: &[
            ("dbc", "Code"),
            ("name", "Name"),
            ("abbr", "Abbreviation"),
            ("status", "Status"),
        ],
        fields: &[
            ("dbc", "Code", Kind::Text),
            ("name", "Name", Kind::Text),
            ("abbr", "Abbreviation", Kind::Text),
            ("type", "Type", Kind::Text),
            ("internal", "Internal", Kind::YesNo),
            ("status", "Status", Kind::Select),
        ],
    },
    RefEntity {
        plural: "local-offices",
        heading: "Local offices",
        one: "local office",
        columns: &[
            ("abbreviation", "Abbreviation"),
            ("name", "Name"),
            ("status", "Status"),
        ],
        fields: &[
            ("abbreviation", "Abbreviation", Kind::Text),
            ("name", "Name", Kind::Text),
            ("postAbbreviation", "Post abbreviation", Kind::Text),
            ("status", "Status", Kind::Select),
        ],
    },
    lookup("placement-types", "Placement types", "placement type"),
    lookup(
        "programme-membership-types",
        "Programme membership types",
        "programme membership type",
    ),
    lookup(
        "curriculum-sub-types",
        "Curriculum sub-types",
        "curriculum sub-type",
    ),
    lookup("gmc-statuses", "GMC statuses", "GMC status"),
    lookup("gdc-statuses", "GDC statuses", "GDC status"),
    lookup("genders", "Genders", "gender"),
    lookup("titles", "Titles", "title"),
    lookup("marital-statuses", "Marital statuses", "marital status"),
    lookup("medical-schools", "Medical schools", "medical school"),
    lookup(
        "organization-types",
        "Organisation types",
        "organisation type",
    ),
    lookup("permit-to-works", "Permits to work", "permit to work"),
    lookup(
        "qualification-types",
        "Qualification types",
        "qualification type",
    ),
    lookup("record-types", "Record types", "record type"),
    lookup("religious-beliefs", "Religious beliefs", "religious belief"),
    lookup(
        "sexual-orientations",
        "Sexual orientations",
        "sexual orientation",
    ),
    lookup("inactive-reasons", "Inactive reasons", "inactive reason"),
    lookup(
        "leaving-destinations",
        "Leaving destinations",
        "leaving destination",
    ),
    lookup(
        "training-number-types",
        "Training number types",
        "training number type",
    ),
];

const STATUSES: &[(&str, &str)] = &[("CURRENT", "Current"), ("INACTIVE", "Inactive")];

fn entity(plural: &str) -> Option<&'static RefEntity> {
    REF_ENTITIES.iter().find(|e| e.plural == plural)
}

fn ref_fields(e: &RefEntity) -> Vec<Field> {
    e.fields
        .iter()
        .map(|(name, label, kind)| {
            let f = Field::new(name, label, *kind);
            if *name == "status" {
                f.options(
                    STATUSES
                        .iter()
                        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                        .collect(),
                )
            } else {
                f
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "links.html")]
struct LinksPage {
    layout: Layout,
    heading: String,
    intro: String,
    links: Vec<(String, String)>,
}

pub async fn reference_index(State(web): State<Web>, headers: HeaderMap) -> Response {
    let mut c = match current(&web, &headers, "/admin/reference").await {
        Ok(c) => c,
        Err(res) => return res,
    };
    c.layout.title = "Reference data".into();
    let intro = if may_change_reference(&c.principal) {
        "Choose the list to see or change."
    } else {
        "You can see these lists; changing them needs the reference data permission."
    };
    render(
        StatusCode::OK,
        &LinksPage {
            layout: c.layout,
            heading: "Reference data".into(),
            intro: intro.into(),
            links: REF_ENTITIES
                .iter()
                .map(|e| {
                    (
                        format!("/admin/reference/{}", e.plural),
                        e.heading.to_owned(),
                    )
                })
                .collect(),
        },
    )
}

pub async fn reference_list(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(plural): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(e) = entity(&plural) else {
        return super::not_found(State(web), headers).await;
    };
    let page = format!("/admin/reference/{}", e.plural);
    // Only those who may change it are offered the form (the API decides).
    let may = match current(&web, &headers, &page).await {
        Ok(c) => may_change_reference(&c.principal),
        Err(res) => return res,
    };
    let list = List {
        fields: e.columns.to_vec(),
        link: Some(page.clone()),
        filters: STATUS_FILTER,
        add: may.then(|| (format!("{page}/new"), format!("Add a {}", e.one))),
        ..List::new(&page, e.heading, &format!("/reference/api/{}", e.plural))
    };
    table(&web, &headers, &q, list).await
}

fn ref_page(layout: Layout, e: &RefEntity, id: Option<&str>, fields: Vec<Field>) -> FormPage {
    let base = format!("/admin/reference/{}", e.plural);
    FormPage {
        layout,
        back: (
            base.clone(),
            format!("Back to {}", e.heading.to_lowercase()),
        ),
        heading: match id {
            Some(_) => format!("Change a {}", e.one),
            None => format!("Add a {}", e.one),
        },
        legend: e.heading.to_owned(),
        action: format!("{base}/{}", id.unwrap_or("new")),
        fields,
        problems: Vec::new(),
        submit: format!("Save {}", e.one),
    }
}

/// An id of the path: a number or a UUID (`new`: none).
fn record_id(which: &str) -> Result<Option<String>, ()> {
    if which == "new" {
        Ok(None)
    } else if !which.is_empty()
        && which.len() <= 40
        && which.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(Some(which.to_owned()))
    } else {
        Err(())
    }
}

pub async fn reference_form(
    State(web): State<Web>,
    headers: HeaderMap,
    Path((plural, which)): Path<(String, String)>,
) -> Response {
    let (Some(e), Ok(id)) = (entity(&plural), record_id(&which)) else {
        return super::not_found(State(web), headers).await;
    };
    let here = format!("/admin/reference/{}/{which}", e.plural);
    let mut c = match current(&web, &headers, &here).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let record = match &id {
        Some(id) => match c
            .fetch(&web, &format!("/reference/api/{}/{id}", e.plural))
            .await
        {
            Ok(v) => v,
            Err(page) => return page,
        },
        None => serde_json::json!({"status": "CURRENT"}),
    };
    let fields = ref_fields(e)
        .into_iter()
        .map(|f| f.from_record(&record))
        .collect();
    let mut page = ref_page(c.layout, e, id.as_deref(), fields);
    if !may_change_reference(&c.principal) {
        page.problems
            .push("You can see this record, but not change it.".into());
    }
    page.show(StatusCode::OK)
}

pub async fn reference_save(
    State(web): State<Web>,
    headers: HeaderMap,
    Path((plural, which)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (Some(e), Ok(id)) = (entity(&plural), record_id(&which)) else {
        return super::not_found(State(web), headers).await;
    };
    let here = format!("/admin/reference/{}/{which}", e.plural);
    let c = match super::form::posted(&web, &headers, &here, &form).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let api = format!("/reference/api/{}", e.plural);
    // A change keeps the fields the form does not show.
    let mut record = match &id {
        Some(id) => match web
            .gateway
            .get::<Value>(c.token(), &format!("{api}/{id}"))
            .await
        {
            Ok(a) => a.body,
            Err(err) => return api_failure(c.layout, &err),
        },
        None => serde_json::json!({}),
    };
    let fields: Vec<Field> = ref_fields(e)
        .into_iter()
        .map(|f| f.from_form(&form))
        .collect();
    write_into(&mut record, &fields);
    let method = if id.is_some() {
        reqwest::Method::PUT
    } else {
        reqwest::Method::POST
    };
    let done = format!("/admin/reference/{}?saved=1", e.plural);
    let page = ref_page(c.layout.clone(), e, id.as_deref(), fields);
    super::form::save(&web, &c, page, method, &api, &record, &done).await
}

/// The list page's description (routed by `list::page`).
pub fn users() -> List {
    List {
        fields: vec![
            ("name", "User name"),
            ("firstName", "First name"),
            ("lastName", "Last name"),
            ("emailAddress", "Email"),
            ("roles", "Roles"),
            ("designatedBodyCodes", "Designated bodies"),
            ("active", "Active"),
        ],
        link: Some("/admin/users".into()),
        link_key: "name",
        search_param: "search",
        rows_at: Some("content"),
        named: &[("designatedBodyCodes", Named::Dbcs)],
        ..List::new("/admin/users", "Users", "/profile/api/hee-users")
    }
}

/// The list page's description (routed by `list::page`).
pub fn roles() -> List {
    List {
        fields: vec![
            ("name", "Role"),
            ("restricted", "Restricted"),
            ("permissions", "Permissions"),
        ],
        ..List::new("/admin/roles", "Roles", "/profile/api/roles")
    }
}

/// The user form's fields; roles and designated bodies offered from Profile and Reference
/// (with the user's own always among them, so that nothing is dropped unseen).
async fn user_fields(web: &Web, c: &Current, user: &Value) -> (Vec<Field>, Vec<String>) {
    let mut notes = Vec::new();
    let names = |v: &Value, key: &str, label: &str| -> Vec<(String, String)> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|i| {
                        let l = if label.is_empty() {
                            raw(&i[key])
                        } else {
                            format!("{} ({})", raw(&i[label]), raw(&i[key]))
                        };
                        (raw(&i[key]), l)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut roles = match web
        .gateway
        .get::<Value>(c.token(), "/profile/api/roles?size=500")
        .await
    {
        Ok(a) => names(&a.body, "name", ""),
        Err(e) => {
            notes.push(format!("The roles cannot be listed right now: {e}"));
            Vec::new()
        }
    };
    let mut dbcs = match web
        .gateway
        .get::<Value>(c.token(), "/reference/api/dbcs?size=500")
        .await
    {
        Ok(a) => names(&a.body, "dbc", "name"),
        Err(e) => {
            notes.push(format!(
                "The designated bodies cannot be listed right now: {e}"
            ));
            Vec::new()
        }
    };
    let fields = vec![
        Field::new("firstName", "First name", Kind::Text),
        Field::new("lastName", "Last name", Kind::Text),
        Field::new("emailAddress", "Email address", Kind::Email),
        Field::new("phoneNumber", "Telephone number", Kind::Tel),
        Field::new("gmcId", "GMC number", Kind::Text),
        Field::new("active", "Active", Kind::YesNo),
        Field::new("roles", "Roles", Kind::Checkboxes),
        Field::new("designatedBodyCodes", "Designated bodies", Kind::Checkboxes),
    ]
    .into_iter()
    .map(|f| f.from_record(user))
    .collect::<Vec<_>>();
    for f in &fields {
        let options = match f.name {
            "roles" => &mut roles,
            "designatedBodyCodes" => &mut dbcs,
            _ => continue,
        };
        for v in &f.checked {
            if !options.iter().any(|(o, _)| o == v) {
                options.push((v.clone(), v.clone()));
            }
        }
    }
    let fields = fields
        .into_iter()
        .map(|f| match f.name {
            "roles" => f.options(roles.clone()),
            "designatedBodyCodes" => f.options(dbcs.clone()),
            _ => f,
        })
        .collect();
    (fields, notes)
}

fn user_page(layout: Layout, name: &str, fields: Vec<Field>) -> FormPage {
    let enc: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    FormPage {
        layout,
        back: ("/admin/users".into(), "Back to users".into()),
        heading: "Change a user".into(),
        legend: name.to_owned(),
        action: format!("/admin/users/{enc}"),
        fields,
        problems: Vec::new(),
        submit: "Save user".into(),
    }
}

fn user_path(name: &str) -> String {
    let enc: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("/profile/api/hee-users/{}", enc.replace('+', "%20"))
}

pub async fn user_form(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let mut c = match current(&web, &headers, "/admin/users").await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let user = match c.fetch(&web, &user_path(&name)).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let (fields, notes) = user_fields(&web, &c, &user).await;
    c.layout.notices.extend(notes);
    let mut page = user_page(c.layout, &raw(&user["name"]), fields);
    if !c.principal.has_authority(PROFILE_WRITE) {
        page.problems
            .push("You can see this user, but not change them.".into());
    }
    page.show(StatusCode::OK)
}

pub async fn user_save(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let c = match super::form::posted(&web, &headers, "/admin/users", &form).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let mut user = match web.gateway.get::<Value>(c.token(), &user_path(&name)).await {
        Ok(a) => a.body,
        Err(e) => return api_failure(c.layout, &e),
    };
    let (fields, _) = user_fields(&web, &c, &user).await;
    let fields: Vec<Field> = fields.into_iter().map(|f| f.from_form(&form)).collect();
    write_into(&mut user, &fields);
    // Profile names roles as `{"name": …}`.
    user["roles"] = Value::from(
        fields
            .iter()
            .find(|f| f.name == "roles")
            .map(|f| {
                f.checked
                    .iter()
                    .map(|r| serde_json::json!({"name": r}))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    let stored = raw(&user["name"]);
    let page = user_page(c.layout.clone(), &stored, fields);
    let done = "/admin/users?saved=1";
    super::form::save(
        &web,
        &c,
        page,
        reqwest::Method::PUT,
        "/profile/api/hee-users",
        &user,
        done,
    )
    .await
}
