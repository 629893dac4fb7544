//! tis-store: how TIS services talk to their databases.
//!
//! It owns the connection pools (SQLite, the embedded default, and PostgreSQL), a small SQL
//! builder whose values are always bound parameters, the decoding of rows into JSON maps (so
//! one repository serves both backends), the classification of database errors into the few
//! conditions a service must tell apart (unavailable, read-only, duplicate, …), the embedded
//! migrations runner and a background monitor that keeps the instance's readiness honest.
//! It must not know any service's tables: those live in each service's `repo/` module and
//! `migrations/{sqlite,postgres}` folders.
//!
//! # Layout
//! - [`config`]: `DbConfig`, the `[<service>.database]` section.
//! - [`sql`]: [`Sql`], the portable builder, and [`Value`], what can be bound.
//! - [`db`]: [`Db`], the pools, queries, transactions and row decoding.
//! - [`error`]: [`StoreError`] and the classification of driver errors.
//! - [`migrate`]: [`Migrations`], one embedded migrator per backend.
//! - [`monitor`]: the background check that sets the `database` readiness check.

pub mod config;
pub mod db;
pub mod error;
pub mod migrate;
pub mod monitor;
pub mod sql;

pub use config::DbConfig;
pub use db::{Backend, Db, Row, Tx};
pub use error::StoreError;
pub use migrate::Migrations;
pub use sql::{Sql, Value};
