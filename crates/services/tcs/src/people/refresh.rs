//! What is derived from a person's records, rewritten in the transaction of every write that
//! changes them, so that it is never stale (the original rebuilt it nightly):
//!
//! - **the owner** (`currentOwner`, `currentOwnerRule`), by the original's rules as its
//!   stored procedure evaluated them, first match wins (docs/tcs-original.md §7): P1 the
//!   programme of a membership current today (the earliest-starting), P5 of the earliest
//!   future one, P7 of the latest-ending past one; P2, P6 and P8 are the same over
//!   placements' posts (TCS part 2). Where none applies we add **P9**, the owner the record
//!   was created under (the original's "local office" fallback), so that a new trainee is
//!   visible to the office that created them;
//! - **the status**, after membership changes: `CURRENT` when a membership covers today,
//!   else `INACTIVE` (the original's HEAD behaviour);
//! - **the list row** in `person_view` (see [`super::view`]): names and numbers, the shown
//!   programme membership (the current one, else the next future one, else the last past
//!   one) with its status and training number, the owner, and the lower-case `search_text`.

use serde::Deserialize;
use time::Date;
use tis_store::{Sql, StoreError, Tx};

/// One of the person's programme memberships, with what the list shows of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    programme_id: i64,
    #[serde(deserialize_with = "date")]
    programme_start_date: Date,
    #[serde(deserialize_with = "date")]
    programme_end_date: Date,
    programme_name: Option<String>,
    programme_number: Option<String>,
    owner: Option<String>,
    training_number: Option<String>,
}

/// A `DATE` column as both backends return it (`YYYY-MM-DD`).
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let text = String::deserialize(d)?;
    tis_service_kit::entity::validate::parse_date(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("not a date: {text}")))
}

/// Where a membership stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Past,
    Current,
    Future,
}

impl When {
    pub fn of(start: Date, end: Date, today: Date) -> When {
        if start > today {
            When::Future
        } else if end < today {
            When::Past
        } else {
            When::Current
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            When::Past => "PAST",
            When::Current => "CURRENT",
            When::Future => "FUTURE",
        }
    }
}

/// The membership the list shows, and the rule that makes its programme's owner the
/// person's: the current one (earliest start), else the next future one (earliest start),
/// else the last past one (latest end).
fn shown(memberships: &[Membership], today: Date) -> Option<(&Membership, When, &'static str)> {
    let when = |m: &Membership| When::of(m.programme_start_date, m.programme_end_date, today);
    let pick = |w: When| memberships.iter().filter(move |m| when(m) == w);
    if let Some(m) = pick(When::Current).min_by_key(|m| (m.programme_start_date, m.programme_id)) {
        return Some((m, When::Current, "P1"));
    }
    if let Some(m) = pick(When::Future).min_by_key(|m| (m.programme_start_date, m.programme_id)) {
        return Some((m, When::Future, "P5"));
    }
    pick(When::Past)
        .max_by_key(|m| (m.programme_end_date, m.programme_id))
        .map(|m| (m, When::Past, "P7"))
}

/// The person's list row's other sources.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Heads {
    intrepid_id: Option<String>,
    public_health_number: Option<String>,
    role: Option<String>,
    status: Option<String>,
    created_owner: Option<String>,
    surname: Option<String>,
    forenames: Option<String>,
    gmc_number: Option<String>,
    gdc_number: Option<String>,
}

/// Rewrites person `id`'s owner, (with `status_too`) status, and list row, as of `today`.
/// Does nothing when the person does not exist (deleted in the same transaction).
pub async fn refresh(
    tx: &mut Tx,
    id: i64,
    today: Date,
    status_too: bool,
) -> Result<(), StoreError> {
    let mut q = Sql::new(
        r#"SELECT pm.programme_id AS "programmeId", pm.programme_start_date AS "programmeStartDate", pm.programme_end_date AS "programmeEndDate", g.programme_name AS "programmeName", g.programme_number AS "programmeNumber", g.owner AS "owner", tn.training_number AS "trainingNumber" FROM programme_membership pm JOIN programme g ON g.id = pm.programme_id LEFT JOIN training_number tn ON tn.id = pm.training_number_id WHERE pm.person_id = "#,
    );
    q.bind(id);
    let memberships: Vec<Membership> = tx
        .fetch_all(q)
        .await?
        .into_iter()
        .map(tis_store::db::decode)
        .collect::<Result<_, _>>()?;
    let mut q = Sql::new(
        r#"SELECT p.intrepid_id AS "intrepidId", p.public_health_number AS "publicHealthNumber", p.role AS "role", p.status AS "status", p.created_owner AS "createdOwner", cd.surname AS "surname", cd.forenames AS "forenames", gmc.gmc_number AS "gmcNumber", gdc.gdc_number AS "gdcNumber" FROM person p LEFT JOIN contact_details cd ON cd.id = p.id LEFT JOIN gmc_details gmc ON gmc.id = p.id LEFT JOIN gdc_details gdc ON gdc.id = p.id WHERE p.id = "#,
    );
    q.bind(id);
    let Some(row) = tx.fetch_optional(q).await? else {
        return Ok(());
    };
    let mut heads: Heads = tis_store::db::decode(row)?;

    let shown = shown(&memberships, today);
    let (owner, rule) = match shown.and_then(|(m, _, rule)| m.owner.clone().map(|o| (o, rule))) {
        Some((owner, rule)) => (Some(owner), Some(rule)),
        None => (
            heads.created_owner.clone(),
            heads.created_owner.as_ref().map(|_| "P9"),
        ),
    };
    let mut q = Sql::new("UPDATE person SET current_owner = ");
    q.bind(owner.clone())
        .push(", current_owner_rule = ")
        .bind(rule.map(str::to_owned));
    if status_too {
        let current = memberships.iter().any(|m| {
            When::of(m.programme_start_date, m.programme_end_date, today) == When::Current
        });
        let status = if current { "CURRENT" } else { "INACTIVE" };
        q.push(", status = ").bind(status);
        heads.status = Some(status.to_owned());
    }
    q.push(" WHERE id = ").bind(id);
    tx.execute(q).await?;

    let search_text = [
        &heads.public_health_number,
        &heads.surname,
        &heads.forenames,
        &heads.gmc_number,
        &heads.gdc_number,
        &heads.role,
    ]
    .into_iter()
    .flatten()
    .map(|s| s.trim().to_lowercase())
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let (m, when) = match shown {
        Some((m, when, _)) => (Some(m), Some(when)),
        None => (None, None),
    };
    let mut q = Sql::new(
        "INSERT INTO person_view (id, intrepid_id, surname, forenames, gmc_number, gdc_number, public_health_number, programme_id, programme_name, programme_number, programme_membership_status, training_number, role, status, current_owner, current_owner_rule, search_text) VALUES (",
    );
    q.bind(id)
        .push(", ")
        .bind(heads.intrepid_id)
        .push(", ")
        .bind(heads.surname)
        .push(", ")
        .bind(heads.forenames)
        .push(", ")
        .bind(heads.gmc_number)
        .push(", ")
        .bind(heads.gdc_number)
        .push(", ")
        .bind(heads.public_health_number)
        .push(", ")
        .bind(m.map(|m| m.programme_id))
        .push(", ")
        .bind(m.and_then(|m| m.programme_name.clone()))
        .push(", ")
        .bind(m.and_then(|m| m.programme_number.clone()))
        .push(", ")
        .bind(when.map(|w| w.as_str().to_owned()))
        .push(", ")
        .bind(m.and_then(|m| m.training_number.clone()))
        .push(", ")
        .bind(heads.role)
        .push(", ")
        .bind(heads.status)
        .push(", ")
        .bind(owner)
        .push(", ")
        .bind(rule.map(str::to_owned))
        .push(", ")
        .bind(search_text)
        .push(
            ") ON CONFLICT (id) DO UPDATE SET intrepid_id = excluded.intrepid_id, surname = excluded.surname, \
             forenames = excluded.forenames, gmc_number = excluded.gmc_number, gdc_number = excluded.gdc_number, \
             public_health_number = excluded.public_health_number, programme_id = excluded.programme_id, \
             programme_name = excluded.programme_name, programme_number = excluded.programme_number, \
             programme_membership_status = excluded.programme_membership_status, \
             training_number = excluded.training_number, role = excluded.role, status = excluded.status, \
             current_owner = excluded.current_owner, current_owner_rule = excluded.current_owner_rule, \
             search_text = excluded.search_text",
        );
    tx.execute(q).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn pm(id: i64, start: Date, end: Date, owner: &str) -> Membership {
        Membership {
            programme_id: id,
            programme_start_date: start,
            programme_end_date: end,
            programme_name: None,
            programme_number: None,
            owner: Some(owner.into()),
            training_number: None,
        }
    }

    #[test]
    fn the_current_membership_wins_then_the_next_future_one_then_the_last_past_one() {
        let today = date!(2026 - 06 - 01);
        let past = pm(1, date!(2019 - 08 - 01), date!(2022 - 07 - 31), "Wessex");
        let later_past = pm(
            2,
            date!(2020 - 08 - 01),
            date!(2024 - 07 - 31),
            "North West",
        );
        let current = pm(
            3,
            date!(2024 - 08 - 01),
            date!(2026 - 06 - 01),
            "East Midlands",
        );
        let future = pm(
            4,
            date!(2027 - 08 - 01),
            date!(2030 - 07 - 31),
            "South West",
        );
        let all = [
            past.clone(),
            later_past.clone(),
            current.clone(),
            future.clone(),
        ];
        let (m, w, rule) = shown(&all, today).expect("one");
        assert_eq!((m.programme_id, w, rule), (3, When::Current, "P1"));
        let no_current = [past.clone(), later_past.clone(), future];
        let (m, w, rule) = shown(&no_current, today).expect("one");
        assert_eq!((m.programme_id, w, rule), (4, When::Future, "P5"));
        let pasts = [past, later_past];
        let (m, w, rule) = shown(&pasts, today).expect("one");
        assert_eq!((m.programme_id, w, rule), (2, When::Past, "P7"));
        assert!(shown(&[], today).is_none());
        assert_eq!(
            When::of(date!(2026 - 06 - 01), date!(2026 - 06 - 01), today),
            When::Current,
            "both ends inclusive"
        );
    }
}
