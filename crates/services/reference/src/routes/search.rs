//! The original's searches that answer a `LimitedListResponse` (`{total, messageCode, list}`):
//! at most [`SEARCH_LIMIT`] records (the original's `search.result.limit` default), with
//! `messageCode: "LIMIT_REACHED"` when the list is that long.
//!
//! | route | what it matches |
//! |---|---|
//! | `GET /sites/search?searchString=` | `siteCode`, `trustCode`, `siteName`, `address` or `postCode` contain it (ignoring case); without a search string, every site |
//! | `GET /sites/search-by-trust/{trustCode}?searchString=` | the trust's sites (its code compared ignoring case) whose `siteCode`, `siteName`, `address` or `postCode` contain it; without a search string, the trust's sites |
//! | `GET /trusts/search?searchString=` | `trustName`, `trustKnownAs`, `code`, `postCode` or `address` contain it; an empty string: every trust; no parameter at all: 400 (the original required it) |
//!
//! As in the original, "every site" and "every trust" are not limited (the list is whole and
//! `messageCode` says when it is at least the limit long).

use axum::extract::State;
use http::Uri;
use serde::Serialize;
use tis_auth::Authenticated;
use tis_core::extract::Path;
use tis_core::paging::query_pairs;
use utoipa::ToSchema;

use super::dto::{SITE, SiteDto, TRUST, TrustDto};
use super::{API, AppState};
use crate::domain::{Descriptor, Entity, Field};
use tis_service_kit::ApiError;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::decode;
use tis_service_kit::http::params::MAX_SEARCH_CHARS;
use tis_service_kit::repo::{Filter, ListQuery, Page};

/// The most records a search answers (the original's `search.result.limit` default).
pub const SEARCH_LIMIT: u64 = 100;
/// The original's `LimitedListResponse.LIMIT_REACHED_CODE`.
pub const LIMIT_REACHED: &str = "LIMIT_REACHED";

/// A search answer: the records, how many, and `LIMIT_REACHED` when at least the limit.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitedListResponse<T> {
    pub total: usize,
    pub message_code: Option<&'static str>,
    pub list: Vec<T>,
}

impl<T> LimitedListResponse<T> {
    pub fn new(list: Vec<T>, limit: u64) -> Self {
        let total = list.len();
        LimitedListResponse {
            total,
            message_code: (total as u64 >= limit).then_some(LIMIT_REACHED),
            list,
        }
    }
}

/// The OpenAPI shapes of the two answers.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SiteLimitedList {
    total: i32,
    message_code: Option<String>,
    list: Vec<SiteDto>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TrustLimitedList {
    total: i32,
    message_code: Option<String>,
    list: Vec<TrustDto>,
}

pub fn routes(api: Api) -> Api {
    api.schema::<SiteLimitedList>()
        .schema::<TrustLimitedList>()
        .add(
            Method::Get,
            &format!("{API}/sites/search"),
            search_sites,
            Op::new(
                "Site",
                "Sites whose code, trust code, name, address or post code contain the search string (at most 100)",
            )
            .query(&["searchString"])
            .returns(200, Doc::One("SiteLimitedList".into())),
        )
        .add(
            Method::Get,
            &format!("{API}/sites/search-by-trust/{{trustCode}}"),
            search_sites_of_trust,
            Op::new(
                "Site",
                "A trust's sites whose code, name, address or post code contain the search string (at most 100)",
            )
            .path("trustCode")
            .query(&["searchString"])
            .returns(200, Doc::One("SiteLimitedList".into())),
        )
        .add(
            Method::Get,
            &format!("{API}/trusts/search"),
            search_trusts,
            Op::new(
                "Trust",
                "Trusts whose name, known-as name, code, post code or address contain the search string (at most 100)",
            )
            .query(&["searchString"])
            .returns(200, Doc::One("TrustLimitedList".into())),
        )
}

/// `searchString`, trimmed (`None`: absent; `Some("")`: empty), bounded.
fn search_string(uri: &Uri) -> Result<Option<String>, ApiError> {
    let Some((_, value)) = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "searchString")
    else {
        return Ok(None);
    };
    let value = value.trim().to_owned();
    if value.chars().count() > MAX_SEARCH_CHARS {
        return Err(ApiError::bad_query(format!(
            "`searchString` is longer than {MAX_SEARCH_CHARS} characters"
        )));
    }
    Ok(Some(value))
}

fn fields(d: &'static Descriptor, names: &[&str]) -> Vec<&'static Field> {
    names.iter().filter_map(|n| d.field(n)).collect()
}

/// The records of `q` over `d`: at most `limit` of them when given.
async fn found<E: Entity>(
    st: &AppState,
    d: &'static Descriptor,
    q: &ListQuery,
    limit: Option<u64>,
) -> Result<axum::Json<LimitedListResponse<E>>, ApiError> {
    let rows = match limit {
        Some(size) => st.repo.page(d, q, Page { number: 0, size }).await?.0,
        None => st.repo.list(d, q).await?,
    };
    Ok(axum::Json(LimitedListResponse::new(
        decode::<E>(rows)?,
        SEARCH_LIMIT,
    )))
}

/// `q` searching `term` in `names`, or everything when there is no term.
fn searching(d: &'static Descriptor, term: Option<String>, names: &[&str]) -> ListQuery {
    let mut q = ListQuery::default();
    if let Some(term) = term.filter(|t| !t.is_empty()) {
        q.search = Some(term);
        q.search_in = fields(d, names);
    }
    q
}

async fn search_sites(
    State(st): State<AppState>,
    _who: Authenticated,
    uri: Uri,
) -> Result<axum::Json<LimitedListResponse<SiteDto>>, ApiError> {
    let term = search_string(&uri)?;
    let q = searching(
        &SITE,
        term,
        &["siteCode", "trustCode", "siteName", "address", "postCode"],
    );
    let limit = q.search.is_some().then_some(SEARCH_LIMIT);
    found(&st, &SITE, &q, limit).await
}

async fn search_sites_of_trust(
    State(st): State<AppState>,
    _who: Authenticated,
    Path(trust_code): Path<String>,
    uri: Uri,
) -> Result<axum::Json<LimitedListResponse<SiteDto>>, ApiError> {
    let term = search_string(&uri)?;
    let mut q = searching(
        &SITE,
        term,
        &["siteCode", "siteName", "address", "postCode"],
    );
    if let Some(trust) = SITE.field("trustCode") {
        q.filters.push(Filter::ignoring_case(trust, [trust_code]));
    }
    found(&st, &SITE, &q, Some(SEARCH_LIMIT)).await
}

async fn search_trusts(
    State(st): State<AppState>,
    _who: Authenticated,
    uri: Uri,
) -> Result<axum::Json<LimitedListResponse<TrustDto>>, ApiError> {
    let term = search_string(&uri)?.ok_or_else(|| {
        ApiError::bad_query("`searchString` is required (it may be empty: every trust)")
    })?;
    let q = searching(
        &TRUST,
        Some(term),
        &["trustName", "trustKnownAs", "code", "postCode", "address"],
    );
    let limit = q.search.is_some().then_some(SEARCH_LIMIT);
    found(&st, &TRUST, &q, limit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_reported_when_reached_and_not_before() {
        let under = LimitedListResponse::new(vec![1; 99], 100);
        assert_eq!((under.total, under.message_code), (99, None));
        let at = LimitedListResponse::new(vec![1; 100], 100);
        assert_eq!(at.message_code, Some(LIMIT_REACHED));
        let json = serde_json::to_value(LimitedListResponse::new(vec!["a"], 100)).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"total": 1, "messageCode": null, "list": ["a"]})
        );
    }
}
