//! Reading posts: which the caller sees ([`visible`], [`in_scope`]), and a post whole
//! ([`load`]) with its sites, grades, specialties, programmes, fundings and old and new post.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use tis_service_kit::ApiError;
use tis_service_kit::http::Kit;
use tis_service_kit::http::crud::decode;
use tis_service_kit::repo::query::{TRIGRAM, order_by, select_list, where_clause};
use tis_service_kit::repo::{ListQuery, Page};
use tis_store::{Backend, Row, Sql, Tx};

use super::dto::{
    POST_VIEW, PostDto, PostFundingDto, PostGradeDto, PostLink, PostSiteDto, PostSpecialtyDto,
    SEARCH_TEXT,
};
use crate::domain::scope::Scope;
use crate::placements::placement::Source;
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

/// A page of the post list rows `scope` sees, as `q` asks, and their total (a short page is
/// its own total, as [`crate::programmes::page_from`] answers).
///
/// On SQLite, a search term the trigram structure indexes (three characters or more), for a
/// caller who sees everything or the posts of some owners, is answered by the structure
/// (migration 0009: it indexes each post's owner as a code too): the MATCH of the term and
/// of the codes of the caller's owners finds exactly the rows `owner IN (…)` and
/// `LOWER(search_text) LIKE '%term%'` find, without reading them. The total of a page
/// without other filters is then the structure's `COUNT(*)` (a specialty's first letters:
/// 2–4 ms where reading each matched post for its owner cost 8–20 ms), and a page sorted by
/// id for a term of up to 12 characters walks the structure's matches in rowid
/// order, each post read for the owner, and stops at the page's end (where all the matches
/// were listed first). Other
/// searches (a trust admin's or observer's scope, a short term, PostgreSQL, whose trigram index serves
/// the `LIKE`) are [`crate::programmes::page_from`]'s statements over [`visible`].
pub async fn page(
    kit: &Kit,
    scope: &Scope,
    q: &ListQuery,
    page: Page,
) -> Result<(Vec<Row>, u64), ApiError> {
    let db = kit.repo.db();
    let Some(matched) = structure_match(q, scope, db.backend()) else {
        return crate::programmes::page_from(kit, &POST_VIEW, visible(scope), q, Some(page)).await;
    };
    let (rows, count) = structure_statements(q, scope, &matched, page);
    let rows = kit.repo.select(&POST_VIEW, rows).await?;
    let got = rows.len() as u64;
    if got < page.size && (got > 0 || page.offset() == 0) {
        return Ok((rows, page.offset() + got));
    }
    Ok((
        rows,
        crate::programmes::total(kit, &POST_VIEW, count).await?,
    ))
}

/// The statements of a page answered by the search structure (see [`page`]): the page's rows
/// and the count of every row. `matched` is the term's phrase and the owners' codes.
fn structure_statements(q: &ListQuery, scope: &Scope, matched: &Sql, page: Page) -> (Sql, Sql) {
    let in_structure = || {
        let mut sql = Sql::new("SELECT rowid FROM search_post_view WHERE search_post_view MATCH ");
        sql.append(matched.clone());
        sql
    };
    let filters = ListQuery::filtered(q.filters.clone());
    let by_id = q.filters.is_empty() && q.sort.iter().all(|s| s.field.column == "id");
    let short = q.search.as_deref().unwrap_or_default().chars().count() <= WALK_MAX;
    let owners = |sql: &mut Sql, t: &str| {
        if let Scope::Owners(owners) = scope {
            sql.push(&format!(" AND +{t}owner IN "))
                .bind_list(owners.iter().map(|o| (*o).to_owned()));
        }
    };
    let head = format!("SELECT {} FROM post_view", select_list(&POST_VIEW));
    let rows = if by_id && short {
        // The term's matches in rowid order, each joined to its post for the owner, up to
        // the page's end (a specialty's first letters: 0.3 ms, against 5 ms listing its
        // thousands of matches first). The OR of the owners' codes is left to the count:
        // walked in rowid order it costs more than reading the page's posts.
        let way = if q.sort.iter().any(|s| s.descending) {
            "DESC"
        } else {
            "ASC"
        };
        let mut ids = Sql::new(
            "SELECT t.id FROM search_post_view s CROSS JOIN post_view t ON t.id = s.rowid \
             WHERE search_post_view MATCH ",
        );
        ids.bind(phrase(q));
        owners(&mut ids, "t.");
        ids.push(&format!(" ORDER BY s.rowid {way}"))
            .push_page(page);
        let mut sql = filtered(&head, &filters, ids);
        sql.push(&order_by(q));
        sql
    } else {
        // The term's matches listed first, then the rows read, filtered and sorted: for a
        // long term (a whole number: its trigrams' lists are walked backwards only by
        // loading each whole, 10 ms, against 3 ms listing its few matches), or other sorts.
        let mut ids = Sql::new("SELECT rowid FROM search_post_view WHERE search_post_view MATCH ");
        ids.bind(phrase(q));
        let mut sql = filtered(&head, &filters, ids);
        owners(&mut sql, "");
        sql.push(&order_by(q)).push_page(page);
        sql
    };
    let count = if q.filters.is_empty() {
        let mut sql =
            Sql::new("SELECT COUNT(*) AS n FROM search_post_view WHERE search_post_view MATCH ");
        sql.append(matched.clone());
        sql
    } else {
        filtered(
            "SELECT COUNT(*) AS n FROM post_view",
            &filters,
            in_structure(),
        )
    };
    (rows, count)
}

/// `head` (`SELECT … FROM post_view`) with `filters`' conditions and `id IN (ids)`.
fn filtered(head: &str, filters: &ListQuery, ids: Sql) -> Sql {
    let mut sql = Sql::new(head);
    let clause = where_clause(&POST_VIEW, filters);
    let empty = clause.render(Backend::Sqlite).is_empty();
    sql.append(clause);
    sql.push(if empty {
        " WHERE id IN ("
    } else {
        " AND id IN ("
    });
    sql.append(ids).push(")");
    sql
}

/// What to MATCH in the search structure for `q`'s search term within `scope`, when the
/// structure answers it (see [`page`]): the term as the kit matches it (a phrase in
/// `search_text`) and, for a scope of owners, one of their codes in `owner_code` (none of
/// them has one yet: a code no owner has, so nothing matches).
fn structure_match(q: &ListQuery, scope: &Scope, backend: Backend) -> Option<Sql> {
    let term = q.search.as_deref()?.to_lowercase();
    let over_text = q.search_in.len() == 1 && std::ptr::eq(q.search_in[0], &SEARCH_TEXT);
    if backend != Backend::Sqlite || term.chars().count() < TRIGRAM || !over_text {
        return None;
    }
    let mut sql = Sql::default();
    sql.bind(phrase(q));
    match scope {
        Scope::Everything => {}
        Scope::Owners(owners) if !owners.is_empty() => {
            sql.push(
                " || COALESCE((SELECT ' AND {owner_code} : (' || group_concat('\"' || code || '\"', ' OR ') || ')' \
                 FROM search_post_view_owner WHERE owner IN ",
            )
            .bind_list(owners.iter().map(|o| (*o).to_owned()))
            .push("), ' AND {owner_code} : \"000\"')");
        }
        _ => return None,
    }
    let mut wrapped = Sql::new("(");
    wrapped.append(sql).push(")");
    Some(wrapped)
}

/// The longest search term whose page sorted by id walks the search structure in rowid order
/// (see [`structure_statements`]); longer ones list their matches first.
const WALK_MAX: usize = 12;

/// `q`'s search term as the kit matches it in the search structure: a phrase (the trigram
/// tokenizer matches it as a substring, ignoring case) in `search_text`.
fn phrase(q: &ListQuery) -> String {
    let term = q.search.as_deref().unwrap_or_default().to_lowercase();
    format!("{{search_text}} : \"{}\"", term.replace('"', "\"\""))
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

/// The original's refusal to delete a post reconciled with ESR (`PostServiceImpl.delete`:
/// an `IllegalStateException` when the post's `currentReconciledEvents` are not empty).
pub const RECONCILED_WITH_ESR: &str =
    "The post has been reconciled with ESR. Do you still want to delete the post?";

/// Deletes the rows of `table` whose `column` is post `raw` (a path segment named `field`),
/// in one transaction, when the post is in `scope` (else 404); when `reconciled_refuses`, a
/// post with current reconciled ESR events (`currentReconciledEvents`, read in the
/// transaction) is a 409 [`RECONCILED_WITH_ESR`] and nothing is deleted; a foreign key that
/// refuses is a 409 saying `what` still names the post. Answers the original's deletion alert
/// for `entity`.
pub async fn delete_of_post(
    kit: &tis_service_kit::http::Kit,
    scope: &Scope,
    (field, raw): (&str, &str),
    (table, column): (&str, &str),
    (entity, what): (&str, &str),
    reconciled_refuses: bool,
) -> Result<axum::response::Response, ApiError> {
    let id = crate::memberships::number(field, raw)?;
    let mut tx = kit.repo.db().write().begin().await?;
    if !in_scope(&mut tx, scope, id).await? {
        return Err(ApiError::NotFound(format!("no Post with id {id}")));
    }
    if reconciled_refuses
        && !crate::esr::current_reconciled(&mut Source::Tx(&mut tx), id)
            .await?
            .is_empty()
    {
        return Err(ApiError::Conflict(RECONCILED_WITH_ESR.into()));
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
    Ok(crate::memberships::deleted(entity, id))
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
