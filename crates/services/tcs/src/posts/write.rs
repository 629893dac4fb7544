//! Writing posts: [`save`] checks and writes a list of whole posts in one transaction (all or
//! nothing), with their nested records, the trusts of their sites (`post_trust`) and their
//! row of the post list (`post_view`).
//!
//! Order, so that nothing is half-written and Reference is never asked inside a transaction:
//! 1. the ids of an update must be posts the caller sees (else 404, before anything else);
//! 2. the checks that need no database ([`super::check`]): 400 with every field error;
//! 3. Reference, before the transaction: the sites and grades of the posts (their codes,
//!    names and trusts are written with the post, so each is looked up:
//!    [`records_by_id`]), the employing and training bodies (trusts) and the funding types
//!    that change ([`Refs`]);
//! 4. one transaction: the specialties, programmes (within scope) and old/new posts exist
//!    (400), the numbers are unique (409) or made, then the rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderMap;
use serde_json::Value as Json;
use tis_auth::Principal;
use tis_core::FieldError;
use tis_reference_client::RefType;
use tis_service_kit::ApiError;
use tis_store::{Sql, SqlType, Tx, Value};

use super::check;
use super::dto::PostDto;
use super::npn;
use super::read;
use crate::domain::scope::Scope;
use crate::reference::{Refs, records_by_id};
use crate::routes::Tcs;

/// The Reference records a write keeps values of: sites and grades by id.
#[derive(Default)]
struct Looked {
    sites: BTreeMap<i64, Arc<Json>>,
    grades: BTreeMap<i64, Arc<Json>>,
}

fn prefix(list: bool, i: usize) -> String {
    if list {
        format!("[{i}].")
    } else {
        String::new()
    }
}

pub(super) fn text(v: Option<&String>) -> Value {
    v.cloned()
        .map(Value::Text)
        .unwrap_or(Value::NullOf(SqlType::Text))
}

fn int(v: Option<i64>) -> Value {
    v.map(Value::Int).unwrap_or(Value::NullOf(SqlType::Int))
}

/// `UPDATE {table} SET {column} = $1, … WHERE id = ${n}`: row `id`'s `columns` set to their
/// values.
pub(crate) fn update_by_id<'a>(
    table: &str,
    columns: impl IntoIterator<Item = (&'a str, Value)>,
    id: i64,
) -> Sql {
    let mut sql = Sql::new(&format!("UPDATE {table} SET "));
    for (i, (column, value)) in columns.into_iter().enumerate() {
        sql.push(if i > 0 { ", " } else { "" })
            .push(column)
            .push(" = ");
        sql.bind(value);
    }
    sql.push(" WHERE id = ").bind(id);
    sql
}

pub(super) fn date(v: Option<&String>) -> Value {
    v.and_then(|d| tis_service_kit::entity::validate::parse_date(d))
        .map(Value::Date)
        .unwrap_or(Value::NullOf(SqlType::Date))
}

/// Checks and writes every post of `dtos` (created when `update` is false, else updated), in
/// one transaction; returns their ids in order. `list`: field errors are prefixed `[i].`.
pub async fn save(
    tcs: &Tcs,
    who: &Principal,
    headers: &HeaderMap,
    dtos: &[PostDto],
    update: bool,
    list: bool,
) -> Result<Vec<i64>, ApiError> {
    let kit = &tcs.kit;
    if dtos.len() > kit.limits.max_items {
        return Err(ApiError::field(
            "body",
            format!("at most {} items per request", kit.limits.max_items),
        ));
    }
    let scope = Scope::of(who);
    // 1. Out of scope first: an id the caller cannot see is 404 whatever the body says.
    let ids: Vec<i64> = dtos.iter().filter_map(|d| d.id).collect();
    let stored = if update && !ids.is_empty() {
        let seen = read::ids_of(
            &kit.repo
                .db()
                .read()
                .fetch_keyed(read::ids_in_scope(&scope, &ids), ids.len())
                .await?,
        );
        if let Some(id) = ids.iter().find(|id| !seen.contains(id)) {
            return Err(ApiError::NotFound(format!("no Post with id {id}")));
        }
        read::load(kit, &ids).await?
    } else {
        Vec::new()
    };
    let before = |d: &PostDto| stored.iter().find(|s| s.id.is_some() && s.id == d.id);
    // 2. What needs no database.
    let mut errors = Vec::new();
    for (i, dto) in dtos.iter().enumerate() {
        errors.extend(check::post(&scope, dto, &prefix(list, i)));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // 3. Reference.
    let mut sites: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut grades: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut refs = Refs::new();
    for (i, dto) in dtos.iter().enumerate() {
        let p = prefix(list, i);
        for (j, s) in dto.sites.iter().flatten().enumerate() {
            if let Some(id) = s.site_id {
                sites
                    .entry(id)
                    .or_default()
                    .push(format!("{p}sites[{j}].siteId"));
            }
        }
        for (j, g) in dto.grades.iter().flatten().enumerate() {
            if let Some(id) = g.grade_id {
                grades
                    .entry(id)
                    .or_default()
                    .push(format!("{p}grades[{j}].gradeId"));
            }
        }
        let old = before(dto);
        if old.and_then(|o| o.employing_body_id) != dto.employing_body_id {
            refs.id(
                format!("{p}employingBodyId"),
                RefType::TRUSTS,
                dto.employing_body_id,
            );
        }
        if old.and_then(|o| o.training_body_id) != dto.training_body_id {
            refs.id(
                format!("{p}trainingBodyId"),
                RefType::TRUSTS,
                dto.training_body_id,
            );
        }
        let old_types: Vec<&str> = old
            .and_then(|o| o.fundings.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|f| f.funding_type.as_deref())
            .collect();
        for (j, f) in dto.fundings.iter().flatten().enumerate() {
            if !f
                .funding_type
                .as_deref()
                .is_some_and(|t| old_types.contains(&t))
            {
                refs.code(
                    format!("{p}fundings[{j}].fundingType"),
                    RefType::FUNDING_TYPES,
                    f.funding_type.as_deref(),
                );
            }
        }
    }
    let mut reference_errors = Vec::new();
    let mut looked = Looked::default();
    for (of, ids, into) in [
        (RefType::SITES, &sites, &mut looked.sites),
        (RefType::GRADES, &grades, &mut looked.grades),
    ] {
        match records_by_id(&tcs.reference, of, ids, who, headers).await {
            Ok(found) => *into = found,
            Err(ApiError::Validation(f)) => reference_errors.extend(f),
            Err(other) => return Err(other),
        }
    }
    match refs.check(&tcs.reference, who, headers).await {
        Ok(()) => {}
        Err(ApiError::Validation(f)) => reference_errors.extend(f),
        Err(other) => return Err(other),
    }
    if !reference_errors.is_empty() {
        return Err(ApiError::Validation(reference_errors));
    }
    // 4. The transaction.
    let mut tx = kit.repo.db().write().begin().await?;
    for id in &ids {
        if update && !read::in_scope(&mut tx, &scope, *id).await? {
            return Err(ApiError::NotFound(format!("no Post with id {id}")));
        }
    }
    let mut errors = Vec::new();
    for (i, dto) in dtos.iter().enumerate() {
        errors.extend(exists(&mut tx, &scope, dto, &prefix(list, i)).await?);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut saved = Vec::with_capacity(dtos.len());
    for (i, dto) in dtos.iter().enumerate() {
        let number = number(&mut tx, dto, &looked, &prefix(list, i)).await?;
        let id = write(&mut tx, dto, update, &number).await?;
        children(&mut tx, id, dto, update).await?;
        trusts(&mut tx, id, &looked).await?;
        view(&mut tx, id, &looked).await?;
        saved.push(id);
    }
    tx.commit().await?;
    Ok(saved)
}

/// The ids of `table` among `wanted` that exist (and, for programmes, that `scope` sees).
async fn found(
    tx: &mut Tx,
    table: &str,
    wanted: &[i64],
    scope: &Scope,
) -> Result<Vec<i64>, ApiError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&format!(
        "SELECT g.id AS \"id\" FROM {table} g WHERE g.id IN "
    ));
    sql.bind_list(wanted.iter().copied());
    match table {
        "programme" => scope.restrict_programmes(&mut sql, "g"),
        "post" => scope.restrict_posts(&mut sql, "g"),
        _ => {}
    }
    Ok(read::ids_of(&tx.fetch_all(sql).await?))
}

/// The specialties, programmes and old/new posts `dto` names that do not exist (or that the
/// caller does not see), as field errors.
async fn exists(
    tx: &mut Tx,
    scope: &Scope,
    dto: &PostDto,
    p: &str,
) -> Result<Vec<FieldError>, ApiError> {
    let mut errors = Vec::new();
    let specialties: Vec<(usize, i64)> = dto
        .specialties
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(j, s)| Some((j, s.specialty.as_ref()?.id?)))
        .collect();
    let have = found(
        tx,
        "specialty",
        &specialties.iter().map(|s| s.1).collect::<Vec<_>>(),
        scope,
    )
    .await?;
    for (j, id) in specialties.iter().filter(|(_, id)| !have.contains(id)) {
        errors.push(FieldError::new(
            format!("{p}specialties[{j}].specialty"),
            format!("Specialty with id {id} does not exist"),
        ));
    }
    let programmes: Vec<(usize, i64)> = dto
        .programmes
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(j, g)| Some((j, g.id?)))
        .collect();
    let have = found(
        tx,
        "programme",
        &programmes.iter().map(|g| g.1).collect::<Vec<_>>(),
        scope,
    )
    .await?;
    for (j, id) in programmes.iter().filter(|(_, id)| !have.contains(id)) {
        errors.push(FieldError::new(
            format!("{p}programmes[{j}].id"),
            format!("Programme with id {id} does not exist"),
        ));
    }
    for (field, link) in [("oldPost", &dto.old_post), ("newPost", &dto.new_post)] {
        if let Some(id) = link.as_ref().and_then(|l| l.id)
            && found(tx, "post", &[id], scope).await?.is_empty()
        {
            errors.push(FieldError::new(
                format!("{p}{field}.id"),
                format!("Post with id {id} does not exist"),
            ));
        }
    }
    Ok(errors)
}

fn primary<T>(items: &[T], is_primary: impl Fn(&T) -> bool) -> Option<&T> {
    items.iter().find(|i| is_primary(i)).or(items.first())
}

fn field<'a>(record: Option<&'a Arc<Json>>, name: &str) -> Option<&'a str> {
    record?.get(name)?.as_str()
}

/// The number the post is written with: the body's (unique: 409 when another post has it),
/// the stored one on an update without one, or a new one made from the post (the owner's
/// local office, the primary site, the primary specialty, the approved grade).
async fn number(tx: &mut Tx, dto: &PostDto, looked: &Looked, p: &str) -> Result<String, ApiError> {
    if let Some(npn) = dto
        .national_post_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let mut sql = Sql::new("SELECT id AS \"id\" FROM post WHERE national_post_number = ");
        sql.bind(npn.to_owned());
        if let Some(id) = dto.id {
            sql.push(" AND id <> ").bind(id);
        }
        if tx.fetch_optional(sql).await?.is_some() {
            return Err(ApiError::Conflict(format!(
                "{p}nationalPostNumber: another post has the National Post Number {npn}"
            )));
        }
        return Ok(npn.to_owned());
    }
    if let Some(id) = dto.id {
        let mut sql = Sql::new("SELECT national_post_number AS \"n\" FROM post WHERE id = ");
        sql.bind(id);
        if let Some(n) = tx
            .fetch_optional(sql)
            .await?
            .and_then(|r| r.get("n")?.as_str().map(str::to_owned))
        {
            return Ok(n);
        }
    }
    let sites = dto.sites.as_deref().unwrap_or_default();
    let site = primary(sites, |s| s.post_site_type.as_deref() == Some("PRIMARY"))
        .and_then(|s| field(looked.sites.get(&s.site_id?), "siteCode"));
    let grades = dto.grades.as_deref().unwrap_or_default();
    let grade = primary(grades, |g| g.post_grade_type.as_deref() == Some("APPROVED"))
        .and_then(|g| field(looked.grades.get(&g.grade_id?), "abbreviation"));
    let specialties = dto.specialties.as_deref().unwrap_or_default();
    let specialty = match primary(specialties, |s| {
        s.post_specialty_type.as_deref() == Some("PRIMARY")
    })
    .and_then(|s| s.specialty.as_ref()?.id)
    {
        Some(id) => {
            let mut sql = Sql::new("SELECT specialty_code AS \"c\" FROM specialty WHERE id = ");
            sql.bind(id);
            tx.fetch_optional(sql)
                .await?
                .and_then(|r| r.get("c")?.as_str().map(str::to_owned))
        }
        None => None,
    };
    let lo = dto.owner.as_deref().and_then(npn::abbreviation);
    let (Some(lo), Some(site), Some(specialty), Some(grade)) = (lo, site, specialty, grade) else {
        return Err(ApiError::field(
            format!("{p}nationalPostNumber"),
            "none given, and none can be made: the post needs an owner with a local office, a primary site, a primary specialty with a code and an approved grade",
        ));
    };
    let clean = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let prefix = npn::prefix(lo, &clean(site), &clean(&specialty), &clean(grade));
    let mut sql =
        Sql::new("SELECT national_post_number AS \"n\" FROM post WHERE national_post_number LIKE ");
    sql.bind(format!("{prefix}/%"));
    let taken: Vec<String> = tx
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| r.get("n")?.as_str().map(str::to_owned))
        .collect();
    let made = npn::next(&prefix, dto.suffix.as_deref(), &taken);
    npn::check(&made).map_err(|why| ApiError::field(format!("{p}nationalPostNumber"), why))?;
    Ok(made)
}

/// A status's wire name (`CURRENT`).
fn status_name(status: Option<tis_service_kit::entity::Status>) -> Option<String> {
    serde_json::to_value(status?)
        .ok()?
        .as_str()
        .map(str::to_owned)
}

/// Inserts or updates the post's own row; returns its id.
async fn write(tx: &mut Tx, dto: &PostDto, update: bool, number: &str) -> Result<i64, ApiError> {
    let values = [
        ("intrepid_id", text(dto.intrepid_id.as_ref())),
        ("national_post_number", Value::Text(number.to_owned())),
        ("status", text(status_name(dto.status).as_ref())),
        ("suffix", text(dto.suffix.as_ref())),
        (
            "owner",
            text(dto.owner.as_ref().map(|o| o.trim().to_owned()).as_ref()),
        ),
        ("post_family", text(dto.post_family.as_ref())),
        ("old_post_id", int(dto.old_post.as_ref().and_then(|l| l.id))),
        ("new_post_id", int(dto.new_post.as_ref().and_then(|l| l.id))),
        ("employing_body_id", int(dto.employing_body_id)),
        ("training_body_id", int(dto.training_body_id)),
        (
            "training_description",
            text(dto.training_description.as_ref()),
        ),
        ("local_post_number", text(dto.local_post_number.as_ref())),
        (
            "bypass_npn_generation",
            Value::Bool(dto.bypass_npn_generation),
        ),
    ];
    match dto.id.filter(|_| update) {
        Some(id) => {
            tx.execute(update_by_id("post", values, id)).await?;
            Ok(id)
        }
        None => {
            let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
            let mut sql = Sql::new(&format!(
                "INSERT INTO post ({}) VALUES ",
                columns.join(", ")
            ));
            sql.bind_list(values.into_iter().map(|(_, v)| v));
            sql.push(" RETURNING id AS \"id\"");
            let row = tx.fetch_one(sql).await?;
            Ok(row.get("id").and_then(Json::as_i64).unwrap_or_default())
        }
    }
}

/// Replaces the post's nested records the body gives (absent ones are kept on an update; on a
/// create they are none).
async fn children(tx: &mut Tx, id: i64, dto: &PostDto, update: bool) -> Result<(), ApiError> {
    async fn clear(tx: &mut Tx, table: &str, id: i64) -> Result<(), ApiError> {
        let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE post_id = "));
        sql.bind(id);
        tx.execute(sql).await?;
        Ok(())
    }
    async fn insert(
        tx: &mut Tx,
        table: &str,
        columns: &str,
        values: Vec<Value>,
    ) -> Result<(), ApiError> {
        let mut sql = Sql::new(&format!("INSERT INTO {table} ({columns}) VALUES "));
        sql.bind_list(values);
        tx.execute(sql).await?;
        Ok(())
    }
    let _ = update;
    if let Some(sites) = &dto.sites {
        clear(tx, "post_site", id).await?;
        for s in sites {
            insert(
                tx,
                "post_site",
                "post_id, site_id, post_site_type",
                vec![
                    Value::Int(id),
                    int(s.site_id),
                    text(s.post_site_type.as_ref()),
                ],
            )
            .await?;
        }
    }
    if let Some(grades) = &dto.grades {
        clear(tx, "post_grade", id).await?;
        for g in grades {
            insert(
                tx,
                "post_grade",
                "post_id, grade_id, post_grade_type",
                vec![
                    Value::Int(id),
                    int(g.grade_id),
                    text(g.post_grade_type.as_ref()),
                ],
            )
            .await?;
        }
    }
    if let Some(specialties) = &dto.specialties {
        clear(tx, "post_specialty", id).await?;
        for s in specialties {
            let specialty = s.specialty.as_ref().and_then(|s| s.id);
            insert(
                tx,
                "post_specialty",
                "post_id, specialty_id, post_specialty_type",
                vec![
                    Value::Int(id),
                    int(specialty),
                    text(s.post_specialty_type.as_ref()),
                ],
            )
            .await?;
        }
    }
    if let Some(programmes) = &dto.programmes {
        clear(tx, "post_programme", id).await?;
        let mut seen = Vec::new();
        for g in programmes.iter().filter_map(|g| g.id) {
            if !seen.contains(&g) {
                seen.push(g);
                insert(
                    tx,
                    "post_programme",
                    "post_id, programme_id",
                    vec![Value::Int(id), Value::Int(g)],
                )
                .await?;
            }
        }
    }
    if let Some(fundings) = &dto.fundings {
        // A funding keeps its id (`/post-fundings/{id}`) when the body names one of the post's
        // own; the others go, and those without (or with another post's id) are added.
        let mut sql = Sql::new("SELECT id AS \"id\" FROM post_funding WHERE post_id = ");
        sql.bind(id);
        let own = read::ids_of(&tx.fetch_all(sql).await?);
        let kept: Vec<i64> = fundings
            .iter()
            .filter_map(|f| f.id)
            .filter(|f| own.contains(f))
            .collect();
        let mut sql = Sql::new("DELETE FROM post_funding WHERE post_id = ");
        sql.bind(id);
        if !kept.is_empty() {
            sql.push(" AND id NOT IN ").bind_list(kept.iter().copied());
        }
        tx.execute(sql).await?;
        for f in fundings {
            super::fundings::write_row(tx, f.id.filter(|f| kept.contains(f)), id, f).await?;
        }
    }
    Ok(())
}

/// The post's sites as stored (id, type).
async fn stored_sites(tx: &mut Tx, id: i64) -> Result<Vec<(i64, Option<String>)>, ApiError> {
    let mut sql = Sql::new(
        "SELECT site_id AS \"s\", post_site_type AS \"t\" FROM post_site WHERE post_id = ",
    );
    sql.bind(id).push(" ORDER BY id");
    Ok(tx
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                r.get("s")?.as_i64()?,
                r.get("t").and_then(Json::as_str).map(str::to_owned),
            ))
        })
        .collect())
}

/// The trusts of post `id` as `post_trust` has them, in order.
async fn stored_trusts(tx: &mut Tx, id: i64) -> Result<Vec<i64>, ApiError> {
    let mut sql = Sql::new("SELECT trust_id AS \"t\" FROM post_trust WHERE post_id = ");
    sql.bind(id).push(" ORDER BY trust_id");
    Ok(tx
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| r.get("t")?.as_i64())
        .collect())
}

/// Rewrites `post_trust` from the post's sites' trusts (when the write looked them up); when
/// they change, the trust admins' view of the people placed in the post follows
/// ([`crate::placements::refresh_post_people`]).
async fn trusts(tx: &mut Tx, id: i64, looked: &Looked) -> Result<(), ApiError> {
    let sites = stored_sites(tx, id).await?;
    if sites.iter().any(|(s, _)| !looked.sites.contains_key(s)) {
        return Ok(()); // the sites did not change (not looked up): their trusts neither
    }
    let before = stored_trusts(tx, id).await?;
    rewrite_trusts(tx, id, sites, looked).await?;
    if stored_trusts(tx, id).await? != before {
        crate::placements::refresh_post_people(tx, id).await?;
    }
    Ok(())
}

/// `post_trust` of post `id`: the distinct trusts of `sites` as Reference gave them.
async fn rewrite_trusts(
    tx: &mut Tx,
    id: i64,
    sites: Vec<(i64, Option<String>)>,
    looked: &Looked,
) -> Result<(), ApiError> {
    let mut sql = Sql::new("DELETE FROM post_trust WHERE post_id = ");
    sql.bind(id);
    tx.execute(sql).await?;
    let mut done = Vec::new();
    for (site, _) in sites {
        let record = looked.sites.get(&site);
        let Some(trust) = record.and_then(|r| r.get("trustId")?.as_i64()) else {
            continue;
        };
        if done.contains(&trust) {
            continue;
        }
        done.push(trust);
        let mut sql = Sql::new("INSERT INTO post_trust (post_id, trust_id, trust_code) VALUES ");
        sql.bind_list([
            Value::Int(id),
            Value::Int(trust),
            text(field(record, "trustCode").map(str::to_owned).as_ref()),
        ]);
        tx.execute(sql).await?;
    }
    Ok(())
}

/// Rewrites the post's row of the post list from what is stored and what was looked up
/// (the current trainee's columns are kept: placements keep them).
async fn view(tx: &mut Tx, id: i64, looked: &Looked) -> Result<(), ApiError> {
    let mut sql = Sql::new(
        r#"SELECT p.intrepid_id AS "intrepidId", p.national_post_number AS "npn", p.status AS "status", p.owner AS "owner",
           v.primary_site_id AS "siteId", v.primary_site_code AS "siteCode", v.primary_site_name AS "siteName", v.primary_site_known_as AS "siteKnownAs",
           v.approved_grade_id AS "gradeId", v.approved_grade_code AS "gradeCode", v.approved_grade_name AS "gradeName",
           v.current_trainee_id AS "tId", v.current_trainee_gmc_number AS "tGmc", v.current_trainee_surname AS "tSurname", v.current_trainee_forenames AS "tForenames"
           FROM post p LEFT JOIN post_view v ON v.id = p.id WHERE p.id = "#,
    );
    sql.bind(id);
    let row = tx.fetch_one(sql).await?;
    let s = |k: &str| row.get(k).and_then(Json::as_str).map(str::to_owned);
    let i = |k: &str| row.get(k).and_then(Json::as_i64);
    // The primary site and approved grade: looked up now, or kept as they were.
    let sites = stored_sites(tx, id).await?;
    let site = sites
        .iter()
        .find(|(_, t)| t.as_deref() == Some("PRIMARY"))
        .or(sites.first())
        .map(|(s, _)| *s);
    let (site_code, site_name, site_known_as) = match site.and_then(|s| looked.sites.get(&s)) {
        Some(r) => (
            field(Some(r), "siteCode").map(str::to_owned),
            field(Some(r), "siteName").map(str::to_owned),
            field(Some(r), "siteKnownAs").map(str::to_owned),
        ),
        None if site == i("siteId") => (s("siteCode"), s("siteName"), s("siteKnownAs")),
        None => (None, None, None),
    };
    let mut sql = Sql::new(
        "SELECT grade_id AS \"g\", post_grade_type AS \"t\" FROM post_grade WHERE post_id = ",
    );
    sql.bind(id).push(" ORDER BY id");
    let grades: Vec<(i64, Option<String>)> = tx
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                r.get("g")?.as_i64()?,
                r.get("t").and_then(Json::as_str).map(str::to_owned),
            ))
        })
        .collect();
    let grade = grades
        .iter()
        .find(|(_, t)| t.as_deref() == Some("APPROVED"))
        .or(grades.first())
        .map(|(g, _)| *g);
    let (grade_code, grade_name) = match grade.and_then(|g| looked.grades.get(&g)) {
        Some(r) => (
            field(Some(r), "abbreviation").map(str::to_owned),
            field(Some(r), "name").map(str::to_owned),
        ),
        None if grade == i("gradeId") => (s("gradeCode"), s("gradeName")),
        None => (None, None),
    };
    let mut sql = Sql::new(
        r#"SELECT s.id AS "id", s.specialty_code AS "code", s.name AS "name" FROM post_specialty ps JOIN specialty s ON s.id = ps.specialty_id WHERE ps.post_id = "#,
    );
    sql.bind(id)
        .push(" ORDER BY CASE WHEN ps.post_specialty_type = 'PRIMARY' THEN 0 ELSE 1 END, ps.id");
    let specialty = tx.fetch_all(sql).await?.into_iter().next();
    let sp = |k: &str| {
        specialty
            .as_ref()
            .and_then(|r| r.get(k)?.as_str().map(str::to_owned))
    };
    let mut sql = Sql::new(
        r#"SELECT g.programme_name AS "n" FROM post_programme pp JOIN programme g ON g.id = pp.programme_id WHERE pp.post_id = "#,
    );
    sql.bind(id).push(" ORDER BY g.programme_name");
    let names: Vec<String> = tx
        .fetch_all(sql)
        .await?
        .iter()
        .filter_map(|r| r.get("n")?.as_str().map(str::to_owned))
        .collect();
    let programme_names = (!names.is_empty()).then(|| names.join(", "));
    let funding = super::fundings::current_funding_type(tx, id).await?;
    let search: String = [
        s("npn"),
        site_code.clone(),
        site_name.clone(),
        sp("name"),
        programme_names.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
    .to_lowercase();
    let mut sql = Sql::new("DELETE FROM post_view WHERE id = ");
    sql.bind(id);
    tx.execute(sql).await?;
    let mut sql = Sql::new(
        "INSERT INTO post_view (id, intrepid_id, national_post_number, status, owner, primary_site_id, primary_site_code, primary_site_name, primary_site_known_as, approved_grade_id, approved_grade_code, approved_grade_name, primary_specialty_id, primary_specialty_code, primary_specialty_name, programme_names, funding_type, current_trainee_id, current_trainee_gmc_number, current_trainee_surname, current_trainee_forenames, search_text) VALUES ",
    );
    sql.bind_list([
        Value::Int(id),
        text(s("intrepidId").as_ref()),
        text(s("npn").as_ref()),
        text(s("status").as_ref()),
        text(s("owner").as_ref()),
        int(site),
        text(site_code.as_ref()),
        text(site_name.as_ref()),
        text(site_known_as.as_ref()),
        int(grade),
        text(grade_code.as_ref()),
        text(grade_name.as_ref()),
        int(specialty.as_ref().and_then(|r| r.get("id")?.as_i64())),
        text(sp("code").as_ref()),
        text(sp("name").as_ref()),
        text(programme_names.as_ref()),
        text(funding.as_ref()),
        int(i("tId")),
        text(s("tGmc").as_ref()),
        text(s("tSurname").as_ref()),
        text(s("tForenames").as_ref()),
        Value::Text(search),
    ]);
    tx.execute(sql).await?;
    Ok(())
}

/// Rewrites every post's row of the post list from what is stored (`/posts/build-post-view`);
/// returns how many.
pub async fn rebuild_views(tcs: &Tcs) -> Result<usize, ApiError> {
    let ids = read::ids_of(
        &tcs.kit
            .repo
            .db()
            .read()
            .fetch_all(Sql::new("SELECT id AS \"id\" FROM post ORDER BY id"))
            .await?,
    );
    for chunk in ids.chunks(500) {
        let mut tx = tcs.kit.repo.db().write().begin().await?;
        for id in chunk {
            view(&mut tx, *id, &Looked::default()).await?;
        }
        tx.commit().await?;
    }
    Ok(ids.len())
}
