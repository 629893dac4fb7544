//! tis-store: how TIS services talk to their databases.
//!
//! It owns the connection pools (SQLite, the embedded default, and PostgreSQL with a write
//! pool on the primary and a read pool per replica), the routing of each statement (reads to
//! a replica within the lag bound or that has replayed the caller's last write, writes and
//! transactions to the primary, found again by itself after a failover), a small SQL builder
//! whose values are always bound parameters, the decoding of rows into JSON maps (so one
//! repository serves both backends), the classification of database errors into the few
//! conditions a service must tell apart (unavailable, read-only, duplicate, …), the embedded
//! migrations runner, idempotency keys stored with the writes they guard, the HTTP middleware
//! that carries `TIS-Consistency` and keeps requests away from a database not ready, and a
//! background monitor that keeps the instance's readiness honest.
//! It must not know any service's tables: those live in each service's `repo/` module and
//! `migrations/{sqlite,postgres}` folders. Its own one table (`tis_idempotency`) comes from
//! its own migrations, applied with the service's.
//!
//! # Layout
//! - [`config`]: `DbConfig`, the `[<service>.database]` section.
//! - [`db`]: [`Db`], the handle: `read()`/`reader(c)`, `write()`, `begin()`, status; its
//!   `statements` submodule runs each statement where it belongs.
//! - [`access`]: [`Reader`] and [`Writer`], the two doors.
//! - [`tx`]: [`Tx`], and the one transaction of an idempotent request.
//! - `cluster`: the PostgreSQL endpoints, the election of the primary, lag, read routing.
//! - [`lsn`]: [`Lsn`] and [`Consistency`], and why an LSN gives read-your-writes.
//! - [`scope`]: the per-request task-local (asked consistency, "this request wrote").
//! - [`http`]: the middleware: readiness gate, `TIS-Degraded: db-read-only`, `TIS-Consistency`.
//! - [`idempotency`]: `Idempotency-Key` claims, stored responses, replays, expiry.
//! - [`status`]: [`DbStatus`], the snapshot for status pages.
//! - [`sql`]: [`Sql`], the portable builder, and [`Value`], what can be bound (NULLs with
//!   their [`SqlType`]).
//! - [`copy`]: bulk loads ([`Tx::insert_rows`]): `COPY` on PostgreSQL, multi-row `INSERT`s on
//!   SQLite.
//! - `exec`: running one statement on one connection, and row decoding.
//! - [`error`]: [`StoreError`] and the classification of driver errors.
//! - [`migrate`]: [`Migrations`], one embedded migrator per backend, and tis-store's own.
//! - [`monitor`]: the background checks that set the `database` readiness check.
//! - `metrics`: the names and descriptions of the database metrics.

pub mod access;
pub(crate) mod cluster;
pub mod config;
pub mod copy;
pub mod db;
pub mod error;
pub(crate) mod exec;
pub mod http;
pub mod idempotency;
pub mod lsn;
pub(crate) mod metrics;
pub mod migrate;
pub mod monitor;
pub mod scope;
pub mod sql;
pub mod status;
pub mod tx;

pub use access::{Reader, Writer};
pub use config::DbConfig;
pub use db::{Backend, Db, Row};
pub use error::StoreError;
pub use lsn::{Consistency, Lsn};
pub use migrate::Migrations;
pub use sql::{Sql, SqlType, Value};
pub use status::{DbStatus, NodeStatus};
pub use tx::Tx;
