//! A person's one-to-one records — contact, personal, GMC and GDC details and right to work —
//! keyed by the person's id as in the original, and what every write to a person's records
//! shares: reading a body strictly, checking a record, saving it with its history.
//!
//! Each record is declared once ([`Record`]: its descriptor, DTO name, own checks and the
//! Reference data it names); [`super::record_routes`] serves the original's routes for each,
//! and [`super::person`] nests them in `PersonDTO`.
//!
//! Checks (the original's validators, `docs/tcs-original.md` §3, plus the issue's):
//! - shape: a JSON object; every field known (an unknown one is a 400 naming it); each value
//!   of its type (text, number, `YYYY-MM-DD` date); text at most its length;
//! - contact details: names without special characters (apostrophes, hyphens and spaces
//!   allowed), phone numbers of digits, `+`, `-` and spaces, e-mails with an `@`, address lines
//!   filled in order and a post code with an address; `title` in Reference;
//! - personal details: `disability` `YES`/`NO`; gender, nationality, dual nationality, ethnic
//!   origin, marital status, sexual orientation and religious belief in Reference;
//! - GMC details: `gmcNumber` 7 digits (or the original's `N/A` / `UNKNOWN` for "none"),
//!   `gmcStatus` in Reference, `gmcEndDate` not before `gmcStartDate`;
//! - GDC details: `gdcNumber` without spaces, `gdcStatus` in Reference, the same dates rule;
//! - right to work: `eeaResident` `YES`/`NO`/`UNKNOWN`, `settled` `YES`/`NO`, `permitToWork` in
//!   Reference, `visaValidTo` not before `visaIssued`.
//!
//! Reference data is checked only for values that change (a value already stored is not
//! asked about again), through [`crate::reference::Refs`]: 400 for an unknown value, 503 when
//! Reference is down and the value was never seen, `TIS-Degraded: reference-stale` otherwise.

use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use tis_auth::Principal;
use tis_core::FieldError;
use tis_reference_client::RefType;
use tis_service_kit::ApiError;
use tis_service_kit::entity;
use tis_service_kit::entity::validate::{bind_value, parse_date, parse_timestamp, validate};
use tis_service_kit::entity::{Descriptor, Kind};
use tis_service_kit::repo::query::select_list;
use tis_store::{Db, Row, Sql, StoreError, Tx, Value};

use super::history;
use super::sensitive;
use crate::domain::scope::Scope;
use crate::reference::Refs;

/// A record as a JSON object (its DTO, JSON field names).
pub type Obj = Map<String, Json>;

/// The original's application name, for the `X-tcsApp-…` headers.
use crate::routes::APP;

/// What the server sets, never the body: skipped when saving (`amendedDate` is set to now).
const SERVER_FIELDS: &[&str] = &["addedDate", "currentOwner", "currentOwnerRule"];

entity! {
    /// A person's contact details (`ContactDetailsDTO`), keyed by the person's id.
    ContactDetailsDto / CONTACT_DETAILS { name: "ContactDetails", plural: "contact-details", table: "contact_details", id: i64 = Long, code: None }
    surname "surname": String => "surname" (Kind::Text) .max(100);
    legal_surname "legalSurname": String => "legal_surname" (Kind::Text) .max(100);
    forenames "forenames": String => "forenames" (Kind::Text) .max(100);
    legal_forenames "legalForenames": String => "legal_forenames" (Kind::Text) .max(100);
    known_as "knownAs": String => "known_as" (Kind::Text) .max(100);
    maiden_name "maidenName": String => "maiden_name" (Kind::Text) .max(100);
    initials "initials": String => "initials" (Kind::Text) .max(10);
    title "title": String => "title" (Kind::Text) .max(100);
    telephone_number "telephoneNumber": String => "telephone_number" (Kind::Text) .max(30);
    mobile_number "mobileNumber": String => "mobile_number" (Kind::Text) .max(30);
    email "email": String => "email" (Kind::Text) .max(255);
    work_email "workEmail": String => "work_email" (Kind::Text) .max(255);
    address1 "address1": String => "address1" (Kind::Text) .max(255);
    address2 "address2": String => "address2" (Kind::Text) .max(255);
    address3 "address3": String => "address3" (Kind::Text) .max(255);
    address4 "address4": String => "address4" (Kind::Text) .max(255);
    post_code "postCode": String => "post_code" (Kind::Text) .max(20);
    country "country": String => "country" (Kind::Text) .max(100);
    /// Set by the server on every save.
    amended_date "amendedDate": String => "amended_date" (Kind::Timestamp);
}

entity! {
    /// A person's personal details (`PersonalDetailsDTO`); the sensitive fields are masked
    /// (see [`super::sensitive`]).
    PersonalDetailsDto / PERSONAL_DETAILS { name: "PersonalDetails", plural: "personal-details", table: "personal_details", id: i64 = Long, code: None }
    marital_status "maritalStatus": String => "marital_status" (Kind::Text) .max(100);
    date_of_birth "dateOfBirth": String => "date_of_birth" (Kind::Date);
    gender "gender": String => "gender" (Kind::Text) .max(100);
    nationality "nationality": String => "nationality" (Kind::Text) .max(100);
    dual_nationality "dualNationality": String => "dual_nationality" (Kind::Text) .max(100);
    sexual_orientation "sexualOrientation": String => "sexual_orientation" (Kind::Text) .max(100);
    religious_belief "religiousBelief": String => "religious_belief" (Kind::Text) .max(100);
    ethnic_origin "ethnicOrigin": String => "ethnic_origin" (Kind::Text) .max(100);
    disability "disability": String => "disability" (Kind::Text) .max(10);
    disability_details "disabilityDetails": String => "disability_details" (Kind::Text) .max(1000);
    national_insurance_number "nationalInsuranceNumber": String => "national_insurance_number" (Kind::Text) .max(20);
    amended_date "amendedDate": String => "amended_date" (Kind::Timestamp);
}

entity! {
    /// A person's GMC registration (`GmcDetailsDTO`).
    GmcDetailsDto / GMC_DETAILS { name: "GmcDetails", plural: "gmc-details", table: "gmc_details", id: i64 = Long, code: None }
    /// 7 digits (or `N/A`, `UNKNOWN`); unique.
    gmc_number "gmcNumber": String => "gmc_number" (Kind::Text) .max(20);
    gmc_status "gmcStatus": String => "gmc_status" (Kind::Text) .max(100);
    gmc_start_date "gmcStartDate": String => "gmc_start_date" (Kind::Date);
    gmc_end_date "gmcEndDate": String => "gmc_end_date" (Kind::Date);
    amended_date "amendedDate": String => "amended_date" (Kind::Timestamp);
}

entity! {
    /// A person's GDC registration (`GdcDetailsDTO`).
    GdcDetailsDto / GDC_DETAILS { name: "GdcDetails", plural: "gdc-details", table: "gdc_details", id: i64 = Long, code: None }
    /// Without spaces; unique.
    gdc_number "gdcNumber": String => "gdc_number" (Kind::Text) .max(20);
    gdc_status "gdcStatus": String => "gdc_status" (Kind::Text) .max(100);
    gdc_start_date "gdcStartDate": String => "gdc_start_date" (Kind::Date);
    gdc_end_date "gdcEndDate": String => "gdc_end_date" (Kind::Date);
    amended_date "amendedDate": String => "amended_date" (Kind::Timestamp);
}

entity! {
    /// A person's right to work (`RightToWorkDTO`).
    RightToWorkDto / RIGHT_TO_WORK { name: "RightToWork", plural: "right-to-works", table: "right_to_work", id: i64 = Long, code: None }
    /// `YES`, `NO` or `UNKNOWN`.
    eea_resident "eeaResident": String => "eea_resident" (Kind::Text) .max(10);
    permit_to_work "permitToWork": String => "permit_to_work" (Kind::Text) .max(100);
    /// `YES` or `NO`.
    settled "settled": String => "settled" (Kind::Text) .max(10);
    visa_issued "visaIssued": String => "visa_issued" (Kind::Date);
    visa_valid_to "visaValidTo": String => "visa_valid_to" (Kind::Date);
    visa_details "visaDetails": String => "visa_details" (Kind::Text) .max(1000);
    amended_date "amendedDate": String => "amended_date" (Kind::Timestamp);
}

/// One of a person's one-to-one records.
#[derive(Debug)]
pub struct Record {
    pub desc: &'static Descriptor,
    /// Its field in `PersonDTO`, its name in the history and in the alert headers
    /// (`contactDetails`).
    pub name: &'static str,
    /// The original's DTO name (`objectName` of its field errors).
    pub object: &'static str,
    /// Its own checks, each error named `{prefix}{field}`; `standalone` when written through
    /// its own route (the original's annotations applied only there).
    pub check: fn(&Obj, &str, bool) -> Vec<FieldError>,
    /// The Reference data its fields name.
    pub refs: &'static [(&'static str, RefType)],
}

pub static CONTACT: Record = Record {
    desc: &CONTACT_DETAILS,
    name: "contactDetails",
    object: "ContactDetailsDTO",
    check: check_contact,
    refs: &[("title", RefType::TITLES)],
};

pub static PERSONAL: Record = Record {
    desc: &PERSONAL_DETAILS,
    name: "personalDetails",
    object: "PersonalDetailsDTO",
    check: check_personal,
    refs: &[
        ("gender", RefType::GENDERS),
        ("nationality", RefType::NATIONALITIES),
        ("dualNationality", RefType::NATIONALITIES),
        ("ethnicOrigin", RefType::ETHNIC_ORIGINS),
        ("maritalStatus", RefType::MARITAL_STATUSES),
        ("sexualOrientation", RefType::SEXUAL_ORIENTATIONS),
        ("religiousBelief", RefType::RELIGIOUS_BELIEFS),
    ],
};

pub static GMC: Record = Record {
    desc: &GMC_DETAILS,
    name: "gmcDetails",
    object: "GmcDetailsDTO",
    check: check_gmc,
    refs: &[("gmcStatus", RefType::GMC_STATUSES)],
};

pub static GDC: Record = Record {
    desc: &GDC_DETAILS,
    name: "gdcDetails",
    object: "GdcDetailsDTO",
    check: check_gdc,
    refs: &[("gdcStatus", RefType::GDC_STATUSES)],
};

pub static RIGHT_TO_WORK_RECORD: Record = Record {
    desc: &RIGHT_TO_WORK,
    name: "rightToWork",
    object: "RightToWorkDTO",
    check: check_right_to_work,
    refs: &[("permitToWork", RefType::PERMIT_TO_WORKS)],
};

/// Every one-to-one record, in `PersonDTO`'s order.
pub static RECORDS: [&Record; 5] = [&CONTACT, &PERSONAL, &GMC, &GDC, &RIGHT_TO_WORK_RECORD];

// ---------------------------------------------------------------------------------------
// Bodies

/// A request body as JSON, strictly: one JSON value and nothing after it (trailing garbage is
/// 400 `malformed_json`, not ignored).
pub fn body_json(bytes: &[u8]) -> Result<Json, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::Http(tis_core::HttpError::bad_request(
            tis_core::error::code::MALFORMED_JSON,
            format!("the body is not valid JSON: {e}"),
        ))
    })
}

/// `value` as a record of `desc` (with `extra` fields also allowed): a JSON object whose
/// fields are all known and of their kinds; every field present in the result (`null` when
/// absent). Errors are named `{prefix}{field}`.
pub fn shape(
    desc: &'static Descriptor,
    value: &Json,
    prefix: &str,
    extra: &[&str],
) -> Result<Obj, Vec<FieldError>> {
    let Some(given) = value.as_object() else {
        let name = if prefix.is_empty() {
            "body"
        } else {
            prefix.trim_end_matches('.')
        };
        return Err(vec![FieldError::new(name, "must be a JSON object")]);
    };
    let mut errors = Vec::new();
    for (key, v) in given {
        let name = format!("{prefix}{key}");
        if key == "id" {
            if !(v.is_null() || v.as_i64().is_some_and(|id| id >= 0)) {
                errors.push(FieldError::new(name, "must be a whole number, at least 0"));
            }
            continue;
        }
        if extra.contains(&key.as_str()) {
            continue;
        }
        let Some(f) = desc.fields.iter().find(|f| f.json == key) else {
            errors.push(FieldError::new(name, "unknown field"));
            continue;
        };
        let ok = match (f.kind, v) {
            (_, Json::Null) => true,
            (Kind::Text | Kind::Enum(_), Json::String(_)) => true,
            (Kind::Long, Json::Number(n)) => n.as_i64().is_some(),
            (Kind::Bool, Json::Bool(_)) => true,
            (Kind::Date | Kind::Timestamp | Kind::Uuid, Json::String(_)) => true,
            _ => false,
        };
        if !ok {
            errors.push(FieldError::new(
                name,
                format!("must be {}", expected(f.kind)),
            ));
        } else if let (Kind::Enum(names), Json::String(s)) = (f.kind, v)
            && !names.contains(&s.as_str())
        {
            errors.push(FieldError::new(
                name,
                format!("must be one of {}", names.join(", ")),
            ));
        }
    }
    let mut out = Obj::new();
    out.insert("id".into(), given.get("id").cloned().unwrap_or(Json::Null));
    for f in desc.fields {
        let mut v = given.get(f.json).cloned().unwrap_or(Json::Null);
        // The original's LocalDateTime has no offset: read it as UTC.
        if let (Kind::Timestamp, Json::String(s)) = (f.kind, &v)
            && parse_timestamp(s).is_none()
            && parse_timestamp(&format!("{s}Z")).is_some()
        {
            v = Json::String(format!("{s}Z"));
        }
        out.insert(f.json.to_owned(), v);
    }
    if errors.is_empty() {
        errors.extend(
            validate(desc, &without_server_fields(&out), prefix)
                .into_iter()
                .filter(|e| !e.field.ends_with("amendedDate")),
        );
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn without_server_fields(obj: &Obj) -> Obj {
    obj.iter()
        .filter(|(k, _)| !SERVER_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Long | Kind::Ref(_) => "a whole number",
        Kind::Bool => "true or false",
        Kind::Date => "a date as YYYY-MM-DD",
        Kind::Timestamp => "a date and time",
        _ => "a string",
    }
}

/// The non-null fields of `patch` copied onto `stored` (the original's PATCH of one record).
pub fn merged(stored: &Obj, patch: &Obj) -> Obj {
    let mut out = stored.clone();
    for (k, v) in patch {
        if !v.is_null() {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// The id of a record (`None` when absent).
pub fn id_of(obj: &Obj) -> Option<i64> {
    obj.get("id").and_then(Json::as_i64)
}

// ---------------------------------------------------------------------------------------
// Checks

fn text<'a>(obj: &'a Obj, field: &str) -> Option<&'a str> {
    obj.get(field)
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `{prefix}{end}` when `end` is before `start`.
fn dates_in_order(
    obj: &Obj,
    prefix: &str,
    start: &str,
    end: &str,
    message: &str,
) -> Option<FieldError> {
    let (s, e) = (
        text(obj, start).and_then(parse_date),
        text(obj, end).and_then(parse_date),
    );
    match (s, e) {
        (Some(s), Some(e)) if e < s => Some(FieldError::new(format!("{prefix}{end}"), message)),
        _ => None,
    }
}

fn one_of(obj: &Obj, prefix: &str, field: &str, allowed: &[&str], errors: &mut Vec<FieldError>) {
    if let Some(v) = text(obj, field)
        && !allowed.contains(&v)
    {
        errors.push(FieldError::new(
            format!("{prefix}{field}"),
            format!(
                "{field} must match a reference value ({})",
                allowed.join(", ")
            ),
        ));
    }
}

fn matches(obj: &Obj, field: &str, ok: impl Fn(char) -> bool) -> bool {
    obj.get(field)
        .and_then(Json::as_str)
        .is_none_or(|s| s.chars().all(ok))
}

fn check_contact(c: &Obj, prefix: &str, standalone: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let at = |f: &str| format!("{prefix}{f}");
    if standalone {
        for f in ["surname", "forenames"] {
            if text(c, f).is_none() {
                errors.push(FieldError::new(
                    at(f),
                    format!("{f} is required to create or update the record."),
                ));
            }
        }
    }
    let name_char = |ch: char| ch.is_alphanumeric() || matches!(ch, '-' | '\\' | '\'' | ' ');
    for f in [
        "surname",
        "legalSurname",
        "forenames",
        "legalForenames",
        "knownAs",
        "maidenName",
        "initials",
        "country",
    ] {
        if !matches(c, f, name_char) {
            errors.push(FieldError::new(
                at(f),
                "No special characters, with the exception of apostrophes, hyphens and spaces.",
            ));
        }
    }
    for f in ["telephoneNumber", "mobileNumber"] {
        if !matches(c, f, |ch| {
            ch.is_ascii_digit() || matches!(ch, '+' | '-' | ' ')
        }) {
            errors.push(FieldError::new(at(f), "Only digits, +, - and spaces."));
        }
    }
    for f in ["email", "workEmail"] {
        if let Some(e) = text(c, f) {
            let valid = e.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty()
                    && !host.is_empty()
                    && user
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "+_.-".contains(ch))
            });
            if !valid {
                errors.push(FieldError::new(at(f), "Valid email format required."));
            }
        }
    }
    let has = |f: &str| text(c, f).is_some();
    for later in ["address2", "address3", "postCode"] {
        if has(later) && !has("address1") {
            errors.push(FieldError::new(
                at("address1"),
                format!("address1 is required when {later} is populated."),
            ));
            break;
        }
    }
    if has("address3") && !has("address2") {
        errors.push(FieldError::new(
            at("address2"),
            "address2 is required when address3 is populated.",
        ));
    }
    if has("address1") && !has("postCode") {
        errors.push(FieldError::new(
            at("postCode"),
            "postCode is required when address is populated.",
        ));
    }
    errors
}

fn check_personal(p: &Obj, prefix: &str, _standalone: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(v) = text(p, "disability")
        && !["YES", "NO"].contains(&v)
    {
        errors.push(FieldError::new(
            format!("{prefix}disability"),
            "disability must match a reference value.",
        ));
    }
    if let Some(born) = text(p, "dateOfBirth").and_then(parse_date)
        && born > OffsetDateTime::now_utc().date()
    {
        errors.push(FieldError::new(
            format!("{prefix}dateOfBirth"),
            "dateOfBirth must not be in the future",
        ));
    }
    errors
}

/// The original's literals for "no number", accepted and never unique.
pub const NO_NUMBER: &[&str] = &["N/A", "UNKNOWN"];

fn check_gmc(g: &Obj, prefix: &str, _standalone: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(n) = g.get("gmcNumber").and_then(Json::as_str)
        && !NO_NUMBER.contains(&n)
        && !(n.len() == 7 && n.chars().all(|c| c.is_ascii_digit()))
    {
        errors.push(FieldError::new(
            format!("{prefix}gmcNumber"),
            "gmcNumber must be exactly 7 digits",
        ));
    }
    errors.extend(dates_in_order(
        g,
        prefix,
        "gmcStartDate",
        "gmcEndDate",
        "gmcEndDate must not be before gmcStartDate",
    ));
    errors
}

fn check_gdc(g: &Obj, prefix: &str, _standalone: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(n) = g.get("gdcNumber").and_then(Json::as_str)
        && (n.is_empty() || n.chars().any(char::is_whitespace))
    {
        errors.push(FieldError::new(
            format!("{prefix}gdcNumber"),
            "gdcNumber should not contain any whitespaces",
        ));
    }
    errors.extend(dates_in_order(
        g,
        prefix,
        "gdcStartDate",
        "gdcEndDate",
        "gdcEndDate must not be before gdcStartDate",
    ));
    errors
}

fn check_right_to_work(r: &Obj, prefix: &str, _standalone: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    one_of(
        r,
        prefix,
        "eeaResident",
        &["YES", "NO", "UNKNOWN"],
        &mut errors,
    );
    one_of(r, prefix, "settled", &["YES", "NO"], &mut errors);
    errors.extend(dates_in_order(
        r,
        prefix,
        "visaIssued",
        "visaValidTo",
        "visaIssued must be before visaValidTo.",
    ));
    errors
}

impl Record {
    /// The record's shape and own checks.
    pub fn read(
        &'static self,
        value: &Json,
        prefix: &str,
        standalone: bool,
    ) -> Result<Obj, Vec<FieldError>> {
        let obj = shape(self.desc, value, prefix, &[])?;
        let errors = (self.check)(&obj, prefix, standalone);
        if errors.is_empty() {
            Ok(obj)
        } else {
            Err(errors)
        }
    }

    /// Names the Reference values of `after` that differ from `before` in `refs`.
    pub fn name_refs(&self, before: Option<&Obj>, after: &Obj, prefix: &str, refs: &mut Refs) {
        for (field, of) in self.refs {
            let new = after.get(*field);
            if before.and_then(|b| b.get(*field)) == new {
                continue;
            }
            refs.code(format!("{prefix}{field}"), *of, new.and_then(Json::as_str));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Storage

/// Rows of `q`, from the primary (`primary`: right after a write) or a replica.
pub async fn fetch(db: &Db, primary: bool, q: Sql) -> Result<Vec<Row>, StoreError> {
    if primary {
        db.write().fetch_all(q).await
    } else {
        db.read().fetch_all(q).await
    }
}

/// `SELECT … FROM {table} WHERE id IN (ids)`.
pub fn select_in(desc: &'static Descriptor, ids: &[i64]) -> Sql {
    let mut q = Sql::new(&format!(
        "SELECT {} FROM {} WHERE id IN ",
        select_list(desc),
        desc.table
    ));
    q.bind_list(ids.iter().copied());
    q
}

/// The stored record `id` of `desc`, in `tx`.
pub async fn load(
    tx: &mut Tx,
    desc: &'static Descriptor,
    id: i64,
) -> Result<Option<Obj>, StoreError> {
    tx.fetch_optional(select_in(desc, &[id])).await
}

/// Saves `obj` as record `id` of `desc` (insert or replace every column the body may set;
/// `amendedDate` now), in `tx`.
pub async fn save(
    tx: &mut Tx,
    desc: &'static Descriptor,
    id: i64,
    obj: &Obj,
) -> Result<(), StoreError> {
    let fields: Vec<_> = desc
        .fields
        .iter()
        .filter(|f| !SERVER_FIELDS.contains(&f.json))
        .collect();
    let cols: Vec<&str> = fields.iter().map(|f| f.column).collect();
    let mut q = Sql::new(&format!(
        "INSERT INTO {} (id, {}) VALUES (",
        desc.table,
        cols.join(", ")
    ));
    q.bind(id);
    for f in &fields {
        q.push(", ");
        if f.json == "amendedDate" {
            q.bind(Value::Timestamp(OffsetDateTime::now_utc()));
        } else {
            q.bind(bind_value(f, obj.get(f.json)));
        }
    }
    let sets: Vec<String> = cols.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    q.push(&format!(
        ") ON CONFLICT (id) DO UPDATE SET {}",
        sets.join(", ")
    ));
    tx.execute(q).await?;
    Ok(())
}

/// Saves record `rec` of person `person_id` (`before` is what was stored), recording its
/// changes by `who` in the history, in `tx`. The sensitive fields follow
/// [`sensitive::protect`]. Returns the saved record as the caller may see it.
pub async fn write(
    tx: &mut Tx,
    who: &Principal,
    rec: &'static Record,
    person_id: i64,
    before: Option<&Obj>,
    mut after: Obj,
) -> Result<(), StoreError> {
    if std::ptr::eq(rec, &PERSONAL) {
        sensitive::protect(who, before, &mut after);
    }
    after.insert("id".into(), Json::from(person_id));
    save(tx, rec.desc, person_id, &after).await?;
    let changes = history::diff(before, Some(&after), &["amendedDate", "id"]);
    history::record(tx, person_id, who.user_name(), rec.name, &changes).await
}

/// Whether person `id` exists within `scope`, in `tx` (the primary).
pub async fn person_in_scope(tx: &mut Tx, scope: &Scope, id: i64) -> Result<bool, StoreError> {
    let mut q = Sql::new("SELECT p.id AS \"id\" FROM person p WHERE p.id = ");
    q.bind(id);
    scope.restrict_people(&mut q, "p");
    Ok(tx.fetch_optional(q).await?.is_some())
}

/// A 404 for a person (or their record) that does not exist for the caller.
pub fn no_person(id: i64) -> ApiError {
    ApiError::NotFound(format!("no person with id {id}"))
}

/// A 409 when `number` of `field` (`gmcNumber`, …) is another person's, checked in `tx`.
pub async fn unique_number(
    tx: &mut Tx,
    table: &str,
    column: &str,
    field: &str,
    number: Option<&str>,
    own_id: Option<i64>,
) -> Result<(), ApiError> {
    let Some(n) = number
        .map(str::trim)
        .filter(|n| !n.is_empty() && !NO_NUMBER.contains(n))
    else {
        return Ok(());
    };
    let mut q = Sql::new(&format!(
        "SELECT id AS \"id\" FROM {table} WHERE lower({column}) = "
    ));
    q.bind(n.to_lowercase());
    if let Some(id) = own_id {
        q.push(" AND id <> ").bind(id);
    }
    if tx.fetch_optional(q).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "{field} {n} is not unique: another person has it"
        )));
    }
    Ok(())
}

/// The uniqueness rules of a record's numbers (GMC and GDC numbers), in `tx`.
pub async fn check_unique(
    tx: &mut Tx,
    rec: &'static Record,
    obj: &Obj,
    own_id: Option<i64>,
) -> Result<(), ApiError> {
    let num = |f: &str| obj.get(f).and_then(Json::as_str).map(str::to_owned);
    if std::ptr::eq(rec, &GMC) {
        unique_number(
            tx,
            "gmc_details",
            "gmc_number",
            "gmcNumber",
            num("gmcNumber").as_deref(),
            own_id,
        )
        .await?;
    } else if std::ptr::eq(rec, &GDC) {
        unique_number(
            tx,
            "gdc_details",
            "gdc_number",
            "gdcNumber",
            num("gdcNumber").as_deref(),
            own_id,
        )
        .await?;
    }
    Ok(())
}

/// The original's `X-tcsApp-alert: tcsApp.{entity}.{action}` and `X-tcsApp-params: {params}`.
pub fn alert(headers: &mut http::HeaderMap, entity: &str, action: &str, params: &str) {
    let pairs = [
        (
            format!("x-{}-alert", APP.to_ascii_lowercase()),
            format!("{APP}.{entity}.{action}"),
        ),
        (
            format!("x-{}-params", APP.to_ascii_lowercase()),
            params.to_owned(),
        ),
    ];
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
}
