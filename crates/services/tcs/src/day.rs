//! The turn of the day. A person's owner (and so who may see them), status and list row, and
//! a post's current trainee, depend on which programme memberships and placements are
//! current *today*. Every write that changes them rewrites them in its transaction; but when
//! the date changes, memberships and placements start and end without a write, and those rows
//! would stay as they were until someone edited the record (a trainee whose new programme
//! starts today would stay with their old local office, and out of the new one's sight). The
//! original rebuilt them nightly. Here, once a day (at start, then just after each midnight
//! UTC, the day `today()` uses everywhere), one instance re-derives the rows of the people
//! and posts whose memberships or placements started or ended since the last turn, in short
//! transactions of 200 records.
//!
//! One instance turns the day: it claims it in `day_turn` (a lease of 10 minutes, so that
//! another instance takes over if it dies half-way: re-deriving is idempotent), and records
//! the day turned when done. `tcs_day_turn_last_success_seconds` says when an instance last
//! found the day turned (by itself or another).

use std::time::Duration;

use serde::Deserialize;
use time::{Date, OffsetDateTime};
use tis_core::{CheckStatus, Health};
use tis_store::{Db, Sql, StoreError};

use crate::people::refresh;
use crate::placements::{refresh_person_current, refresh_post};

/// How long a claim on the day's turn holds before another instance may take it over.
const LEASE: Duration = Duration::from_secs(600);
/// People (or posts) re-derived in one transaction.
const BATCH: usize = 200;
/// How long after a failed turn the next try comes.
const RETRY: Duration = Duration::from_secs(60);
/// After midnight, how long to wait before turning (clocks of instances differ a little).
const AFTER_MIDNIGHT: Duration = Duration::from_secs(5);

/// The gauge of when an instance last found the day turned (Unix seconds).
pub const LAST_SUCCESS: &str = "tcs_day_turn_last_success_seconds";

/// What a turn did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turned {
    /// The day turned from (the last day turned before).
    pub from: Date,
    pub people: usize,
    pub posts: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Id {
    id: i64,
    /// A placement's post, read in the same scan as its trainee.
    #[serde(default)]
    post: Option<i64>,
}

/// Turns the day to `today` if no instance has yet: `None` when it was turned already (or
/// another instance is turning it now).
pub async fn turn(db: &Db, today: Date) -> Result<Option<Turned>, StoreError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let lease = i64::try_from(LEASE.as_secs()).unwrap_or(i64::MAX);
    let mut q = Sql::new("UPDATE day_turn SET running_until = ");
    q.bind(now + lease)
        .push(" WHERE id = 1 AND (last_day IS NULL OR last_day < ")
        .bind(today)
        .push(") AND (running_until IS NULL OR running_until < ")
        .bind(now)
        .push(")");
    if db.write().execute(q).await? == 0 {
        return Ok(None);
    }
    let row = db
        .write()
        .fetch_optional(Sql::new(
            r#"SELECT last_day AS "lastDay" FROM day_turn WHERE id = 1"#,
        ))
        .await?;
    // A database that has never turned (it was migrated, and its rows written, today or
    // before): the changes of today.
    let yesterday = today.previous_day().unwrap_or(today);
    let from = row
        .and_then(|r| r.get("lastDay").and_then(|v| v.as_str().map(str::to_owned)))
        .and_then(|d| tis_service_kit::entity::validate::parse_date(&d))
        .unwrap_or(yesterday);
    let people_of_memberships: Vec<i64> = ids(
        db,
        "SELECT DISTINCT pm.person_id AS \"id\" FROM programme_membership pm WHERE ",
        ("pm.programme_start_date", "pm.programme_end_date"),
        from,
        today,
    )
    .await?
    .into_iter()
    .map(|i| i.id)
    .collect();
    // One scan of the placements for both their trainees and their posts.
    let placed = ids(
        db,
        "SELECT DISTINCT pl.trainee_id AS \"id\", pl.post_id AS \"post\" FROM placement pl WHERE ",
        ("pl.date_from", "pl.date_to"),
        from,
        today,
    )
    .await?;
    let mut people_of_placements: Vec<i64> = placed.iter().map(|i| i.id).collect();
    let mut posts: Vec<i64> = placed.iter().filter_map(|i| i.post).collect();
    for list in [&mut people_of_placements, &mut posts] {
        list.sort_unstable();
        list.dedup();
    }
    for chunk in people_of_memberships.chunks(BATCH) {
        let mut tx = db.write().begin().await?;
        for id in chunk {
            refresh::refresh(&mut tx, *id, today, true).await?;
        }
        tx.commit().await?;
    }
    for chunk in people_of_placements.chunks(BATCH) {
        let mut tx = db.write().begin().await?;
        for id in chunk {
            refresh_person_current(&mut tx, *id, today).await?;
        }
        tx.commit().await?;
    }
    for chunk in posts.chunks(BATCH) {
        let mut tx = db.write().begin().await?;
        for id in chunk {
            refresh_post(&mut tx, *id, today).await?;
        }
        tx.commit().await?;
    }
    let mut q = Sql::new("UPDATE day_turn SET last_day = ");
    q.bind(today).push(", running_until = NULL WHERE id = 1");
    db.write().execute(q).await?;
    let mut people = people_of_memberships;
    people.extend(people_of_placements);
    people.sort_unstable();
    people.dedup();
    Ok(Some(Turned {
        from,
        people: people.len(),
        posts: posts.len(),
    }))
}

/// The rows `select` finds (an `id`, and a `post` if it selects one) among the rows whose `(start, end)` columns started after `from`
/// and by `today`, or ended on `from` or later and before `today`: what was current on
/// `from` and is not today, or the reverse.
async fn ids(
    db: &Db,
    select: &str,
    (start, end): (&str, &str),
    from: Date,
    today: Date,
) -> Result<Vec<Id>, StoreError> {
    let mut q = Sql::new(select);
    q.push(&format!("({start} > "))
        .bind(from)
        .push(&format!(" AND {start} <= "))
        .bind(today)
        .push(&format!(") OR ({end} >= "))
        .bind(from)
        .push(&format!(" AND {end} < "))
        .bind(today)
        .push(") ORDER BY 1");
    db.write()
        .fetch_all(q)
        .await?
        .into_iter()
        .map(tis_store::db::decode::<Id>)
        .collect()
}

/// How long from `now` until 5 s past the next midnight UTC.
pub fn until_next_turn(now: OffsetDateTime) -> Duration {
    let next = now
        .date()
        .next_day()
        .map(|d| d.midnight().assume_utc())
        .unwrap_or(now);
    Duration::try_from(next - now).unwrap_or_default() + AFTER_MIDNIGHT
}

/// Turns the day once the database is up, then after each midnight; a failed turn is tried
/// again a minute later. Runs for the life of the instance.
pub async fn every_day(db: Db, health: Health) {
    metrics::describe_gauge!(
        LAST_SUCCESS,
        "When this instance last found the day turned (by itself or another instance), Unix seconds."
    );
    let mut up = tokio::time::interval(Duration::from_millis(500));
    while !health
        .check(tis_store::monitor::CHECK)
        .is_some_and(|c| c.status == CheckStatus::Up)
    {
        up.tick().await;
    }
    loop {
        let today = crate::memberships::today();
        let started = std::time::Instant::now();
        let wait = match turn(&db, today).await {
            Ok(turned) => {
                if let Some(t) = turned {
                    tracing::info!(
                        tis.day = %today,
                        tis.from = %t.from,
                        tis.people = t.people,
                        tis.posts = t.posts,
                        event.duration = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
                        "the day turned: list rows and owners re-derived"
                    );
                }
                metrics::gauge!(LAST_SUCCESS)
                    .set(OffsetDateTime::now_utc().unix_timestamp() as f64);
                until_next_turn(OffsetDateTime::now_utc())
            }
            Err(err) => {
                tracing::warn!(error.message = %err, tis.day = %today, "could not turn the day; trying again in a minute");
                RETRY
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_next_turn_is_just_after_the_next_midnight_utc() {
        assert_eq!(
            until_next_turn(datetime!(2026-12-07 23:59:00 UTC)),
            Duration::from_secs(60) + AFTER_MIDNIGHT
        );
        assert_eq!(
            until_next_turn(datetime!(2026-12-07 00:00:00 UTC)),
            Duration::from_secs(86_400) + AFTER_MIDNIGHT
        );
        // the last day of a year, and a time with seconds' fractions
        assert_eq!(
            until_next_turn(datetime!(2026-12-31 12:00:00.5 UTC)),
            Duration::from_millis(43_199_500) + AFTER_MIDNIGHT
        );
    }
}
