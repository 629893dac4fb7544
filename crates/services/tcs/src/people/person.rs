//! The Person aggregate (`PersonDTO`): the person's own fields, their one-to-one records
//! ([`super::records`]), qualifications and programme memberships (read from their tables;
//! written through their own routes), and who owns the record (`currentOwner`,
//! `currentOwnerRule`, derived by [`super::refresh`]).
//!
//! | route | guard | answer |
//! |---|---|---|
//! | `GET /people/{id}` | `hasRole('ETL') or` person View | the person, 404 unknown or out of scope |
//! | `GET /people/v2/{id}` | person View | `PersonV2DTO`: no qualifications, memberships, trainer approvals; `nationalInsuranceNumber` always null |
//! | `GET /people/in/{ids}` | person View | **302** with the people in scope, by id |
//! | `GET /people/phn/in/{phns}` | person View | **302** with the people of those public health numbers in scope |
//! | `POST /people` | person Create | 201 + `Location: /api/people/{id}`; creates every one-to-one record (empty when not given), as the original; duplicates: 409 `possible_duplicate` unless `?allowDuplicate=true` |
//! | `PUT /people` | person Update | `id` required (400); 404 unknown or out of scope; the person's fields and the records given replaced |
//! | `PATCH /people` | `hasPermission('tis:people::person:consolidated_etl', 'Update')` | a list: no id creates, an id updates; all or nothing |
//! | `PATCH /bulk-people` | person Update | a list of partial people (non-null fields change): **per item**, as the original: each answered with its `messageList`, those with messages not saved |
//! | `DELETE /people/{id}` | `tcs:delete:entities` | 200; the person and their records go |
//! | `POST /people/ownership` | person Update | 200 at once (`X-tcsApp-params: procedure is underway`); every person's owner re-derived in the background |
//!
//! Validation (the original's `PersonValidator` and the records' validators): `status`
//! required; `role` required ("Role is required.") and each of its comma-separated roles a
//! Reference role; `publicHealthNumber` without spaces and not another person's (409);
//! GMC/GDC numbers not another person's (409); the nested records as their own routes check
//! them. `qualifications` and `programmeMemberships` in a body are ignored (their routes
//! write them).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri, header};
use serde_json::{Value as Json, json};
use time::OffsetDateTime;
use tis_auth::{Authenticated, Principal};
use tis_core::FieldError;
use tis_core::paging::query_pairs;
use tis_reference_client::RefType;
use tis_service_kit::ApiError;
use tis_service_kit::entity;
use tis_service_kit::entity::{Kind, STATUS, Status};
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::repo::query::select_list;
use tis_store::{Db, Sql, Tx, Value};

use super::basic::parse_ids;
use super::record_routes::{
    DELETE_GUARD, PERSON_CREATE_GUARD, PERSON_UPDATE_GUARD, answer, bulk_items, parse_id, shown,
    today,
};
use super::records::{
    self, GDC, GMC, Obj, PERSONAL, RECORDS, Record, alert, body_json, fetch, id_of, merged,
    no_person, person_in_scope, select_in,
};
use super::{history, refresh, sensitive};
use crate::domain::owners::{LONDON_LETBS, owners_of};
use crate::domain::scope::Scope;
use crate::reference::Refs;
use crate::routes::{API, PERSON_VIEW_GUARD, Tcs};

entity! {
    /// A person's own fields (`PersonDTO` without its nested records, which are
    /// `contactDetails`, `personalDetails`, `gmcDetails`, `gdcDetails`, `rightToWork`,
    /// `qualifications`, `programmeMemberships`, `trainerApprovals` and `messageList`).
    PersonDto / PERSON { name: "Person", plural: "people", table: "person", id: i64 = Long, code: None }
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .max(50);
    /// Set by the server when the person is created.
    added_date "addedDate": String => "added_date" (Kind::Timestamp);
    /// Set by the server on every save.
    amended_date "amendedDate": String => "amended_date" (Kind::Timestamp);
    /// Comma-separated Reference role codes (`DR in Training`).
    role "role": String => "role" (Kind::Text) .max(1000);
    status "status": Status => "status" (Kind::Enum(STATUS));
    comments "comments": String => "comments" (Kind::Text) .max(4000);
    inactive_date "inactiveDate": String => "inactive_date" (Kind::Timestamp);
    inactive_notes "inactiveNotes": String => "inactive_notes" (Kind::Text) .max(4000);
    public_health_number "publicHealthNumber": String => "public_health_number" (Kind::Text) .max(50);
    regulator "regulator": String => "regulator" (Kind::Text) .max(50);
    /// Who owns the record (a local office), derived: rules P1…P9 (docs/tcs.md "Ownership").
    current_owner "currentOwner": String => "current_owner" (Kind::Text);
    /// The rule that made `currentOwner` (`P1`, `P5`, `P7`, `P9`).
    current_owner_rule "currentOwnerRule": String => "current_owner_rule" (Kind::Text);
}

/// `PersonDTO` as the person routes answer it (the OpenAPI document's `PersonRecordDto`): the
/// person's own fields ([`PersonDto`]) with their records and lists (`NESTED`). The answer
/// is assembled as JSON ([`load_people`]); this type describes it, and a test compares its
/// properties with a real answer's keys.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // describes the answer; never built
pub struct PersonRecordDto {
    #[serde(flatten)]
    person: PersonDto,
    contact_details: Option<records::ContactDetailsDto>,
    /// The sensitive fields null without `personsensitive:view:entities`.
    personal_details: Option<records::PersonalDetailsDto>,
    gmc_details: Option<records::GmcDetailsDto>,
    gdc_details: Option<records::GdcDetailsDto>,
    right_to_work: Option<records::RightToWorkDto>,
    /// Not in `/people/v2/{id}`.
    qualifications: Vec<crate::memberships::qualification::QualificationDto>,
    /// Latest start first. Not in `/people/v2/{id}`.
    programme_memberships: Vec<crate::memberships::programme::ProgrammeMembershipDto>,
    /// Always empty. Not in `/people/v2/{id}`.
    #[schema(value_type = Vec<Object>)]
    trainer_approvals: Vec<Json>,
    /// Not in `/people/v2/{id}`.
    message_list: Vec<String>,
}

/// The fields of `PersonDTO` beyond [`PERSON`]'s: its nested records and lists.
const NESTED: &[&str] = &[
    "contactDetails",
    "personalDetails",
    "gmcDetails",
    "gdcDetails",
    "rightToWork",
    "qualifications",
    "programmeMemberships",
    "trainerApprovals",
    "messageList",
];

/// `hasPermission('tis:people::person:consolidated_etl', 'Update')`.
pub const CONSOLIDATED_ETL_GUARD: Guard =
    Guard::Permission("tis:people::person:consolidated_etl", "Update");
/// `hasRole('ETL') or hasPermission('tis:people::person:', 'View')`.
pub static PERSON_BY_ID_GUARD: Guard = Guard::RoleOr("ETL", &PERSON_VIEW_GUARD);

/// The error code of a create refused as a possible duplicate.
pub const POSSIBLE_DUPLICATE: &str = "possible_duplicate";

const OBJECT: &str = "PersonDTO";

/// The person routes beyond the list and basic details.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let one = || Doc::One("PersonRecordDto".into());
    let many = || Doc::Many("PersonRecordDto".into());
    api.schema::<PersonDto>()
        .schema::<PersonRecordDto>()
        .add(
            Method::Get,
            &format!("{API}/people/{{id}}"),
            get_one,
            Op::new("Person", "One person with their records, memberships, qualifications and owner")
                .path("id")
                .returns(200, one())
                .guard(PERSON_BY_ID_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/v2/{{id}}"),
            get_v2,
            Op::new("Person", "One person (PersonV2DTO: no qualifications or memberships; no NI number)")
                .path("id")
                .returns(200, one())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/in/{{ids}}"),
            get_many,
            Op::new("Person", "The people of a comma-separated id list (302, as the original)")
                .path("ids")
                .returns(302, many())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/phn/in/{{publicHealthNumbers}}"),
            get_by_phn,
            Op::new("Person", "The people of a comma-separated list of public health numbers (302)")
                .path("publicHealthNumbers")
                .returns(302, many())
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Post,
            &format!("{API}/people"),
            create,
            Op::new("Person", "Creates a person and their records; 409 possible_duplicate unless allowDuplicate=true")
                .query(&["allowDuplicate"])
                .body(one())
                .returns(201, one())
                .guard(PERSON_CREATE_GUARD)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/people"),
            update,
            Op::new("Person", "Updates a person and the records given")
                .body(one())
                .returns(200, one())
                .guard(PERSON_UPDATE_GUARD)
                .idempotent(),
        )
        .add(
            Method::Patch,
            &format!("{API}/people"),
            patch_people,
            Op::new("Person", "Creates (no id) or updates each person of a list, all or nothing")
                .body(many())
                .returns(200, many())
                .guard(CONSOLIDATED_ETL_GUARD)
                .idempotent(),
        )
        .add(
            Method::Patch,
            &format!("{API}/bulk-people"),
            bulk_people,
            Op::new("Person", "Changes the non-null fields of each person; each answered with its messageList")
                .body(many())
                .returns(200, many())
                .guard(PERSON_UPDATE_GUARD)
                .idempotent(),
        )
        .add(
            Method::Delete,
            &format!("{API}/people/{{id}}"),
            delete,
            Op::new("Person", "Deletes a person and their records")
                .path("id")
                .guard(DELETE_GUARD),
        )
        .add(
            Method::Post,
            &format!("{API}/people/ownership"),
            ownership,
            Op::new("Person", "Re-derives every person's owner, in the background")
                .guard(PERSON_UPDATE_GUARD)
                .idempotent(),
        )
}

// ---------------------------------------------------------------------------------------
// Reading

/// The people `ids` within `scope` as `PersonDTO`s (as `who` may see them), in id order.
pub async fn load_people(
    db: &Db,
    primary: bool,
    who: &Principal,
    scope: &Scope,
    ids: &[i64],
) -> Result<Vec<Obj>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(&format!(
        "SELECT {} FROM person p WHERE p.id IN ",
        select_list(&PERSON)
    ));
    q.bind_list(ids.iter().copied());
    scope.restrict_people(&mut q, "p");
    q.push(" ORDER BY p.id");
    let mut people = if primary {
        db.write().fetch_all(q).await?
    } else {
        db.read().fetch_keyed(q, ids.len()).await?
    };
    let found: Vec<i64> = people.iter().filter_map(id_of).collect();
    if found.is_empty() {
        return Ok(Vec::new());
    }
    for rec in RECORDS {
        let rows = fetch(db, primary, select_in(rec.desc, &found)).await?;
        for person in &mut people {
            let id = id_of(person);
            let row = rows.iter().find(|r| id_of(r) == id).cloned();
            person.insert(
                rec.name.into(),
                row.map_or(Json::Null, |r| Json::Object(shown(who, rec, r))),
            );
        }
    }
    let mut q = Sql::new(
        r#"SELECT id AS "id", person_id AS "personId", intrepid_id AS "intrepidId", qualification AS "qualification", qualification_type AS "qualificationType", qualification_attained_date AS "qualificationAttainedDate", medical_school AS "medicalSchool", country_of_qualification AS "countryOfQualification", amended_date AS "amendedDate" FROM qualification WHERE person_id IN "#,
    );
    q.bind_list(found.iter().copied());
    q.push(" ORDER BY id");
    let qualifications = fetch(db, primary, q).await?;
    let memberships = crate::memberships::programme::of_people(db, primary, &found).await?;
    for person in &mut people {
        let id = id_of(person);
        let of = |rows: &[Obj]| {
            rows.iter()
                .filter(|r| r.get("personId").and_then(Json::as_i64) == id)
                .map(|r| {
                    let mut r = r.clone();
                    r.remove("personId");
                    r.insert("person".into(), json!({ "id": id }));
                    Json::Object(r)
                })
                .collect::<Vec<_>>()
        };
        person.insert("qualifications".into(), Json::Array(of(&qualifications)));
        let theirs = memberships
            .iter()
            .filter(|(p, _)| Some(*p) == id)
            .map(|(_, m)| serde_json::to_value(m).unwrap_or(Json::Null))
            .collect();
        person.insert("programmeMemberships".into(), Json::Array(theirs));
        person.insert("trainerApprovals".into(), Json::Array(Vec::new()));
        person.insert("messageList".into(), Json::Array(Vec::new()));
    }
    Ok(people)
}

/// One person as `who` may see them, or 404.
async fn one(tcs: &Tcs, who: &Principal, id: i64, primary: bool) -> Result<Obj, ApiError> {
    load_people(tcs.kit.repo.db(), primary, who, &Scope::of(who), &[id])
        .await?
        .pop()
        .ok_or_else(|| no_person(id))
}

async fn get_one(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let r = async {
        let person = one(&tcs, &who, parse_id(&raw)?, false).await?;
        Ok(axum::Json(person).into_response())
    }
    .await;
    answer(OBJECT, r)
}

/// `PersonV2DTO`: without the lists, and without the NI number for everyone (the original's
/// `getPersonV2`).
async fn get_v2(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let r = async {
        let mut person = one(&tcs, &who, parse_id(&raw)?, false).await?;
        for f in [
            "qualifications",
            "programmeMemberships",
            "trainerApprovals",
            "messageList",
        ] {
            person.remove(f);
        }
        if let Some(Json::Object(pd)) = person.get_mut("personalDetails") {
            pd.insert("nationalInsuranceNumber".into(), Json::Null);
        }
        Ok(axum::Json(person).into_response())
    }
    .await;
    answer("PersonV2DTO", r)
}

async fn get_many(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let r = async {
        let ids = parse_ids(&raw, tcs.kit.limits.max_items)?;
        let people = load_people(tcs.kit.repo.db(), false, &who, &Scope::of(&who), &ids).await?;
        Ok((StatusCode::FOUND, axum::Json(people)).into_response())
    }
    .await;
    answer(OBJECT, r)
}

async fn get_by_phn(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let r = async {
        let phns: Vec<String> = raw
            .split(',')
            .map(|n| {
                tis_service_kit::http::crud::url_decoded(n)
                    .trim()
                    .to_lowercase()
            })
            .filter(|n| !n.is_empty())
            .collect();
        if phns.is_empty() || phns.len() > tcs.kit.limits.max_items {
            return Err(ApiError::field(
                "publicHealthNumbers",
                format!("between 1 and {} numbers", tcs.kit.limits.max_items),
            ));
        }
        let scope = Scope::of(&who);
        let mut q =
            Sql::new("SELECT p.id AS \"id\" FROM person p WHERE lower(p.public_health_number) IN ");
        q.bind_list(phns);
        scope.restrict_people(&mut q, "p");
        let db = tcs.kit.repo.db();
        let ids: Vec<i64> = db
            .read()
            .fetch_all(q)
            .await?
            .iter()
            .filter_map(id_of)
            .collect();
        let people = load_people(db, false, &who, &scope, &ids).await?;
        Ok((StatusCode::FOUND, axum::Json(people)).into_response())
    }
    .await;
    answer(OBJECT, r)
}

// ---------------------------------------------------------------------------------------
// Writing

/// A person to write: their own fields and the records given.
#[derive(Debug, Clone)]
struct Plan {
    person: Obj,
    records: Vec<(&'static Record, Obj)>,
}

/// Reads `value` as a `PersonDTO` (errors named `{prefix}…`), with the checks that need no
/// database: `id` absent on create and present on update, `status` and `role` required,
/// `publicHealthNumber` without spaces, each nested record's checks.
fn plan(value: &Json, prefix: &str, create: Option<bool>) -> Result<Plan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let person = records::shape(&PERSON, value, prefix, NESTED)?;
    let at = |f: &str| format!("{prefix}{f}");
    match (create, id_of(&person)) {
        (Some(true), Some(_)) => errors.push(FieldError::new(
            at("id"),
            "must be null: a new person cannot already have an id",
        )),
        (Some(false), None) => errors.push(FieldError::new(at("id"), "must not be null")),
        _ => {}
    }
    if create.is_some() && person.get("status").is_none_or(Json::is_null) {
        errors.push(FieldError::new(at("status"), "must not be null"));
    }
    // As the original: the annotations (id, status) fail first, alone; then the validators.
    if !errors.is_empty() {
        return Err(errors);
    }
    if create.is_some()
        && person
            .get("role")
            .and_then(Json::as_str)
            .is_none_or(|r| r.trim().is_empty())
    {
        errors.push(FieldError::new(at("role"), "Role is required."));
    }
    if person
        .get("publicHealthNumber")
        .and_then(Json::as_str)
        .is_some_and(|n| n.chars().any(char::is_whitespace))
    {
        errors.push(FieldError::new(
            at("publicHealthNumber"),
            "publicHealthNumber should not contain any whitespaces",
        ));
    }
    let given = value.as_object().cloned().unwrap_or_default();
    let mut recs = Vec::new();
    for rec in RECORDS {
        match given.get(rec.name) {
            None | Some(Json::Null) => {}
            Some(v) => match rec.read(v, &format!("{prefix}{}.", rec.name), false) {
                Ok(obj) => recs.push((rec, obj)),
                Err(e) => errors.extend(e),
            },
        }
    }
    if errors.is_empty() {
        Ok(Plan {
            person,
            records: recs,
        })
    } else {
        Err(errors)
    }
}

/// The roles of `role`, each trimmed, the original's spellings of "DR in Training"
/// normalised.
fn roles(role: &str) -> Vec<String> {
    role.split([',', ';'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| match r {
            "DRinTraining" | "Dr. in Training" => "DR in Training".to_owned(),
            other => other.to_owned(),
        })
        .collect()
}

/// What is stored of person `id` (their fields and records), from the primary.
async fn stored(db: &Db, id: i64) -> Result<Option<(Obj, Vec<(&'static Record, Obj)>)>, ApiError> {
    let mut q = Sql::new(&format!(
        "SELECT {} FROM person WHERE id = ",
        select_list(&PERSON)
    ));
    q.bind(id);
    let Some(person) = db.write().fetch_optional(q).await? else {
        return Ok(None);
    };
    let mut recs = Vec::new();
    for rec in RECORDS {
        if let Some(r) = fetch(db, true, select_in(rec.desc, &[id])).await?.pop() {
            recs.push((rec, r));
        }
    }
    Ok(Some((person, recs)))
}

/// Names the Reference data of `plan` that differs from `before` (what is stored).
fn name_refs(
    plan: &mut Plan,
    before: Option<&(Obj, Vec<(&'static Record, Obj)>)>,
    prefix: &str,
    refs: &mut Refs,
) {
    if let Some(role) = plan.person.get("role").and_then(Json::as_str) {
        let list = roles(role);
        let joined = list.join(",");
        let old = before
            .and_then(|(p, _)| p.get("role"))
            .and_then(Json::as_str);
        if old != Some(joined.as_str()) {
            for r in &list {
                refs.code(format!("{prefix}role"), RefType::ROLES, Some(r));
            }
        }
        plan.person.insert("role".into(), Json::String(joined));
    }
    for (rec, obj) in &plan.records {
        let old = before
            .and_then(|(_, recs)| recs.iter().find(|(r, _)| std::ptr::eq(*r, *rec)))
            .map(|(_, o)| o);
        rec.name_refs(old, obj, &format!("{prefix}{}.", rec.name), refs);
    }
}

/// The owner a new person is created under (P9): the owner of the caller's first designated
/// body (its own office rather than `London LETBs`); none for a caller without one.
fn created_owner(who: &Principal) -> Option<String> {
    let first = who.profile.designated_body_codes.iter().next()?;
    let owners = owners_of([first.as_str()]);
    owners
        .iter()
        .find(|o| **o != LONDON_LETBS)
        .or_else(|| owners.iter().next())
        .map(|o| (*o).to_owned())
}

/// The person's own fields as the history records them.
fn history_view(person: &Obj) -> Obj {
    person
        .iter()
        .filter(|(k, _)| {
            ![
                "addedDate",
                "amendedDate",
                "currentOwner",
                "currentOwnerRule",
                "id",
            ]
            .contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Writes `plan` in `tx`: a new person (`id` none: every one-to-one record created, empty
/// when not given) or person `id` (in `scope`, else 404). Returns the person's id.
async fn apply(
    tx: &mut Tx,
    who: &Principal,
    scope: &Scope,
    plan: Plan,
    id: Option<i64>,
) -> Result<i64, ApiError> {
    let now = Value::Timestamp(OffsetDateTime::now_utc());
    let (id, before) = match id {
        Some(id) => {
            if !person_in_scope(tx, scope, id).await? {
                return Err(no_person(id));
            }
            let before = records::load(tx, &PERSON, id).await?;
            (id, before)
        }
        None => {
            let mut q = Sql::new("INSERT INTO person (added_date, created_owner) VALUES (");
            q.bind(now)
                .push(", ")
                .bind(created_owner(who))
                .push(r#") RETURNING id AS "id""#);
            let row = tx.fetch_one(q).await?;
            (id_of(&row).unwrap_or_default(), None)
        }
    };
    let phn = plan.person.get("publicHealthNumber").and_then(Json::as_str);
    records::unique_number(
        tx,
        "person",
        "public_health_number",
        "publicHealthNumber",
        phn,
        Some(id),
    )
    .await?;
    records::save(tx, &PERSON, id, &plan.person).await?;
    let changes = history::diff(
        before.as_ref().map(history_view).as_ref(),
        Some(&history_view(&plan.person)),
        &[],
    );
    history::record(tx, id, who.user_name(), "person", &changes).await?;
    let creating = before.is_none();
    for rec in RECORDS {
        let given = plan
            .records
            .iter()
            .find(|(r, _)| std::ptr::eq(*r, rec))
            .map(|(_, o)| o.clone());
        let after = match (given, creating) {
            (Some(obj), _) => obj,
            (None, true) => Obj::new(),
            (None, false) => continue,
        };
        records::check_unique(tx, rec, &after, Some(id)).await?;
        let old = records::load(tx, rec.desc, id).await?;
        records::write(tx, who, rec, id, old.as_ref(), after).await?;
    }
    refresh::refresh(tx, id, today(), false).await?;
    Ok(id)
}

/// Whether the query string says `allowDuplicate=true`.
fn allow_duplicate(uri: &Uri) -> bool {
    query_pairs(uri.query())
        .iter()
        .any(|(k, v)| k == "allowDuplicate" && v.eq_ignore_ascii_case("true"))
}

/// The people that `plan` may duplicate: the same GMC or GDC number, or the same surname and
/// date of birth. 409 `possible_duplicate` listing those the caller may see (ids, names,
/// numbers) when there are any.
async fn duplicates(db: &Db, who: &Principal, plan: &Plan) -> Result<(), Response> {
    let rec = |r: &Record| {
        plan.records
            .iter()
            .find(|(x, _)| std::ptr::eq(*x, r))
            .map(|(_, o)| o)
    };
    let text = |o: Option<&Obj>, f: &str| {
        o.and_then(|o| o.get(f))
            .and_then(Json::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && !records::NO_NUMBER.contains(s))
            .map(str::to_owned)
    };
    let gmc = text(rec(&GMC), "gmcNumber");
    let gdc = text(rec(&GDC), "gdcNumber");
    let surname = text(rec(&records::CONTACT), "surname").map(|s| s.to_lowercase());
    let born = text(rec(&PERSONAL), "dateOfBirth")
        .and_then(|d| tis_service_kit::entity::validate::parse_date(&d));
    let mut q = Sql::new(
        r#"SELECT p.id AS "id", cd.forenames AS "forenames", cd.surname AS "surname", gmc.gmc_number AS "gmcNumber", gdc.gdc_number AS "gdcNumber" FROM person p LEFT JOIN contact_details cd ON cd.id = p.id LEFT JOIN gmc_details gmc ON gmc.id = p.id LEFT JOIN gdc_details gdc ON gdc.id = p.id LEFT JOIN personal_details pd ON pd.id = p.id WHERE (1 = 0"#,
    );
    let mut any = false;
    if let Some(n) = &gmc {
        q.push(" OR gmc.gmc_number = ").bind(n.clone());
        any = true;
    }
    if let Some(n) = &gdc {
        q.push(" OR gdc.gdc_number = ").bind(n.clone());
        any = true;
    }
    if let (Some(s), Some(d)) = (&surname, born) {
        q.push(" OR (lower(cd.surname) = ")
            .bind(s.clone())
            .push(" AND pd.date_of_birth = ")
            .bind(Value::Date(d))
            .push(")");
        any = true;
    }
    if !any {
        return Ok(());
    }
    q.push(")");
    let all = db
        .write()
        .fetch_all(q.clone())
        .await
        .map_err(|e| answer(OBJECT, Err(e.into())))?;
    if all.is_empty() {
        return Ok(());
    }
    Scope::of(who).restrict_people(&mut q, "p");
    q.push(" ORDER BY p.id LIMIT 20");
    let visible = db
        .write()
        .fetch_all(q)
        .await
        .map_err(|e| answer(OBJECT, Err(e.into())))?;
    let err = tis_core::HttpError::new(
        StatusCode::CONFLICT,
        POSSIBLE_DUPLICATE,
        format!(
            "{} existing person(s) have the same GMC or GDC number, or the same surname and date of birth; send allowDuplicate=true to create anyway",
            all.len()
        ),
    );
    let mut body = serde_json::to_value(err.body()).unwrap_or(Json::Null);
    if let Some(Json::Object(e)) = body.get_mut("error") {
        e.insert(
            "candidates".into(),
            Json::Array(visible.into_iter().map(Json::Object).collect()),
        );
    }
    Err((StatusCode::CONFLICT, axum::Json(body)).into_response())
}

/// `POST /people`.
async fn create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let db = tcs.kit.repo.db().clone();
    let r = async {
        let mut plan = plan(&body_json(&body)?, "", Some(true)).map_err(ApiError::Validation)?;
        for (rec, obj) in &mut plan.records {
            if std::ptr::eq(*rec, &PERSONAL) {
                sensitive::protect(&who, None, obj);
            }
        }
        if !allow_duplicate(&uri)
            && let Err(res) = duplicates(&db, &who, &plan).await
        {
            return Ok(res);
        }
        let mut refs = Refs::new();
        name_refs(&mut plan, None, "", &mut refs);
        refs.check(&tcs.reference, &who, &headers).await?;
        let mut tx = db.write().begin().await?;
        let id = apply(&mut tx, &who, &Scope::Everything, plan, None).await?;
        tx.commit().await?;
        let person = load_people(&db, true, &who, &Scope::Everything, &[id])
            .await?
            .pop()
            .unwrap_or_default();
        let mut res = (StatusCode::CREATED, axum::Json(person)).into_response();
        if let Ok(v) = format!("/api/people/{id}").parse() {
            res.headers_mut().insert(header::LOCATION, v);
        }
        alert(res.headers_mut(), "person", "created", &id.to_string());
        Ok(res)
    }
    .await;
    answer(OBJECT, r)
}

/// `PUT /people`.
async fn update(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let db = tcs.kit.repo.db().clone();
    let r = async {
        let mut plan = plan(&body_json(&body)?, "", Some(false)).map_err(ApiError::Validation)?;
        let id = id_of(&plan.person).unwrap_or_default();
        let scope = Scope::of(&who);
        let before = stored(&db, id).await?;
        let mut refs = Refs::new();
        name_refs(&mut plan, before.as_ref(), "", &mut refs);
        refs.check(&tcs.reference, &who, &headers).await?;
        let mut tx = db.write().begin().await?;
        apply(&mut tx, &who, &scope, plan, Some(id)).await?;
        tx.commit().await?;
        let person = one(&tcs, &who, id, true).await?;
        let mut res = axum::Json(person).into_response();
        alert(res.headers_mut(), "person", "updated", &id.to_string());
        Ok(res)
    }
    .await;
    answer(OBJECT, r)
}

/// `PATCH /people`: no id creates, an id updates; every item checked, then all written in one
/// transaction.
async fn patch_people(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let db = tcs.kit.repo.db().clone();
    let r = async {
        let items = bulk_items(&body_json(&body)?, tcs.kit.limits.max_items)?;
        let mut plans = Vec::new();
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let prefix = format!("[{i}].");
            let create = item.get("id").is_none_or(Json::is_null);
            match plan(item, &prefix, Some(create)) {
                Ok(p) => plans.push(p),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let mut refs = Refs::new();
        for (i, p) in plans.iter_mut().enumerate() {
            let before = match id_of(&p.person) {
                Some(id) => stored(&db, id).await?,
                None => None,
            };
            name_refs(p, before.as_ref(), &format!("[{i}]."), &mut refs);
        }
        refs.check(&tcs.reference, &who, &headers).await?;
        let scope = Scope::of(&who);
        let mut tx = db.write().begin().await?;
        let mut ids = Vec::new();
        for p in plans {
            let id = id_of(&p.person);
            ids.push(apply(&mut tx, &who, &scope, p, id).await?);
        }
        tx.commit().await?;
        let people = load_people(&db, true, &who, &Scope::Everything, &ids).await?;
        let mut res = axum::Json(people).into_response();
        let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        alert(res.headers_mut(), "person", "updated", &joined);
        Ok(res)
    }
    .await;
    answer(OBJECT, r)
}

/// `PATCH /bulk-people`: each item a partial person (its non-null fields, and its records'
/// non-null fields, change); each answered with its `messageList` (empty when saved), as the
/// original's bulk upload. Reference down (never-seen values) fails the whole call with 503.
async fn bulk_people(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let db = tcs.kit.repo.db().clone();
    let r = async {
        let items = bulk_items(&body_json(&body)?, tcs.kit.limits.max_items)?;
        let scope = Scope::of(&who);
        let mut out = Vec::new();
        for item in items {
            let mut messages = Vec::new();
            let saved = bulk_one(&tcs, &who, &headers, &scope, &item, &mut messages).await?;
            let mut shown = match saved {
                Some(id) => load_people(&db, true, &who, &scope, &[id])
                    .await?
                    .pop()
                    .unwrap_or_default(),
                None => item.as_object().cloned().unwrap_or_default(),
            };
            shown.insert("messageList".into(), json!(messages));
            out.push(Json::Object(shown));
        }
        let mut res = axum::Json(out).into_response();
        alert(res.headers_mut(), "person", "updated", "bulk");
        Ok(res)
    }
    .await;
    answer(OBJECT, r)
}

/// One item of `PATCH /bulk-people`: `Some(id)` when saved; otherwise the reasons are in
/// `messages`. Only Reference being down (or the database) is an error of the whole call.
async fn bulk_one(
    tcs: &Tcs,
    who: &Principal,
    headers: &HeaderMap,
    scope: &Scope,
    item: &Json,
    messages: &mut Vec<String>,
) -> Result<Option<i64>, ApiError> {
    let text = |errors: Vec<FieldError>| {
        errors
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
    };
    let Some(id) = item.get("id").and_then(Json::as_i64) else {
        messages.push("id: Person id is required.".into());
        return Ok(None);
    };
    let db = tcs.kit.repo.db();
    let before = match stored(db, id).await? {
        Some(b) => b,
        None => {
            messages.push(format!("id: Person with id {id} not found."));
            return Ok(None);
        }
    };
    let partial = match plan(item, "", None) {
        Ok(p) => p,
        Err(e) => {
            messages.extend(text(e));
            return Ok(None);
        }
    };
    let mut full = Plan {
        person: merged(&before.0, &partial.person),
        records: Vec::new(),
    };
    for (rec, obj) in partial.records {
        let old = before
            .1
            .iter()
            .find(|(r, _)| std::ptr::eq(*r, rec))
            .map(|(_, o)| o.clone())
            .unwrap_or_default();
        let after = merged(&old, &obj);
        let errors = (rec.check)(&after, &format!("{}.", rec.name), false);
        if !errors.is_empty() {
            messages.extend(text(errors));
            return Ok(None);
        }
        full.records.push((rec, after));
    }
    let mut refs = Refs::new();
    name_refs(&mut full, Some(&before), "", &mut refs);
    match refs.check(&tcs.reference, who, headers).await {
        Ok(()) => {}
        Err(ApiError::Validation(errors)) => {
            messages.extend(text(errors));
            return Ok(None);
        }
        Err(other) => return Err(other),
    }
    let mut tx = db.write().begin().await?;
    match apply(&mut tx, who, scope, full, Some(id)).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Some(id))
        }
        Err(ApiError::NotFound(_)) => {
            messages.push(format!("id: Person with id {id} not found."));
            Ok(None)
        }
        Err(ApiError::Conflict(m)) => {
            messages.push(m);
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

/// `DELETE /people/{id}`.
async fn delete(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let r = async {
        let id = parse_id(&raw)?;
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        if !person_in_scope(&mut tx, &Scope::of(&who), id).await? {
            return Err(no_person(id));
        }
        let before = records::load(&mut tx, &PERSON, id).await?;
        let mut q = Sql::new("DELETE FROM person WHERE id = ");
        q.bind(id);
        tx.execute(q).await?;
        let changes = history::diff(before.as_ref().map(history_view).as_ref(), None, &[]);
        history::record(&mut tx, id, who.user_name(), "person", &changes).await?;
        tx.commit().await?;
        let mut res = StatusCode::OK.into_response();
        alert(res.headers_mut(), "person", "deleted", &id.to_string());
        Ok(res)
    }
    .await;
    answer(OBJECT, r)
}

/// `POST /people/ownership`: answers at once; re-derives every person's owner (and list row)
/// in the background, 500 people per transaction. The original ran its stored procedure
/// asynchronously the same way; ours is only needed after a change of the rules, since every
/// write already keeps the owner current.
async fn ownership(State(tcs): State<Tcs>) -> Response {
    let db = tcs.kit.repo.db().clone();
    tokio::spawn(async move {
        let mut after = 0_i64;
        loop {
            let mut q = Sql::new("SELECT id AS \"id\" FROM person WHERE id > ");
            q.bind(after).push(" ORDER BY id LIMIT 500");
            let Ok(rows) = db.write().fetch_all(q).await else {
                return;
            };
            let ids: Vec<i64> = rows.iter().filter_map(id_of).collect();
            let Some(last) = ids.last().copied() else {
                return;
            };
            let Ok(mut tx) = db.write().begin().await else {
                return;
            };
            for id in &ids {
                if refresh::refresh(&mut tx, *id, today(), false)
                    .await
                    .is_err()
                {
                    return;
                }
            }
            if tx.commit().await.is_err() {
                return;
            }
            after = last;
        }
    });
    let mut res = StatusCode::OK.into_response();
    alert(
        res.headers_mut(),
        "person",
        "updated",
        "procedure is underway",
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_split_trimmed_and_the_old_spellings_normalised() {
        assert_eq!(
            roles(" DRinTraining; Other ,,"),
            ["DR in Training", "Other"]
        );
    }

    #[test]
    fn a_create_needs_status_and_role_and_no_id() {
        let err = plan(&json!({"id": 3}), "", Some(true)).unwrap_err();
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["id", "status"], "the annotations first, alone");
        let err = plan(&json!({"status": "CURRENT"}), "", Some(true)).unwrap_err();
        assert_eq!(err[0].field, "role");
        let err = plan(
            &json!({"status": "CURRENT", "role": "x", "surname": "y"}),
            "",
            Some(true),
        )
        .unwrap_err();
        assert_eq!(err[0].field, "surname", "unknown fields are named");
        let ok = plan(
            &json!({"status": "CURRENT", "role": "x", "gmcDetails": {"gmcNumber": "1234567"}}),
            "",
            Some(true),
        )
        .expect("valid");
        assert_eq!(ok.records.len(), 1);
        let err = plan(
            &json!({"status": "CURRENT", "role": "x", "gmcDetails": {"gmcNumber": "123"}}),
            "",
            Some(true),
        )
        .unwrap_err();
        assert_eq!(err[0].field, "gmcDetails.gmcNumber");
    }
}
