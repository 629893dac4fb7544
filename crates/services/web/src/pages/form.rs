//! One edit form for every record the application changes (contact details, placements,
//! reference entities, users): a list of [`Field`]s rendered by `form.html` in the NHS.UK
//! patterns — labels and hints, the date input (day, month, year), the API's field messages
//! beside their fields and in an error summary that links to them, and the whole form
//! disabled, with the reason, while changes cannot be saved.

use std::collections::HashMap;

use askama::Template;
use axum::response::Response;
use http::StatusCode;
use serde_json::Value;
use tis_core::error::FieldError;

use super::{Layout, render};
use crate::format::{DateParts, raw};

/// How a field is typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Email,
    Tel,
    /// A number (typed as text, `inputmode="decimal"`: the NHS pattern avoids `type=number`).
    Number,
    /// The NHS date input: `<name>-day`, `<name>-month`, `<name>-year`; sent as `YYYY-MM-DD`.
    Date,
    /// One of `options`.
    Select,
    /// Any of `options` (checkboxes): sent as a list.
    Checkboxes,
    /// Yes or no: sent as a JSON boolean.
    YesNo,
    /// A record chosen by searching: a search box (`<name>-q`) with a "Find" button (the
    /// form's `find`), then the matches as radios (value: the record's id, sent as a
    /// number). Works without JavaScript: finding re-renders the form, saving nothing.
    Pick,
}

/// One field of a form.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub kind: Kind,
    pub value: String,
    pub date: DateParts,
    /// (value, label) for `Select` and `Checkboxes`.
    pub options: Vec<(String, String)>,
    /// The checked values of `Checkboxes`.
    pub checked: Vec<String>,
    pub error: Option<String>,
    /// What was typed in a `Pick`'s search box.
    pub search: String,
    /// A `Pick`'s words for its search box ("Search by national post number").
    pub search_label: &'static str,
    /// A `Select` whose values are record ids: sent as numbers, as the API takes them.
    pub numeric: bool,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, kind: Kind) -> Field {
        let options = match kind {
            Kind::YesNo => vec![
                ("false".into(), crate::format::yes_no(false).into()),
                ("true".into(), crate::format::yes_no(true).into()),
            ],
            _ => Vec::new(),
        };
        Field {
            name,
            label,
            hint: "",
            kind,
            value: String::new(),
            date: DateParts::default(),
            options,
            checked: Vec::new(),
            error: None,
            search: String::new(),
            search_label: "",
            numeric: false,
        }
    }

    /// A `Select` of record ids, sent as numbers.
    pub fn numeric(mut self) -> Field {
        self.numeric = true;
        self
    }

    /// A `Pick` field: `search_label` says what its search box takes.
    pub fn pick(name: &'static str, label: &'static str, search_label: &'static str) -> Field {
        Field {
            search_label,
            ..Field::new(name, label, Kind::Pick)
        }
    }

    /// Offers `(value, label)` unless it is offered already (the current choice among what a
    /// search found).
    pub fn offer(&mut self, value: String, label: String) {
        if !value.is_empty() && !self.options.iter().any(|(v, _)| *v == value) {
            self.options.push((value, label));
        }
    }

    pub fn hint(mut self, hint: &'static str) -> Field {
        self.hint = hint;
        self
    }

    pub fn options(mut self, options: Vec<(String, String)>) -> Field {
        self.options = options;
        self
    }

    /// The value from a record (the API's JSON).
    pub fn from_record(mut self, record: &Value) -> Field {
        let v = &record[self.name];
        match self.kind {
            Kind::Date => self.date = DateParts::of(&raw(v)),
            Kind::Checkboxes => {
                self.checked = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|i| match i {
                                Value::Object(_) => raw(&i["name"]),
                                other => raw(other),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            }
            _ => self.value = raw(v),
        }
        self
    }

    /// The value as the form sent it; a date's message when its boxes are not a real date.
    pub fn from_form(mut self, form: &[(String, String)]) -> Field {
        let one = |k: &str| {
            form.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        match self.kind {
            Kind::Date => {
                let map: HashMap<String, String> = form.iter().cloned().collect();
                self.date = DateParts::from_form(&map, self.name);
                if let Err(e) = self.date.to_iso(self.label) {
                    self.error = Some(e);
                }
            }
            Kind::Checkboxes => {
                self.checked = form
                    .iter()
                    .filter(|(n, _)| n == self.name)
                    .map(|(_, v)| v.clone())
                    .collect();
            }
            Kind::Pick => {
                self.value = one(self.name);
                self.search = one(&format!("{}-q", self.name));
            }
            _ => self.value = one(self.name),
        }
        self
    }

    /// What the API is sent for this field: null when empty.
    pub fn json(&self) -> Value {
        match self.kind {
            Kind::Date => self
                .date
                .to_iso(self.label)
                .ok()
                .flatten()
                .map_or(Value::Null, Value::from),
            Kind::Checkboxes => Value::from(self.checked.clone()),
            Kind::YesNo => Value::from(self.value == "true"),
            Kind::Number | Kind::Pick if !self.value.is_empty() => self
                .value
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| self.value.parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::from(self.value.clone())),
            Kind::Select if self.numeric && !self.value.is_empty() => self
                .value
                .parse::<i64>()
                .map_or_else(|_| Value::from(self.value.clone()), Value::from),
            _ if self.value.is_empty() => Value::Null,
            _ => Value::from(self.value.clone()),
        }
    }

    /// The id the error summary links to.
    pub fn anchor(&self) -> String {
        match self.kind {
            Kind::Date => format!("{}-day", self.name),
            Kind::Checkboxes => format!("{}-0", self.name),
            Kind::Pick => format!("{}-q", self.name),
            _ => self.name.to_owned(),
        }
    }

    /// The date input's boxes: (part, label, width, value).
    pub fn date_boxes(&self) -> [(&'static str, &'static str, &'static str, &str); 3] {
        [
            ("day", "Day", "2", &self.date.day),
            ("month", "Month", "2", &self.date.month),
            ("year", "Year", "4", &self.date.year),
        ]
    }

    pub fn is_checked(&self, value: &str) -> bool {
        self.checked.iter().any(|c| c == value)
    }
}

/// The form's fields over `record`: each field's JSON value written in.
pub fn write_into(record: &mut Value, fields: &[Field]) {
    if !record.is_object() {
        *record = Value::Object(serde_json::Map::new());
    }
    for f in fields {
        record[f.name] = f.json();
    }
}

/// The API's field messages beside their fields (a field `a.b.name` or `name[0]` is `name`'s);
/// those that match no field are returned.
pub fn place_errors(fields: &mut [Field], errors: &[FieldError]) -> Vec<String> {
    let mut unplaced = Vec::new();
    for e in errors {
        let key = e.field.rsplit('.').next().unwrap_or(&e.field);
        let key = key.split('[').next().unwrap_or(key);
        match fields.iter_mut().find(|f| f.name == key) {
            Some(f) if f.error.is_none() => f.error = Some(e.message.clone()),
            Some(_) => {}
            None => unplaced.push(format!("{}: {}", e.field, e.message)),
        }
    }
    unplaced
}

/// A form page.
#[derive(Template)]
#[template(path = "form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub back: (String, String),
    pub heading: String,
    /// The legend: whose record this is.
    pub legend: String,
    pub action: String,
    pub fields: Vec<Field>,
    /// Problems not tied to one field (an overlap, a conflict), in plain words.
    pub problems: Vec<String>,
    pub submit: String,
}

impl FormPage {
    pub fn has_errors(&self) -> bool {
        !self.problems.is_empty() || self.fields.iter().any(|f| f.error.is_some())
    }

    pub fn show(mut self, status: StatusCode) -> Response {
        self.layout.title = self.heading.clone();
        render(status, &self)
    }
}

/// The signed-in user who posted `form` from `here`, its CSRF token theirs; otherwise the
/// answer (sign in, or 403 "This form has expired").
pub async fn posted(
    web: &super::Web,
    headers: &http::HeaderMap,
    here: &str,
    form: &[(String, String)],
) -> Result<super::Current, Response> {
    let c = super::current(web, headers, here).await?;
    match super::csrf_refusal(&c, super::people::form_value(form, "csrf")) {
        Some(refused) => Err(refused),
        None => Ok(c),
    }
}

/// Sends a form's record (`method path`) and answers as every form does: to `done` when
/// saved; the form again with the API's field messages beside their fields (400), or its
/// conflict in plain words (409); 503 with the form, unsent, while changes cannot be saved or
/// when the service is down (what was typed is kept); the failure page otherwise.
pub async fn save(
    web: &super::Web,
    c: &super::Current,
    mut page: FormPage,
    method: reqwest::Method,
    path: &str,
    record: &Value,
    done: &str,
) -> Response {
    use crate::api::ApiError;
    use axum::response::{IntoResponse, Redirect};
    if page.has_errors() {
        return page.show(StatusCode::BAD_REQUEST);
    }
    if !c.layout.banner.writes_ok {
        page.problems.push(crate::status::WRITES_DOWN.to_owned());
        return page.show(StatusCode::SERVICE_UNAVAILABLE);
    }
    match web
        .gateway
        .send_json::<Value>(method, c.token(), path, record)
        .await
    {
        Ok(_) => Redirect::to(done).into_response(),
        Err(ApiError::Invalid { message, fields }) => {
            let unplaced = place_errors(&mut page.fields, &fields);
            page.problems.extend(unplaced);
            if !page.has_errors() {
                page.problems.push(crate::format::human_in(&message));
            }
            page.show(StatusCode::BAD_REQUEST)
        }
        Err(ApiError::Conflict { message, conflicts }) => {
            page.problems
                .extend(crate::pages::placements::conflict_words(
                    &message, &conflicts,
                ));
            page.show(StatusCode::CONFLICT)
        }
        // The service (or one it needs) is down: the form again, with what was typed.
        Err(ApiError::Unavailable(outage)) => {
            page.problems.push(format!(
                "This could not be saved: {} cannot be reached at the moment. What you typed is still here: try again in a few minutes. If it keeps happening, contact the TIS support team and give them this reference: {}",
                outage.part,
                outage.request_id
            ));
            page.show(StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(e) => super::api_failure(page.layout, &e),
    }
}
