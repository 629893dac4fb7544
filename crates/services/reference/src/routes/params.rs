//! The list parameters of the original (Spring's `Pageable` plus TIS's `searchQuery` and
//! `columnFilters`), parsed at the boundary into a typed [`ListRequest`] or a [`ParamError`]
//! (always a 400, never a panic, whatever the input).
//!
//! - `page` (0-based, default 0) and `size` (default 20, at most the configured maximum);
//! - `sort=field,asc|desc`, repeatable; `sort=a,b,desc` sorts both descending (Spring's
//!   form); the field is a JSON name found in the entity's allow-list;
//! - `searchQuery`: free text, case-insensitive "contains" over the searchable columns; a
//!   JSON string (`"abc"`) is unquoted and percent-escapes are decoded, as the original's
//!   `StringConverter` did; LIKE wildcards in it match literally;
//! - `columnFilters`: a JSON object of column → list of values (percent-encoded once more,
//!   or not); values in one column are OR'ed, columns AND'ed; each value is typed by its
//!   column (an unknown enum value, a bad number or date is a 400, where the original
//!   silently dropped it); an empty list puts no condition.

use percent_encoding::percent_decode_str;
use serde_json::Value as Json;

use crate::domain::Descriptor;
use crate::domain::validate::{BadValue, value_from_text};
use crate::repo::{Filter, ListQuery, Page, Sort};

/// The longest `searchQuery`, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// The longest `columnFilters` document, in bytes.
pub const MAX_FILTER_BYTES: usize = 16 * 1024;
/// The most values in one filter column, and the most `sort` terms.
pub const MAX_FILTER_VALUES: usize = 1000;
pub const MAX_SORT_TERMS: usize = 10;

/// Why list parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("`{name}` must be a whole number from {min}, not `{value}`")]
    NotANumber {
        name: &'static str,
        value: String,
        min: u64,
    },
    #[error("`size` must be at most {max}")]
    PageTooLarge { max: u64 },
    #[error("cannot sort by `{0}`: not a sortable field")]
    UnknownSortField(String),
    #[error("`{0}` is not a sort direction (asc or desc)")]
    BadDirection(String),
    #[error("too many sort terms (at most {MAX_SORT_TERMS})")]
    TooManySorts,
    #[error("`searchQuery` is longer than {MAX_SEARCH_CHARS} characters")]
    SearchTooLong,
    #[error("`columnFilters` is not a JSON object of column → list of values: {0}")]
    MalformedFilters(String),
    #[error("cannot filter by `{0}`: not a filterable column")]
    UnknownFilterColumn(String),
    #[error("{0}")]
    BadFilterValue(#[from] BadValue),
}

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub query: ListQuery,
    pub page: Page,
    /// The parameters to carry into the `Link` header's URLs (all but page and size).
    pub carried: Vec<(String, String)>,
}

/// The raw query string as (name, value) pairs, in order; repeated names kept.
pub fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn number(name: &'static str, value: &str, min: u64) -> Result<u64, ParamError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| ParamError::NotANumber {
            name,
            value: value.chars().take(32).collect(),
            min,
        })
}

/// Parses the list parameters of `desc` (unknown parameters are ignored, as Spring did).
pub fn list_request(
    desc: &'static Descriptor,
    params: &[(String, String)],
    default_size: u64,
    max_size: u64,
) -> Result<ListRequest, ParamError> {
    let mut page = Page {
        number: 0,
        size: default_size.min(max_size).max(1),
    };
    let mut query = ListQuery::default();
    let mut carried = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "page" => page.number = number("page", value, 0)?,
            "size" => {
                page.size = number("size", value, 1)?;
                if page.size > max_size {
                    return Err(ParamError::PageTooLarge { max: max_size });
                }
            }
            "sort" => {
                query.sort.extend(sort(desc, value)?);
                if query.sort.len() > MAX_SORT_TERMS {
                    return Err(ParamError::TooManySorts);
                }
                carried.push((name.clone(), value.clone()));
            }
            "searchQuery" => {
                query.search = search(value)?;
                carried.push((name.clone(), value.clone()));
            }
            "columnFilters" => {
                query.filters.extend(column_filters(desc, value)?);
                carried.push((name.clone(), value.clone()));
            }
            _ => {}
        }
    }
    // Offsets beyond what a database can count are refused rather than overflowed.
    if page
        .number
        .checked_mul(page.size)
        .is_none_or(|o| o > i64::MAX as u64)
    {
        return Err(ParamError::NotANumber {
            name: "page",
            value: page.number.to_string(),
            min: 0,
        });
    }
    Ok(ListRequest {
        query,
        page,
        carried,
    })
}

/// One `sort` parameter: `field[,field…][,asc|desc]`.
pub fn sort(desc: &'static Descriptor, value: &str) -> Result<Vec<Sort>, ParamError> {
    let mut parts: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > MAX_SORT_TERMS + 1 {
        return Err(ParamError::TooManySorts);
    }
    let mut descending = false;
    if let Some(last) = parts.last() {
        match last.to_ascii_lowercase().as_str() {
            "asc" => {
                parts.pop();
            }
            "desc" => {
                descending = true;
                parts.pop();
            }
            _ => {}
        }
    }
    if parts.is_empty() && !value.trim().is_empty() && value.contains(',') {
        return Err(ParamError::BadDirection(value.chars().take(32).collect()));
    }
    parts
        .into_iter()
        .map(|name| {
            desc.field(name)
                .filter(|f| f.sort)
                .map(|field| Sort { field, descending })
                .ok_or_else(|| ParamError::UnknownSortField(name.chars().take(64).collect()))
        })
        .collect()
}

/// `searchQuery`: unquoted, percent-decoded, trimmed, bounded. `None` when empty.
pub fn search(value: &str) -> Result<Option<String>, ParamError> {
    let mut text = value.trim().to_owned();
    if text.len() >= 2
        && text.starts_with('"')
        && text.ends_with('"')
        && let Ok(Json::String(inner)) = serde_json::from_str::<Json>(&text)
    {
        text = inner;
    }
    if text.contains('%')
        && let Ok(decoded) = percent_decode_str(&text).decode_utf8()
    {
        text = decoded.into_owned();
    }
    let text = text.trim();
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(ParamError::SearchTooLong);
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// `columnFilters`: typed filters over the filterable columns of `desc`.
pub fn column_filters(desc: &'static Descriptor, value: &str) -> Result<Vec<Filter>, ParamError> {
    let malformed = |m: &str| ParamError::MalformedFilters(m.to_owned());
    if value.len() > MAX_FILTER_BYTES {
        return Err(malformed("too long"));
    }
    let mut text = value.trim().to_owned();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if !text.starts_with('{') {
        text = percent_decode_str(&text)
            .decode_utf8()
            .map_err(|_| malformed("not UTF-8 after decoding"))?
            .into_owned();
    }
    let doc: Json = serde_json::from_str(&text).map_err(|e| malformed(&e.to_string()))?;
    let Json::Object(columns) = doc else {
        return Err(malformed("not an object"));
    };
    let mut filters = Vec::new();
    for (column, values) in columns {
        let field = desc
            .field(&column)
            .filter(|f| f.filter)
            .ok_or_else(|| ParamError::UnknownFilterColumn(column.chars().take(64).collect()))?;
        let values = match values {
            Json::Array(v) => v,
            _ => return Err(malformed(&format!("the value of `{column}` is not a list"))),
        };
        if values.len() > MAX_FILTER_VALUES {
            return Err(malformed(&format!("more than {MAX_FILTER_VALUES} values")));
        }
        if values.is_empty() {
            continue;
        }
        let mut typed = Vec::with_capacity(values.len());
        for v in values {
            let text = match v {
                Json::String(s) => s,
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                _ => return Err(malformed(&format!("a value of `{column}` is not a scalar"))),
            };
            typed.push(value_from_text(field, &text)?);
        }
        filters.push(Filter::new(field, typed));
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::dto::SITE;
    use proptest::prelude::*;
    use tis_store::Value;

    fn req(q: &str) -> Result<ListRequest, ParamError> {
        list_request(&SITE, &pairs(Some(q)), 20, 500)
    }

    #[test]
    fn paging_defaults_and_limits() {
        let r = req("").expect("defaults");
        assert_eq!(
            r.page,
            Page {
                number: 0,
                size: 20
            }
        );
        assert_eq!(
            req("page=3&size=500").expect("ok").page,
            Page {
                number: 3,
                size: 500
            }
        );
        assert_eq!(
            req("size=501").unwrap_err(),
            ParamError::PageTooLarge { max: 500 }
        );
        assert!(matches!(req("size=0"), Err(ParamError::NotANumber { .. })));
        assert!(matches!(req("page=-1"), Err(ParamError::NotANumber { .. })));
        assert!(matches!(
            req("page=99999999999999999999"),
            Err(ParamError::NotANumber { .. })
        ));
        assert!(matches!(
            req("page=18446744073709551615&size=2"),
            Err(ParamError::NotANumber { .. })
        ));
    }

    #[test]
    fn sorts_are_repeatable_and_use_json_names() {
        let r = req("sort=siteName,desc&sort=siteCode").expect("ok");
        let terms: Vec<_> = r
            .query
            .sort
            .iter()
            .map(|s| (s.field.column, s.descending))
            .collect();
        assert_eq!(terms, vec![("site_name", true), ("site_code", false)]);
        let both = sort(&SITE, "siteName,siteCode,DESC").expect("spring form");
        assert!(both.iter().all(|s| s.descending));
        assert_eq!(
            req("sort=site_name").unwrap_err(),
            ParamError::UnknownSortField("site_name".into())
        );
        assert!(matches!(
            req("sort=address"),
            Err(ParamError::UnknownSortField(_))
        ));
        assert!(matches!(
            req("sort=,desc"),
            Err(ParamError::BadDirection(_))
        ));
    }

    #[test]
    fn search_is_unquoted_decoded_and_bounded() {
        assert_eq!(search("  \"Guy's\" ").expect("ok"), Some("Guy's".into()));
        assert_eq!(search("St%20Thomas").expect("ok"), Some("St Thomas".into()));
        assert_eq!(search("50%").expect("ok"), Some("50%".into()));
        assert_eq!(search("   ").expect("ok"), None);
        assert_eq!(search(&"é".repeat(201)), Err(ParamError::SearchTooLong));
    }

    #[test]
    fn column_filters_are_typed_or_refused() {
        let f = column_filters(&SITE, r#"{"status":["CURRENT","INACTIVE"],"trustId":[3]}"#)
            .expect("ok");
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].values, vec![Value::Int(3)]);
        let encoded = "%7B%22localOffice%22%3A%5B%22Wessex%22%5D%7D";
        assert_eq!(
            column_filters(&SITE, encoded).expect("encoded")[0]
                .field
                .json,
            "localOffice"
        );
        assert!(
            column_filters(&SITE, r#"{"status":[]}"#)
                .expect("empty")
                .is_empty()
        );
        assert!(matches!(
            column_filters(&SITE, r#"{"nope":["x"]}"#),
            Err(ParamError::UnknownFilterColumn(_))
        ));
        assert!(matches!(
            column_filters(&SITE, r#"{"address":["x"]}"#),
            Err(ParamError::UnknownFilterColumn(_))
        ));
        assert!(matches!(
            column_filters(&SITE, r#"{"status":["LIVE"]}"#),
            Err(ParamError::BadFilterValue(_))
        ));
        assert!(matches!(
            column_filters(&SITE, r#"{"status":"CURRENT"}"#),
            Err(ParamError::MalformedFilters(_))
        ));
        assert!(matches!(
            column_filters(&SITE, "{status"),
            Err(ParamError::MalformedFilters(_))
        ));
        assert!(matches!(
            column_filters(&SITE, "[1]"),
            Err(ParamError::MalformedFilters(_))
        ));
        assert!(matches!(
            column_filters(&SITE, r#"{"status":[null]}"#),
            Err(ParamError::MalformedFilters(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_query_string_parses_or_is_a_param_error(raw in ".{0,300}") {
            let _ = req(&raw);
        }

        #[test]
        fn any_column_filters_parse_or_are_refused(raw in "\\PC{0,400}") {
            if let Ok(filters) = column_filters(&SITE, &raw) {
                for f in filters {
                    prop_assert!(f.field.filter);
                }
            }
        }

        #[test]
        fn json_shaped_column_filters_never_panic(
            keys in proptest::collection::vec("[a-zA-Z_]{0,12}", 0..6),
            vals in proptest::collection::vec("\\PC{0,20}", 0..6),
        ) {
            let doc: serde_json::Map<String, Json> = keys
                .iter()
                .map(|k| (k.clone(), Json::Array(vals.iter().cloned().map(Json::String).collect())))
                .collect();
            let _ = column_filters(&SITE, &Json::Object(doc).to_string());
        }

        #[test]
        fn any_sort_parses_to_sortable_fields_or_is_refused(raw in "\\PC{0,200}") {
            if let Ok(terms) = sort(&SITE, &raw) {
                for t in terms {
                    prop_assert!(t.field.sort);
                }
            }
        }

        #[test]
        fn any_search_is_bounded_or_refused(raw in "\\PC{0,600}") {
            match search(&raw) {
                Ok(Some(text)) => prop_assert!(text.chars().count() <= MAX_SEARCH_CHARS),
                Ok(None) => {}
                Err(e) => prop_assert_eq!(e, ParamError::SearchTooLong),
            }
        }

        #[test]
        fn very_long_unicode_input_is_refused_not_panicked_on(c in "\\PC", n in 5_000usize..20_000) {
            let long: String = std::iter::repeat_n(c.as_str(), n).collect();
            prop_assert!(search(&long).is_err() || long.trim().is_empty() || long.chars().count() <= MAX_SEARCH_CHARS);
            prop_assert!(column_filters(&SITE, &long).map_or(true, |f| f.is_empty()));
            let _ = sort(&SITE, &long);
        }
    }
}
