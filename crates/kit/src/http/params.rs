//! The list parameters of the original (Spring's `Pageable` plus TIS's `searchQuery` and
//! `columnFilters`), parsed at the boundary into a typed [`ListRequest`] or a [`ParamError`]
//! (always a 400, never a panic, whatever the input).
//!
//! - `page`, `size` and `sort` are tis-core's ([`tis_core::paging`]), with the entity's
//!   descriptor as the allow-list: `sort=field,asc|desc`, repeatable, `sort=a,b,desc` sorts
//!   both descending, the field is a JSON name whose descriptor field is sortable;
//! - `searchQuery`: free text, case-insensitive "contains" over the searchable columns; a
//!   JSON string (`"abc"`) is unquoted and percent-escapes are decoded, as the original's
//!   `StringConverter` did; LIKE wildcards in it match literally;
//! - `columnFilters`: a JSON object of column → list of values (percent-encoded once more,
//!   or not); values in one column are OR'ed, columns AND'ed; each value is typed by its
//!   column (an unknown enum value, a bad number or date is a 400, where the original
//!   silently dropped it); an empty list puts no condition.
//!
//! The `Link` URLs carry `sort`, `searchQuery` and `columnFilters`; other parameters are
//! ignored, as Spring ignored them.

use percent_encoding::percent_decode_str;
use serde_json::Value as Json;
use tis_core::paging::{Carry, ListParams, PagingError, Rules};

use crate::entity::validate::{BadValue, value_from_text};
use crate::entity::{Descriptor, Field};
use crate::repo::{Filter, ListQuery, Page};

/// The longest `searchQuery`, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// The longest `columnFilters` document, in bytes.
pub const MAX_FILTER_BYTES: usize = 16 * 1024;
/// The most values in one filter column, and the most `sort` terms.
pub const MAX_FILTER_VALUES: usize = 1000;
pub const MAX_SORT_TERMS: usize = 10;
/// The parameters of a list besides paging, carried into its links.
const LIST_PARAMS: &[&str] = &["searchQuery", "columnFilters"];

/// Why list parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error(transparent)]
    Paging(#[from] PagingError),
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

/// The sort allow-list of `desc`: its sortable fields (`id` included) by JSON name.
pub fn sortable(desc: &'static Descriptor) -> Vec<(&'static str, &'static Field)> {
    std::iter::once(desc.id_field())
        .chain(desc.fields)
        .filter(|f| f.sort)
        .map(|f| (f.json, f))
        .collect()
}

/// Parses the list parameters of `desc` (unknown parameters are ignored, as Spring did).
pub fn list_request(
    desc: &'static Descriptor,
    params: &[(String, String)],
    default_size: u64,
    max_size: u64,
) -> Result<ListRequest, ParamError> {
    let sortable = sortable(desc);
    let rules = Rules::new(default_size, max_size)
        .sortable(&sortable)
        .max_sort_terms(MAX_SORT_TERMS)
        .carry(Carry::Only(LIST_PARAMS));
    let mut query = ListQuery::default();
    let list = ListParams::parse_with(params, &rules, |name, value| {
        match name {
            "searchQuery" => query.search = search(value)?,
            "columnFilters" => query.filters.extend(column_filters(desc, value)?),
            _ => {}
        }
        Ok::<(), ParamError>(())
    })?;
    query.sort = list.sort;
    Ok(ListRequest {
        query,
        page: list.page,
        carried: list.carried,
    })
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
    use crate::fixtures::SITE;
    use proptest::prelude::*;
    use tis_core::paging::{query_pairs, sort_terms};
    use tis_store::Value;

    fn req(q: &str) -> Result<ListRequest, ParamError> {
        list_request(&SITE, &query_pairs(Some(q)), 20, 500)
    }

    fn sort(value: &str) -> Result<Vec<crate::repo::Sort>, PagingError> {
        sort_terms(value, &sortable(&SITE), MAX_SORT_TERMS)
    }

    fn paging(e: Result<ListRequest, ParamError>) -> PagingError {
        match e {
            Err(ParamError::Paging(p)) => p,
            other => panic!("expected a paging error, got {other:?}"),
        }
    }

    #[test]
    fn the_descriptor_is_the_sort_allow_list_and_the_limits_are_the_services() {
        assert_eq!(
            req("").expect("defaults").page,
            Page {
                number: 0,
                size: 20
            }
        );
        assert_eq!(
            paging(req("size=501")),
            PagingError::PageTooLarge { max: 500 }
        );
        let r = req("sort=siteName,desc&sort=siteCode&sort=id").expect("ok");
        let terms: Vec<_> = r
            .query
            .sort
            .iter()
            .map(|s| (s.field.column, s.descending))
            .collect();
        assert_eq!(
            terms,
            vec![("site_name", true), ("site_code", false), ("id", false)]
        );
        let both = sort("siteName,siteCode,DESC").expect("spring form");
        assert!(both.iter().all(|s| s.descending));
        assert_eq!(
            paging(req("sort=site_name")),
            PagingError::UnknownSortField("site_name".into()),
            "JSON names, never columns"
        );
        assert_eq!(
            paging(req("sort=address")),
            PagingError::UnknownSortField("address".into()),
            "a field that is not sortable"
        );
    }

    #[test]
    fn the_links_carry_search_filters_and_sort_and_the_first_bad_parameter_is_reported() {
        let r = req("searchQuery=guy&junk=1&sort=siteName&page=1&columnFilters={}").expect("ok");
        let carried: Vec<&str> = r.carried.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(carried, ["searchQuery", "sort", "columnFilters"]);
        let long = "é".repeat(201);
        assert_eq!(
            req(&format!("searchQuery={long}&size=0")).unwrap_err(),
            ParamError::SearchTooLong
        );
        assert!(matches!(
            paging(req(&format!("size=0&searchQuery={long}"))),
            PagingError::NotANumber { name: "size", .. }
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
            if let Ok(terms) = sort(&raw) {
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
            let _ = sort(&long);
        }
    }
}
