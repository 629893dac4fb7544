//! Demo data: deterministic synthetic trainees (no real person), for `tis up` and benchmarks.
//!
//! [`seed`] loads [`DEMO_PEOPLE`] trainees into an empty database (`tis up`, `demo_data =
//! true`); [`generate::generate`] makes any number (`tis demo generate --people N`).

pub mod catalogue;
pub mod generate;
pub mod names;

use tis_store::{Db, Sql, StoreError};

/// How many trainees `tis up` starts with.
pub const DEMO_PEOPLE: usize = 3_000;
/// The seed of the demo data: the same people every time.
pub const DEMO_SEED: u64 = 0x7153;

/// Loads the demo data when the database has no programmes yet; returns the rows written.
/// Idempotent: a database with data is left as it is.
pub async fn seed(db: &Db) -> Result<usize, StoreError> {
    seed_with(db, DEMO_PEOPLE).await
}

/// [`seed`] with `people` trainees.
pub async fn seed_with(db: &Db, people: usize) -> Result<usize, StoreError> {
    seed_with_progress(db, people, &generate::no_progress).await
}

/// [`seed_with`], telling `progress` how far it is.
pub async fn seed_with_progress(
    db: &Db,
    people: usize,
    progress: generate::Progress<'_>,
) -> Result<usize, StoreError> {
    let mut tx = db.begin().await?;
    let existing = tx
        .fetch_one(Sql::new("SELECT COUNT(*) AS n FROM programme"))
        .await?;
    if existing
        .get("n")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0)
        > 0
    {
        return Ok(0);
    }
    let n = generate::generate(
        &mut tx,
        generate::Plan {
            people,
            seed: DEMO_SEED,
            today: generate::today(),
        },
        progress,
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
