//! `tis demo generate --people N`: TCS's synthetic trainees in bulk, for benchmarks and
//! trials (`tis up` loads 3,000 itself). On a terminal, a progress line for each step (posts,
//! people, list rows, placements) with its rate and the time left; nothing when stderr is not
//! one, but the summary.

use std::time::Instant;

use anyhow::{Context, bail};
use tis_store::Db;

use crate::cli::{DemoAction, DemoArgs};
use crate::config::Config;
use crate::progress::Meter;

pub async fn run(args: DemoArgs, config: Config) -> anyhow::Result<()> {
    let DemoAction::Generate(args) = args.action;
    let mut database = config.tcs.database.clone();
    if let Some(url) = args.database_url {
        database.url = url;
    }
    // A bulk load: a statement over a million placements (the trusts of every placed
    // trainee) runs past a service's 10 s statement timeout on PostgreSQL.
    database.statement_timeout = std::time::Duration::ZERO;
    let db = Db::connect(&database).context("configuring the database")?;
    let url = tis_store::db::redact(&database.url);
    db.migrate(tis_tcs::migrations())
        .await
        .with_context(|| format!("migrating tcs at {url}"))?;
    let started = Instant::now();
    let people = usize::try_from(args.people).unwrap_or(usize::MAX);
    let meter = Meter::stderr();
    let rows = tis_tcs::demo::seed_with_progress(&db, people, &|step, done, total| {
        meter.update(step, done, total)
    })
    .await;
    meter.finish();
    let rows = rows.with_context(|| format!("generating demo trainees at {url}"))?;
    db.close().await;
    if rows == 0 {
        bail!("{url} already has programmes: demo data goes into an empty TCS database");
    }
    let took = started.elapsed();
    tracing::info!(
        demo.people = people,
        demo.rows = rows,
        event.duration = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
        "demo trainees generated"
    );
    eprintln!(
        "{people} trainees ({rows} rows) generated in {:.1}s ({:.0} rows/s) into {url}",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64().max(1e-3)
    );
    Ok(())
}
