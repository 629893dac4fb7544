//! `tis migrate <service>`: apply a service's migrations (its entry in the services table)
//! and exit.
//!
//! On a terminal it shows progress: how many of the service's migrations are applied, read
//! twice a second from sqlx's own record (`_sqlx_migrations`, one row committed per
//! migration) while they run, so a long one on a large database is seen to be working.
//! Nothing is shown (and nothing extra is queried) when stderr is not a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use tis_store::{Backend, Db, Migrations, Sql};

use crate::cli::MigrateArgs;
use crate::config::Config;
use crate::progress::Meter;

pub async fn run(args: MigrateArgs, mut config: Config) -> anyhow::Result<()> {
    let service = args.service;
    let mut database = (service.section)(&mut config).base().database;
    if let Some(url) = args.database_url {
        database.url = url;
    }
    let db = Db::connect(&database).context("configuring the database")?;
    let migrations = (service.migrations)();
    let migrate = db.migrate(migrations);
    let versions = if std::io::stderr().is_terminal() {
        let meter = Meter::stderr();
        let total = count(migrations, db.backend());
        let shown = async {
            loop {
                meter.update("migrations", applied(&db).await.min(total), total);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        };
        let versions = tokio::select! {
            v = migrate => v,
            () = shown => unreachable!("the progress loop never ends"),
        };
        if versions.is_ok() {
            meter.update("migrations", total, total);
        }
        meter.finish();
        versions
    } else {
        migrate.await
    }
    .with_context(|| {
        format!(
            "migrating {} at {}",
            service.name,
            tis_store::db::redact(&database.url)
        )
    })?;
    tracing::info!(
        tis.service = service.name,
        db.migrations = versions,
        "migrations applied"
    );
    db.close().await;
    Ok(())
}

/// The service's migrations for `backend`.
fn count(m: &Migrations, backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => m.sqlite.iter().count(),
        Backend::Postgres => m.postgres.iter().count(),
    }
}

/// How many of the service's migrations are applied so far (0 before sqlx's table exists).
async fn applied(db: &Db) -> usize {
    #[derive(serde::Deserialize)]
    struct N {
        n: i64,
    }
    let q = Sql::new("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success");
    match db.fetch_all_as::<N>(q).await {
        Ok(rows) => rows
            .first()
            .map_or(0, |r| usize::try_from(r.n).unwrap_or(0)),
        Err(_) => 0,
    }
}
