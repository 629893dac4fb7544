//! `tis migrate <service>`: apply a service's migrations and exit.

use anyhow::Context;
use tis_store::Db;

use crate::cli::{MigrateArgs, Service};
use crate::config::Config;

pub async fn run(args: MigrateArgs, config: Config) -> anyhow::Result<()> {
    let (mut database, migrations) = match args.service {
        Service::Profile => (config.profile.database, tis_profile::migrations()),
        Service::Reference => (config.reference.database, tis_reference::migrations()),
    };
    if let Some(url) = args.database_url {
        database.url = url;
    }
    let db = Db::connect(&database).context("configuring the database")?;
    let versions = db.migrate(migrations).await.with_context(|| {
        format!(
            "migrating {} at {}",
            args.service.name(),
            tis_store::db::redact(&database.url)
        )
    })?;
    tracing::info!(
        service.name = args.service.name(),
        db.migrations = versions,
        "migrations applied"
    );
    db.close().await;
    Ok(())
}
