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

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tis_store::{Sql, StoreError, Tx};

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
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
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
