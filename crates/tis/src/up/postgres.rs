//! `tis up` on PostgreSQL: every service on a primary and its streaming replicas.
//!
//! ```toml
//! [up.postgres]
//! primary = "postgres://postgres@127.0.0.1:5432"          # a server, not a database
//! replicas = ["postgres://postgres@127.0.0.1:5433"]       # its standbys
//! database_prefix = "tis_"                                # → tis_reference, tis_profile
//! ```
//!
//! or `tis up --postgres <URL> --replica <URL> --replica <URL>`. Each service gets its own
//! database on the primary, `<database_prefix><service>`, created when missing, migrated and
//! seeded with the demo data before its instances start; physical replication brings it to
//! the replicas. Every instance then runs with `database.url` on the primary and
//! `database.replicas` on each replica: reads spread over the replicas, writes go to the
//! primary, and after a `pg_ctl promote` of a replica the instances find the new primary by
//! themselves (tis-store's rules; see docs/operations-postgresql.md).
//!
//! A service whose `[<service>.database] url` is set explicitly keeps it (and its replicas).

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::Connection;

use crate::config::InvalidConfig;

/// `[up.postgres]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpPostgres {
    /// The primary server, `postgres://user[:password]@host:port[/maintenance-db]`, as a role
    /// allowed to create databases. Its path, when given, names the database to connect to
    /// for `CREATE DATABASE` (default `postgres`). Unset: SQLite files in the data folder.
    pub primary: Option<String>,
    /// Its streaming replicas (the same role, other servers). Empty: reads go to the primary.
    pub replicas: Vec<String>,
    /// Each service's database is `<database_prefix><service>`.
    pub database_prefix: String,
    /// How long to wait, at start, for each replica to have a newly created database.
    #[serde(with = "humantime_serde")]
    pub replica_wait: Duration,
}

impl Default for UpPostgres {
    fn default() -> Self {
        UpPostgres {
            primary: None,
            replicas: Vec::new(),
            database_prefix: "tis_".into(),
            replica_wait: Duration::from_secs(30),
        }
    }
}

impl UpPostgres {
    /// Checks what can be checked before connecting (exit code 2 otherwise).
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let Some(primary) = &self.primary else {
            if self.replicas.is_empty() {
                return Ok(());
            }
            return Err(InvalidConfig(
                "up.postgres.replicas needs up.postgres.primary (or --postgres)".into(),
            ));
        };
        let bad = |name: &str| {
            name.is_empty()
                || name.len() > 50
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if crate::services::SERVICES
            .iter()
            .any(|s| bad(&self.database_name(s.name)))
        {
            return Err(InvalidConfig(format!(
                "up.postgres.database_prefix `{}` must be lower-case letters, digits and `_`",
                self.database_prefix
            )));
        }
        for url in std::iter::once(primary).chain(&self.replicas) {
            database_url(url, "x")?;
        }
        Ok(())
    }

    /// The database of `service`.
    pub fn database_name(&self, service: &str) -> String {
        format!("{}{service}", self.database_prefix)
    }
}

/// `server` with its database set to `database` (user, password, host, port and query kept).
pub fn database_url(server: &str, database: &str) -> Result<String, InvalidConfig> {
    let mut url = url::Url::parse(server.trim()).map_err(|e| {
        InvalidConfig(format!(
            "`{}` is not a PostgreSQL URL: {e}",
            tis_store::db::redact(server)
        ))
    })?;
    if !matches!(url.scheme(), "postgres" | "postgresql") || url.host_str().is_none() {
        return Err(InvalidConfig(format!(
            "`{}` is not a PostgreSQL URL (postgres://user@host:port)",
            tis_store::db::redact(server)
        )));
    }
    url.set_path(&format!("/{database}"));
    Ok(url.into())
}

/// The database `server`'s own path names, or `postgres`.
fn maintenance_url(server: &str) -> Result<String, InvalidConfig> {
    let url = url::Url::parse(server.trim()).map_err(|e| InvalidConfig(e.to_string()))?;
    let path = url.path().trim_start_matches('/');
    database_url(server, if path.is_empty() { "postgres" } else { path })
}

/// Creates database `name` on the primary unless it exists. Returns whether it created it.
pub async fn ensure_database(primary: &str, name: &str) -> anyhow::Result<bool> {
    let admin = maintenance_url(primary)?;
    let mut conn = sqlx::PgConnection::connect(&admin).await.with_context(|| {
        format!(
            "could not connect to the PostgreSQL primary at {}",
            tis_store::db::redact(&admin)
        )
    })?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await
        .context("could not list the primary's databases")?;
    if exists.is_none() {
        // `name` is checked to be [a-z0-9_]+ (UpPostgres::validate): safe to quote.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .with_context(|| format!("could not create database {name} on the primary"))?;
    }
    conn.close().await.ok();
    Ok(exists.is_none())
}

/// Waits until database `url` (on a replica) accepts connections: a database just created on
/// the primary exists on a standby only once it has replayed the `CREATE DATABASE`.
pub async fn wait_for_replica(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(2), async {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await.ok();
            Ok::<bool, sqlx::Error>(in_recovery)
        })
        .await;
        match attempt {
            Ok(Ok(true)) => return Ok(()),
            Ok(Ok(false)) => {
                tracing::warn!(
                    db.url = %tis_store::db::redact(url),
                    "this replica is not in recovery (a primary?); using it anyway"
                );
                return Ok(());
            }
            Ok(Err(e)) if tokio::time::Instant::now() >= deadline => {
                return Err(e).with_context(|| {
                    format!(
                        "replica {} did not accept connections within {timeout:?}",
                        tis_store::db::redact(url)
                    )
                });
            }
            Err(_) if tokio::time::Instant::now() >= deadline => {
                anyhow::bail!(
                    "replica {} did not answer within {timeout:?}",
                    tis_store::db::redact(url)
                );
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_replaces_the_path_and_keeps_the_rest() {
        assert_eq!(
            database_url("postgres://tis:secret@db:5432", "tis_reference").expect("url"),
            "postgres://tis:secret@db:5432/tis_reference"
        );
        assert_eq!(
            database_url(
                "postgres://tis@db:5432/postgres?sslmode=require",
                "tis_profile"
            )
            .expect("url"),
            "postgres://tis@db:5432/tis_profile?sslmode=require"
        );
        assert_eq!(
            maintenance_url("postgres://tis@db:5432").expect("url"),
            "postgres://tis@db:5432/postgres"
        );
        assert_eq!(
            maintenance_url("postgres://tis@db:5432/template1").expect("url"),
            "postgres://tis@db:5432/template1"
        );
        assert!(database_url("sqlite://x.db", "a").is_err());
        assert!(database_url("not a url", "a").is_err());
    }

    #[test]
    fn replicas_need_a_primary_and_the_prefix_must_be_an_identifier() {
        let mut pg = UpPostgres {
            replicas: vec!["postgres://r:5432".into()],
            ..UpPostgres::default()
        };
        assert!(pg.validate().is_err());
        pg.primary = Some("postgres://p:5432".into());
        assert!(pg.validate().is_ok());
        pg.database_prefix = "Tis\"; DROP".into();
        assert!(pg.validate().is_err());
    }
}
