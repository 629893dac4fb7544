use proptest::prelude::*;

use super::*;

/// Client name → what a service would sort by (here, a column name).
const SORTABLE: &[(&str, &str)] = &[("lastName", "last_name"), ("firstName", "first_name")];

fn rules() -> Rules<'static, &'static str> {
    Rules::new(20, 50).sortable(SORTABLE).max_sort_terms(5)
}

fn parse(q: &str) -> Result<ListParams<&'static str>, PagingError> {
    ListParams::parse(&query_pairs(Some(q)), &rules())
}

fn terms(p: &ListParams<&'static str>) -> Vec<(&'static str, bool)> {
    p.sort.iter().map(|s| (s.field, s.descending)).collect()
}

#[test]
fn page_and_size_default_and_are_bounded() {
    let p = parse("").expect("defaults");
    assert_eq!(
        p.page,
        Page {
            number: 0,
            size: 20
        }
    );
    assert_eq!(
        parse("page=3&size=50").expect("at the limit").page,
        Page {
            number: 3,
            size: 50
        }
    );
    assert_eq!(
        parse("size=51").unwrap_err(),
        PagingError::PageTooLarge { max: 50 }
    );
    for bad in ["size=0", "page=-1", "page=x", "page=99999999999999999999"] {
        assert!(
            matches!(parse(bad), Err(PagingError::NotANumber { .. })),
            "{bad}"
        );
    }
    assert_eq!(
        parse("page=18446744073709551615&size=2").unwrap_err(),
        PagingError::PageOutOfRange
    );
}

#[test]
fn a_default_size_beyond_the_maximum_is_brought_within_it() {
    let p = ListParams::parse(&[], &Rules::new(100, 10)).expect("defaults");
    assert_eq!(p.page.size, 10);
    let p = ListParams::parse(&[], &Rules::new(0, 10)).expect("defaults");
    assert_eq!(p.page.size, 1);
}

#[test]
fn sorts_are_repeatable_in_springs_form_and_allow_listed() {
    let p = parse("sort=lastName,firstName,DESC&sort=firstName").expect("spring form");
    assert_eq!(
        terms(&p),
        [
            ("last_name", true),
            ("first_name", true),
            ("first_name", false)
        ]
    );
    assert_eq!(
        terms(&parse("sort=lastName,asc").expect("asc")),
        [("last_name", false)]
    );
    assert_eq!(
        parse("sort=password").unwrap_err(),
        PagingError::UnknownSortField("password".into())
    );
    assert_eq!(
        parse("sort=last_name").unwrap_err(),
        PagingError::UnknownSortField("last_name".into()),
        "names are the client's, never the columns"
    );
    assert!(matches!(
        parse("sort=,desc"),
        Err(PagingError::BadDirection(_))
    ));
    assert!(
        parse("sort=desc")
            .expect("a bare direction")
            .sort
            .is_empty()
    );
    assert_eq!(
        parse("sort=lastName,lastName,lastName&sort=firstName,firstName,firstName").unwrap_err(),
        PagingError::TooManySorts { max: 5 }
    );
}

#[test]
fn a_list_of_fixed_order_refuses_sort_rather_than_ignore_it() {
    let fixed = Rules::new(20, 50);
    let err = ListParams::parse(&query_pairs(Some("sort=name")), &fixed).unwrap_err();
    assert_eq!(err, PagingError::NotSortable);
    assert!(ListParams::parse(&query_pairs(Some("page=1")), &fixed).is_ok());
}

#[test]
fn the_links_carry_sort_and_what_the_rules_say_never_page_or_size() {
    let q = query_pairs(Some("page=1&sort=lastName&search=ad&junk=1"));
    let all = ListParams::parse(&q, &rules()).expect("all");
    let names: Vec<&str> = all.carried.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["sort", "search", "junk"]);
    let only = ListParams::parse(&q, &rules().carry(Carry::Only(&["search"]))).expect("only");
    let names: Vec<&str> = only.carried.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["sort", "search"]);
}

#[derive(Debug, PartialEq)]
enum Own {
    Paging(PagingError),
    BadSearch,
}

impl From<PagingError> for Own {
    fn from(e: PagingError) -> Self {
        Own::Paging(e)
    }
}

fn parse_own(q: &str) -> Result<Vec<String>, Own> {
    let mut seen = Vec::new();
    ListParams::parse_with(&query_pairs(Some(q)), &rules(), |name, value| {
        if name == "search" && value.is_empty() {
            return Err(Own::BadSearch);
        }
        seen.push(format!("{name}={value}"));
        Ok(())
    })?;
    Ok(seen)
}

#[test]
fn the_services_own_parameters_are_handed_over_in_order_and_the_first_error_wins() {
    assert_eq!(
        parse_own("a=1&page=2&search=x&b=2").expect("valid"),
        ["a=1", "search=x", "b=2"]
    );
    assert_eq!(parse_own("search=&size=0").unwrap_err(), Own::BadSearch);
    assert!(matches!(
        parse_own("size=0&search="),
        Err(Own::Paging(PagingError::NotANumber { .. }))
    ));
}

#[test]
fn every_refusal_is_a_400_invalid_query_naming_the_parameter() {
    let http = HttpError::from(parse("size=51").unwrap_err());
    assert_eq!(http.status, StatusCode::BAD_REQUEST);
    assert_eq!(http.code, "invalid_query");
    assert!(http.message.contains("`size`"), "{}", http.message);
}

#[test]
fn query_pairs_are_decoded_in_order_with_repeats() {
    assert_eq!(
        query_pairs(Some("sort=a%2Cdesc&sort=b&q=St+Thomas")),
        [
            ("sort".to_owned(), "a,desc".to_owned()),
            ("sort".to_owned(), "b".to_owned()),
            ("q".to_owned(), "St Thomas".to_owned()),
        ]
    );
    assert!(query_pairs(None).is_empty());
}

#[test]
fn page_arithmetic_never_overflows() {
    let p = Page {
        number: u64::MAX,
        size: 3,
    };
    assert_eq!(p.offset(), u64::MAX);
    assert_eq!(Page { number: 0, size: 0 }.total_pages(5), 5);
    assert_eq!(Page { number: 0, size: 2 }.total_pages(5), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_query_string_parses_within_the_rules_or_is_refused(raw in "\\PC{0,300}") {
        if let Ok(p) = parse(&raw) {
            prop_assert!((1..=50).contains(&p.page.size));
            prop_assert!(p.page.offset() <= i64::MAX as u64);
            prop_assert!(p.sort.len() <= 5);
            for s in &p.sort {
                prop_assert!(SORTABLE.iter().any(|(_, column)| *column == s.field));
            }
            prop_assert!(p.carried.iter().all(|(k, _)| k != "page" && k != "size"));
        }
    }

    #[test]
    fn query_shaped_input_parses_within_the_rules_or_is_refused(
        pairs in proptest::collection::vec(
            (prop_oneof!["page", "size", "sort", "\\PC{0,8}"], "\\PC{0,40}"),
            0..8,
        ),
    ) {
        if let Ok(p) = ListParams::parse(&pairs, &rules()) {
            prop_assert!((1..=50).contains(&p.page.size));
            prop_assert!(p.sort.len() <= 5);
        }
    }

    #[test]
    fn very_long_unicode_in_every_parameter_is_refused_or_parsed_never_panicked_on(
        c in "\\PC",
        n in 5_000usize..20_000,
    ) {
        let long: String = std::iter::repeat_n(c.as_str(), n).collect();
        for name in ["page", "size", "sort", "search"] {
            let params = vec![(name.to_owned(), long.clone())];
            match ListParams::parse(&params, &rules()) {
                Ok(p) => prop_assert!(p.sort.len() <= 5 && p.page.size <= 50),
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(message.chars().count() < 200, "{}", message);
                }
            }
        }
        let with_commas = format!("{long},{long},desc");
        prop_assert!(sort_terms(&with_commas, SORTABLE, 5).is_err());
        let many = ",lastName".repeat(n);
        prop_assert_eq!(
            sort_terms(&many, SORTABLE, 5).unwrap_err(),
            PagingError::TooManySorts { max: 5 }
        );
    }

    #[test]
    fn following_next_gives_the_next_page_of_the_same_list(
        number in 0u64..1000,
        size in 1u64..=50,
        extra in 1u64..1000,
        search in "\\PC{0,30}",
        descending in any::<bool>(),
    ) {
        let direction = if descending { "desc" } else { "asc" };
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("page", &number.to_string())
            .append_pair("size", &size.to_string())
            .append_pair("sort", &format!("lastName,{direction}"))
            .append_pair("search", &search)
            .finish();
        let p = parse(&query).expect("valid");
        let total = (number + 1) * size + extra;
        let link = p.headers("/list", total)[http::header::LINK]
            .to_str()
            .expect("ascii")
            .to_owned();
        let next = link
            .split(',')
            .find(|l| l.ends_with("rel=\"next\""))
            .and_then(|l| l.strip_prefix("</list?"))
            .and_then(|l| l.split_once('>'))
            .map(|(q, _)| q.to_owned())
            .expect("a next link");
        let followed = parse(&next).expect("the next link parses");
        prop_assert_eq!(followed.page, Page { number: number + 1, size });
        prop_assert_eq!(&followed.sort, &p.sort);
        prop_assert_eq!(&followed.carried, &p.carried);
    }
}
