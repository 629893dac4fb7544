//! Demo reference data for England: the local offices with their designated bodies, a set of
//! real NHS trusts and sites, grades, and the code/label lists a person record needs. A few
//! hundred rows; loaded in well under a second.
//!
//! [`seed`] is idempotent: it fills only the tables that are empty, so it can run at every
//! start of `tis up` and never duplicates or overwrites anything.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};
use tis_store::{Db, StoreError};

use crate::domain::Descriptor;
use crate::routes::dto::*;
use tis_service_kit::repo::{ListQuery, Repo, WriteError};

mod lists;
mod places;

use lists::*;
use places::*;

fn obj(v: Json) -> Map<String, Json> {
    match v {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

fn lookup_records(rows: CodeLabels) -> Vec<Map<String, Json>> {
    rows.iter()
        .map(|(code, label)| {
            // `name` for the lists named rather than labelled (concern sources).
            obj(json!({"code": code, "label": label, "name": label, "status": "CURRENT"}))
        })
        .collect()
}

/// Inserts `records` into `desc` when its table is empty; returns how many were inserted.
async fn fill(
    repo: &Repo,
    desc: &'static Descriptor,
    records: Vec<Map<String, Json>>,
) -> Result<usize, StoreError> {
    let (_, total) = repo
        .page(
            desc,
            &ListQuery::default(),
            tis_service_kit::repo::Page { number: 0, size: 1 },
        )
        .await?;
    if total > 0 || records.is_empty() {
        return Ok(0);
    }
    match repo.create_many(desc, &records).await {
        Ok(rows) => Ok(rows.len()),
        Err(WriteError::Store(e)) => Err(e),
        Err(other) => Err(StoreError::Other(format!(
            "demo data for {}: {other}",
            desc.name
        ))),
    }
}

/// `field value → id` of every row of `desc`.
async fn ids_by(
    repo: &Repo,
    desc: &'static Descriptor,
    field: &str,
) -> Result<HashMap<String, Json>, StoreError> {
    let rows = repo.list(desc, &ListQuery::default()).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.get(field)?.as_str()?.to_owned(), r.get("id")?.clone())))
        .collect())
}

/// Loads the demo data into every empty table; returns the number of rows inserted.
pub async fn seed(db: &Db) -> Result<usize, StoreError> {
    // Seeding reads back ids it has just written: every read on the primary, never a replica.
    tis_store::scope::RequestScope::new(tis_store::Consistency::Primary)
        .run(seed_all(db))
        .await
}

async fn seed_all(db: &Db) -> Result<usize, StoreError> {
    let repo = Repo::new(db.clone());
    let mut n = 0;
    // The code/label lists first: trusts refer to organisation types.
    for (desc, rows) in code_labels() {
        n += fill(&repo, desc, lookup_records(rows)).await?;
    }
    let organization_types = ids_by(&repo, &ORGANIZATION_TYPE, "code").await?;
    let office_name: HashMap<&str, &str> = LOCAL_OFFICES
        .iter()
        .map(|(a, name, _, _)| (*a, *name))
        .collect();
    n += fill(&repo, &LOCAL_OFFICE, LOCAL_OFFICES.iter().map(|(abbr, name, _, post)| obj(json!({"abbreviation": abbr, "name": name, "postAbbreviation": post, "status": "CURRENT"}))).collect()).await?;
    n += fill(&repo, &DBC, LOCAL_OFFICES.iter().map(|(abbr, name, dbc, _)| obj(json!({"dbc": dbc, "name": name, "abbr": abbr, "type": "DEANERY_LETB", "internal": true, "status": "CURRENT"}))).collect()).await?;
    n += fill(&repo, &TRUST, TRUSTS.iter().map(|(code, name, lo)| obj(json!({"code": code, "trustName": name, "trustKnownAs": name, "localOffice": office_name.get(lo), "organizationType": {"id": organization_types.get("NHS_TRUST")}, "status": "CURRENT"}))).collect()).await?;
    let trust_ids = ids_by(&repo, &TRUST, "code").await?;
    let trust_office: HashMap<&str, &str> = TRUSTS.iter().map(|(c, _, lo)| (*c, *lo)).collect();
    n += fill(&repo, &SITE, SITES.iter().map(|(code, name, trust, post)| obj(json!({
        "siteCode": code, "siteName": name, "siteKnownAs": name, "postCode": post, "trustCode": trust,
        "trustId": trust_ids.get(*trust), "localOffice": trust_office.get(trust).and_then(|lo| office_name.get(lo)),
        "startDate": "2013-04-01", "status": "CURRENT"
    }))).collect()).await?;
    n += fill(&repo, &GRADE, GRADES.iter().map(|(abbr, name, t, p, pl)| obj(json!({"abbreviation": abbr, "name": name, "label": name, "trainingGrade": t, "postGrade": p, "placementGrade": pl, "status": "CURRENT"}))).collect()).await?;
    let grade_ids = ids_by(&repo, &GRADE, "abbreviation").await?;
    n += fill(&repo, &TARIFF_RATE, [("F1", "30000"), ("F2", "34600"), ("CT1", "40300"), ("ST3", "51000")].iter().map(|(g, rate)| obj(json!({"code": format!("TR-{g}"), "gradeId": grade_ids.get(*g), "gradeAbbreviation": g, "tariffRate": rate, "tariffRateFringe": "2162", "tariffRateLondon": "4076", "status": "CURRENT"}))).collect()).await?;
    n += fill(
        &repo,
        &ETHNIC_ORIGIN,
        ETHNIC_ORIGINS
            .iter()
            .map(|c| obj(json!({"code": c, "status": "CURRENT"})))
            .collect(),
    )
    .await?;
    n += fill(
        &repo,
        &COUNTRY,
        COUNTRIES
            .iter()
            .map(|(num, name)| {
                obj(json!({"countryNumber": num, "nationality": name, "status": "CURRENT"}))
            })
            .collect(),
    )
    .await?;
    n += fill(
        &repo,
        &NATIONALITY,
        NATIONALITIES
            .iter()
            .map(|(num, name)| {
                obj(json!({"countryNumber": num, "nationality": name, "status": "CURRENT"}))
            })
            .collect(),
    )
    .await?;
    n += fill(
        &repo,
        &COLLEGE,
        COLLEGES
            .iter()
            .map(|(abbr, name)| {
                obj(json!({"abbreviation": abbr, "name": name, "status": "CURRENT"}))
            })
            .collect(),
    )
    .await?;
    let mut categories: Vec<&str> = ROLES.iter().map(|(c, _, _)| *c).collect();
    categories.dedup();
    n += fill(
        &repo,
        &ROLE_CATEGORY,
        categories.iter().map(|c| obj(json!({"name": c}))).collect(),
    )
    .await?;
    let category_ids = ids_by(&repo, &ROLE_CATEGORY, "name").await?;
    n += fill(&repo, &ROLE, ROLES.iter().map(|(cat, code, label)| obj(json!({"code": code, "label": label, "status": "CURRENT", "roleCategory": {"id": category_ids.get(*cat)}}))).collect()).await?;
    n += fill(&repo, &FUNDING_TYPE, FUNDING_TYPES.iter().map(|(code, label, details)| obj(json!({"code": code, "label": label, "allowDetails": details, "status": "CURRENT"}))).collect()).await?;
    let funding_ids = ids_by(&repo, &FUNDING_TYPE, "code").await?;
    n += fill(&repo, &FUNDING_SUB_TYPE, FUNDING_SUB_TYPES.iter().map(|(ft, code, label)| obj(json!({"code": code, "label": label, "status": "CURRENT", "fundingType": {"id": funding_ids.get(*ft)}}))).collect()).await?;
    n += fill(
        &repo,
        &FUNDING_REASON,
        FUNDING_REASONS
            .iter()
            .map(|r| obj(json!({"reason": r, "status": "CURRENT"})))
            .collect(),
    )
    .await?;
    n += fill(
        &repo,
        &LOCAL_OFFICE_CONTACT_TYPE,
        CONTACT_TYPES
            .iter()
            .map(|(code, label)| obj(json!({"code": code, "label": label, "status": "CURRENT"})))
            .collect(),
    )
    .await?;
    let office_ids = ids_by(&repo, &LOCAL_OFFICE, "abbreviation").await?;
    let type_ids = ids_by(&repo, &LOCAL_OFFICE_CONTACT_TYPE, "code").await?;
    n += fill(&repo, &LOCAL_OFFICE_CONTACT, LOCAL_OFFICES.iter().map(|(abbr, _, _, _)| obj(json!({
        "localOffice": {"id": office_ids.get(*abbr)}, "contactType": {"id": type_ids.get("TSS_SUPPORT")},
        "contact": format!("tss.support.{}@example.nhs.uk", abbr.to_lowercase())
    }))).collect()).await?;
    n += fill(&repo, &ROTATION, [("NWL-GP-1", "North West London GP Rotation 1", "HENWL"), ("SL-IM-1", "South London Internal Medicine Rotation", "HESL"), ("WX-FND-1", "Wessex Foundation Rotation", "HEWX")].iter().map(|(code, label, lo)| obj(json!({"code": code, "label": label, "localOffice": office_name.get(lo), "status": "CURRENT"}))).collect()).await?;
    Ok(n)
}
