//! Reading posts: which the caller sees ([`visible`], [`in_scope`]), and a post whole
//! ([`load`]) with its sites, grades, specialties, programmes, fundings and old and new post.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use tis_service_kit::ApiError;
use tis_service_kit::http::Kit;
use tis_service_kit::http::crud::decode;
use tis_store::{Row, Sql, Tx};

use super::dto::{PostDto, PostFundingDto, PostGradeDto, PostLink, PostSiteDto, PostSpecialtyDto};
use crate::domain::scope::Scope;
use crate::programmes::programme;
use crate::programmes::specialties::{SPECIALTY, SpecialtyDto};

/// The post-list rows `scope` sees, as a sub-select aliased `post_view`.
pub fn visible(scope: &Scope) -> impl Fn() -> Sql + '_ {
    move || {
        let mut sql = Sql::new("(SELECT * FROM post_view t WHERE 1 = 1");
        scope.restrict_posts(&mut sql, "t");
        sql.push(") post_view");
        sql
    }
}

/// `SELECT t.id FROM post t WHERE t.id IN (ids)` within `scope`.
pub fn ids_in_scope(scope: &Scope, ids: &[i64]) -> Sql {
    let mut sql = Sql::new("SELECT t.id AS \"id\" FROM post t WHERE t.id IN ");
    sql.bind_list(ids.iter().copied());
    scope.restrict_posts(&mut sql, "t");
    sql
}

/// Whether post `id` exists within `scope` (read in `tx`).
pub async fn in_scope(tx: &mut Tx, scope: &Scope, id: i64) -> Result<bool, ApiError> {
    Ok(tx
        .fetch_optional(ids_in_scope(scope, &[id]))
        .await?
        .is_some())
}

/// Deletes the rows of `table` whose `column` is post `raw` (a path segment named `field`),
/// in one transaction, when the post is in `scope` (else 404); a foreign key that refuses is
/// a 409 saying `what` still names the post. Answers the original's deletion alert for
/// `entity`.
pub async fn delete_of_post(
    kit: &tis_service_kit::http::Kit,
    scope: &Scope,
    (field, raw): (&str, &str),
    (table, column): (&str, &str),
    (entity, what): (&str, &str),
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let id = crate::memberships::number(field, raw)?;
    let mut tx = kit.repo.db().write().begin().await?;
    if !in_scope(&mut tx, scope, id).await? {
        return Err(ApiError::NotFound(format!("no Post with id {id}")));
    }
    let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE {column} = "));
    sql.bind(id);
    tx.execute(sql).await.map_err(|e| match e {
        tis_store::StoreError::Reference(_) => {
            ApiError::Conflict(format!("post {id} is still named by {what}"))
        }
        other => other.into(),
    })?;
    tx.commit().await?;
    Ok(crate::memberships::alert(
        http::StatusCode::OK.into_response(),
        entity,
        "deleted",
        &id.to_string(),
    ))
}

/// The ids of `rows` (each with an `id`).
pub fn ids_of(rows: &[Row]) -> Vec<i64> {
    rows.iter()
        .filter_map(|r| r.get("id").and_then(Json::as_i64))
        .collect()
}

fn rows_as<T: DeserializeOwned>(rows: Vec<Row>) -> Result<Vec<T>, ApiError> {
    rows.into_iter()
        .map(|r| {
            serde_json::from_value(Json::Object(r))
                .map_err(|e| ApiError::Store(tis_store::StoreError::Decode(e.to_string())))
        })
        .collect()
}

const POST_COLUMNS: &str = r#"id AS "id", intrepid_id AS "intrepidId", national_post_number AS "nationalPostNumber", status AS "status", suffix AS "suffix", owner AS "owner", post_family AS "postFamily", old_post_id AS "oldPostId", new_post_id AS "newPostId", employing_body_id AS "employingBodyId", training_body_id AS "trainingBodyId", training_description AS "trainingDescription", local_post_number AS "localPostNumber""#;

/// The posts of `ids` that exist (whatever the scope: callers check it first), whole, in the
/// order of `ids`.
pub async fn load(kit: &Kit, ids: &[i64]) -> Result<Vec<PostDto>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let read = kit.repo.db().read();
    let select = |what: &str, table: &str, key: &str| {
        let mut sql = Sql::new(&format!("SELECT {what} FROM {table} WHERE {key} IN "));
        sql.bind_list(ids.iter().copied());
        sql.push(" ORDER BY id");
        sql
    };
    let posts = read
        .fetch_keyed(select(POST_COLUMNS, "post", "id"), ids.len())
        .await?;
    let sites: Vec<PostSiteDto> = rows_as(
        read.fetch_all(select(
            r#"id AS "id", post_id AS "postId", site_id AS "siteId", post_site_type AS "postSiteType""#,
            "post_site",
            "post_id",
        ))
        .await?,
    )?;
    let grades: Vec<PostGradeDto> = rows_as(
        read.fetch_all(select(
            r#"id AS "id", post_id AS "postId", grade_id AS "gradeId", post_grade_type AS "postGradeType""#,
            "post_grade",
            "post_id",
        ))
        .await?,
    )?;
    let specialty_rows = read
        .fetch_all(select(
            r#"id AS "id", post_id AS "postId", specialty_id AS "specialtyId", post_specialty_type AS "postSpecialtyType""#,
            "post_specialty",
            "post_id",
        ))
        .await?;
    let fundings: Vec<PostFundingDto> = rows_as(
        read.fetch_all(select(
            r#"id AS "id", post_id AS "postId", intrepid_id AS "intrepidId", funding_type AS "fundingType", info AS "info", start_date AS "startDate", end_date AS "endDate", funding_body_id AS "fundingBodyId""#,
            "post_funding",
            "post_id",
        ))
        .await?,
    )?;
    let mut links = Sql::new(
        r#"SELECT post_id AS "postId", programme_id AS "programmeId" FROM post_programme WHERE post_id IN "#,
    );
    links.bind_list(ids.iter().copied());
    links.push(" ORDER BY programme_id");
    let programme_links = read.fetch_all(links).await?;

    let int = |r: &Row, k: &str| r.get(k).and_then(Json::as_i64);
    let mut specialty_ids: Vec<Json> = specialty_rows
        .iter()
        .filter_map(|r| r.get("specialtyId").cloned())
        .collect();
    specialty_ids.sort_by_key(Json::as_i64);
    specialty_ids.dedup();
    let specialties: Vec<SpecialtyDto> =
        decode(kit.repo.get_many(&SPECIALTY, &specialty_ids).await?)?;
    let mut programme_ids: Vec<i64> = programme_links
        .iter()
        .filter_map(|r| int(r, "programmeId"))
        .collect();
    programme_ids.sort_unstable();
    programme_ids.dedup();
    let programmes = programme::by_ids(kit, &Scope::Everything, &programme_ids).await?;
    let mut linked: Vec<i64> = posts
        .iter()
        .flat_map(|p| [int(p, "oldPostId"), int(p, "newPostId")])
        .flatten()
        .collect();
    linked.sort_unstable();
    linked.dedup();
    let mut numbers = BTreeMap::new();
    if !linked.is_empty() {
        let mut sql =
            Sql::new(r#"SELECT id AS "id", national_post_number AS "npn" FROM post WHERE id IN "#);
        sql.bind_list(linked.iter().copied());
        for r in read.fetch_all(sql).await? {
            if let (Some(id), Some(npn)) = (int(&r, "id"), r.get("npn").and_then(Json::as_str)) {
                numbers.insert(id, npn.to_owned());
            }
        }
    }
    let link = |id: Option<i64>| {
        id.map(|id| PostLink {
            id: Some(id),
            national_post_number: numbers.get(&id).cloned(),
        })
    };

    let mut out = Vec::with_capacity(posts.len());
    for row in posts {
        let id = int(&row, "id");
        let (old, new) = (int(&row, "oldPostId"), int(&row, "newPostId"));
        let mut dto: PostDto = rows_as(vec![row])?.pop().unwrap_or_default();
        dto.old_post = link(old);
        dto.new_post = link(new);
        dto.sites = Some(sites.iter().filter(|s| s.post_id == id).cloned().collect());
        dto.grades = Some(grades.iter().filter(|g| g.post_id == id).cloned().collect());
        dto.specialties = Some(
            specialty_rows
                .iter()
                .filter(|r| int(r, "postId") == id)
                .map(|r| PostSpecialtyDto {
                    id: int(r, "id"),
                    post_id: id,
                    specialty: specialties
                        .iter()
                        .find(|s| s.id == int(r, "specialtyId"))
                        .cloned(),
                    post_specialty_type: r
                        .get("postSpecialtyType")
                        .and_then(Json::as_str)
                        .map(str::to_owned),
                })
                .collect(),
        );
        dto.programmes = Some(
            programme_links
                .iter()
                .filter(|l| int(l, "postId") == id)
                .filter_map(|l| {
                    programmes
                        .iter()
                        .find(|p| p.id == int(l, "programmeId"))
                        .cloned()
                })
                .collect(),
        );
        dto.fundings = Some(
            fundings
                .iter()
                .filter(|f| f.post_id == id)
                .cloned()
                .collect(),
        );
        dto.placement_history = Some(Vec::new());
        out.push(dto);
    }
    out.sort_by_key(|p| ids.iter().position(|id| Some(*id) == p.id));
    Ok(out)
}
