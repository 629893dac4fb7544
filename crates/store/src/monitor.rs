//! The background check that keeps readiness honest.
//!
//! Every `health_interval` it runs the pending migrations (until they have run once) and
//! `SELECT 1`, and sets the `database` check of the instance's [`Health`]: `Down` with the
//! reason while the database does not answer (the instance is not ready, and queries fail
//! fast with 503), `Up` again as soon as it answers. It never panics and never gives up.

use tis_core::{CheckStatus, Health};
use tokio::task::JoinHandle;

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

pub const CHECK: &str = "database";

/// Starts the monitor. With `migrations`, they are applied before the first `Up`.
pub fn start(
    db: Db,
    health: Health,
    interval: std::time::Duration,
    migrations: Option<&'static Migrations>,
) -> Monitor {
    db.set_monitored();
    let handle: JoinHandle<()> = tokio::spawn(async move {
        let mut migrated = migrations.is_none();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if !migrated && let Some(m) = migrations {
                match db.migrate(m).await {
                    Ok(n) => {
                        tracing::info!(db.migrations = n, "database migrations applied");
                        migrated = true;
                    }
                    Err(err) => {
                        db.set_reachable(!err.is_transient());
                        health.set(
                            CHECK,
                            CheckStatus::Down,
                            Some(format!("migrations pending: {err}")),
                        );
                        continue;
                    }
                }
            }
            match db.ping().await {
                Ok(()) => {
                    db.set_reachable(true);
                    health.set(CHECK, CheckStatus::Up, None);
                }
                Err(err) => {
                    db.set_reachable(false);
                    health.set(CHECK, CheckStatus::Down, Some(err.to_string()));
                }
            }
            let (open, idle) = db.pool_size();
            let backend = db.backend().as_str();
            metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "idle")
                .set(idle as f64);
            metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "busy")
                .set(f64::from(open) - idle as f64);
            metrics::gauge!("db_up", "backend" => backend).set(if db.is_reachable() {
                1.0
            } else {
                0.0
            });
        }
    });
    Monitor(handle)
}
