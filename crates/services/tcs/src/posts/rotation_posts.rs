//! A rotation's posts (`RotationPostResource`, guard `authenticated` as the original), scoped
//! through the post: a post out of the caller's scope is 404 (by post id) or a 400 naming
//! `postId` (in a body), and its rotation posts are left out of the list.
//!
//! | route | answer |
//! |---|---|
//! | `GET /rotation-posts` | every rotation post of a post in scope, by id |
//! | `GET /rotation-posts/{postId}` | the post's rotation posts (the original's look-up by post) |
//! | `POST /rotation-posts` | a list: each `postId` and `rotationId` must exist (the rotation's programme in scope); a pair already there is answered as stored; 200 with the list |
//! | `DELETE /rotation-posts/{postId}` | the post's rotation posts go |

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use tis_auth::Authenticated;
use tis_core::FieldError;
use tis_core::extract::Json as Body;
use tis_service_kit::ApiError;
use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_store::{Sql, Tx};

use super::dto::RotationPostDto;
use super::read;
use crate::domain::scope::Scope;
use crate::memberships::{alert, answer, bounded, number};
use crate::routes::{API, Tcs};

const ENTITY: &str = "rotationPost";
const OBJECT: &str = "RotationPostDTO";
const COLUMNS: &str = r#"rp.id AS "id", rp.post_id AS "postId", rp.rotation_id AS "rotationId""#;

/// The rotation-post routes.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    let many = || Doc::Many("RotationPostDto".into());
    api.schema::<RotationPostDto>()
        .add(
            Method::Get,
            &format!("{API}/rotation-posts"),
            list,
            Op::new("RotationPost", "Every rotation post of a post in scope")
                .returns(200, many())
                .guard(Guard::Authenticated),
        )
        .add(
            Method::Get,
            &format!("{API}/rotation-posts/{{postId}}"),
            of_post,
            Op::new(
                "RotationPost",
                "A post's rotation posts (404 for a post out of scope)",
            )
            .path("postId")
            .returns(200, many())
            .guard(Guard::Authenticated),
        )
        .add(
            Method::Post,
            &format!("{API}/rotation-posts"),
            create,
            Op::new("RotationPost", "Puts posts in rotations")
                .body(many())
                .returns(200, many())
                .guard(Guard::Authenticated)
                .idempotent(),
        )
        .add(
            Method::Delete,
            &format!("{API}/rotation-posts/{{postId}}"),
            delete,
            Op::new("RotationPost", "Takes a post out of every rotation")
                .path("postId")
                .guard(Guard::Authenticated),
        )
}

fn rows(rows: Vec<tis_store::Row>) -> Vec<RotationPostDto> {
    rows.into_iter()
        .filter_map(|r| serde_json::from_value(serde_json::Value::Object(r)).ok())
        .collect()
}

async fn list(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
) -> Result<axum::Json<Vec<RotationPostDto>>, ApiError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM rotation_post rp JOIN post t ON t.id = rp.post_id WHERE 1 = 1"
    ));
    Scope::of(&who).restrict_posts(&mut sql, "t");
    sql.push(" ORDER BY rp.id");
    Ok(axum::Json(rows(
        tcs.kit.repo.db().read().fetch_all(sql).await?,
    )))
}

async fn of_post(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Result<axum::Json<Vec<RotationPostDto>>, ApiError> {
    let id = number("postId", &raw)?;
    let read = tcs.kit.repo.db().read();
    if read
        .fetch_keyed(read::ids_in_scope(&Scope::of(&who), &[id]), 1)
        .await?
        .is_empty()
    {
        return Err(ApiError::NotFound(format!("no Post with id {id}")));
    }
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM rotation_post rp WHERE rp.post_id = "
    ));
    sql.bind(id).push(" ORDER BY rp.id");
    Ok(axum::Json(rows(read.fetch_all(sql).await?)))
}

/// The rotation posts `dtos` name that cannot be written, as field errors.
async fn invalid(
    tx: &mut Tx,
    scope: &Scope,
    dtos: &[RotationPostDto],
) -> Result<Vec<FieldError>, ApiError> {
    let mut errors = Vec::new();
    for (i, d) in dtos.iter().enumerate() {
        match d.post_id {
            None => errors.push(FieldError::new(format!("[{i}].postId"), "must not be null")),
            Some(p) if !read::in_scope(tx, scope, p).await? => errors.push(FieldError::new(
                format!("[{i}].postId"),
                format!("Post with id {p} does not exist"),
            )),
            Some(_) => {}
        }
        match d.rotation_id {
            None => errors.push(FieldError::new(
                format!("[{i}].rotationId"),
                "must not be null",
            )),
            Some(r) => {
                let mut sql = Sql::new(
                    "SELECT r.id AS \"id\" FROM rotation r JOIN programme g ON g.id = r.programme_id WHERE r.id = ",
                );
                sql.bind(r);
                scope.restrict_programmes(&mut sql, "g");
                if tx.fetch_optional(sql).await?.is_none() {
                    errors.push(FieldError::new(
                        format!("[{i}].rotationId"),
                        format!("Rotation with id {r} does not exist"),
                    ));
                }
            }
        }
    }
    Ok(errors)
}

async fn create(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Body(dtos): Body<Vec<RotationPostDto>>,
) -> Response {
    let result = async {
        bounded(&dtos, tcs.kit.limits.max_items)?;
        let scope = Scope::of(&who);
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        let errors = invalid(&mut tx, &scope, &dtos).await?;
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let mut saved = Vec::with_capacity(dtos.len());
        for d in &dtos {
            let (post, rotation) = (d.post_id.unwrap_or_default(), d.rotation_id.unwrap_or_default());
            let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM rotation_post rp WHERE rp.post_id = "));
            sql.bind(post).push(" AND rp.rotation_id = ").bind(rotation);
            let row = match tx.fetch_optional(sql).await? {
                Some(row) => row,
                None => {
                    let mut sql = Sql::new("INSERT INTO rotation_post (post_id, rotation_id) VALUES ");
                    sql.bind_list([post, rotation]);
                    sql.push(" RETURNING id AS \"id\", post_id AS \"postId\", rotation_id AS \"rotationId\"");
                    tx.fetch_one(sql).await?
                }
            };
            saved.extend(rows(vec![row]));
        }
        tx.commit().await?;
        let ids = saved.iter().filter_map(|r| r.id.map(|i| i.to_string())).collect::<Vec<_>>().join(",");
        Ok(alert(axum::Json(saved).into_response(), ENTITY, "created", &ids))
    }
    .await;
    answer(OBJECT, result)
}

async fn delete(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(raw): Path<String>,
) -> Response {
    let result = read::delete_of_post(
        &tcs.kit,
        &Scope::of(&who),
        ("postId", &raw),
        ("rotation_post", "post_id"),
        (ENTITY, "nothing"),
        false,
    )
    .await;
    answer(OBJECT, result)
}
