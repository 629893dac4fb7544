//! What is derived from a person's records, rewritten in the transaction of every write that
//! changes them, and once a day for those whose memberships started or ended without a write
//! ([`crate::day`]; the original rebuilt it all nightly):
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
use tis_store::{Sql, StoreError, Tx, Value};

/// One of the person's programme memberships, with what the list shows of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    #[serde(default)]
    person_id: i64,
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
    id: i64,
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

/// The select list of the memberships [`refresh`] reads; `WHERE` follows.
const MEMBERSHIPS: &str = r#"SELECT pm.person_id AS "personId", pm.programme_id AS "programmeId", pm.programme_start_date AS "programmeStartDate", pm.programme_end_date AS "programmeEndDate", g.programme_name AS "programmeName", g.programme_number AS "programmeNumber", g.owner AS "owner", tn.training_number AS "trainingNumber" FROM programme_membership pm JOIN programme g ON g.id = pm.programme_id LEFT JOIN training_number tn ON tn.id = pm.training_number_id WHERE "#;

/// The select list of the person's other sources; `WHERE` follows.
const HEADS: &str = r#"SELECT p.id AS "id", p.intrepid_id AS "intrepidId", p.public_health_number AS "publicHealthNumber", p.role AS "role", p.status AS "status", p.created_owner AS "createdOwner", cd.surname AS "surname", cd.forenames AS "forenames", gmc.gmc_number AS "gmcNumber", gdc.gdc_number AS "gdcNumber" FROM person p LEFT JOIN contact_details cd ON cd.id = p.id LEFT JOIN gmc_details gmc ON gmc.id = p.id LEFT JOIN gdc_details gdc ON gdc.id = p.id WHERE "#;

/// The list row's columns, in the order of [`Derived::view`].
const VIEW: &str = "person_view (id, intrepid_id, surname, forenames, gmc_number, gdc_number, public_health_number, programme_id, programme_name, programme_number, programme_membership_status, training_number, role, status, current_owner, current_owner_rule, search_text)";

/// What a write of a list row does when the row is there.
const VIEW_CONFLICT: &str = " ON CONFLICT (id) DO UPDATE SET intrepid_id = excluded.intrepid_id, surname = excluded.surname, \
     forenames = excluded.forenames, gmc_number = excluded.gmc_number, gdc_number = excluded.gdc_number, \
     public_health_number = excluded.public_health_number, programme_id = excluded.programme_id, \
     programme_name = excluded.programme_name, programme_number = excluded.programme_number, \
     programme_membership_status = excluded.programme_membership_status, \
     training_number = excluded.training_number, role = excluded.role, status = excluded.status, \
     current_owner = excluded.current_owner, current_owner_rule = excluded.current_owner_rule, \
     search_text = excluded.search_text";

/// What [`refresh`] writes for one person.
struct Derived {
    owner: Option<String>,
    rule: Option<&'static str>,
    /// The new status (with `status_too`), else the stored one.
    status: Option<String>,
    /// The list row, in [`VIEW`]'s columns.
    view: Vec<Value>,
}

/// Person `id`'s owner, status and list row from their memberships and other sources.
fn derive(
    id: i64,
    memberships: &[Membership],
    mut heads: Heads,
    today: Date,
    status_too: bool,
) -> Derived {
    let shown = shown(memberships, today);
    let (owner, rule) = match shown.and_then(|(m, _, rule)| m.owner.clone().map(|o| (o, rule))) {
        Some((owner, rule)) => (Some(owner), Some(rule)),
        None => (
            heads.created_owner.clone(),
            heads.created_owner.as_ref().map(|_| "P9"),
        ),
    };
    if status_too {
        let current = memberships.iter().any(|m| {
            When::of(m.programme_start_date, m.programme_end_date, today) == When::Current
        });
        heads.status = Some(if current { "CURRENT" } else { "INACTIVE" }.to_owned());
    }
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
    let view = vec![
        id.into(),
        heads.intrepid_id.into(),
        heads.surname.into(),
        heads.forenames.into(),
        heads.gmc_number.into(),
        heads.gdc_number.into(),
        heads.public_health_number.into(),
        m.map(|m| m.programme_id).into(),
        m.and_then(|m| m.programme_name.clone()).into(),
        m.and_then(|m| m.programme_number.clone()).into(),
        when.map(|w| w.as_str().to_owned()).into(),
        m.and_then(|m| m.training_number.clone()).into(),
        heads.role.into(),
        heads.status.clone().into(),
        owner.clone().into(),
        rule.map(str::to_owned).into(),
        search_text.into(),
    ];
    Derived {
        owner,
        rule,
        status: heads.status,
        view,
    }
}

/// Rewrites person `id`'s owner, (with `status_too`) status, and list row, as of `today`.
/// Does nothing when the person does not exist (deleted in the same transaction).
pub async fn refresh(
    tx: &mut Tx,
    id: i64,
    today: Date,
    status_too: bool,
) -> Result<(), StoreError> {
    let mut q = Sql::new(MEMBERSHIPS);
    q.push("pm.person_id = ").bind(id);
    let memberships: Vec<Membership> = tx
        .fetch_all(q)
        .await?
        .into_iter()
        .map(tis_store::db::decode)
        .collect::<Result<_, _>>()?;
    let mut q = Sql::new(HEADS);
    q.push("p.id = ").bind(id);
    let Some(row) = tx.fetch_optional(q).await? else {
        return Ok(());
    };
    let d = derive(
        id,
        &memberships,
        tis_store::db::decode(row)?,
        today,
        status_too,
    );
    let mut q = Sql::new("UPDATE person SET current_owner = ");
    q.bind(d.owner)
        .push(", current_owner_rule = ")
        .bind(d.rule.map(str::to_owned));
    if status_too {
        q.push(", status = ").bind(d.status);
    }
    q.push(" WHERE id = ").bind(id);
    tx.execute(q).await?;
    let mut q = Sql::new(&format!("INSERT INTO {VIEW} VALUES "));
    q.bind_list(d.view).push(VIEW_CONFLICT);
    tx.execute(q).await?;
    Ok(())
}

/// [`refresh`] of everyone with an id in `ids`, with their status, in a few statements
/// whatever their number (bulk loads: the demo generator). The same rows as [`refresh`] of
/// each.
pub async fn refresh_range(
    tx: &mut Tx,
    ids: std::ops::RangeInclusive<i64>,
    today: Date,
) -> Result<(), StoreError> {
    let (from, to) = (*ids.start(), *ids.end());
    let mut q = Sql::new(MEMBERSHIPS);
    q.push("pm.person_id BETWEEN ")
        .bind(from)
        .push(" AND ")
        .bind(to);
    let mut memberships: std::collections::HashMap<i64, Vec<Membership>> =
        std::collections::HashMap::new();
    for row in tx.fetch_all(q).await? {
        let m: Membership = tis_store::db::decode(row)?;
        memberships.entry(m.person_id).or_default().push(m);
    }
    let mut q = Sql::new(HEADS);
    q.push("p.id BETWEEN ")
        .bind(from)
        .push(" AND ")
        .bind(to)
        .push(" ORDER BY p.id");
    let mut people = Vec::new();
    for row in tx.fetch_all(q).await? {
        let heads: Heads = tis_store::db::decode(row)?;
        let id = heads.id;
        let mine = memberships.remove(&id).unwrap_or_default();
        people.push((id, derive(id, &mine, heads, today, true)));
    }
    for chunk in people.chunks(tis_store::copy::ROWS) {
        let mut q = Sql::new(
            "UPDATE person SET current_owner = v.column2, current_owner_rule = v.column3, status = v.column4 FROM (VALUES ",
        );
        for (i, (id, d)) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind_list([
                Value::from(*id),
                d.owner.clone().into(),
                d.rule.map(str::to_owned).into(),
                d.status.clone().into(),
            ]);
        }
        q.push(") AS v WHERE person.id = v.column1");
        tx.execute(q).await?;
        let mut q = Sql::new(&format!("INSERT INTO {VIEW} VALUES "));
        for (i, (_, d)) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind_list(d.view.iter().cloned());
        }
        q.push(VIEW_CONFLICT);
        tx.execute(q).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn pm(id: i64, start: Date, end: Date, owner: &str) -> Membership {
        Membership {
            person_id: 0,
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
