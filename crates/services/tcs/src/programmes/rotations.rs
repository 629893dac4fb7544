//! Rotations (`RotationResource`): `RotationDTO` with `programmeName` and `programmeNumber`
//! derived from its programme on every read (read-only: a write ignores them). Guarded by
//! `authenticated` only, as the original, and scoped through the programme: a caller sees and
//! writes the rotations of the programmes of their scope; another rotation's id is 404, and a
//! write naming a programme they cannot see is a 400 on `programmeId` ("does not exist"), as
//! for an unknown programme.
//!
//! As the original (`RotationDTO` has no `@NotNull(groups = Update.class)` on its id), `PUT`
//! without an id creates (201). `DELETE` answers 200 (404 for an unknown id; the original
//! answered 500); memberships naming the rotation keep their data and lose the rotation. The original has no
//! `/bulk-rotations` (tis-contract.tsv), so neither do we.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, Uri, header};
use serde_json::{Map, Value as Json};
use tis_auth::Authenticated;
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
use tis_store::{Sql, Value};

use super::{alert, original, page_from};
use crate::domain::scope::Scope;
use crate::posts::write::update_by_id;
use crate::routes::{API, Tcs};

const ENTITY: &str = "rotation";
const OBJECT: &str = "RotationDTO";

/// `authenticated` on every route.
static ROTATION_GUARDS: Guards = Guards {
    view: Guard::Authenticated,
    create: Guard::Authenticated,
    update: Guard::Authenticated,
    delete: Guard::Authenticated,
    bulk_create: Guard::Authenticated,
    bulk_update: Guard::Authenticated,
};

entity! {
    /// A rotation of a programme (the original's `RotationDTO`).
    RotationDto / ROTATION { name: "Rotation", plural: "rotations", table: "rotation", id: i64 = Long, code: None }
    programme_id "programmeId": i64 => "programme_id" (Kind::Long) .required() .sort() .filter();
    /// The programme's name (read-only).
    programme_name "programmeName": String => "programme_name" (Kind::Text) .sort() .filter();
    /// The programme's number (read-only).
    programme_number "programmeNumber": String => "programme_number" (Kind::Text) .sort() .filter();
    name "name": String => "name" (Kind::Text) .required() .all();
    status "status": Status => "status" (Kind::Enum(STATUS)) .required() .sort() .filter();
}

/// The columns a write sets (the others are the programme's).
const WRITTEN: [&str; 3] = ["programmeId", "name", "status"];

/// The rotation routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let one = || Doc::One("RotationDto".into());
    let g = ROTATION_GUARDS;
    api.schema::<RotationDto>()
        .add(
            Method::Get,
            &format!("{API}/rotations"),
            list,
            Op::new(
                "Rotation",
                "A page of rotations (scoped through their programmes)",
            )
            .paged()
            .returns(200, Doc::Many("RotationDto".into()))
            .guard(g.view),
        )
        .add(
            Method::Get,
            &format!("{API}/rotations/{{id}}"),
            get_one,
            Op::new("Rotation", "One rotation (404 out of scope)")
                .path("id")
                .returns(200, one())
                .guard(g.view),
        )
        .add(
            Method::Post,
            &format!("{API}/rotations"),
            create,
            Op::new("Rotation", "Creates a rotation")
                .body(one())
                .returns(201, one())
                .guard(g.create)
                .idempotent(),
        )
        .add(
            Method::Put,
            &format!("{API}/rotations"),
            update,
            Op::new(
                "Rotation",
                "Updates a rotation (creates it when the body has no id)",
            )
            .body(one())
            .returns(200, one())
            .guard(g.update)
            .idempotent(),
        )
        .add(
            Method::Delete,
            &format!("{API}/rotations/{{id}}"),
            delete,
            Op::new("Rotation", "Deletes a rotation")
                .path("id")
                .guard(g.delete),
        )
}

/// The rotations `scope` sees, with their programme's name and number, aliased `rotation`.
fn visible(scope: &Scope) -> impl Fn() -> Sql + '_ {
    move || {
        let mut sql = Sql::new(
            "(SELECT r.id, r.programme_id, r.name, r.status, g.programme_name, g.programme_number \
             FROM rotation r JOIN programme g ON g.id = r.programme_id WHERE 1 = 1",
        );
        scope.restrict_programmes(&mut sql, "g");
        sql.push(") rotation");
        sql
    }
}

fn refused(err: ApiError) -> Response {
    error_response(&original(ROTATION_GUARDS), OBJECT, err, None)
}

async fn find(kit: &Kit, scope: &Scope, id: i64) -> Result<Option<RotationDto>, ApiError> {
    let q = ListQuery::filtered(vec![Filter::new(ROTATION.id_field(), vec![Value::Int(id)])]);
    let (rows, _) = page_from(kit, &ROTATION, visible(scope), &q, None).await?;
    Ok(decode(rows)?.pop())
}

fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.trim().parse().map_err(|_| {
        ApiError::field(
            "id",
            format!(
                "`{}` is not an id",
                raw.chars().take(64).collect::<String>()
            ),
        )
    })
}

/// `GET /rotations`: `searchQuery` over the name (HEAD), `columnFilters` over every column.
async fn list(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_pairs(uri.query());
    let req = kit.list_request(&ROTATION, &params)?;
    let scope = Scope::of(&who);
    let (rows, total) =
        page_from(&kit, &ROTATION, visible(&scope), &req.query, Some(req.page)).await?;
    let items: Vec<RotationDto> = decode(rows)?;
    let headers = paging::headers(uri.path(), req.page, total, &req.carried);
    Ok((headers, axum::Json(items)).into_response())
}

/// `GET /rotations/{id}`.
async fn get_one(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<RotationDto>, ApiError> {
    let id = path_id(&id)?;
    find(&kit, &Scope::of(&who), id)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no Rotation with id {id}")))
}

/// Validates `dto` and writes it (inserting when `id` is `None`); returns the id.
async fn save(
    kit: &Kit,
    scope: &Scope,
    dto: &RotationDto,
    id: Option<i64>,
) -> Result<i64, ApiError> {
    let map: Map<String, Json> = match serde_json::to_value(dto) {
        Ok(Json::Object(m)) => m,
        _ => Map::new(),
    };
    let errors = validate(&ROTATION, &map, "");
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut tx = kit.repo.db().begin().await?;
    if let Some(id) = id {
        // Out of scope first: a rotation the caller cannot see is 404 whatever the body says.
        let mut sql = Sql::new(
            "SELECT r.id AS \"id\" FROM rotation r JOIN programme g ON g.id = r.programme_id WHERE r.id = ",
        );
        sql.bind(id);
        scope.restrict_programmes(&mut sql, "g");
        if tx.fetch_optional(sql).await?.is_none() {
            return Err(ApiError::NotFound(format!("no Rotation with id {id}")));
        }
    }
    let programme = dto.programme_id.unwrap_or_default();
    let mut sql = Sql::new("SELECT g.id AS \"id\" FROM programme g WHERE g.id = ");
    sql.bind(programme);
    scope.restrict_programmes(&mut sql, "g");
    if tx.fetch_optional(sql).await?.is_none() {
        return Err(ApiError::field(
            "programmeId",
            format!("Programme with id {programme} does not exist"),
        ));
    }
    let fields: Vec<_> = WRITTEN.iter().filter_map(|j| ROTATION.field(j)).collect();
    let id = match id {
        Some(id) => {
            let columns = fields
                .iter()
                .map(|f| (f.column, bind_value(f, map.get(f.json))));
            tx.execute(update_by_id("rotation", columns, id)).await?;
            id
        }
        None => {
            let columns: Vec<&str> = fields.iter().map(|f| f.column).collect();
            let mut sql = Sql::new(&format!(
                "INSERT INTO rotation ({}) VALUES ",
                columns.join(", ")
            ));
            sql.bind_list(fields.iter().map(|f| bind_value(f, map.get(f.json))));
            sql.push(" RETURNING id AS \"id\"");
            let row = tx.fetch_one(sql).await?;
            row.get("id").and_then(Json::as_i64).unwrap_or_default()
        }
    };
    tx.commit().await?;
    Ok(id)
}

/// 201 with `Location` and the created rotation.
async fn created(kit: &Kit, scope: &Scope, dto: &RotationDto) -> Result<Response, ApiError> {
    let id = save(kit, scope, dto, None).await?;
    let item = find(kit, &Scope::Everything, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the rotation vanished".into()))?;
    let mut res = (StatusCode::CREATED, axum::Json(item)).into_response();
    if let Ok(v) = format!("{}/rotations/{id}", kit.api).parse() {
        res.headers_mut().insert(header::LOCATION, v);
    }
    alert(&mut res, ENTITY, "created", &id.to_string());
    Ok(res)
}

/// `POST /rotations`: an id in the body is a 400 naming `id`.
async fn create(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Body(dto): Body<RotationDto>,
) -> Response {
    if dto.id.is_some() {
        return refused(ApiError::field(
            "id",
            "a new Rotation cannot already have an id",
        ));
    }
    created(&kit, &Scope::of(&who), &dto)
        .await
        .unwrap_or_else(refused)
}

/// `PUT /rotations`: without an id it creates, as the original.
async fn update(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Body(dto): Body<RotationDto>,
) -> Response {
    let scope = Scope::of(&who);
    let Some(id) = dto.id else {
        return created(&kit, &scope, &dto).await.unwrap_or_else(refused);
    };
    let result = async {
        save(&kit, &scope, &dto, Some(id)).await?;
        find(&kit, &Scope::Everything, id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no Rotation with id {id}")))
    }
    .await;
    match result {
        Ok(item) => {
            let mut res = axum::Json(item).into_response();
            alert(&mut res, ENTITY, "updated", &id.to_string());
            res
        }
        Err(err) => refused(err),
    }
}

/// `DELETE /rotations/{id}`: memberships naming it keep their data and lose the rotation.
async fn delete(
    State(kit): State<Kit>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let result = async {
        let id = path_id(&raw)?;
        if find(&kit, &Scope::of(&who), id).await?.is_none() {
            return Err(ApiError::NotFound(format!("no Rotation with id {id}")));
        }
        let mut tx = kit.repo.db().begin().await?;
        let mut sql =
            Sql::new("UPDATE programme_membership SET rotation_id = NULL WHERE rotation_id = ");
        sql.bind(id);
        tx.execute(sql).await?;
        let mut sql = Sql::new("DELETE FROM rotation WHERE id = ");
        sql.bind(id);
        tx.execute(sql).await?;
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
        Err(err) => refused(err),
    }
}
