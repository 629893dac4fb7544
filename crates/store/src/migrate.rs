//! Embedded migrations, one folder per backend.
//!
//! A service embeds both folders at compile time:
//!
//! ```text
//! pub fn migrations() -> tis_store::Migrations {
//!     tis_store::Migrations {
//!         sqlite: sqlx::migrate!("./migrations/sqlite"),
//!         postgres: sqlx::migrate!("./migrations/postgres"),
//!     }
//! }
//! ```
//!
//! and runs them at start (`migrate = true`) or through `tis migrate <service>`. The two
//! folders hold the same versions with backend-specific DDL.
//!
//! tis-store's own tables (`tis_idempotency`) come from its own migrations
//! (`crates/store/migrations/{sqlite,postgres}`), applied by [`Db::migrate`] right after the
//! service's and recorded in their own table (`_tis_store_migrations`), so their versions
//! never collide with a service's and no service has to copy them.

use std::sync::LazyLock;

use sqlx::migrate::{MigrateError, Migrator};

use crate::db::{Db, Pool};
use crate::error::StoreError;

/// The migrations of one service, for both backends.
#[derive(Debug)]
pub struct Migrations {
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

/// The table tis-store records its own migrations in.
pub const STORE_MIGRATIONS_TABLE: &str = "_tis_store_migrations";

static STORE: LazyLock<Migrations> = LazyLock::new(|| {
    let mut sqlite = sqlx::migrate!("./migrations/sqlite");
    sqlite.dangerous_set_table_name(STORE_MIGRATIONS_TABLE);
    let mut postgres = sqlx::migrate!("./migrations/postgres");
    postgres.dangerous_set_table_name(STORE_MIGRATIONS_TABLE);
    Migrations { sqlite, postgres }
});

fn failed(e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(err) => crate::error::classify(err),
        other => StoreError::Other(format!("migration failed: {other}")),
    }
}

async fn run(pool: &Pool, m: &Migrations) -> Result<usize, StoreError> {
    match pool {
        Pool::Sqlite(p) => m.sqlite.run(p).await.map(|()| m.sqlite.iter().count()),
        Pool::Postgres(p) => m.postgres.run(p).await.map(|()| m.postgres.iter().count()),
    }
    .map_err(failed)
}

impl Db {
    /// Applies every pending migration of the service, then tis-store's own, on the primary;
    /// returns how many versions the service's schema now has.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<usize, StoreError> {
        let pool = self.migration_pool()?;
        let versions = run(&pool, migrations).await?;
        run(&pool, &STORE).await?;
        Ok(versions)
    }
}
