//! tis-tcs: TCS, the heart of TIS: the people in training and their records, and the
//! programmes they train in, served under the original's `/tcs/api` with its JSON names,
//! guards, paging headers, `searchQuery` and `columnFilters` (see docs/tcs.md for what it
//! serves, and docs/tcs-original.md for how the original behaved).
//!
//! It owns its own tables (through tis-store, on SQLite or PostgreSQL) and nothing else.
//! References to Reference data (grades, sites, trusts, GMC statuses…) are ids and codes,
//! validated through the cached Reference client: Reference being down never stops a read,
//! and writes go on against the last-good answers, marked degraded.
//!
//! # Layout
//! - [`config`]: `TcsConfig` (`[tcs]`).
//! - [`app`]: [`build`], the kit's `App` with TCS's migrations and routes.
//! - [`routes`]: where the API lives, the state handlers reach ([`routes::Tcs`]), the guards,
//!   the assembly of every route.
//! - [`domain`]: owners (designated body → local office), the caller's scope.
//! - [`people`]: the people list and basic details, and what is derived from a person's records.
//! - [`catalogue`]: training numbers, specialty groups and the enumeration lists (the kit's CRUD).
//! - [`programmes`]: programmes, curricula, specialties, rotations.
//! - [`memberships`]: programme (and curriculum) memberships, qualifications.
//! - [`posts`]: posts, their fundings, sites, grades, specialties and programmes, rotation posts.
//! - [`placements`]: placements (with their comments and supervisors), the person and post
//!   placement views, the overlap rules, a trainee's timeline.
//! - [`esr`]: what the ESR interface reports about placements and posts (exported,
//!   reconciled), and where those events are read.
//! - [`day`]: the turn of the day: what "current today" decides (owners, list rows),
//!   re-derived once a day for the records whose memberships or placements started or ended.
//! - [`mod@reference`]: checking the Reference data a write names, through the cached client.
//! - [`demo`]: deterministic synthetic trainees for `tis up` and benchmarks.
//! - `migrations/{sqlite,postgres}`: the schema (0001), and each engine's people search
//!   structure (0002: an FTS5 trigram table, a pg_trgm index).

pub mod app;
pub mod catalogue;
pub mod config;
pub mod day;
pub mod demo;
pub mod domain;
pub mod esr;
pub mod memberships;
pub mod people;
pub mod placements;
pub mod posts;
pub mod programmes;
pub mod reference;
pub mod routes;

use std::sync::LazyLock;

pub use app::{App, build, build_with_reference};
pub use config::TcsConfig;

static MIGRATIONS: LazyLock<tis_store::Migrations> = LazyLock::new(|| tis_store::Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
});

/// The service's migrations (for `tis migrate tcs` and `tis up`).
pub fn migrations() -> &'static tis_store::Migrations {
    &MIGRATIONS
}
