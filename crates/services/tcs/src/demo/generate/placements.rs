//! Demo placements: each demo trainee placed, academic year by academic year (1 August to
//! 31 July), in the posts of the programme they are a member of, within their membership's
//! dates: past, current and future years alike. Every placement keeps the write rules
//! (`placements::overlap`): a post holds one trainee per year and a trainee one post per
//! year, so when a programme has more trainees than posts in a year, the later ones wait
//! (a gap their timeline shows). One trainee in ten works 0.8 whole time; future years of one
//! trainee in five are drafts. Placements name the post's primary site, approved grade and
//! primary specialty, so they are Reference's demo data too.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Deserialize;
use time::{Date, Month};
use tis_store::{Sql, StoreError, Tx, Value};

use super::Table;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    person_id: i64,
    programme_id: i64,
    programme_start_date: String,
    programme_end_date: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Post {
    programme_id: i64,
    id: i64,
    site_id: Option<i64>,
    site_code: Option<String>,
    grade_id: Option<i64>,
    grade_code: Option<String>,
    specialty_id: Option<i64>,
}

fn parse(text: &str) -> Result<Date, StoreError> {
    tis_service_kit::entity::validate::parse_date(text)
        .ok_or_else(|| StoreError::Decode(format!("not a date: {text}")))
}

/// The academic years (`year`: the one its August is in) that `start..=end` touches, each
/// clipped to it.
fn years(start: Date, end: Date) -> Vec<(i32, Date, Date)> {
    let first = if start.month() >= Month::August {
        start.year()
    } else {
        start.year() - 1
    };
    let mut out = Vec::new();
    for year in first..=end.year() {
        let (Ok(from), Ok(to)) = (
            Date::from_calendar_date(year, Month::August, 1),
            Date::from_calendar_date(year + 1, Month::July, 31),
        ) else {
            continue;
        };
        let (from, to) = (from.max(start), to.min(end));
        if from <= to {
            out.push((year, from, to));
        }
    }
    out
}

/// Writes the demo placements of every membership in the database; returns the rows written.
pub async fn generate(
    tx: &mut Tx,
    today: Date,
    progress: super::Progress<'_>,
) -> Result<usize, StoreError> {
    let memberships: Vec<Membership> = tx
        .fetch_all(Sql::new(
            r#"SELECT pm.person_id AS "personId", pm.programme_id AS "programmeId", pm.programme_start_date AS "programmeStartDate", pm.programme_end_date AS "programmeEndDate" FROM programme_membership pm ORDER BY pm.person_id, pm.programme_start_date, pm.uuid"#,
        ))
        .await?
        .into_iter()
        .map(tis_store::db::decode)
        .collect::<Result<_, _>>()?;
    let mut posts: BTreeMap<i64, Vec<Post>> = BTreeMap::new();
    for row in tx
        .fetch_all(Sql::new(
            r#"SELECT pp.programme_id AS "programmeId", pv.id AS "id", pv.primary_site_id AS "siteId", pv.primary_site_code AS "siteCode", pv.approved_grade_id AS "gradeId", pv.approved_grade_code AS "gradeCode", pv.primary_specialty_id AS "specialtyId" FROM post_programme pp JOIN post_view pv ON pv.id = pp.post_id ORDER BY pp.programme_id, pv.id"#,
        ))
        .await?
    {
        let post: Post = tis_store::db::decode(row)?;
        if post.site_id.is_some() && post.grade_id.is_some() {
            posts.entry(post.programme_id).or_default().push(post);
        }
    }
    let mut placement = Table::new(
        "placement (id, trainee_id, post_id, site_id, site_code, grade_id, grade_abbreviation, date_from, date_to, placement_type, whole_time_equivalent, training_description, lifecycle_state)",
        13,
    );
    let mut specialty = Table::new(
        "placement_specialty (placement_id, specialty_id, placement_specialty_type)",
        3,
    );
    let mut taken: HashSet<(i64, i32)> = HashSet::new();
    let mut placed: HashSet<(i64, i32)> = HashSet::new();
    let (mut people, mut current_posts) = (BTreeSet::new(), BTreeSet::new());
    let mut id = 0_i64;
    for m in &memberships {
        let Some(candidates) = posts.get(&m.programme_id) else {
            continue;
        };
        let (start, end) = (
            parse(&m.programme_start_date)?,
            parse(&m.programme_end_date)?,
        );
        for (year, from, to) in years(start, end) {
            if !placed.insert((m.person_id, year)) {
                continue;
            }
            let n = candidates.len();
            let first = usize::try_from(m.person_id + i64::from(year)).unwrap_or(0) % n;
            let Some(post) = (0..n)
                .map(|k| &candidates[(first + k) % n])
                .find(|p| !taken.contains(&(p.id, year)))
            else {
                continue;
            };
            taken.insert((post.id, year));
            id += 1;
            let wte = if m.person_id % 10 == 3 { 0.8 } else { 1.0 };
            let state = if from > today && m.person_id % 5 == 0 {
                "DRAFT"
            } else {
                "APPROVED"
            };
            if from <= today && today <= to {
                people.insert(m.person_id);
                current_posts.insert(post.id);
            }
            placement.push(vec![
                id.into(),
                m.person_id.into(),
                post.id.into(),
                post.site_id.into(),
                post.site_code.clone().into(),
                post.grade_id.into(),
                post.grade_code.clone().into(),
                from.into(),
                to.into(),
                "IN_POST".into(),
                Value::Float(wte),
                Value::from(format!("Year {} of the programme", year - start.year() + 1)),
                state.into(),
            ]);
            if let Some(s) = post.specialty_id {
                specialty.push(vec![id.into(), s.into(), "PRIMARY".into()]);
            }
        }
    }
    let rows = placement.rows.len() + specialty.rows.len();
    // In parts, to tell how far it is.
    let (total, step) = (placement.rows.len(), 20 * super::BATCH);
    let all = std::mem::take(&mut placement.rows);
    for (k, part) in all.chunks(step).enumerate() {
        placement.rows = part.to_vec();
        placement.flush(tx).await?;
        progress("placements", k * step + part.len(), total);
    }
    specialty.flush(tx).await?;
    if tx.backend() == tis_store::Backend::Postgres {
        tx.execute(Sql::new(
            "SELECT setval(pg_get_serial_sequence('placement', 'id'), GREATEST((SELECT MAX(id) FROM placement), 1))",
        ))
        .await?;
    }
    // What placements feed: every placed trainee's trusts, then the current ones' list rows
    // and their posts' current trainees, as a write's refresh makes them.
    super::analyze(tx).await?;
    tx.execute(Sql::new(
        "INSERT INTO person_trust (person_id, trust_id, trust_code) SELECT DISTINCT pl.trainee_id, pt.trust_id, pt.trust_code FROM placement pl JOIN post_trust pt ON pt.post_id = pl.post_id",
    ))
    .await?;
    let total = people.len() + current_posts.len();
    crate::placements::refresh_all_current(tx, today).await?;
    progress("placed list rows", total, total);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_membership_is_cut_into_academic_years_within_its_dates() {
        let y = years(date!(2024 - 08 - 03), date!(2026 - 07 - 31));
        assert_eq!(
            y,
            [
                (2024, date!(2024 - 08 - 03), date!(2025 - 07 - 31)),
                (2025, date!(2025 - 08 - 01), date!(2026 - 07 - 31)),
            ]
        );
        let y = years(date!(2025 - 02 - 01), date!(2025 - 09 - 30));
        assert_eq!(
            y,
            [
                (2024, date!(2025 - 02 - 01), date!(2025 - 07 - 31)),
                (2025, date!(2025 - 08 - 01), date!(2025 - 09 - 30)),
            ]
        );
    }
}
