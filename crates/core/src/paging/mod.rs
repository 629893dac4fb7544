//! Lists in pages, as Spring's `Pageable` and JHipster's `PaginationUtil` did them, so that
//! every TIS service reads the same `page`/`size`/`sort` and answers with the same headers.
//!
//! - `page` (0-based, default 0) and `size` (default and maximum set by the service; a `size`
//!   above the maximum is a 400, never silently clamped, so a client learns the limit);
//! - `sort=field[,field…][,asc|desc]`, repeatable: `sort=a,b,desc` sorts both descending
//!   (Spring's form); each field is a client-facing name looked up in the list's allow-list,
//!   which maps it to whatever the service sorts by (a column, a descriptor field). A list
//!   with an empty allow-list has a fixed order and refuses `sort` rather than ignore it;
//! - every other parameter is the service's own (a search, filters): [`ListParams::parse_with`]
//!   hands it over in order, so the first bad parameter is the one reported, whoever owns it;
//! - the answer's `X-Total-Count` and RFC 5988 `Link` headers: [`headers`] and [`link`].
//!
//! This module knows no domain: the allow-list, the limits and which parameters the links
//! carry are the service's [`Rules`]. Every input parses or is a [`PagingError`] (a 400
//! `invalid_query`), never a panic, however long or strange; offsets beyond what a database
//! can count (`page × size` > `i64::MAX`) are refused rather than overflowed.

mod links;

use http::StatusCode;

use crate::error::HttpError;

pub use links::{TOTAL_COUNT, basic_headers, headers, link};

/// A page: 0-based number and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: u64,
    pub size: u64,
}

impl Page {
    /// Rows before this page (saturating; parsed pages never saturate).
    pub fn offset(self) -> u64 {
        self.number.saturating_mul(self.size)
    }

    /// How many pages `total` rows fill (a size of 0 counts as 1).
    pub fn total_pages(self, total: u64) -> u64 {
        total.div_ceil(self.size.max(1))
    }
}

/// One sort term: an allow-listed field and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<F> {
    pub field: F,
    pub descending: bool,
}

/// Which parameters, besides `sort`, the `Link` URLs carry (`page` and `size` never: each
/// link sets its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry<'a> {
    /// Every parameter, known or not (so a link repeats the request exactly).
    All,
    /// Only these (the service's own list parameters); unknown ones are dropped.
    Only(&'a [&'a str]),
}

impl Carry<'_> {
    fn keeps(self, name: &str) -> bool {
        match self {
            Carry::All => true,
            Carry::Only(names) => names.contains(&name),
        }
    }
}

/// What a list accepts: a service's limits and its sort allow-list.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a, F> {
    /// `size` when none is given (kept within 1 ..= `max_size`).
    pub default_size: u64,
    /// The largest `size` accepted; more is [`PagingError::PageTooLarge`].
    pub max_size: u64,
    /// The most sort terms, over all `sort` parameters together.
    pub max_sort_terms: usize,
    /// Client-facing name → what the service sorts by. Empty: the list has a fixed order.
    pub sortable: &'a [(&'a str, F)],
    pub carry: Carry<'a>,
}

impl<'a> Rules<'a, ()> {
    /// A list of fixed order, at most 10 sort terms once sortable, carrying every parameter.
    pub fn new(default_size: u64, max_size: u64) -> Self {
        Rules {
            default_size,
            max_size,
            max_sort_terms: 10,
            sortable: &[],
            carry: Carry::All,
        }
    }
}

impl<'a, F> Rules<'a, F> {
    /// The same rules, sortable by `sortable`.
    pub fn sortable<G>(self, sortable: &'a [(&'a str, G)]) -> Rules<'a, G> {
        Rules {
            default_size: self.default_size,
            max_size: self.max_size,
            max_sort_terms: self.max_sort_terms,
            sortable,
            carry: self.carry,
        }
    }

    pub fn max_sort_terms(self, max: usize) -> Self {
        Rules {
            max_sort_terms: max,
            ..self
        }
    }

    pub fn carry(self, carry: Carry<'a>) -> Self {
        Rules { carry, ..self }
    }
}

/// Why list parameters were refused; each is a 400 `invalid_query` naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error("`{name}` must be a whole number from {min}, not `{value}`")]
    NotANumber {
        name: &'static str,
        /// The first 32 characters of what was sent.
        value: String,
        min: u64,
    },
    #[error("`size` must be at most {max}")]
    PageTooLarge { max: u64 },
    #[error("`page` is beyond any result")]
    PageOutOfRange,
    #[error("cannot sort by `{0}`: not a sortable field")]
    UnknownSortField(String),
    #[error("`sort` is not supported here: this list has a fixed order")]
    NotSortable,
    #[error("`{0}` is not a sort direction (asc or desc)")]
    BadDirection(String),
    #[error("too many sort terms (at most {max})")]
    TooManySorts { max: usize },
}

impl From<PagingError> for HttpError {
    fn from(err: PagingError) -> Self {
        HttpError::new(
            StatusCode::BAD_REQUEST,
            crate::error::code::INVALID_QUERY,
            err.to_string(),
        )
    }
}

/// The first `n` characters of client text, for a message.
fn shown(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams<F> {
    pub page: Page,
    /// In the order given.
    pub sort: Vec<Sort<F>>,
    /// The parameters the `Link` URLs carry, in the order given (see [`Carry`]).
    pub carried: Vec<(String, String)>,
}

impl<F: Copy> ListParams<F> {
    /// Parses `page`, `size` and `sort` of `params`; other parameters are only carried.
    pub fn parse(params: &[(String, String)], rules: &Rules<'_, F>) -> Result<Self, PagingError> {
        Self::parse_with(params, rules, |_, _| Ok::<(), PagingError>(()))
    }

    /// Parses `page`, `size` and `sort`, and hands every other parameter, in order, to
    /// `other` (a service's own search or filters), stopping at the first error of either.
    pub fn parse_with<E: From<PagingError>>(
        params: &[(String, String)],
        rules: &Rules<'_, F>,
        mut other: impl FnMut(&str, &str) -> Result<(), E>,
    ) -> Result<Self, E> {
        let mut page = Page {
            number: 0,
            size: rules.default_size.min(rules.max_size).max(1),
        };
        let mut sort = Vec::new();
        let mut carried = Vec::new();
        for (name, value) in params {
            match name.as_str() {
                "page" => page.number = number("page", value, 0)?,
                "size" => {
                    page.size = number("size", value, 1)?;
                    if page.size > rules.max_size {
                        return Err(PagingError::PageTooLarge {
                            max: rules.max_size,
                        }
                        .into());
                    }
                }
                "sort" => {
                    sort.extend(sort_terms(value, rules.sortable, rules.max_sort_terms)?);
                    if sort.len() > rules.max_sort_terms {
                        return Err(PagingError::TooManySorts {
                            max: rules.max_sort_terms,
                        }
                        .into());
                    }
                    carried.push((name.clone(), value.clone()));
                }
                _ => {
                    other(name, value)?;
                    if rules.carry.keeps(name) {
                        carried.push((name.clone(), value.clone()));
                    }
                }
            }
        }
        if page
            .number
            .checked_mul(page.size)
            .is_none_or(|offset| offset > i64::MAX as u64)
        {
            return Err(PagingError::PageOutOfRange.into());
        }
        Ok(ListParams {
            page,
            sort,
            carried,
        })
    }

    /// `X-Total-Count` and `Link` for this page of `total` rows at `path`.
    pub fn headers(&self, path: &str, total: u64) -> http::HeaderMap {
        headers(path, self.page, total, &self.carried)
    }
}

fn number(name: &'static str, value: &str, min: u64) -> Result<u64, PagingError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| PagingError::NotANumber {
            name,
            value: shown(value, 32),
            min,
        })
}

/// One `sort` value: `field[,field…][,asc|desc]`, each field found in `sortable`.
pub fn sort_terms<F: Copy>(
    value: &str,
    sortable: &[(&str, F)],
    max_terms: usize,
) -> Result<Vec<Sort<F>>, PagingError> {
    // Bounded before anything is collected: a value of a million commas costs nothing.
    let mut parts: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .take(max_terms.saturating_add(2))
        .collect();
    if parts.len() > max_terms.saturating_add(1) {
        return Err(PagingError::TooManySorts { max: max_terms });
    }
    let mut descending = false;
    if let Some(last) = parts.last() {
        if last.eq_ignore_ascii_case("desc") {
            descending = true;
            parts.pop();
        } else if last.eq_ignore_ascii_case("asc") {
            parts.pop();
        }
    }
    if parts.is_empty() && value.contains(',') && !value.trim().is_empty() {
        return Err(PagingError::BadDirection(shown(value, 32)));
    }
    if !parts.is_empty() && sortable.is_empty() {
        return Err(PagingError::NotSortable);
    }
    parts
        .into_iter()
        .map(|name| {
            sortable
                .iter()
                .find(|(allowed, _)| *allowed == name)
                .map(|&(_, field)| Sort { field, descending })
                .ok_or_else(|| PagingError::UnknownSortField(shown(name, 64)))
        })
        .collect()
}

/// A raw query string as (name, value) pairs, decoded, in order, repeated names kept.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests;
