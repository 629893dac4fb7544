//! `GET /people/roles/categories/{categoryId}`: the people whose role is one of a Reference
//! role category's roles, as `PersonLiteDTO` (`id`, `name`, `publicHealthNumber`,
//! `gmcNumber`, `gdcNumber`), as the original's `PersonRepositoryImpl` found them:
//!
//! - the category's role codes come from Reference (`GET /reference/api/roles/categories/{id}`,
//!   on the caller's behalf); none, or no such category: `[]`;
//! - a person matches when their `role` contains one of the codes;
//! - with a non-blank `searchQuery`, only `CURRENT` people whose surname, forenames, GMC or
//!   GDC number or public health number contains it (without one, INACTIVE people too);
//! - paged (`page`, `size`), with `X-Total-Count` and `Link`.
//!
//! Differences: the original's HEAD also required a CURRENT trainer approval; TCS has no
//! trainer approvals yet (part 2), so that join is left out. Scoped like every person route.
//! Reference unreachable: 503 `dependency_unavailable` (a read that needs Reference's answer;
//! the roles of a category are not in the checking cache).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri, header};
use serde_json::Value as Json;
use tis_auth::{Authenticated, Credential};
use tis_core::HttpError;
use tis_core::paging::{ListParams, Rules, query_pairs};
use tis_service_kit::ApiError;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_store::Sql;

use super::record_routes::{answer, parse_id};
use crate::domain::scope::Scope;
use crate::routes::{API, PERSON_VIEW_GUARD, Tcs};

/// The route.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    api.add(
        Method::Get,
        &format!("{API}/people/roles/categories/{{categoryId}}"),
        by_category,
        Op::new(
            "Person",
            "The people whose role is one of a role category's (PersonLiteDTO)",
        )
        .path("categoryId")
        .query(&["page", "size", "searchQuery"])
        .returns(200, Doc::None)
        .guard(PERSON_VIEW_GUARD),
    )
}

fn unavailable(what: impl Into<String>) -> ApiError {
    ApiError::Http(
        HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            tis_core::error::code::DEPENDENCY_UNAVAILABLE,
            what,
        )
        .with_retry_after(1),
    )
}

/// The codes of the roles of category `id`, asked of Reference on `who`'s behalf.
async fn role_codes(
    tcs: &Tcs,
    credential: Option<Credential>,
    id: i64,
) -> Result<Vec<String>, ApiError> {
    let Some(client) = tcs.reference.service() else {
        return Err(unavailable("Reference is not configured"));
    };
    let mut req = Request::builder()
        .method(http::Method::GET)
        .uri(format!("/reference/api/roles/categories/{id}"))
        .header(header::ACCEPT, "application/json")
        .body(axum::body::Body::from(Bytes::new()))
        .map_err(|e| unavailable(format!("building the request: {e}")))?;
    if let Some(c) = credential {
        c.apply(req.headers_mut())
            .map_err(|_| unavailable("a credential that is not a header value"))?;
    }
    let res = client
        .call(req)
        .await
        .map_err(|e| unavailable(format!("calling Reference: {e}")))?;
    let status = res.status();
    let body = axum::body::to_bytes(axum::body::Body::new(res.into_body()), 4 << 20)
        .await
        .map_err(|e| unavailable(format!("reading Reference's answer: {e}")))?;
    if status == StatusCode::NOT_FOUND {
        return Ok(Vec::new());
    }
    if !status.is_success() {
        return Err(unavailable(format!("Reference answered {status}")));
    }
    let roles: Json = serde_json::from_slice(&body)
        .map_err(|e| unavailable(format!("Reference's answer is not JSON: {e}")))?;
    Ok(roles
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("code").and_then(Json::as_str))
        .map(str::to_owned)
        .collect())
}

async fn by_category(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    Path(raw): Path<String>,
    uri: Uri,
) -> Response {
    let r = async {
        let id = parse_id(&raw)?;
        let pairs = query_pairs(uri.query());
        let rules: Rules<'_, ()> = Rules::new(tcs.kit.limits.default_page_size, tcs.kit.limits.max_page_size);
        let params = ListParams::parse(&pairs, &rules)?;
        let term = pairs
            .iter()
            .find(|(k, _)| k == "searchQuery")
            .map(|(_, v)| v.replace('"', "").trim().to_lowercase())
            .filter(|v| !v.is_empty());
        let codes = role_codes(&tcs, Credential::on_behalf_of(&who, &headers), id).await?;
        if codes.is_empty() {
            let headers = params.headers(&format!("/api/people/roles/categories/{id}"), 0);
            return Ok((headers, axum::Json(Vec::<Json>::new())).into_response());
        }
        let mut q = Sql::new(
            r#" FROM person p LEFT JOIN contact_details cd ON cd.id = p.id LEFT JOIN gmc_details gmc ON gmc.id = p.id LEFT JOIN gdc_details gdc ON gdc.id = p.id WHERE ("#,
        );
        for (i, code) in codes.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            q.push("p.role LIKE ").bind(format!("%{}%", like_escaped(code)));
            q.push(" ESCAPE '\\'");
        }
        q.push(")");
        if let Some(t) = &term {
            let pattern = format!("%{}%", like_escaped(t));
            q.push(" AND p.status = 'CURRENT' AND (");
            for (i, col) in ["cd.surname", "cd.forenames", "gmc.gmc_number", "gdc.gdc_number", "p.public_health_number"]
                .iter()
                .enumerate()
            {
                if i > 0 {
                    q.push(" OR ");
                }
                q.push(&format!("lower({col}) LIKE ")).bind(pattern.clone()).push(" ESCAPE '\\'");
            }
            q.push(")");
        }
        Scope::of(&who).restrict_people(&mut q, "p");
        let mut count = Sql::new(r#"SELECT COUNT(*) AS "n""#);
        count.append(q.clone());
        let mut page = Sql::new(
            r#"SELECT p.id AS "id", trim(COALESCE(cd.forenames, '') || ' ' || COALESCE(cd.surname, '')) AS "name", p.public_health_number AS "publicHealthNumber", gmc.gmc_number AS "gmcNumber", gdc.gdc_number AS "gdcNumber""#,
        );
        page.append(q);
        page.push(" ORDER BY p.id LIMIT ")
            .bind(i64::try_from(params.page.size).unwrap_or(i64::MAX))
            .push(" OFFSET ")
            .bind(i64::try_from(params.page.offset()).unwrap_or(i64::MAX));
        let db = tcs.kit.repo.db();
        let total = db.read().fetch_one(count).await?.get("n").and_then(Json::as_i64).unwrap_or(0);
        let people = db.read().fetch_all(page).await?;
        let headers = params.headers(&format!("/api/people/roles/categories/{id}"), u64::try_from(total).unwrap_or(0));
        Ok((headers, axum::Json(people)).into_response())
    }
    .await;
    answer("PersonLiteDTO", r)
}

/// `text` with LIKE's wildcards and escape character escaped (`\`).
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
