//! The background check that keeps readiness honest and finds the primary.
//!
//! From the moment it starts, the `database` check of the instance's [`Health`] is `Down`
//! ("not checked yet") and [`crate::http::middleware`] refuses requests with 503, so an
//! instance whose database has never answered (or is not migrated yet) is not ready. Then,
//! every `health_interval` (every `failover_check_interval` while no primary answers, and at
//! once when a slow connection asks), it checks the database and sets the check:
//!
//! | what it sees | `database` check | requests |
//! |---|---|---|
//! | nothing answers, or migrations pending | `Down` | 503 `database_unavailable`, fast |
//! | migrated, a reachable replica has not replayed them yet (at most the replay wait) | `Down` | 503 `database_unavailable`, fast |
//! | replicas answer, no primary | `Degraded` "writes unavailable" | reads served, writes 503 `primary_unavailable`, `TIS-Degraded: db-read-only` |
//! | a primary, but a replica is down or lags | `Degraded` naming it | all served; reads the replica would take go elsewhere |
//! | all well | `Up` | all served |
//!
//! A `Degraded` check keeps the instance ready: it still serves reads, and balancers must not
//! take it out for a failure that every instance shares. PostgreSQL endpoints are checked as
//! the `cluster` module describes; SQLite with `SELECT 1`. It also runs the pending migrations
//! on the primary (until they have run once), then makes the primary's position the replicas'
//! floor (see the `cluster` module) and checks every 25 ms until they have replayed it, and
//! deletes expired idempotency keys every `idempotency_cleanup_interval`. It never panics and
//! never gives up.

use std::time::Duration;

use sqlx::PgConnection;
use tis_core::{CheckStatus, Degradation, Health};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::cluster::{Cluster, check_all, position_now};
use crate::db::Db;
use crate::migrate::Migrations;

/// The running monitor; dropping it stops the checks.
#[derive(Debug)]
pub struct Monitor(JoinHandle<()>);

impl Drop for Monitor {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The name of the readiness check.
pub const CHECK: &str = "database";

/// The shortest time between two checks, however often connections ask for one.
const MIN_GAP: Duration = Duration::from_millis(25);

/// How often the endpoints are checked while replicas are replaying an instance's start-up work.
const REPLAY_CHECK: Duration = Duration::from_millis(25);

/// Starts the monitor. With `migrations`, they are applied before the first `Up`.
pub fn start(
    db: Db,
    health: Health,
    interval: Duration,
    migrations: Option<&'static Migrations>,
) -> Monitor {
    crate::metrics::describe();
    db.set_monitored();
    health.set(CHECK, CheckStatus::Down, Some("not checked yet".into()));
    let handle: JoinHandle<()> = tokio::spawn(async move {
        if db.cluster().is_some() {
            postgres(db, health, interval, migrations).await;
        } else {
            sqlite(db, health, interval, migrations).await;
        }
    });
    Monitor(handle)
}

/// Runs the migrations if still pending; `Err` says why they are.
async fn migrate_once(
    db: &Db,
    migrations: Option<&'static Migrations>,
    migrated: &mut bool,
) -> Result<(), String> {
    let Some(m) = migrations.filter(|_| !*migrated) else {
        return Ok(());
    };
    match db.migrate(m).await {
        Ok(n) => {
            tracing::info!(db.migrations = n, "database migrations applied");
            *migrated = true;
            Ok(())
        }
        Err(err) => Err(format!("migrations pending: {err}")),
    }
}

/// Deletes expired idempotency keys when the cleanup interval has passed.
async fn purge_when_due(db: &Db, last: &mut Option<Instant>) {
    let every = db.config().idempotency_cleanup_interval;
    if last.is_some_and(|t| t.elapsed() < every) {
        return;
    }
    *last = Some(Instant::now());
    match crate::idempotency::purge_expired(db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            db.idempotency_keys_deleted = n,
            "expired idempotency keys deleted"
        ),
        Err(err) => {
            tracing::debug!(error.message = %err, "could not delete expired idempotency keys")
        }
    }
}

async fn sqlite(
    db: Db,
    health: Health,
    interval: Duration,
    migrations: Option<&'static Migrations>,
) {
    let mut migrated = migrations.is_none();
    let mut last_purge = None;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(why) = migrate_once(&db, migrations, &mut migrated).await {
            db.set_reachable(false);
            db.set_serving(false);
            health.set(CHECK, CheckStatus::Down, Some(why));
            continue;
        }
        match db.ping().await {
            Ok(()) => {
                db.set_reachable(true);
                db.set_serving(true);
                health.set(CHECK, CheckStatus::Up, None);
                purge_when_due(&db, &mut last_purge).await;
            }
            Err(err) => {
                db.set_reachable(false);
                db.set_serving(false);
                health.set(CHECK, CheckStatus::Down, Some(err.to_string()));
            }
        }
        let (open, idle) = db.pool_size();
        let backend = db.backend().as_str();
        metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "idle")
            .set(idle as f64);
        metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "busy")
            .set(f64::from(open) - idle as f64);
        metrics::gauge!("db_up", "backend" => backend).set(f64::from(u8::from(db.is_reachable())));
    }
}

async fn postgres(
    db: Db,
    health: Health,
    interval: Duration,
    migrations: Option<&'static Migrations>,
) {
    let Some(cluster) = db.cluster() else { return };
    let cfg = db.config().clone();
    let mut conns: Vec<Option<PgConnection>> = cluster.nodes.iter().map(|_| None).collect();
    let mut migrated = migrations.is_none();
    // The primary's position once the schema is there (migrated by this instance or another):
    // the instance is not ready before the replicas have replayed it (see `Cluster::raise_floor`).
    let mut schema_at = None;
    let mut last_purge = None;
    loop {
        let round = check_all(cluster, &mut conns, cfg.check_timeout).await;
        let mut pending = None;
        if let Some(primary) = round.primary {
            pending = migrate_once(&db, migrations, &mut migrated).await.err();
            if pending.is_none() && schema_at.is_none() {
                match position_now(&mut conns, primary).await {
                    Ok(lsn) => {
                        cluster.raise_floor(lsn);
                        schema_at = Some(lsn);
                    }
                    Err(err) => pending = Some(format!("migrations applied; {err}")),
                }
            }
        } else if !migrated {
            pending = Some("migrations pending: no primary answers".into());
        }
        if pending.is_none()
            && let Some(lsn) = schema_at
            && cluster
                .floor_age()
                .is_some_and(|a| a < cluster.replay_wait())
        {
            let behind = cluster.behind(lsn);
            if !behind.is_empty() {
                pending = Some(format!(
                    "waiting for {} to replay the migrations",
                    behind.join(", ")
                ));
            }
        }
        let (status, detail) = if !round.any_up {
            (
                CheckStatus::Down,
                Some(format!(
                    "no database endpoint answers ({})",
                    round.problems.join("; ")
                )),
            )
        } else if let Some(why) = pending {
            (CheckStatus::Down, Some(why))
        } else if round.primary.is_none() {
            (
                CheckStatus::Degraded,
                Some("writes unavailable: no primary answers; reads are served by replicas".into()),
            )
        } else if !round.problems.is_empty() {
            (CheckStatus::Degraded, Some(round.problems.join("; ")))
        } else {
            (CheckStatus::Up, None)
        };
        db.set_serving(status != CheckStatus::Down);
        // While only replicas answer, every answer says `db-read-only` (see `http`); so does
        // readiness, for the gateway's health checks.
        let read_only = status == CheckStatus::Degraded && round.primary.is_none();
        let marks = read_only.then_some(Degradation::DbReadOnly);
        health.set_marked(CHECK, status, detail, marks);
        metrics::gauge!("db_up", "backend" => "postgres").set(f64::from(u8::from(round.any_up)));
        if migrated && round.primary.is_some() {
            purge_when_due(&db, &mut last_purge).await;
        }
        let wait = if cluster.awaiting_floor() {
            REPLAY_CHECK
        } else if round.primary.is_none() {
            cfg.failover_check_interval
        } else {
            interval
        };
        pause(cluster, wait).await;
    }
}

/// Waits for the next check: `wait`, or less when a connection asks (at least [`MIN_GAP`]).
async fn pause(cluster: &Cluster, wait: Duration) {
    let started = Instant::now();
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = cluster.poke.notified() => {
            let gap = MIN_GAP.min(wait);
            tokio::time::sleep_until(started + gap).await;
        }
    }
}

/// The readiness check that stays `down` until the demo data is loaded.
pub const DEMO_DATA_CHECK: &str = "demo-data";

/// Waits until the monitor reports the database up (reachable and migrated), then runs
/// `seed` (a service's demo data), retrying every 200 ms until it succeeds. `what` names the
/// data in the log. Spawned at start by services in local mode.
///
/// Until the data is in, and every reachable replica has replayed it (see
/// [`Db::await_replicas`]), readiness reports the [`DEMO_DATA_CHECK`] down: an instance that
/// answered before its demo users had their roles would refuse them (403), and its caller
/// (the gateway's profile cache) would remember that. The check is registered now, before
/// the returned future first runs, so that no readiness probe can see the instance ready in
/// between.
pub fn seed_when_up<F, Fut>(
    db: Db,
    health: Health,
    what: &'static str,
    seed: F,
) -> impl std::future::Future<Output = ()>
where
    F: Fn(Db) -> Fut,
    Fut: std::future::Future<Output = Result<usize, crate::StoreError>>,
{
    health.set(
        DEMO_DATA_CHECK,
        CheckStatus::Down,
        Some(format!("loading the {what} demo data")),
    );
    seed_loop(db, health, what, seed)
}

async fn seed_loop<F, Fut>(db: Db, health: Health, what: &'static str, seed: F)
where
    F: Fn(Db) -> Fut,
    Fut: std::future::Future<Output = Result<usize, crate::StoreError>>,
{
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        if health
            .check(CHECK)
            .is_some_and(|c| c.status == CheckStatus::Up)
        {
            match seed(db.clone()).await {
                Ok(n) => {
                    tracing::info!(demo.rows = n, demo.data = what, "demo data loaded");
                    health.set(
                        DEMO_DATA_CHECK,
                        CheckStatus::Down,
                        Some(format!(
                            "the {what} demo data is loaded; waiting for the replicas to replay it"
                        )),
                    );
                    match db.await_replicas().await {
                        Ok(behind) if behind.is_empty() => {}
                        Ok(behind) => tracing::warn!(
                            db.nodes = %behind.join(", "),
                            demo.data = what,
                            "replicas have not replayed the demo data in time; they serve no reads until they have"
                        ),
                        Err(err) => {
                            tracing::warn!(error.message = %err, demo.data = what, "could not read the primary's position after the demo data; retrying");
                            continue;
                        }
                    }
                    health.set(DEMO_DATA_CHECK, CheckStatus::Up, None);
                    return;
                }
                Err(err) => {
                    tracing::warn!(error.message = %err, demo.data = what, "loading the demo data failed; retrying")
                }
            }
        }
    }
}
