//! List parameters (Spring's `page`, `size`, `sort=field,asc|desc`) and the page headers of
//! JHipster's `PaginationUtil`: `X-Total-Count` and an RFC 5988 `Link` with `next`, `prev`,
//! `last`, `first`, as Reference writes them (each URL keeps the request's other parameters).
//!
//! The header code is the same as Reference's `routes::paging`; it is small, but it belongs
//! in tis-core (the lead's call), not copied into every service.

use http::{HeaderMap, HeaderName, HeaderValue, header};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::Limits;
use crate::error::ApiError;
use crate::repo::Page;

pub const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");
/// The most `sort` terms accepted.
const MAX_SORT_TERMS: usize = 5;

/// What must be escaped in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// `name` escaped for use as one path segment (`HEE Admin` → `HEE%20Admin`).
pub fn segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub page: Page,
    /// (JSON field name, ascending), in order.
    pub sort: Vec<(String, bool)>,
    /// Parameters other than `page` and `size`, to carry into the links.
    pub carried: Vec<(String, String)>,
}

/// The raw query string as (name, value) pairs, in order.
pub fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn number(name: &str, value: &str, min: u64) -> Result<u64, ApiError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| {
            let shown: String = value.chars().take(32).collect();
            ApiError::bad_query(format!(
                "`{name}` must be a whole number from {min}, not `{shown}`"
            ))
        })
}

/// Parses `page`, `size` and `sort` (unknown parameters are carried, as Spring ignored them).
pub fn list_params(params: &[(String, String)], limits: &Limits) -> Result<ListParams, ApiError> {
    let mut page = Page {
        number: 0,
        size: limits.default_page_size,
    };
    let mut sort = Vec::new();
    let mut carried = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "page" => page.number = number("page", value, 0)?,
            "size" => {
                page.size = number("size", value, 1)?;
                if page.size > limits.max_page_size {
                    return Err(ApiError::bad_query(format!(
                        "`size` must be at most {}",
                        limits.max_page_size
                    )));
                }
            }
            "sort" => {
                let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
                let asc = match parts.last().map(|d| d.to_ascii_lowercase()) {
                    Some(d) if d == "desc" => {
                        parts.pop();
                        false
                    }
                    Some(d) if d == "asc" => {
                        parts.pop();
                        true
                    }
                    _ => true,
                };
                for field in parts.into_iter().filter(|p| !p.is_empty()) {
                    sort.push((field.to_owned(), asc));
                }
                if sort.len() > MAX_SORT_TERMS {
                    return Err(ApiError::bad_query("too many sort terms"));
                }
                carried.push((name.clone(), value.clone()));
            }
            _ => carried.push((name.clone(), value.clone())),
        }
    }
    if page
        .number
        .checked_mul(page.size)
        .is_none_or(|o| o > i64::MAX as u64)
    {
        return Err(ApiError::bad_query("`page` is beyond any result"));
    }
    Ok(ListParams {
        page,
        sort,
        carried,
    })
}

fn uri(path: &str, page: u64, size: u64, carried: &[(String, String)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("page", &page.to_string());
    q.append_pair("size", &size.to_string());
    for (k, v) in carried {
        q.append_pair(k, v);
    }
    format!("{path}?{}", q.finish())
}

/// The `Link` header value for `page` of `total` rows at `path`.
pub fn link(path: &str, page: Page, total: u64, carried: &[(String, String)]) -> String {
    let size = page.size.max(1);
    let total_pages = total.div_ceil(size);
    let mut out = String::new();
    if page.number + 1 < total_pages {
        out.push_str(&format!(
            "<{}>; rel=\"next\",",
            uri(path, page.number + 1, size, carried)
        ));
    }
    if page.number > 0 {
        out.push_str(&format!(
            "<{}>; rel=\"prev\",",
            uri(path, page.number - 1, size, carried)
        ));
    }
    let last = total_pages.saturating_sub(1);
    out.push_str(&format!(
        "<{}>; rel=\"last\",",
        uri(path, last, size, carried)
    ));
    out.push_str(&format!("<{}>; rel=\"first\"", uri(path, 0, size, carried)));
    out
}

/// `X-Total-Count` and `Link` for a page.
pub fn headers(path: &str, page: Page, total: u64, carried: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(TOTAL_COUNT, HeaderValue::from(total));
    if let Ok(v) = HeaderValue::from_str(&link(path, page, total, carried)) {
        h.insert(header::LINK, v);
    }
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Total-Count, Link"),
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        default_page_size: 20,
        max_page_size: 50,
        max_items: 10,
    };

    fn params(q: &str) -> Result<ListParams, ApiError> {
        list_params(&pairs(Some(q)), &LIMITS)
    }

    #[test]
    fn spring_paging_and_sorting_parse() {
        let p = params("page=2&size=5&sort=lastName,firstName,desc&search=ad").expect("valid");
        assert_eq!(p.page, Page { number: 2, size: 5 });
        assert_eq!(
            p.sort,
            vec![
                ("lastName".to_owned(), false),
                ("firstName".to_owned(), false)
            ]
        );
        assert_eq!(p.carried.len(), 2);
    }

    #[test]
    fn bad_numbers_and_oversized_pages_are_400s() {
        for q in [
            "page=-1",
            "size=0",
            "size=51",
            "page=x",
            "page=18446744073709551615&size=50",
        ] {
            assert!(matches!(params(q), Err(ApiError::BadQuery(_))), "{q}");
        }
    }

    #[test]
    fn a_middle_page_links_every_way_and_keeps_the_search() {
        let l = link(
            "/profile/api/hee-users",
            Page { number: 1, size: 2 },
            5,
            &[("search".into(), "ad".into())],
        );
        assert_eq!(
            l,
            "</profile/api/hee-users?page=2&size=2&search=ad>; rel=\"next\",\
             </profile/api/hee-users?page=0&size=2&search=ad>; rel=\"prev\",\
             </profile/api/hee-users?page=2&size=2&search=ad>; rel=\"last\",\
             </profile/api/hee-users?page=0&size=2&search=ad>; rel=\"first\""
        );
    }
}
