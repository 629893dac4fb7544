//! The original's JSON-patch resource, which Reference and Profile (and TCS) each served the
//! same way: a store of patches (`patch` is JSON Patch text, `tableDtoName` the DTO it applies
//! to, `patchId` the record) that the ETL wrote and read back, disabling each once applied.
//!
//! | route | semantics |
//! |---|---|
//! | `GET /jsonPatches` | a page (`page`, `size`, `sort`) |
//! | `POST /jsonPatches`, `PUT /jsonPatches` | create; update (an upsert, as the original) |
//! | `GET /jsonPatches/{id}` | one patch, or 404 |
//! | `GET /jsonPatches/updateType/{tableDtoName}` | the patches of a DTO that name a record (`patchId` set), oldest first (`dateAdded`); the name compared ignoring case |
//! | `PUT /jsonPatches/{id}` | a soft delete: `enabled` becomes `false`; 200, or 404 (guard: the delete guard) |
//! | `PUT /bulk-jsonPatches` | updates every patch given, each with `enabled` `false` (the original's bulk "delete") |
//!
//! A service serves it by adding [`JSON_PATCH`] to its schema (its migrations are written from
//! the descriptors like the service's own) and calling [`routes`] with its guards.

use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tis_core::extract::{Json as Body, Path};
use tis_store::{Sql, Value};

use super::Kit;
use super::api::{Api, Body as Doc, Method, Op};
use super::crud::{self, Crud, Exists, Listing, decode, path_id};
use crate::entity::{Entity, Kind};
use crate::error::ApiError;
use crate::repo::{Filter, ListQuery, Sort};

crate::entity! {
    /// A JSON patch for the ETL: `patch` (JSON Patch text) to apply to the `tableDtoName`
    /// record `patchId`; `enabled` until applied.
    JsonPatchDto / JSON_PATCH { name: "JsonPatch", plural: "jsonPatches", table: "json_patch", id: i64 = Long, code: None }
    table_dto_name "tableDtoName": String => "table_dto_name" (Kind::Text) .required() .sort() .filter() .lookup();
    patch_id "patchId": String => "patch_id" (Kind::Text) .sort() .filter();
    patch "patch": String => "patch" (Kind::Text) .max(1_000_000);
    /// When the patch was added (RFC 3339).
    #[schema(format = DateTime)]
    date_added "dateAdded": String => "date_added" (Kind::Timestamp) .sort() .filter();
    enabled "enabled": bool => "enabled" (Kind::Bool) .sort() .filter();
}

/// The JSON-patch routes under the API's prefix, with `crud`'s guards (view, create, update;
/// its delete guard for the soft delete, its bulk-update guard for the bulk one) and its
/// original-compatibility choice.
pub fn routes<S>(api: Api<S>, crud: &Crud) -> Api<S>
where
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
{
    let o = crud
        .without_delete()
        .without_bulk()
        .exists(Exists::Off)
        .current(Listing::Off)
        .list(Listing::Paged);
    let guards = o.guards;
    let prefix = api.prefix();
    let base = format!("{prefix}/jsonPatches");
    let many = || Doc::Many("JsonPatchDto".into());
    let api = crud::routes_with::<JsonPatchDto, S>(api, &o);
    api.add(
        Method::Get,
        &format!("{base}/updateType/{{tableDtoName}}"),
        |State(st): State<Kit>, Path(name): Path<String>| async move {
            of_type(&st, name).await.into_response()
        },
        Op::new(
            "JsonPatch",
            "The patches of a DTO that name a record, oldest first",
        )
        .path("tableDtoName")
        .returns(200, many())
        .guard(guards.view),
    )
    .add(
        Method::Put,
        &format!("{base}/{{id}}"),
        move |State(st): State<Kit>, Path(id): Path<String>| async move {
            disable(&st, &o, &id).await
        },
        Op::new("JsonPatch", "Disables a patch (the original's soft delete)")
            .path("id")
            .guard(guards.delete),
    )
    .add(
        Method::Put,
        &format!("{prefix}/bulk-jsonPatches"),
        move |State(st): State<Kit>, Body(dtos): Body<Vec<JsonPatchDto>>| async move {
            let dtos = dtos
                .into_iter()
                .map(|dto| JsonPatchDto {
                    enabled: Some(false),
                    ..dto
                })
                .collect();
            crud::bulk_update::<JsonPatchDto>(&st, &o, dtos).await
        },
        Op::new(
            "JsonPatch",
            "Updates many patches, each disabled, all or none",
        )
        .body(many())
        .returns(200, many())
        .guard(guards.bulk_update)
        .idempotent(),
    )
}

async fn of_type(st: &Kit, name: String) -> Result<axum::Json<Vec<JsonPatchDto>>, ApiError> {
    let d = JsonPatchDto::desc();
    let (Some(table), Some(added)) = (d.field("tableDtoName"), d.field("dateAdded")) else {
        return Ok(axum::Json(Vec::new()));
    };
    let mut q = ListQuery::filtered(vec![Filter::ignoring_case(table, [name])]);
    q.sort = vec![Sort {
        field: added,
        descending: false,
    }];
    let patches = decode::<JsonPatchDto>(st.repo.list(d, &q).await?)?;
    Ok(axum::Json(
        patches
            .into_iter()
            .filter(|p| p.patch_id.is_some())
            .collect(),
    ))
}

async fn disable(st: &Kit, o: &Crud, id: &str) -> Response {
    let d = JsonPatchDto::desc();
    let result = async {
        let mut sql = Sql::new(&format!("UPDATE {} SET enabled = ", d.table));
        sql.bind(Value::Bool(false))
            .push(" WHERE id = ")
            .bind(path_id(d, id)?);
        if st.repo.db().write().execute(sql).await? == 0 {
            return Err(ApiError::NotFound(format!("no JsonPatch with id {id}")));
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            let mut res = StatusCode::OK.into_response();
            crud::alert(&mut res, o, d, "deleted", id);
            res
        }
        Err(err) => crud::error_response(o, "jsonPatchDto", err, None),
    }
}
