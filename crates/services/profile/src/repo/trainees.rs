//! Trainee id mappings (GMC number → TIS id), as the original `TraineeProfileService`:
//! registering a designated body's trainees gets or creates each one's id, moving a trainee
//! known under another designated body to this one (active again, with the new date).

use std::collections::HashMap;

use serde::Deserialize;
use tis_store::{Sql, StoreError, Value};

use super::{Page, Repo, chunks, count};
use crate::domain::{Registration, TraineeProfile};

const COLUMNS: &str = r#"tis_id AS "tisId", gmc_number AS "gmcNumber", active AS "active", designated_body_code AS "designatedBodyCode", date_added AS "dateAdded""#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TraineeRow {
    tis_id: i64,
    gmc_number: String,
    active: bool,
    designated_body_code: Option<String>,
    date_added: Option<String>,
}

impl TryFrom<TraineeRow> for TraineeProfile {
    type Error = StoreError;

    fn try_from(r: TraineeRow) -> Result<Self, StoreError> {
        let date_added = match r.date_added.as_deref() {
            None => None,
            Some(text) => Some(parse_date(text).ok_or_else(|| {
                StoreError::Decode(format!("trainee {}: date {text:?}", r.tis_id))
            })?),
        };
        Ok(TraineeProfile {
            tis_id: r.tis_id,
            gmc_number: r.gmc_number,
            active: r.active,
            designated_body_code: r.designated_body_code,
            date_added,
        })
    }
}

/// `YYYY-MM-DD` (a DATE from PostgreSQL, ISO text from SQLite).
pub fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.get(..10)?, &format).ok()
}

impl Repo {
    /// Gets or creates the trainee id of each registration, in one transaction; returns the
    /// new ones, then those already of this body, then those moved in (the original's order).
    pub async fn register_trainees(
        &self,
        dbc: &str,
        registrations: &[Registration],
    ) -> Result<Vec<TraineeProfile>, StoreError> {
        let mut tx = self.db.begin().await?;
        let numbers: Vec<String> = registrations.iter().map(|r| r.gmc_number.clone()).collect();
        let mut known: HashMap<String, TraineeProfile> = HashMap::new();
        for part in chunks(&numbers) {
            let mut q = Sql::new(&format!(
                "SELECT {COLUMNS} FROM trainee_profile WHERE gmc_number IN "
            ));
            q.bind_list(part.iter().map(|n| Value::Text(n.clone())));
            for row in tx.fetch_all(q).await? {
                let t = TraineeProfile::try_from(tis_store::db::decode::<TraineeRow>(row)?)?;
                known.insert(t.gmc_number.clone(), t);
            }
        }
        let (mut created, mut matched, mut moved) = (Vec::new(), Vec::new(), Vec::new());
        for r in registrations {
            match known.remove(&r.gmc_number) {
                None => {
                    let mut q = Sql::new(
                        "INSERT INTO trainee_profile (gmc_number, active, designated_body_code, date_added) VALUES (",
                    );
                    q.bind(r.gmc_number.as_str())
                        .push(", ")
                        .bind(true)
                        .push(", ")
                        .bind(dbc)
                        .push(", ")
                        .bind(r.date_added)
                        .push(&format!(") RETURNING {COLUMNS}"));
                    let row = tx.fetch_one(q).await?;
                    created.push(TraineeProfile::try_from(tis_store::db::decode::<
                        TraineeRow,
                    >(row)?)?);
                }
                Some(t)
                    if t.designated_body_code
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case(dbc)) =>
                {
                    matched.push(t)
                }
                Some(mut t) => {
                    let mut q = Sql::new("UPDATE trainee_profile SET designated_body_code = ");
                    q.bind(dbc)
                        .push(", date_added = ")
                        .bind(r.date_added)
                        .push(", active = ")
                        .bind(true)
                        .push(" WHERE tis_id = ")
                        .bind(t.tis_id);
                    tx.execute(q).await?;
                    t.designated_body_code = Some(dbc.to_owned());
                    t.date_added = r.date_added;
                    t.active = true;
                    moved.push(t);
                }
            }
        }
        tx.commit().await?;
        created.extend(matched);
        created.extend(moved);
        Ok(created)
    }

    /// A page of a designated body's trainee ids (by id), and how many it has.
    pub async fn trainee_mappings(
        &self,
        dbc: &str,
        page: Page,
    ) -> Result<(Vec<TraineeProfile>, u64), StoreError> {
        let mut c =
            Sql::new("SELECT COUNT(*) AS n FROM trainee_profile WHERE designated_body_code = ");
        c.bind(dbc);
        let total = count(&self.db, c).await?;
        let mut q = Sql::new(&format!(
            "SELECT {COLUMNS} FROM trainee_profile WHERE designated_body_code = "
        ));
        q.bind(dbc).push(" ORDER BY tis_id");
        q.push_page(page);
        let rows: Vec<TraineeRow> = self.db.read().fetch_all_as(q).await?;
        let trainees = rows
            .into_iter()
            .map(TraineeProfile::try_from)
            .collect::<Result<_, _>>()?;
        Ok((trainees, total))
    }
}
