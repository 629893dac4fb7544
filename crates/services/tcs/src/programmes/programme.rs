//! Programmes (`ProgrammeResource`): `ProgrammeDTO` with its curricula (HEAD's
//! `Set<ProgrammeCurriculumDTO>`: `id`, `curriculum` (the whole `CurriculumDTO`),
//! `gmcProgrammeCode`; kept in `programme_curriculum`).
//!
//! | route | guard | answer |
//! |---|---|---|
//! | `GET /programmes`, `GET /bulk-programmes` | `programme:view`, `programme:bulk:add:modify` | a page (`searchQuery` over name and number, `columnFilters`, `sort`), full paging headers |
//! | `GET /programmes/{id}` | `programme:view` | the programme, or 404 |
//! | `GET /programmes/in/{ids}` | `programme:view` | 200 with those found, by id |
//! | `GET /trainee/{traineeId}/programmes` | `programme:view` | the programmes of the person's memberships; 404 for a person out of scope |
//! | `POST /programmes`, `PUT /programmes` | `programme:add:modify` | 201 + `Location` / 200, alert headers |
//! | `DELETE /programmes/{id}` | `tcs:delete:entities` | 200; 409 while memberships, rotations or training numbers name it |
//! | `POST /bulk-programmes`, `PUT /bulk-programmes` | `programme:bulk:add:modify` | 200 with the list, all or nothing (one transaction) |
//!
//! Scope: every read and write sees only the programmes of the caller's scope
//! ([`Scope::restrict_programmes`]); any other id is 404, as an unknown one. A write's `owner`
//! must be one of the original's owners (`DesignatedBodyMapper.getAllOwners()`, our
//! [`owners`]: "Unknown owner: X") and one the caller may own ([`Scope::may_own`]: "You do
//! not have permission to create or modify a programme in the owner: X"), both 400 on
//! `owner` as the original's `ProgrammeValidator`. Owners are local-office *names* as the
//! original stored them (`North West London`), not Reference's local-office codes, so they are
//! checked against the original's map, not Reference. Unlike the original, the bulk routes run
//! the same checks (the original skipped its validator there: no owner check at all).
//!
//! An update that changes a programme's owner, name or number re-derives, in its transaction,
//! the owner and people-list row of everyone with a membership of it
//! ([`crate::people::refresh`]): the original rebuilt those nightly.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, Uri, header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use tis_auth::Authenticated;
use tis_core::FieldError;
use tis_core::extract::Json as Body;
use tis_core::paging::{self, query_pairs};
use tis_service_kit::entity::validate::{bind_value, validate};
use tis_service_kit::entity::{Kind, STATUS, Status};
use tis_service_kit::guard::{Guard, Guards};
use tis_service_kit::http::Kit;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_service_kit::http::crud::{decode, error_response};
use tis_service_kit::repo::{Filter, ListQuery};
use tis_service_kit::{ApiError, entity};
use tis_store::{Sql, Tx, Value};
use utoipa::ToSchema;

use super::curricula::{CURRICULUM, CurriculumDto};
use super::{alert, original, page_from};
use crate::domain::owners;
use crate::domain::scope::Scope;
use crate::memberships::Refusal;
use crate::people::basic::parse_ids;
use crate::posts::write::update_by_id;
use crate::routes::{API, Tcs};

/// The original's guards of programmes.
pub static PROGRAMME_GUARDS: Guards = Guards {
    view: Guard::Authority("programme:view"),
    create: Guard::Authority("programme:add:modify"),
    update: Guard::Authority("programme:add:modify"),
    delete: Guard::Authority("tcs:delete:entities"),
    bulk_create: Guard::Authority("programme:bulk:add:modify"),
    bulk_update: Guard::Authority("programme:bulk:add:modify"),
};

const ENTITY: &str = "programme";
const OBJECT: &str = "ProgrammeDTO";

entity! {
    /// A programme's own columns: what its list filters, sorts and searches.
    ProgrammeRow / PROGRAMME { name: "Programme", plural: "programmes", table: "programme", id: i64 = Long, code: None }
    intrepid_id "intrepidId": String => "intrepid_id" (Kind::Text) .filter() .max(50);
    status "status": Status => "status" (Kind::Enum(STATUS)) .required() .sort() .filter();
    /// A local office's name, as the original's `DesignatedBodyMapper` names them.
    owner "owner": String => "owner" (Kind::Text) .required() .sort() .filter();
    programme_name "programmeName": String => "programme_name" (Kind::Text) .required() .all();
    programme_number "programmeNumber": String => "programme_number" (Kind::Text) .all();
}

/// A curriculum of a programme (HEAD's `ProgrammeCurriculumDTO`, without its back-reference
/// to the programme). On a write only `curriculum.id` and `gmcProgrammeCode` are read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgrammeCurriculumDto {
    pub id: Option<i64>,
    pub curriculum: Option<CurriculumDto>,
    pub gmc_programme_code: Option<String>,
}

/// The original's `ProgrammeDTO`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgrammeDto {
    pub id: Option<i64>,
    pub intrepid_id: Option<String>,
    pub status: Option<Status>,
    pub owner: Option<String>,
    pub programme_name: Option<String>,
    pub programme_number: Option<String>,
    /// Replaced as a whole by a `PUT`.
    pub curricula: Option<Vec<ProgrammeCurriculumDto>>,
}

impl ProgrammeDto {
    fn from_row(r: ProgrammeRow, curricula: Vec<ProgrammeCurriculumDto>) -> ProgrammeDto {
        ProgrammeDto {
            id: r.id,
            intrepid_id: r.intrepid_id,
            status: r.status,
            owner: r.owner,
            programme_name: r.programme_name,
            programme_number: r.programme_number,
            curricula: Some(curricula),
        }
    }

    fn map(&self) -> Map<String, Json> {
        match serde_json::to_value(self) {
            Ok(Json::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

/// The programme routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let one = || Doc::One("ProgrammeDto".into());
    let many = || Doc::Many("ProgrammeDto".into());
    let g = PROGRAMME_GUARDS;
    api.schema::<ProgrammeDto>()
        .schema::<ProgrammeCurriculumDto>()
        .add(
            Method::Get,
            &format!("{API}/programmes"),
            list,
            Op::new("Programme", "A page of programmes (scoped)")
                .paged()
                .returns(200, many())
                .guard(g.view),
        )
        .add(
            Method::Get,
            &format!("{API}/bulk-programmes"),
            list,
            Op::new("Programme", "A page of programmes, for the ETL")
                .paged()
                .returns(200, many())
                .guard(g.bulk_create),
        )
        .add(
            Method::Get,
            &format!("{API}/programmes/{{id}}"),
            get_one,
            Op::new("Programme", "One programme (404 out of scope)")
                .path("id")
                .returns(200, one())
                .guard(g.view),
        )
        .add(
            Method::Get,
            &format!("{API}/programmes/in/{{ids}}"),
            in_ids,
            Op::new(
                "Programme",
                "The programmes of a comma-separated id list (those in scope)",
            )
            .returns(200, many())
            .guard(g.view),
        )
        .add(
            Method::Get,
            &format!("{API}/trainee/{{traineeId}}/programmes"),
            of_trainee,
            Op::new(
                "Programme",
                "The programmes of a person's memberships (404 for a person out of scope)",
            )
            .returns(200, many())
            .guard(g.view),
        )
        .add(
            Method::Post,
            &format!("{API}/programmes"),
            create,
            Op::new("Programme", "Creates a programme with its curricula")
                .body(one())
                .returns(201, one())
                .guard(g.create)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/programmes"),
            update,
            Op::new(
                "Programme",
                "Updates a programme; its curricula are replaced by the body's",
            )
            .body(one())
            .returns(200, one())
            .guard(g.update)
            .idempotent(),
        )
        .add(
            Method::Delete,
            &format!("{API}/programmes/{{id}}"),
            delete,
            Op::new(
                "Programme",
                "Deletes a programme (409 while anything names it)",
            )
            .path("id")
            .guard(g.delete),
        )
        .add(
            Method::Post,
            &format!("{API}/bulk-programmes"),
            bulk_create,
            Op::new("Programme", "Creates many programmes, all or none")
                .body(many())
                .returns(200, many())
                .guard(g.bulk_create)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/bulk-programmes"),
            bulk_update,
            Op::new("Programme", "Updates many programmes, all or none")
                .body(many())
                .returns(200, many())
                .guard(g.bulk_update)
                .idempotent(),
        )
}

/// The programme rows `scope` sees, as a sub-select aliased `programme`.
pub fn visible(scope: &Scope) -> impl Fn() -> Sql + '_ {
    move || {
        let mut sql = Sql::new("(SELECT * FROM programme g WHERE 1 = 1");
        scope.restrict_programmes(&mut sql, "g");
        sql.push(") programme");
        sql
    }
}

/// An error as the original answered it (`fieldErrors`, `X-tcsApp-error` for `failure`).
fn refused(err: ApiError, failure: Option<(&str, &str)>) -> Response {
    error_response(&original(PROGRAMME_GUARDS), OBJECT, err, failure)
}

/// The programmes of `ids` (any order) that `scope` sees, by id, with their curricula.
pub async fn by_ids(kit: &Kit, scope: &Scope, ids: &[i64]) -> Result<Vec<ProgrammeDto>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = ListQuery::filtered(vec![Filter::new(
        PROGRAMME.id_field(),
        ids.iter().copied().map(Value::Int).collect(),
    )]);
    let (rows, _) = page_from(kit, &PROGRAMME, visible(scope), &q, None).await?;
    with_curricula(kit, decode(rows)?).await
}

/// Attaches each programme's curricula (whole curricula, by link id).
async fn with_curricula(kit: &Kit, rows: Vec<ProgrammeRow>) -> Result<Vec<ProgrammeDto>, ApiError> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        r#"SELECT id AS "id", programme_id AS "programmeId", curriculum_id AS "curriculumId", gmc_programme_code AS "gmcProgrammeCode" FROM programme_curriculum WHERE programme_id IN "#,
    );
    sql.bind_list(ids.iter().copied());
    sql.push(" ORDER BY id");
    let links = kit.repo.db().read().fetch_all(sql).await?;
    let mut curriculum_ids: Vec<Json> = links
        .iter()
        .filter_map(|l| l.get("curriculumId").cloned())
        .collect();
    curriculum_ids.sort_by_key(|v| v.as_i64());
    curriculum_ids.dedup();
    let curricula: Vec<CurriculumDto> =
        decode(kit.repo.get_many(&CURRICULUM, &curriculum_ids).await?)?;
    let of_id = |id: Option<i64>| curricula.iter().find(|c| c.id == id).cloned();
    Ok(rows
        .into_iter()
        .map(|r| {
            let own = links
                .iter()
                .filter(|l| l.get("programmeId").and_then(Json::as_i64) == r.id)
                .map(|l| ProgrammeCurriculumDto {
                    id: l.get("id").and_then(Json::as_i64),
                    curriculum: of_id(l.get("curriculumId").and_then(Json::as_i64)),
                    gmc_programme_code: l
                        .get("gmcProgrammeCode")
                        .and_then(Json::as_str)
                        .map(str::to_owned),
                })
                .collect();
            ProgrammeDto::from_row(r, own)
        })
        .collect())
}

/// `GET /programmes` and `GET /bulk-programmes`.
async fn list(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_pairs(uri.query());
    let req = kit.list_request(&PROGRAMME, &params)?;
    let scope = Scope::of(&who);
    let (rows, total) = page_from(
        &kit,
        &PROGRAMME,
        visible(&scope),
        &req.query,
        Some(req.page),
    )
    .await?;
    let items = with_curricula(&kit, decode(rows)?).await?;
    let headers = paging::headers(uri.path(), req.page, total, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}

fn path_id(raw: &str, field: &str) -> Result<i64, ApiError> {
    raw.trim().parse().map_err(|_| {
        ApiError::field(
            field,
            format!(
                "`{}` is not an id",
                raw.chars().take(64).collect::<String>()
            ),
        )
    })
}

/// `GET /programmes/{id}`.
async fn get_one(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<ProgrammeDto>, ApiError> {
    let id = path_id(&id, "id")?;
    by_ids(&kit, &Scope::of(&who), &[id])
        .await?
        .pop()
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no Programme with id {id}")))
}

/// `GET /programmes/in/{ids}`.
async fn in_ids(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(ids): Path<String>,
) -> Result<axum::Json<Vec<ProgrammeDto>>, ApiError> {
    let ids = parse_ids(&ids, kit.limits.max_items)?;
    Ok(axum::Json(by_ids(&kit, &Scope::of(&who), &ids).await?))
}

/// `GET /trainee/{traineeId}/programmes`: the programmes of the person's memberships (all of
/// them: the person is in the caller's scope, so are their programmes' names), by id.
async fn of_trainee(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<ProgrammeDto>>, ApiError> {
    let id = path_id(&id, "traineeId")?;
    let scope = Scope::of(&who);
    let mut sql = Sql::new("SELECT p.id AS \"id\" FROM person p WHERE p.id = ");
    sql.bind(id);
    scope.restrict_people(&mut sql, "p");
    let read = kit.repo.db().read();
    if read.fetch_keyed(sql, 1).await?.is_empty() {
        return Err(ApiError::NotFound(format!("no person with id {id}")));
    }
    let mut sql = Sql::new(
        "SELECT DISTINCT programme_id AS \"id\" FROM programme_membership WHERE person_id = ",
    );
    sql.bind(id);
    let ids: Vec<i64> = read
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| r.get("id").and_then(Json::as_i64))
        .collect();
    Ok(axum::Json(by_ids(&kit, &Scope::Everything, &ids).await?))
}

/// The checks of `dtos` that need no database: the DTO's constraints, the owner, the shape
/// of the curricula; each field named `{prefix}{field}` (`[2].owner` in a bulk body).
fn check(scope: &Scope, dtos: &[ProgrammeDto], bulk: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, dto) in dtos.iter().enumerate() {
        let prefix = if bulk {
            format!("[{i}].")
        } else {
            String::new()
        };
        let named = |f: &str| format!("{prefix}{f}");
        errors.extend(validate(&PROGRAMME, &dto.map(), &prefix));
        if let Some(owner) = dto.owner.as_deref().filter(|o| !o.trim().is_empty()) {
            if !owners::is_owner(owner) {
                errors.push(FieldError::new(
                    named("owner"),
                    format!("Unknown owner: {owner}"),
                ));
            } else if !scope.may_own(owner) {
                errors.push(FieldError::new(
                    named("owner"),
                    format!("You do not have permission to create or modify a programme in the owner: {owner}"),
                ));
            }
        }
        for link in dto.curricula.iter().flatten() {
            match link.curriculum.as_ref().and_then(|c| c.id) {
                Some(id) if id >= 0 => {}
                _ => errors.push(FieldError::new(
                    named("curricula"),
                    "Curriculum ID cannot be null or negative",
                )),
            }
        }
    }
    errors
}

/// The curricula `dtos` name that do not exist, as field errors.
async fn missing_curricula(
    tx: &mut Tx,
    dtos: &[ProgrammeDto],
    bulk: bool,
) -> Result<Vec<FieldError>, ApiError> {
    let named: Vec<(usize, i64)> = dtos
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            d.curricula
                .iter()
                .flatten()
                .filter_map(move |l| l.curriculum.as_ref().and_then(|c| c.id).map(|id| (i, id)))
                .filter(|(_, id)| *id >= 0)
        })
        .collect();
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT id AS \"id\" FROM curriculum WHERE id IN ");
    sql.bind_list(named.iter().map(|(_, id)| *id));
    let found: Vec<i64> = tx
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| r.get("id").and_then(Json::as_i64))
        .collect();
    Ok(named
        .into_iter()
        .filter(|(_, id)| !found.contains(id))
        .map(|(i, id)| {
            let field = if bulk {
                format!("[{i}].curricula")
            } else {
                "curricula".into()
            };
            FieldError::new(field, format!("Curricula with id {id} does not exist"))
        })
        .collect())
}

/// Whether programme `id` exists within `scope` (read in `tx`).
async fn in_scope(tx: &mut Tx, scope: &Scope, id: i64) -> Result<bool, ApiError> {
    let mut sql = Sql::new("SELECT g.id AS \"id\" FROM programme g WHERE g.id = ");
    sql.bind(id);
    scope.restrict_programmes(&mut sql, "g");
    Ok(tx.fetch_optional(sql).await?.is_some())
}

/// Creates (`update` false) or updates every programme of `dtos` with its curricula, in one
/// transaction: all or nothing. Returns their ids, in order.
async fn save(
    kit: &Kit,
    scope: &Scope,
    dtos: &[ProgrammeDto],
    update: bool,
    bulk: bool,
) -> Result<Vec<i64>, ApiError> {
    if dtos.len() > kit.limits.max_items {
        return Err(ApiError::field(
            "body",
            format!("at most {} items per request", kit.limits.max_items),
        ));
    }
    let negative: Vec<FieldError> = dtos
        .iter()
        .enumerate()
        .filter(|(_, d)| update && d.id.is_some_and(|id| id < 0))
        .map(|(i, _)| {
            let field = if bulk {
                format!("[{i}].id")
            } else {
                "id".into()
            };
            FieldError::new(field, "must be greater than or equal to 0")
        })
        .collect();
    if !negative.is_empty() {
        return Err(ApiError::Validation(negative));
    }
    let mut tx = kit.repo.db().begin().await?;
    // Out of scope first: an id the caller cannot see is 404 whatever the body says.
    for id in dtos.iter().filter_map(|d| d.id).filter(|_| update) {
        if !in_scope(&mut tx, scope, id).await? {
            return Err(ApiError::NotFound(format!("no Programme with id {id}")));
        }
    }
    let mut errors = check(scope, dtos, bulk);
    errors.extend(missing_curricula(&mut tx, dtos, bulk).await?);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut ids = Vec::with_capacity(dtos.len());
    for dto in dtos {
        let map = dto.map();
        let id = match dto.id.filter(|_| update) {
            Some(id) => {
                let mut sql = Sql::new(
                    r#"SELECT owner AS "owner", programme_name AS "programmeName", programme_number AS "programmeNumber" FROM programme WHERE id = "#,
                );
                sql.bind(id);
                let before = tx.fetch_one(sql).await?;
                let shown_changed = ["owner", "programmeName", "programmeNumber"]
                    .iter()
                    .any(|f| {
                        before.get(*f).unwrap_or(&Json::Null) != map.get(*f).unwrap_or(&Json::Null)
                    });
                let columns = PROGRAMME
                    .fields
                    .iter()
                    .map(|f| (f.column, bind_value(f, map.get(f.json))));
                tx.execute(update_by_id("programme", columns, id)).await?;
                let mut sql = Sql::new("DELETE FROM programme_curriculum WHERE programme_id = ");
                sql.bind(id);
                tx.execute(sql).await?;
                if shown_changed {
                    refresh_members(&mut tx, id).await?;
                }
                id
            }
            None => {
                let columns: Vec<&str> = PROGRAMME.fields.iter().map(|f| f.column).collect();
                let mut sql = Sql::new(&format!(
                    "INSERT INTO programme ({}) VALUES ",
                    columns.join(", ")
                ));
                sql.bind_list(
                    PROGRAMME
                        .fields
                        .iter()
                        .map(|f| bind_value(f, map.get(f.json))),
                );
                sql.push(" RETURNING id AS \"id\"");
                let row = tx.fetch_one(sql).await?;
                row.get("id").and_then(Json::as_i64).unwrap_or_default()
            }
        };
        let mut seen = Vec::new();
        for link in dto.curricula.iter().flatten() {
            let Some(curriculum) = link.curriculum.as_ref().and_then(|c| c.id) else {
                continue;
            };
            if seen.contains(&curriculum) {
                continue;
            }
            seen.push(curriculum);
            let mut sql = Sql::new(
                "INSERT INTO programme_curriculum (programme_id, curriculum_id, gmc_programme_code) VALUES ",
            );
            sql.bind_list([
                Value::Int(id),
                Value::Int(curriculum),
                link.gmc_programme_code
                    .clone()
                    .map(Value::Text)
                    .unwrap_or(Value::NullOf(tis_store::SqlType::Text)),
            ]);
            tx.execute(sql).await?;
        }
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

/// Re-derives the owner and list row of every person with a membership of programme `id`
/// (its owner, name or number changed: the people list shows them, rule P1/P5/P7 uses the
/// owner), in the write's transaction.
async fn refresh_members(tx: &mut Tx, id: i64) -> Result<(), ApiError> {
    let mut sql = Sql::new(
        "SELECT DISTINCT person_id AS \"id\" FROM programme_membership WHERE programme_id = ",
    );
    sql.bind(id);
    let people: Vec<i64> = tx
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| r.get("id").and_then(Json::as_i64))
        .collect();
    let today = crate::memberships::today();
    for person in people {
        crate::people::refresh::refresh(tx, person, today, false).await?;
    }
    Ok(())
}

/// The saved programmes, in the order of `ids`.
async fn saved(kit: &Kit, ids: &[i64]) -> Result<Vec<ProgrammeDto>, ApiError> {
    let mut found = by_ids(kit, &Scope::Everything, ids).await?;
    found.sort_by_key(|p| ids.iter().position(|id| Some(*id) == p.id));
    Ok(found)
}

fn joined(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// `POST /programmes`.
async fn create(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Body(dto): Body<ProgrammeDto>,
) -> Response {
    if dto.id.is_some() {
        let err = ApiError::field("id", "a new Programme cannot already have an id");
        return refused(err, Some(("idexists", ENTITY)));
    }
    let result = async {
        let ids = save(
            &kit,
            &Scope::of(&who),
            std::slice::from_ref(&dto),
            false,
            false,
        )
        .await?;
        saved(&kit, &ids).await
    }
    .await;
    match result {
        Ok(mut items) => {
            let Some(item) = items.pop() else {
                return refused(ApiError::NotFound("the programme vanished".into()), None);
            };
            let id = item.id.unwrap_or_default().to_string();
            let mut res = (StatusCode::CREATED, axum::Json(item)).into_response();
            if let Ok(v) = format!("{}/programmes/{id}", kit.api).parse() {
                res.headers_mut().insert(header::LOCATION, v);
            }
            alert(&mut res, ENTITY, "created", &id);
            res
        }
        Err(err) => refused(err, None),
    }
}

/// `PUT /programmes`: a body without an id is a 400 naming `id` (`@NotNull(groups =
/// Update.class)`), an id out of scope or unknown a 404.
async fn update(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Body(dto): Body<ProgrammeDto>,
) -> Response {
    if dto.id.is_none() {
        return refused(ApiError::field("id", "must not be null"), None);
    }
    let result = async {
        let ids = save(
            &kit,
            &Scope::of(&who),
            std::slice::from_ref(&dto),
            true,
            false,
        )
        .await?;
        saved(&kit, &ids).await
    }
    .await;
    match result {
        Ok(mut items) => match items.pop() {
            Some(item) => {
                let id = item.id.unwrap_or_default().to_string();
                let mut res = axum::Json(item).into_response();
                alert(&mut res, ENTITY, "updated", &id);
                res
            }
            None => refused(ApiError::NotFound("the programme vanished".into()), None),
        },
        Err(err) => refused(err, None),
    }
}

/// `DELETE /programmes/{id}`: 404 out of scope; 409 while memberships, rotations or training
/// numbers name it (the original answered 500).
async fn delete(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let result = async {
        let id = path_id(&raw, "id")?;
        let mut tx = kit.repo.db().begin().await?;
        if !in_scope(&mut tx, &Scope::of(&who), id).await? {
            return Err(ApiError::NotFound(format!("no Programme with id {id}")));
        }
        for (table, what) in [
            ("programme_membership", "programme memberships"),
            ("rotation", "rotations"),
            ("training_number", "training numbers"),
        ] {
            let mut sql = Sql::new(&format!(
                "SELECT 1 AS \"x\" FROM {table} WHERE programme_id = "
            ));
            sql.bind(id).push(" LIMIT 1");
            if tx.fetch_optional(sql).await?.is_some() {
                return Err(ApiError::Conflict(format!(
                    "programme {id} still has {what}"
                )));
            }
        }
        for table in ["programme_curriculum", "programme"] {
            let column = if table == "programme" {
                "id"
            } else {
                "programme_id"
            };
            let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE {column} = "));
            sql.bind(id);
            tx.execute(sql).await?;
        }
        tx.commit().await?;
        Ok(id)
    }
    .await;
    match result {
        Ok(id) => {
            let mut res = StatusCode::OK.into_response();
            alert(&mut res, ENTITY, "deleted", &id.to_string());
            res
        }
        Err(err) => refused(err, None),
    }
}

/// `POST /bulk-programmes`: none may have an id (400 `error.ids.exist`); 200 with the list,
/// no alert headers, as the original.
async fn bulk_create(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Body(dtos): Body<Vec<ProgrammeDto>>,
) -> Response {
    let ids: Vec<Option<i64>> = dtos.iter().map(|d| d.id).collect();
    if let Some(r) = Refusal::ids_exist("Programme", &ids) {
        return refused(r.error, Some((r.key, &r.params)));
    }
    let result = async {
        let ids = save(&kit, &Scope::of(&who), &dtos, false, true).await?;
        saved(&kit, &ids).await
    }
    .await;
    match result {
        Ok(items) => axum::Json(items).into_response(),
        Err(err) => refused(err, None),
    }
}

/// `PUT /bulk-programmes`: an empty list is 400 `error.request.body.empty`, an item without
/// an id 400 `error.bulk.update.failed.noId`; any id out of scope or unknown is a 404 and
/// nothing is written.
async fn bulk_update(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Body(dtos): Body<Vec<ProgrammeDto>>,
) -> Response {
    let ids: Vec<Option<i64>> = dtos.iter().map(|d| d.id).collect();
    if let Some(r) = Refusal::bulk_update(ENTITY, &ids) {
        return refused(r.error, Some((r.key, &r.params)));
    }
    let result = async {
        let ids = save(&kit, &Scope::of(&who), &dtos, true, true).await?;
        saved(&kit, &ids).await
    }
    .await;
    match result {
        Ok(items) => {
            let ids: Vec<i64> = items.iter().filter_map(|p| p.id).collect();
            let mut res = axum::Json(items).into_response();
            alert(&mut res, ENTITY, "updated", &joined(&ids));
            res
        }
        Err(err) => refused(err, None),
    }
}
