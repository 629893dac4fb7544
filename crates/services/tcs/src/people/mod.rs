//! People: the list (`GET /people`, [`view`] and [`search`]) and what is derived from a
//! person's records ([`refresh`]).

pub mod basic;
pub mod history;
pub mod person;
pub mod record_routes;
pub mod records;
pub mod refresh;
pub mod roles;
pub mod search;
pub mod sensitive;
pub mod view;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::Uri;
use tis_auth::Authenticated;
use tis_core::paging::{basic_headers, query_pairs};
use tis_service_kit::ApiError;
use tis_service_kit::http::Kit;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::decode;

use crate::routes::{API, PERSON_VIEW_GUARD, Tcs};
use view::{PERSON_VIEW, PersonViewDto};

/// The people routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let api = record_routes::routes(api);
    let api = person::routes(api);
    let api = history::routes(api);
    let api = roles::routes(api);
    let many = |schema: &'static str| Doc::Many(schema.into());
    api.schema::<PersonViewDto>()
        .schema::<basic::PersonBasicDetailsDto>()
        .add(
            Method::Get,
            &format!("{API}/people"),
            list,
            Op::new("Person", "A page of people (basic paging: Link next only)")
                .paged()
                .returns(200, many("PersonViewDto"))
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/basic"),
            basic::search,
            Op::new("Person", "The first 100 people matching searchQuery, basic details")
                .query(&["searchQuery"])
                .returns(200, many("PersonBasicDetailsDto"))
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/{{id}}/basic"),
            basic::one,
            Op::new("Person", "One person's basic details")
                .returns(200, Doc::One("PersonBasicDetailsDto".into()))
                .returns(404, Doc::None)
                .guard(PERSON_VIEW_GUARD),
        )
        .add(
            Method::Get,
            &format!("{API}/people/in/{{ids}}/basic"),
            basic::many,
            Op::new("Person", "The basic details of the people of a comma-separated id list (302, as the original)")
                .returns(302, many("PersonBasicDetailsDto"))
                .guard(PERSON_VIEW_GUARD),
        )
}

/// `GET /people`: see [`view`].
async fn list(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_pairs(uri.query());
    let req = kit.list_request(&PERSON_VIEW, &params)?;
    let scope = crate::domain::scope::Scope::of(&who);
    let db = kit.repo.db();
    let sql = search::page(
        &req.query,
        &scope,
        db.backend(),
        req.page.offset(),
        req.page.size,
    );
    let mut rows = db.read().fetch_all(sql).await?;
    let has_next = rows.len() as u64 > req.page.size;
    rows.truncate(usize::try_from(req.page.size).unwrap_or(usize::MAX));
    let items = decode::<PersonViewDto>(rows)?;
    let headers = basic_headers(uri.path(), req.page, has_next, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}
