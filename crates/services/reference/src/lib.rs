//! tis-reference: the Reference service, the lookup tables every other TIS service points at
//! (sites, trusts, grades, designated bodies, local offices and their contacts, countries,
//! colleges, person roles, funding types, and some thirty code/label lists), served under the
//! original's `/reference/api` with its JSON names, paging headers, `searchQuery`,
//! `columnFilters` and the batched `exists`/`in` look-ups of `reference-client`.
//!
//! It owns its own tables (through tis-store, on SQLite or PostgreSQL) and nothing else: it
//! must not read other services' data, nor call Profile per request (callers arrive with a
//! gateway-signed principal, verified by tis-auth). Forty-odd entity types share one generic
//! repository and one set of handlers, driven by a descriptor declared once per type next to
//! its DTO.
//!
//! # Layout
//! - [`config`]: `ReferenceConfig` (`[reference]`).
//! - [`app`]: `App::build` (binds, connects, starts the database monitor) and `App::run`.
//! - [`domain`]: descriptors and the `entity!`/`lookup!` macros, enumerations, validation,
//!   the DDL the descriptors imply.
//! - [`routes`]: the DTO declarations (`routes::dto`), list parameters (`searchQuery`,
//!   `columnFilters`; paging is tis-core's), the generic CRUD handlers, the batched look-ups,
//!   the type-specific look-ups, and the route registrar that writes the OpenAPI document as
//!   it adds routes.
//! - [`repo`]: the one repository and its SQL.
//! - [`error`]: `ApiError` and its mapping to the standard JSON errors.
//! - [`demo`]: demo reference data for England.
//! - `migrations/{sqlite,postgres}`: the schema, generated from the descriptors.

pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod repo;
pub mod routes;

use std::sync::LazyLock;

pub use app::App;
pub use config::ReferenceConfig;
pub use error::ApiError;

static MIGRATIONS: LazyLock<tis_store::Migrations> = LazyLock::new(|| tis_store::Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
});

/// The service's migrations (for `tis migrate reference`).
pub fn migrations() -> &'static tis_store::Migrations {
    &MIGRATIONS
}
