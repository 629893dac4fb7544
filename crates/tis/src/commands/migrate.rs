//! `tis migrate <service>`: apply a service's migrations (its entry in the services table)
//! and exit.

use anyhow::Context;
use tis_store::Db;

use crate::cli::MigrateArgs;
use crate::config::Config;

pub async fn run(args: MigrateArgs, mut config: Config) -> anyhow::Result<()> {
    let service = args.service;
    let mut database = (service.section)(&mut config).base().database;
    if let Some(url) = args.database_url {
        database.url = url;
    }
    let db = Db::connect(&database).context("configuring the database")?;
    let versions = db.migrate((service.migrations)()).await.with_context(|| {
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
