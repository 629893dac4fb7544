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

use sqlx::migrate::Migrator;

use crate::db::{Db, Pool};
use crate::error::StoreError;

/// The migrations of one service, for both backends.
#[derive(Debug)]
pub struct Migrations {
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

impl Db {
    /// Applies every pending migration; returns how many versions the database now has.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<usize, StoreError> {
        let result = match self.pool() {
            Pool::Sqlite(p) => migrations
                .sqlite
                .run(p)
                .await
                .map(|()| migrations.sqlite.iter().count()),
            Pool::Postgres(p) => migrations
                .postgres
                .run(p)
                .await
                .map(|()| migrations.postgres.iter().count()),
        };
        result.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(err) => crate::error::classify(err),
            other => StoreError::Other(format!("migration failed: {other}")),
        })
    }
}
