//! The look-ups particular to one type.
//!
//! - `GET /dbcs/abbr/{abbr}` (one, or 404; the abbreviation compared ignoring case),
//!   `GET /dbcs/internal/{bool}` (a list);
//! - `GET /dbcs/user` and `GET /local-offices/user`: only the caller's designated bodies, and
//!   the local offices they map to (a local office maps to the designated body of the same
//!   name, as in the original data), so the UI can build its owner filters (DOMAIN §2.6);
//! - `GET /roles/categories/{id}`, `GET /roles/codes?codes=a,b` (ignoring case);
//! - `POST /roles/matches[/]` and `POST /leaving-reasons/match[/]`: codes (URL-decoded) → the
//!   stored code equal to each ignoring case (`""` when none), with optional `columnFilters`;
//!   inputs equal ignoring case answer once, as the original's case-insensitive map did;
//! - `POST /programme-membership-types/exist[/]`: codes → bool, with optional `columnFilters`;
//! - `GET /funding-types/{id}/funding-sub-types`;
//! - `GET /profile-info`: the original's `{activeProfiles, ribbonEnv}` (here: the database
//!   backend, and no ribbon).

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use http::Uri;
use tis_auth::Authenticated;
use tis_core::extract::{Json as Body, Path};
use tis_core::paging::query_pairs;
use tis_store::Value;

use super::dto::{
    DBC, DbcDto, FUNDING_SUB_TYPE, FUNDING_TYPE, FundingSubTypeDto, LEAVING_REASON, LOCAL_OFFICE,
    LocalOfficeDto, PROGRAMME_MEMBERSHIP_TYPE, ROLE, ROLE_CATEGORY, RoleDto,
};
use super::lookups::split_list;
use super::{API, AppState};
use crate::domain::{Descriptor, Field};
use tis_service_kit::ApiError;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::{decode, path_id, url_decoded};
use tis_service_kit::repo::{Filter, ListQuery};

fn field(d: &'static Descriptor, json: &str) -> Result<&'static Field, ApiError> {
    d.field(json)
        .ok_or_else(|| ApiError::NotFound(format!("{} has no field {json}", d.name)))
}

pub fn routes(api: Api) -> Api {
    let dbcs = || Doc::Many("DbcDto".into());
    let roles = || Doc::Many("RoleDto".into());
    let mut api = api
        .add(
            Method::Get,
            &format!("{API}/dbcs/abbr/{{abbr}}"),
            dbc_by_abbr,
            Op::new("DBC", "The designated body with this abbreviation")
                .path("abbr")
                .returns(200, Doc::One("DbcDto".into())),
        )
        .add(
            Method::Get,
            &format!("{API}/dbcs/internal/{{internal}}"),
            dbcs_internal,
            Op::new(
                "DBC",
                "The designated bodies that are (or are not) internal",
            )
            .path("internal")
            .returns(200, dbcs()),
        )
        .add(
            Method::Get,
            &format!("{API}/dbcs/user"),
            dbcs_of_user,
            Op::new("DBC", "The caller's designated bodies").returns(200, dbcs()),
        )
        .add(
            Method::Get,
            &format!("{API}/local-offices/user"),
            local_offices_of_user,
            Op::new(
                "LocalOffice",
                "The local offices of the caller's designated bodies",
            )
            .returns(200, Doc::Many("LocalOfficeDto".into())),
        )
        .add(
            Method::Get,
            &format!("{API}/roles/categories/{{id}}"),
            roles_of_category,
            Op::new("Role", "The roles of a role category")
                .path("id")
                .returns(200, roles()),
        )
        .add(
            Method::Get,
            &format!("{API}/roles/codes"),
            roles_by_codes,
            Op::new("Role", "The roles with these codes (comma-separated)")
                .query(&["codes"])
                .returns(200, roles()),
        )
        .add(
            Method::Get,
            &format!("{API}/profile-info"),
            profile_info,
            Op::new(
                "ProfileInfo",
                "The running profiles, as the original's ProfileInfoVM",
            )
            .returns(200, Doc::StringMap),
        )
        .add(
            Method::Get,
            &format!("{API}/funding-types/{{id}}/funding-sub-types"),
            sub_types_of,
            Op::new("FundingSubType", "The sub-types of a funding type")
                .path("id")
                .returns(200, Doc::Many("FundingSubTypeDto".into())),
        );
    for slash in ["", "/"] {
        api = api
            .add(
                Method::Post,
                &format!("{API}/roles/matches{slash}"),
                roles_match,
                Op::new(
                    "Role",
                    "Each code → the stored role code equal to it ignoring case, or \"\"",
                )
                .query(&["columnFilters"])
                .body(Doc::Strings)
                .returns(200, Doc::StringMap),
            )
            .add(
                Method::Post,
                &format!("{API}/leaving-reasons/match{slash}"),
                leaving_reasons_match,
                Op::new(
                    "LeavingReason",
                    "Each code → the stored leaving-reason code equal to it ignoring case, or \"\"",
                )
                .query(&["columnFilters"])
                .body(Doc::Strings)
                .returns(200, Doc::StringMap),
            )
            .add(
                Method::Post,
                &format!("{API}/programme-membership-types/exist{slash}"),
                programme_membership_types_exist,
                Op::new(
                    "ProgrammeMembershipType",
                    "Which of these programme membership type codes exist",
                )
                .query(&["columnFilters"])
                .body(Doc::Strings)
                .returns(200, Doc::BoolMap),
            );
    }
    api
}

async fn dbc_by_abbr(
    State(st): State<AppState>,
    _who: Authenticated,
    Path(abbr): Path<String>,
) -> Result<axum::Json<DbcDto>, ApiError> {
    let q = ListQuery::filtered(vec![Filter::ignoring_case(
        field(&DBC, "abbr")?,
        [abbr.clone()],
    )]);
    let mut found = decode::<DbcDto>(st.repo.list(&DBC, &q).await?)?;
    found
        .pop()
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no DBC with abbreviation {abbr}")))
}

async fn dbcs_internal(
    State(st): State<AppState>,
    _who: Authenticated,
    Path(internal): Path<String>,
) -> Result<axum::Json<Vec<DbcDto>>, ApiError> {
    let f = field(&DBC, "internal")?;
    let value = tis_service_kit::entity::validate::value_from_text(f, &internal)
        .map_err(|e| ApiError::bad_query(e.to_string()))?;
    let q = ListQuery::filtered(vec![Filter::new(f, vec![value])]);
    Ok(axum::Json(decode(st.repo.list(&DBC, &q).await?)?))
}

/// The caller's designated-body codes, as bound values.
fn user_dbcs(who: &Authenticated) -> Vec<Value> {
    who.profile
        .designated_body_codes
        .iter()
        .map(|c| Value::Text(c.clone()))
        .collect()
}

async fn dbcs_of_user(
    State(st): State<AppState>,
    who: Authenticated,
) -> Result<axum::Json<Vec<DbcDto>>, ApiError> {
    let q = ListQuery::filtered(vec![Filter::new(field(&DBC, "dbc")?, user_dbcs(&who))]);
    Ok(axum::Json(decode(st.repo.list(&DBC, &q).await?)?))
}

async fn local_offices_of_user(
    State(st): State<AppState>,
    who: Authenticated,
) -> Result<axum::Json<Vec<LocalOfficeDto>>, ApiError> {
    let q = ListQuery::filtered(vec![Filter::new(field(&DBC, "dbc")?, user_dbcs(&who))]);
    let names = st
        .repo
        .column_values(&DBC, field(&DBC, "name")?, &q)
        .await?;
    let q = ListQuery::filtered(vec![Filter::new(
        field(&LOCAL_OFFICE, "name")?,
        names.into_iter().map(Value::Text).collect(),
    )]);
    Ok(axum::Json(decode(st.repo.list(&LOCAL_OFFICE, &q).await?)?))
}

async fn roles_of_category(
    State(st): State<AppState>,
    _who: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<RoleDto>>, ApiError> {
    let id = path_id(&ROLE_CATEGORY, &id)?;
    let q = ListQuery::filtered(vec![Filter::new(field(&ROLE, "roleCategory")?, vec![id])]);
    Ok(axum::Json(decode(st.repo.list(&ROLE, &q).await?)?))
}

async fn roles_by_codes(
    State(st): State<AppState>,
    _who: Authenticated,
    uri: Uri,
) -> Result<axum::Json<Vec<RoleDto>>, ApiError> {
    let raw = query_pairs(uri.query())
        .into_iter()
        .filter(|(k, _)| k == "codes")
        .map(|(_, v)| v)
        .collect::<Vec<_>>()
        .join(",");
    let codes = split_list(&st, &raw)?;
    let q = ListQuery::filtered(vec![Filter::ignoring_case(field(&ROLE, "code")?, codes)]);
    Ok(axum::Json(decode(st.repo.list(&ROLE, &q).await?)?))
}

/// Each input → the stored value of `f` equal to it ignoring case, or `""`. Inputs equal
/// ignoring case answer once (the first), as the original's case-insensitive `TreeMap` did.
async fn match_ignoring_case(
    st: &AppState,
    d: &'static Descriptor,
    f: &'static Field,
    inputs: Vec<String>,
    mut extra: Vec<Filter>,
) -> Result<BTreeMap<String, String>, ApiError> {
    if inputs.len() > st.limits.max_items {
        return Err(ApiError::field(
            "body",
            format!("at most {} items per request", st.limits.max_items),
        ));
    }
    let lowered: Vec<Value> = inputs
        .iter()
        .map(|s| Value::Text(s.to_lowercase()))
        .collect();
    let mut filter = Filter::new(f, lowered);
    filter.lower = true;
    extra.insert(0, filter);
    let stored = st
        .repo
        .column_values(d, f, &ListQuery::filtered(extra))
        .await?;
    let by_lower: HashMap<String, String> =
        stored.into_iter().map(|s| (s.to_lowercase(), s)).collect();
    let mut seen = std::collections::HashSet::new();
    Ok(inputs
        .into_iter()
        .filter(|i| seen.insert(i.to_lowercase()))
        .map(|i| {
            let hit = by_lower.get(&i.to_lowercase()).cloned().unwrap_or_default();
            (i, hit)
        })
        .collect())
}

/// `columnFilters` of a look-up's query string over `d`, if any.
fn filters_of(d: &'static Descriptor, uri: &Uri) -> Result<Vec<Filter>, ApiError> {
    match query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "columnFilters")
    {
        Some((_, cf)) => Ok(tis_service_kit::http::params::column_filters(d, &cf)?),
        None => Ok(Vec::new()),
    }
}

async fn roles_match(
    State(st): State<AppState>,
    _who: Authenticated,
    uri: Uri,
    Body(codes): Body<Vec<String>>,
) -> Result<axum::Json<BTreeMap<String, String>>, ApiError> {
    let extra = filters_of(&ROLE, &uri)?;
    let codes = codes.iter().map(|c| url_decoded(c)).collect();
    Ok(axum::Json(
        match_ignoring_case(&st, &ROLE, field(&ROLE, "code")?, codes, extra).await?,
    ))
}

async fn leaving_reasons_match(
    State(st): State<AppState>,
    _who: Authenticated,
    uri: Uri,
    Body(codes): Body<Vec<String>>,
) -> Result<axum::Json<BTreeMap<String, String>>, ApiError> {
    let extra = filters_of(&LEAVING_REASON, &uri)?;
    let codes = codes.iter().map(|c| url_decoded(c)).collect();
    Ok(axum::Json(
        match_ignoring_case(
            &st,
            &LEAVING_REASON,
            field(&LEAVING_REASON, "code")?,
            codes,
            extra,
        )
        .await?,
    ))
}

async fn programme_membership_types_exist(
    State(st): State<AppState>,
    _who: Authenticated,
    uri: Uri,
    Body(codes): Body<Vec<String>>,
) -> Result<axum::Json<BTreeMap<String, bool>>, ApiError> {
    if codes.len() > st.limits.max_items {
        return Err(ApiError::field(
            "body",
            format!("at most {} items per request", st.limits.max_items),
        ));
    }
    let f = field(&PROGRAMME_MEMBERSHIP_TYPE, "code")?;
    let mut q = ListQuery::filtered(vec![Filter::new(
        f,
        codes.iter().map(|c| Value::Text(c.clone())).collect(),
    )]);
    q.filters
        .extend(filters_of(&PROGRAMME_MEMBERSHIP_TYPE, &uri)?);
    let found: std::collections::HashSet<String> = st
        .repo
        .column_values(&PROGRAMME_MEMBERSHIP_TYPE, f, &q)
        .await?
        .into_iter()
        .collect();
    Ok(axum::Json(
        codes
            .into_iter()
            .map(|c| {
                let hit = found.contains(&c);
                (c, hit)
            })
            .collect(),
    ))
}

async fn sub_types_of(
    State(st): State<AppState>,
    _who: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<FundingSubTypeDto>>, ApiError> {
    let id = path_id(&FUNDING_TYPE, &id)?;
    let q = ListQuery::filtered(vec![Filter::new(
        field(&FUNDING_SUB_TYPE, "fundingType")?,
        vec![id],
    )]);
    Ok(axum::Json(decode(
        st.repo.list(&FUNDING_SUB_TYPE, &q).await?,
    )?))
}

/// The original's `ProfileInfoVM`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileInfo {
    active_profiles: Vec<&'static str>,
    ribbon_env: Option<&'static str>,
}

async fn profile_info(State(st): State<AppState>, _who: Authenticated) -> axum::Json<ProfileInfo> {
    axum::Json(ProfileInfo {
        active_profiles: vec![st.repo.db().backend().as_str()],
        ribbon_env: None,
    })
}
