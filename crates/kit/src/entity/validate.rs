//! Checking a record against its descriptor, and turning its fields into bound values.
//!
//! Types are already right when we get here (the typed DTO refused `"trainingGrade": "yes"`
//! with a field error); what is left are the rules the type cannot say: required fields,
//! blank text, lengths, date formats, and that a reference names an id.

use serde_json::{Map, Value as Json};
use tis_core::FieldError;
use tis_store::Value;

use super::{Descriptor, Field, IdKind, Kind};

/// Parses `YYYY-MM-DD` (and the original's `dd-MM-yyyy` for filters).
pub fn parse_date(text: &str) -> Option<time::Date> {
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let uk = time::macros::format_description!("[day]-[month]-[year]");
    time::Date::parse(text.trim(), &iso)
        .or_else(|_| time::Date::parse(text.trim(), &uk))
        .ok()
}

/// Parses an instant: RFC 3339 (`2019-03-04T10:11:12Z`, `…+01:00`), or the form Jackson
/// wrote `java.util.Date` in (`2019-03-04T10:11:12.000+0000`). The result is in UTC.
pub fn parse_timestamp(text: &str) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    let jackson = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][offset_minute]"
    );
    time::OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(text, &jackson))
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// The messages of the checks below, and the Bean Validation constraint each stands for (the
/// `message` of an original `fieldErrors` entry, see [`constraint_of`]).
pub const MUST_NOT_BE_NULL: &str = "must not be null";
pub const MUST_NOT_BE_BLANK: &str = "must not be blank";

/// The Bean Validation constraint name the original reported for a field error with this
/// message (`NotNull`, `Size`…), for the original's `fieldErrors` bodies.
pub fn constraint_of(message: &str) -> &'static str {
    if message == MUST_NOT_BE_NULL {
        "NotNull"
    } else if message == MUST_NOT_BE_BLANK {
        "NotBlank"
    } else if message.starts_with("size must be") {
        "Size"
    } else if message.starts_with("must be a date") || message.starts_with("must be a UUID") {
        "typeMismatch"
    } else if message.contains("cannot already have an id") {
        "Null"
    } else {
        "Valid"
    }
}

/// The field errors of `record` (a DTO as a JSON object), each named `{prefix}{json}`.
pub fn validate(
    desc: &'static Descriptor,
    record: &Map<String, Json>,
    prefix: &str,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for f in desc.fields {
        let name = format!("{prefix}{}", f.json);
        let value = record.get(f.json).unwrap_or(&Json::Null);
        if value.is_null() {
            if f.required && !f.generated && !f.defaults_false && f.default.is_none() {
                errors.push(FieldError::new(name, MUST_NOT_BE_NULL));
            }
            continue;
        }
        match (f.kind, value) {
            (Kind::Text, Json::String(s)) => {
                if f.required && s.trim().is_empty() {
                    errors.push(FieldError::new(name, MUST_NOT_BE_BLANK));
                } else if s.chars().count() > f.max_len {
                    errors.push(FieldError::new(
                        name,
                        format!("size must be at most {}", f.max_len),
                    ));
                }
            }
            (Kind::Date, Json::String(s)) if parse_date(s).is_none() => {
                errors.push(FieldError::new(name, "must be a date as YYYY-MM-DD"));
            }
            (Kind::Timestamp, Json::String(s)) if parse_timestamp(s).is_none() => {
                errors.push(FieldError::new(
                    name,
                    "must be a date and time as RFC 3339 (2019-03-04T10:11:12Z)",
                ));
            }
            (Kind::Uuid, Json::String(s)) if uuid::Uuid::parse_str(s.trim()).is_err() => {
                errors.push(FieldError::new(name, "must be a UUID"));
            }
            (Kind::Enum(names), value) if f.set && enum_set(names, value).is_none() => {
                errors.push(FieldError::new(
                    name,
                    format!("must be a list of values out of {}", names.join(", ")),
                ));
            }
            (Kind::Enum(names), Json::String(s)) if !f.set && !names.contains(&s.as_str()) => {
                errors.push(FieldError::new(
                    name,
                    format!("must be one of {}", names.join(", ")),
                ));
            }
            (Kind::Ref(target), Json::Object(o)) => {
                let id = o.get("id").unwrap_or(&Json::Null);
                if id_value(target.id, id).is_none() {
                    errors.push(FieldError::new(
                        name,
                        format!("must name an existing {} by its id", target.name),
                    ));
                }
            }
            _ => {}
        }
    }
    errors
}

/// A set of names (a JSON array of strings out of `names`) as stored: comma-separated, in
/// the order of `names`, each once. `None` when `value` is not such an array.
pub fn enum_set(names: &[&str], value: &Json) -> Option<String> {
    let items = value.as_array()?;
    let given: Vec<&str> = items.iter().map(Json::as_str).collect::<Option<_>>()?;
    if given.iter().any(|g| !names.contains(g)) {
        return None;
    }
    let kept: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| given.contains(n))
        .collect();
    Some(kept.join(","))
}

/// A stored set of names (see [`enum_set`]) as its JSON array.
pub fn enum_set_json(stored: &Json) -> Json {
    match stored {
        Json::String(s) => Json::Array(
            s.split(',')
                .filter(|n| !n.is_empty())
                .map(|n| Json::from(n.to_owned()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An id as a bound value, if it has the right shape for `kind`.
pub fn id_value(kind: IdKind, id: &Json) -> Option<Value> {
    match (kind, id) {
        (IdKind::Long, Json::Number(n)) => n.as_i64().map(Value::Int),
        (IdKind::Uuid, Json::String(s)) => uuid::Uuid::parse_str(s).ok().map(Value::Uuid),
        _ => None,
    }
}

/// A numeric id as a path or list writes it: plain digits (`42`, spaces around allowed), no
/// sign (`+1` and `-1` are not ids: Rust's `parse` would take `+1` as 1, so `/grades/+1`
/// answered grade 1), and within `i64`.
pub fn plain_id(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An id given as text (a path segment, a list item), if it has the right shape.
pub fn id_from_text(kind: IdKind, text: &str) -> Option<Value> {
    let text = text.trim();
    match kind {
        IdKind::Long => plain_id(text).map(Value::Int),
        IdKind::Uuid => uuid::Uuid::parse_str(text).ok().map(Value::Uuid),
    }
}

/// The bound value of a field of a validated record; an absent value is a NULL of the
/// field's type (see `tis_store::sql` for why the type matters).
pub fn bind_value(f: &Field, value: Option<&Json>) -> Value {
    let value = match (f.kind, value.unwrap_or(&Json::Null)) {
        (Kind::Enum(names), v) if f.set => enum_set(names, v).map(Value::Text),
        (Kind::Text | Kind::Enum(_), Json::String(s)) => Some(Value::Text(s.clone())),
        (Kind::Long, Json::Number(n)) => n.as_i64().map(Value::Int),
        (Kind::Bool, Json::Bool(b)) => Some(Value::Bool(*b)),
        (Kind::Uuid, Json::String(s)) => uuid::Uuid::parse_str(s.trim()).ok().map(Value::Uuid),
        (Kind::Date, Json::String(s)) => parse_date(s).map(Value::Date),
        (Kind::Timestamp, Json::String(s)) => parse_timestamp(s).map(Value::Timestamp),
        (Kind::Bool, Json::Null) if f.defaults_false => Some(Value::Bool(false)),
        (Kind::Ref(target), Json::Object(o)) => o.get("id").and_then(|id| id_value(target.id, id)),
        _ => None,
    };
    match (value, f.default) {
        (Some(v), _) => v,
        (None, Some(default)) => Value::Text(default.to_owned()),
        (None, None) => Value::NullOf(f.kind.sql_type()),
    }
}

/// Why a filter or look-up value does not fit its column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid value for {field}: {expected}")]
pub struct BadValue {
    pub field: String,
    pub value: String,
    pub expected: String,
}

/// Converts text from a query (a filter value) into the bound value of `f`'s column.
pub fn value_from_text(f: &Field, text: &str) -> Result<Value, BadValue> {
    let bad = |expected: &str| BadValue {
        field: f.json.to_owned(),
        value: text.chars().take(64).collect(),
        expected: expected.to_owned(),
    };
    match f.kind {
        Kind::Text => Ok(Value::Text(text.to_owned())),
        Kind::Enum(names) => names
            .iter()
            .find(|n| **n == text)
            .map(|n| Value::Text((*n).to_owned()))
            .ok_or_else(|| bad(&format!("one of {}", names.join(", ")))),
        Kind::Long => text
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| bad("a whole number")),
        Kind::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad("true or false")),
        },
        Kind::Uuid => uuid::Uuid::parse_str(text.trim())
            .map(Value::Uuid)
            .map_err(|_| bad("a UUID")),
        Kind::Date => parse_date(text)
            .map(Value::Date)
            .ok_or_else(|| bad("a date as YYYY-MM-DD")),
        Kind::Timestamp => parse_timestamp(text)
            .map(Value::Timestamp)
            .ok_or_else(|| bad("a date and time as RFC 3339")),
        Kind::Ref(target) => id_from_text(target.id, text).ok_or_else(|| bad("an id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{GRADE, SITE};
    use serde_json::json;

    fn map(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn ids_are_plain_digits() {
        assert_eq!(plain_id("42"), Some(42));
        assert_eq!(plain_id(" 7 "), Some(7));
        for bad in [
            "+1",
            "-1",
            "1e3",
            "0x1",
            "",
            " ",
            "1 2",
            "99999999999999999999",
        ] {
            assert_eq!(plain_id(bad), None, "{bad:?}");
        }
        assert_eq!(id_from_text(IdKind::Long, "+1"), None);
    }

    #[test]
    fn required_blank_and_long_fields_are_named() {
        let long = "x".repeat(300);
        let errors = validate(
            &SITE,
            &map(json!({"siteCode": "  ", "siteName": long, "startDate": "31/12/2020"})),
            "[2].",
        );
        let named: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, vec!["[2].siteCode", "[2].siteName", "[2].startDate"]);
        assert_eq!(errors[0].message, "must not be blank");
    }

    #[test]
    fn missing_required_booleans_are_null_errors() {
        let errors = validate(&GRADE, &map(json!({"abbreviation": "F1"})), "");
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors.iter().all(|e| e.message == "must not be null"));
    }

    #[test]
    fn filter_values_are_typed_by_their_column() {
        let status = SITE.field("status").expect("status");
        assert_eq!(
            value_from_text(status, "CURRENT"),
            Ok(Value::Text("CURRENT".into()))
        );
        assert!(value_from_text(status, "current").is_err());
        let trust = SITE.field("trustId").expect("trustId");
        assert_eq!(value_from_text(trust, "12"), Ok(Value::Int(12)));
        assert!(value_from_text(trust, "twelve").is_err());
        let start = SITE.field("startDate").expect("startDate");
        assert_eq!(
            value_from_text(start, "10-10-2017"),
            Ok(Value::Date(time::macros::date!(2017 - 10 - 10)))
        );
    }
}
