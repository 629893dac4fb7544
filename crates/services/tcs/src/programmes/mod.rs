//! Programmes and what they are made of: programmes (with their curricula), curricula,
//! specialties and rotations, with the original's routes and guards (docs/tcs-original.md,
//! docs/tcs.md "What is served").
//!
//! - [`specialties`] and [`curricula`] are plain enough for the kit's CRUD (their nested
//!   specialty, specialty group and set of specialty types are the kit's `Kind::Ref` and
//!   `Field::set`); they are not scoped, as in the original.
//! - [`programme`] and [`rotations`] are written here: a programme carries its curricula
//!   (`programme_curriculum`), and both are scoped ([`crate::domain::scope`]): a caller reads
//!   and writes only the programmes of their scope (a rotation through its programme); any
//!   other id is 404, as an unknown one.
//! - [`by_programme`]: a programme's specialties and people (the original's
//!   `/programme/{id}/…` reads, Spring `Page` bodies).

pub mod by_programme;
pub mod curricula;
pub mod programme;
pub mod rotations;
pub mod specialties;

use axum::response::Response;
use http::{HeaderName, HeaderValue};
use tis_service_kit::ApiError;
use tis_service_kit::entity::Descriptor;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::Kit;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::{self, Crud};
use tis_service_kit::repo::query::{order_by, select_list, where_clause_on};
use tis_service_kit::repo::{ListQuery, Page};
use tis_store::{Row, Sql};

use crate::routes::{API, APP, Tcs};

/// The programme, curriculum, specialty and rotation routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let api = crud::routes_with::<specialties::SpecialtyDto, Tcs>(api, &specialties::crud());
    let api = api.schema::<specialties::SpecialtySimpleDto>().add(
        Method::Get,
        &format!("{API}/specialties/in/{{ids}}"),
        specialties::in_ids,
        Op::new(
            "Specialty",
            "The specialties of a comma-separated id list (ids that are not numbers are skipped)",
        )
        .returns(200, Doc::Many("SpecialtySimpleDto".into()))
        .guard(Guard::Authority("specialty:view")),
    );
    let api = api.add(
        Method::Get,
        &format!("{API}/specialty-groups/specialties/{{id}}"),
        specialties::of_group,
        Op::new("Specialty", "A page of a specialty group's specialties")
            .paged()
            .returns(200, Doc::Many("SpecialtyDto".into()))
            .guard(Guard::Authority("specialty:view")),
    );
    let api = crud::routes_with::<curricula::CurriculumDto, Tcs>(api, &curricula::crud());
    let api = programme::routes(api);
    let api = by_programme::routes(api);
    rotations::routes(api)
}

/// The original's answer headers for `Crud::original`-style errors of hand-written routes.
pub fn original(guards: tis_service_kit::guard::Guards) -> Crud {
    crate::catalogue::tcs_crud(guards)
}

/// A successful write's alert, as the original: `X-tcsApp-alert: tcsApp.{entity}.{action}`
/// and `X-tcsApp-params: {params}`.
pub fn alert(res: &mut Response, entity: &str, action: &str, params: &str) {
    let h = res.headers_mut();
    let app = APP.to_ascii_lowercase();
    for (name, value) in [
        (format!("x-{app}-alert"), format!("{APP}.{entity}.{action}")),
        (format!("x-{app}-params"), params.to_owned()),
    ] {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.insert(name, value);
        }
    }
}

/// A page of `desc`'s rows out of `source` (a parenthesised, aliased sub-select of the rows
/// the caller may see, with `desc`'s columns), as `q` asks, and the total. A short page is its
/// own total (the count runs only for full pages), as the kit's repository does.
pub async fn page_from(
    kit: &Kit,
    desc: &'static Descriptor,
    source: impl Fn() -> Sql,
    q: &ListQuery,
    page: Option<Page>,
) -> Result<(Vec<Row>, u64), ApiError> {
    let db = kit.repo.db();
    let backend = db.backend();
    let mut sql = Sql::new(&format!("SELECT {} FROM ", select_list(desc)));
    sql.append(source());
    sql.append(where_clause_on(desc, q, backend));
    sql.push(&order_by(q));
    if let Some(page) = page {
        sql.push_page(page);
    }
    let rows = kit.repo.select(desc, sql).await?;
    let got = rows.len() as u64;
    let Some(page) = page else {
        return Ok((rows, got));
    };
    if got < page.size && (got > 0 || page.offset() == 0) {
        return Ok((rows, page.offset() + got));
    }
    let mut count = Sql::new("SELECT COUNT(*) AS n FROM ");
    count.append(source());
    count.append(where_clause_on(desc, q, backend));
    Ok((rows, total(kit, desc, count).await?))
}

/// The value of `count` (a `COUNT(*) AS n` over `desc`'s table): for a type with a data
/// version ([`Descriptor::data_version`]) kept against it ([`tis_service_kit::repo::Repo::count_versioned`]),
/// so that a count read once is reused until any instance writes the table.
pub async fn total(kit: &Kit, desc: &'static Descriptor, count: Sql) -> Result<u64, ApiError> {
    if desc.data_version {
        let version = tis_service_kit::entity::ddl::data_version_table(desc.table);
        return Ok(kit.repo.count_versioned(&version, count).await?);
    }
    let n = kit.repo.db().read().fetch_one(count).await?;
    Ok(n.get("n").and_then(serde_json::Value::as_u64).unwrap_or(0))
}
