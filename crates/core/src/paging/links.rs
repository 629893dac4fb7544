//! The page headers of JHipster's `PaginationUtil`: `X-Total-Count`, and an RFC 5988 `Link`
//! with `next` (when there is a next page), `prev` (when not on the first), `last` and
//! `first`, in that order, comma-separated without spaces, exactly as the original wrote them
//! (the TIS UI splits on `,` and reads `rel`). Unlike the original, each URL keeps the
//! request's other parameters (the service says which, see [`super::Carry`]), so that
//! following a link stays in the same result.

use http::{HeaderMap, HeaderName, HeaderValue, header};

use super::Page;

/// The total number of rows of the list, over all pages.
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
    let total_pages = page.total_pages(total);
    let mut out = String::new();
    let mut push = |number: u64, rel: &str| {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&format!(
            "<{}>; rel=\"{rel}\"",
            uri(path, number, size, carried)
        ));
    };
    if page.number.saturating_add(1) < total_pages {
        push(page.number + 1, "next");
    }
    if page.number > 0 {
        push(page.number - 1, "prev");
    }
    push(total_pages.saturating_sub(1), "last");
    push(0, "first");
    out
}

/// `X-Total-Count` and `Link` for `page` of `total` rows at `path`, exposed to browsers
/// (`Access-Control-Expose-Headers`) as the original did.
pub fn headers(path: &str, page: Page, total: u64, carried: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(TOTAL_COUNT, HeaderValue::from(total));
    // Every byte of the value is a URL-encoded query or the service's own path, so this only
    // fails for a path that is not a valid header value; then the header is left out.
    if let Ok(v) = HeaderValue::from_str(&link(path, page, total, carried)) {
        h.insert(header::LINK, v);
    }
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Total-Count, Link"),
    );
    h
}

/// The original's "basic" page headers (`generateBasicPaginationHttpHeaders`), for lists too
/// large to count on every request (TCS's people): no `X-Total-Count`, and a `Link` with only
/// `next` when there is a next page (known by fetching one row more than the page), else an
/// empty `Link`.
pub fn basic_headers(
    path: &str,
    page: Page,
    has_next: bool,
    carried: &[(String, String)],
) -> HeaderMap {
    let mut h = HeaderMap::new();
    let value = if has_next {
        format!(
            "<{}>; rel=\"next\"",
            uri(
                path,
                page.number.saturating_add(1),
                page.size.max(1),
                carried
            )
        )
    } else {
        String::new()
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(header::LINK, v);
    }
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Link"),
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_basic_headers_link_only_next_and_count_nothing() {
        let carried = [("searchQuery".to_owned(), "smi th".to_owned())];
        let h = basic_headers(
            "/tcs/api/people",
            Page {
                number: 2,
                size: 20,
            },
            true,
            &carried,
        );
        assert_eq!(
            h[header::LINK],
            "</tcs/api/people?page=3&size=20&searchQuery=smi+th>; rel=\"next\""
        );
        assert!(h.get(TOTAL_COUNT).is_none());
        let last = basic_headers(
            "/tcs/api/people",
            Page {
                number: 2,
                size: 20,
            },
            false,
            &[],
        );
        assert_eq!(
            last[header::LINK],
            "",
            "present and empty, as the original sent it"
        );
    }

    #[test]
    fn a_middle_page_links_next_prev_last_and_first_in_that_order() {
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
    fn the_last_page_has_no_next() {
        let l = link("/x", Page { number: 2, size: 2 }, 5, &[]);
        assert!(l.starts_with("</x?page=1&size=2>; rel=\"prev\","), "{l}");
        assert!(!l.contains("next"), "{l}");
    }

    #[test]
    fn carried_parameters_are_encoded() {
        let carried = vec![(
            "columnFilters".to_owned(),
            r#"{"status":["CURRENT"]}"#.to_owned(),
        )];
        let l = link("/x", Page { number: 0, size: 1 }, 2, &carried);
        assert!(
            l.starts_with("</x?page=1&size=1&columnFilters=%7B%22status%22%3A%5B%22CURRENT%22%5D%7D>; rel=\"next\","),
            "{l}"
        );
    }

    #[test]
    fn the_headers_carry_the_total_the_links_and_expose_both() {
        let h = headers("/x", Page { number: 0, size: 2 }, 3, &[]);
        assert_eq!(h[&TOTAL_COUNT], "3");
        assert!(
            h[header::LINK]
                .to_str()
                .expect("ascii")
                .contains("rel=\"next\"")
        );
        assert_eq!(
            h[header::ACCESS_CONTROL_EXPOSE_HEADERS],
            "X-Total-Count, Link"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_page_and_carried_text_make_a_valid_header_that_ends_with_first(
            number in any::<u64>(),
            size in any::<u64>(),
            total in any::<u64>(),
            carried in proptest::collection::vec(("\\PC{0,20}", "\\PC{0,40}"), 0..4),
        ) {
            let h = headers("/p", Page { number, size }, total, &carried);
            let link = h.get(header::LINK).expect("a Link header").to_str().expect("ascii");
            prop_assert!(link.ends_with("rel=\"first\""), "{}", link);
            prop_assert!(link.contains("rel=\"last\""), "{}", link);
        }
    }
}
