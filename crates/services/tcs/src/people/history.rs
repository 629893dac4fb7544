//! A person's change history (`GET /people/{id}/history`, beyond the original): every write
//! to a person's records adds, in its own transaction, one `person_history` row per field that
//! changed: who, when, which record and field, old → new. Values are stored as written;
//! sensitive ones are masked on read by the same rule as the records themselves.
//!
//! Writers describe a record before and after as JSON objects (its DTO, JSON field names) and
//! call [`record`]; [`diff`] finds the fields that changed. A created record has no "before",
//! a deleted one no "after".
//!
//! ```ignore
//! let changes = history::diff(Some(&before), Some(&after), &["amendedDate"]);
//! history::record(&mut tx, person_id, who.user_name(), "contactDetails", &changes).await?;
//! ```
//!
//! The reader, `GET /people/{id}/history` (person View; scoped: 404 out of scope), answers a
//! page (`page`, `size`; `X-Total-Count`, `Link`) of entries, newest first:
//! `{id, changedAt, userName, record, field, oldValue, newValue, masked}`. For a caller
//! without `personsensitive:view:entities`, the sensitive personal details' values are `null`
//! and `masked` is `true` ([`super::sensitive`]).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::Uri;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tis_auth::Authenticated;
use tis_core::paging::{ListParams, Rules, query_pairs};
use tis_service_kit::ApiError;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_store::{Sql, StoreError, Tx};

use super::record_routes::{answer, parse_id};
use super::records::{id_of, no_person};
use super::sensitive;
use crate::domain::scope::Scope;
use crate::routes::{API, PERSON_VIEW_GUARD, Tcs};

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The JSON field name (`surname`), or a path within the record (`curriculumMemberships[0].curriculumId`).
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The fields whose values differ between `before` and `after` (either may be absent: a
/// created or deleted record), in field order, skipping `ignore` (timestamps the server sets).
/// Nested objects and lists are compared as their JSON text.
pub fn diff(
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    ignore: &[&str],
) -> Vec<Change> {
    let empty = Map::new();
    let (b, a) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| !ignore.contains(&f.as_str()))
        .filter_map(|f| {
            let (old, new) = (text(b.get(f)), text(a.get(f)));
            (old != new).then(|| Change {
                field: f.clone(),
                old,
                new,
            })
        })
        .collect()
}

/// A value as the history shows it: strings as they are, other values as JSON, null and
/// absent as nothing.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Adds `changes` of `record` (`contactDetails`, `programmeMembership`…) of person
/// `person_id`, made by `user`, now, in `tx`. Nothing when `changes` is empty.
pub async fn record(
    tx: &mut Tx,
    person_id: i64,
    user: &str,
    record: &str,
    changes: &[Change],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let now = tis_store::Value::Timestamp(OffsetDateTime::now_utc());
    let mut q = Sql::new(
        "INSERT INTO person_history (person_id, changed_at, user_name, record, field, old_value, new_value) VALUES ",
    );
    for (i, c) in changes.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(");
        q.bind(person_id);
        q.push(", ");
        q.bind(now.clone());
        q.push(", ");
        q.bind(user.to_owned());
        q.push(", ");
        q.bind(record.to_owned());
        q.push(", ");
        q.bind(c.field.clone());
        q.push(", ");
        q.bind(c.old.clone());
        q.push(", ");
        q.bind(c.new.clone());
        q.push(")");
    }
    tx.execute(q).await?;
    Ok(())
}

/// The reader's route.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    api.add(
        Method::Get,
        &format!("{API}/people/{{id}}/history"),
        read,
        Op::new(
            "Person",
            "A page of a person's change history, newest first (beyond the original)",
        )
        .path("id")
        .query(&["page", "size"])
        .returns(200, Doc::None)
        .guard(PERSON_VIEW_GUARD),
    )
}

/// `GET /people/{id}/history`.
async fn read(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
    uri: Uri,
) -> Response {
    let r = async {
        let id = parse_id(&raw)?;
        let rules: Rules<'_, ()> = Rules::new(tcs.kit.limits.default_page_size, tcs.kit.limits.max_page_size);
        let params = ListParams::parse(&query_pairs(uri.query()), &rules)?;
        let db = tcs.kit.repo.db();
        let mut q = Sql::new("SELECT p.id AS \"id\" FROM person p WHERE p.id = ");
        q.bind(id);
        Scope::of(&who).restrict_people(&mut q, "p");
        if db.read().fetch_keyed(q, 1).await?.is_empty() {
            return Err(no_person(id));
        }
        let mut q = Sql::new(
            r#"SELECT id AS "id", changed_at AS "changedAt", user_name AS "userName", record AS "record", field AS "field", old_value AS "oldValue", new_value AS "newValue" FROM person_history WHERE person_id = "#,
        );
        q.bind(id)
            .push(" ORDER BY id DESC LIMIT ")
            .bind(i64::try_from(params.page.size).unwrap_or(i64::MAX))
            .push(" OFFSET ")
            .bind(i64::try_from(params.page.offset()).unwrap_or(i64::MAX));
        let rows = db.read().fetch_all(q).await?;
        let mut count = Sql::new("SELECT COUNT(*) AS \"id\" FROM person_history WHERE person_id = ");
        count.bind(id);
        let total = db.read().fetch_one(count).await.map(|r| id_of(&r).unwrap_or(0))?;
        let entries: Vec<Map<String, Value>> = rows
            .into_iter()
            .map(|mut e| {
                let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                let masked = sensitive::masked_in_history(&who, &text("record"), &text("field"));
                if masked {
                    e.insert("oldValue".into(), Value::Null);
                    e.insert("newValue".into(), Value::Null);
                }
                e.insert("masked".into(), Value::Bool(masked));
                e
            })
            .collect();
        let headers = params.headers(&format!("/api/people/{id}/history"), u64::try_from(total).unwrap_or(0));
        Ok::<_, ApiError>((headers, axum::Json(entries)).into_response())
    }
    .await;
    answer("PersonDTO", r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_fields_are_listed_and_ignored_ones_never() {
        let before = json!({"surname": "Shah", "email": null, "amendedDate": "a", "n": 1});
        let after = json!({"surname": "Shaw", "email": "x@nhs.net", "amendedDate": "b", "n": 1});
        let changes = diff(before.as_object(), after.as_object(), &["amendedDate"]);
        assert_eq!(
            changes,
            [
                Change {
                    field: "email".into(),
                    old: None,
                    new: Some("x@nhs.net".into())
                },
                Change {
                    field: "surname".into(),
                    old: Some("Shah".into()),
                    new: Some("Shaw".into())
                },
            ]
        );
        let created = diff(None, after.as_object(), &["amendedDate"]);
        assert_eq!(created.len(), 3, "{created:?}");
        assert!(diff(None, None, &[]).is_empty());
    }
}
