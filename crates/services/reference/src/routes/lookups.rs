//! The batched look-ups other services make (the original's `reference-client`), generic
//! over the entity and registered for the types the original had them for.
//!
//! | route | types | answer |
//! |---|---|---|
//! | `POST /{t}/ids/exists[/]` | grades, sites, trusts | ids → `{id: bool}` |
//! | `GET /{t}/ids/in?ids=1,2` | grades, sites, trusts, funding-sub-types (UUIDs) | the records |
//! | `POST /sites/ids/in/query` | sites | ids in the body (`[1,2]` or `{"ids":[1,2]}`) → the records |
//! | `GET /{t}/in/{codes}` | grades, sites, trusts, roles | comma-separated codes → the records |
//! | `GET /{t}/code/{code}` | sites, dbcs, trusts, curriculum-sub-types | one record, or 404 |
//! | `POST /{t}/codeexists[/]` | sites, trusts | a code (text) → 302 Found, or 204 No Content |
//! | `POST /sites/trustmatch/{trustCode}` | sites | a site code → 302 when the site is the trust's, else 204 |
//!
//! Codes are compared ignoring case, as the original's MySQL collation compared them (the
//! `exists` maps excepted: the original compared the codes it found exactly in Java). Every
//! list input is bounded (`max_items`, 1,000 by default): more is a 400.

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use bytes::Bytes;
use http::{StatusCode, Uri};
use tis_auth::Authenticated;
use tis_core::extract::{Json as Body, Path};
use tis_core::paging::query_pairs;
use tis_store::Value;

use super::dto::{
    CurriculumSubTypeDto, DbcDto, FundingSubTypeDto, GradeDto, RoleDto, SITE, SiteDto, TrustDto,
};
use super::{API, AppState};
use crate::domain::Entity;
use tis_service_kit::ApiError;
use tis_service_kit::entity::validate::id_from_text;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::{decode, text_body};
use tis_service_kit::repo::{Filter, ListQuery};

pub fn routes(api: Api) -> Api {
    let api = ids::<GradeDto>(ids::<SiteDto>(ids::<TrustDto>(api)));
    let api = ids_in::<FundingSubTypeDto>(api);
    let api = in_codes::<GradeDto>(in_codes::<SiteDto>(in_codes::<TrustDto>(
        in_codes::<RoleDto>(api),
    )));
    let api = by_code::<SiteDto>(by_code::<DbcDto>(by_code::<TrustDto>(by_code::<
        CurriculumSubTypeDto,
    >(api))));
    let api = code_exists::<SiteDto>(code_exists::<TrustDto>(api));
    api.add(
        Method::Post,
        &format!("{API}/sites/ids/in/query"),
        ids_in_body::<SiteDto>,
        Op::new(
            "Site",
            "The sites with these ids (in the body: a list, or the original's object of lists)",
        )
        .body(Doc::Ids)
        .returns(200, Doc::Many("SiteDto".into())),
    )
    .add(
        Method::Post,
        &format!("{API}/sites/trustmatch/{{trustCode}}"),
        trust_match,
        Op::new(
            "Site",
            "Whether the site (code in the body) belongs to the trust",
        )
        .path("trustCode")
        .body(Doc::Text)
        .returns(302, Doc::None),
    )
}

fn bounded(st: &AppState, n: usize) -> Result<(), ApiError> {
    if n > st.limits.max_items {
        return Err(ApiError::bad_query(format!(
            "at most {} items per request",
            st.limits.max_items
        )));
    }
    Ok(())
}

/// Comma-separated values, trimmed, empties dropped, bounded.
pub fn split_list(st: &AppState, raw: &str) -> Result<Vec<String>, ApiError> {
    let items: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    bounded(st, items.len())?;
    Ok(items)
}

fn ids_in<E: Entity>(api: Api) -> Api {
    let d = E::desc();
    api.add(
        Method::Get,
        &format!("{API}/{}/ids/in", d.plural),
        ids_in_query::<E>,
        Op::new(d.name, format!("The {} records with these ids", d.name))
            .query(&["ids"])
            .returns(200, Doc::Many(<E as utoipa::ToSchema>::name())),
    )
}

fn ids<E: Entity>(api: Api) -> Api {
    let d = E::desc();
    let base = format!("{API}/{}", d.plural);
    let mut api = ids_in::<E>(api);
    for path in [format!("{base}/ids/exists"), format!("{base}/ids/exists/")] {
        api = api.add(
            Method::Post,
            &path,
            ids_exist::<E>,
            Op::new(d.name, format!("Which of these {} ids exist", d.name))
                .body(Doc::Ids)
                .returns(200, Doc::BoolMap),
        );
    }
    api
}

fn in_codes<E: Entity>(api: Api) -> Api {
    let d = E::desc();
    api.add(
        Method::Get,
        &format!("{API}/{}/in/{{codes}}", d.plural),
        codes_in::<E>,
        Op::new(
            d.name,
            format!("The {} records with these codes (comma-separated)", d.name),
        )
        .path("codes")
        .returns(200, Doc::Many(<E as utoipa::ToSchema>::name())),
    )
}

fn by_code<E: Entity>(api: Api) -> Api {
    let d = E::desc();
    api.add(
        Method::Get,
        &format!("{API}/{}/code/{{code}}", d.plural),
        one_by_code::<E>,
        Op::new(d.name, format!("The {} with this code", d.name))
            .path("code")
            .returns(200, Doc::One(<E as utoipa::ToSchema>::name())),
    )
}

fn code_exists<E: Entity>(api: Api) -> Api {
    let d = E::desc();
    let mut api = api;
    for path in [
        format!("{API}/{}/codeexists", d.plural),
        format!("{API}/{}/codeexists/", d.plural),
    ] {
        api = api.add(
            Method::Post,
            &path,
            code_exists_handler::<E>,
            Op::new(
                d.name,
                format!(
                    "Whether a {} code exists: 302 Found, or 204 No Content",
                    d.name
                ),
            )
            .body(Doc::Text)
            .returns(302, Doc::None),
        );
    }
    api
}

async fn by_ids<E: Entity>(st: &AppState, ids: &[String]) -> Result<Vec<E>, ApiError> {
    bounded(st, ids.len())?;
    let d = E::desc();
    let mut values = Vec::with_capacity(ids.len());
    for id in ids {
        values.push(id_from_text(d.id, id).ok_or_else(|| {
            ApiError::bad_query(format!(
                "`{}` is not an id",
                id.chars().take(32).collect::<String>()
            ))
        })?);
    }
    let q = ListQuery::filtered(vec![Filter::new(d.id_field(), values)]);
    decode(st.repo.list(d, &q).await?)
}

async fn ids_in_query<E: Entity>(
    State(st): State<AppState>,
    _who: Authenticated,
    uri: Uri,
) -> Result<axum::Json<Vec<E>>, ApiError> {
    let raw = query_pairs(uri.query())
        .into_iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v)
        .collect::<Vec<_>>()
        .join(",");
    let ids = split_list(&st, &raw)?;
    Ok(axum::Json(by_ids::<E>(&st, &ids).await?))
}

/// The ids of a `POST …/ids/in/query` body: a list of ids, or the original's object of
/// lists of ids (`{"ids": [1, 2]}`), whose lists are joined.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum IdsBody {
    List(Vec<i64>),
    Lists(BTreeMap<String, Vec<i64>>),
}

async fn ids_in_body<E: Entity>(
    State(st): State<AppState>,
    _who: Authenticated,
    Body(ids): Body<IdsBody>,
) -> Result<axum::Json<Vec<E>>, ApiError> {
    let ids: Vec<String> = match ids {
        IdsBody::List(ids) => ids.iter().map(i64::to_string).collect(),
        IdsBody::Lists(lists) => lists.values().flatten().map(i64::to_string).collect(),
    };
    Ok(axum::Json(by_ids::<E>(&st, &ids).await?))
}

async fn ids_exist<E: Entity>(
    State(st): State<AppState>,
    _who: Authenticated,
    Body(ids): Body<Vec<i64>>,
) -> Result<axum::Json<BTreeMap<i64, bool>>, ApiError> {
    bounded(&st, ids.len())?;
    let d = E::desc();
    let q = ListQuery::filtered(vec![Filter::new(
        d.id_field(),
        ids.iter().map(|i| Value::Int(*i)).collect(),
    )]);
    let found: HashSet<String> = st
        .repo
        .column_values(d, d.id_field(), &q)
        .await?
        .into_iter()
        .collect();
    Ok(axum::Json(
        ids.into_iter()
            .map(|i| (i, found.contains(&i.to_string())))
            .collect(),
    ))
}

async fn codes_in<E: Entity>(
    State(st): State<AppState>,
    _who: Authenticated,
    Path(codes): Path<String>,
) -> Result<axum::Json<Vec<E>>, ApiError> {
    let d = E::desc();
    let codes = split_list(&st, &codes)?;
    let Some(code) = d.code_field() else {
        return Ok(axum::Json(Vec::new()));
    };
    let q = ListQuery::filtered(vec![Filter::ignoring_case(code, codes)]);
    Ok(axum::Json(decode(st.repo.list(d, &q).await?)?))
}

async fn one_by_code<E: Entity>(
    State(st): State<AppState>,
    _who: Authenticated,
    Path(code): Path<String>,
) -> Result<axum::Json<E>, ApiError> {
    let d = E::desc();
    let field = d
        .code_field()
        .ok_or_else(|| ApiError::NotFound("no code".into()))?;
    let q = ListQuery::filtered(vec![Filter::ignoring_case(field, [code.clone()])]);
    let mut items = decode::<E>(st.repo.list(d, &q).await?)?;
    items
        .pop()
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no {} with code {code}", d.name)))
}

/// A raw body, with the standard JSON 413 when it is over the limit.
type RawBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// The code in a text body: raw text, or a JSON string.
pub fn body_text(body: RawBody) -> Result<String, ApiError> {
    text_body(body)
}

fn found(hit: bool) -> StatusCode {
    if hit {
        StatusCode::FOUND
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn code_exists_handler<E: Entity>(
    State(st): State<AppState>,
    _who: Authenticated,
    body: RawBody,
) -> Result<StatusCode, ApiError> {
    let d = E::desc();
    let code = body_text(body)?;
    let Some(field) = d.code_field().filter(|_| !code.is_empty()) else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let q = ListQuery::filtered(vec![Filter::ignoring_case(field, [code])]);
    Ok(found(
        !st.repo.column_values(d, field, &q).await?.is_empty(),
    ))
}

async fn trust_match(
    State(st): State<AppState>,
    _who: Authenticated,
    Path(trust_code): Path<String>,
    body: RawBody,
) -> Result<StatusCode, ApiError> {
    let site_code = body_text(body)?;
    let (Some(site), Some(trust)) = (SITE.field("siteCode"), SITE.field("trustCode")) else {
        return Ok(StatusCode::NO_CONTENT);
    };
    if site_code.is_empty() || trust_code.is_empty() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let q = ListQuery::filtered(vec![
        Filter::ignoring_case(site, [site_code]),
        Filter::ignoring_case(trust, [trust_code]),
    ]);
    Ok(found(
        !st.repo.column_values(&SITE, site, &q).await?.is_empty(),
    ))
}
