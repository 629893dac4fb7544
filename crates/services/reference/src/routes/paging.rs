//! The page headers of Spring/JHipster's `PaginationUtil`: `X-Total-Count` and an RFC 5988
//! `Link` header with `next` (when there is a next page), `prev` (when not on the first),
//! `last` and `first`, in that order, comma-separated without spaces, exactly as the
//! original wrote them. Unlike the original, each URL keeps the request's `sort`,
//! `searchQuery` and `columnFilters`, so that following a link stays in the same result.

use http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::repo::Page;

pub const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");

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

    #[test]
    fn a_middle_page_links_every_way() {
        let l = link("/reference/api/grades", Page { number: 1, size: 2 }, 5, &[]);
        assert_eq!(
            l,
            "</reference/api/grades?page=2&size=2>; rel=\"next\",\
             </reference/api/grades?page=0&size=2>; rel=\"prev\",\
             </reference/api/grades?page=2&size=2>; rel=\"last\",\
             </reference/api/grades?page=0&size=2>; rel=\"first\""
        );
    }

    #[test]
    fn an_empty_result_links_first_and_last_to_page_zero() {
        let l = link(
            "/x",
            Page {
                number: 0,
                size: 20,
            },
            0,
            &[],
        );
        assert_eq!(
            l,
            "</x?page=0&size=20>; rel=\"last\",</x?page=0&size=20>; rel=\"first\""
        );
    }

    #[test]
    fn the_query_is_carried_encoded() {
        let carried = vec![(
            "columnFilters".to_owned(),
            r#"{"status":["CURRENT"]}"#.to_owned(),
        )];
        let l = link("/x", Page { number: 0, size: 1 }, 2, &carried);
        assert!(l.starts_with("</x?page=1&size=1&columnFilters=%7B%22status%22%3A%5B%22CURRENT%22%5D%7D>; rel=\"next\","), "{l}");
    }
}
