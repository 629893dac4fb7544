//! tis-reference: the Reference service, the lookup tables every other TIS service points at
//! (sites, trusts, grades, designated bodies, local offices and their contacts, countries,
//! colleges, person roles, funding types, and some thirty code/label lists), served under the
//! original's `/reference/api` with its JSON names, paging headers, `searchQuery`,
//! `columnFilters` and the batched `exists`/`in` look-ups of `reference-client`.
//!
//! It owns its own tables (through tis-store, on SQLite or PostgreSQL) and nothing else: it
//! must not read other services' data, nor call Profile per request (callers arrive with a
//! gateway-signed principal, verified by tis-auth). It is built on the service kit
//! (tis-service-kit): forty-odd entity types, each declared once next to its DTO, share the
//! kit's repository, validation, list parameters and CRUD handlers; Reference keeps only its
//! own domain.
//!
//! # Layout
//! - [`config`]: `ReferenceConfig` (`[reference]`), the kit's common keys.
//! - [`app`]: [`build`], the kit's `App` with Reference's migrations, demo data
//!   and routes.
//! - [`domain`]: Reference's own `Status` (the original's `CURRENT`, `INACTIVE`); the rest is the kit's.
//! - [`routes`]: the DTO declarations (`routes::dto`), the guards, the batched look-ups of the
//!   original's `reference-client` and the type-specific look-ups, on the kit's registrar.
//! - [`demo`]: demo reference data for England.
//! - `migrations/{sqlite,postgres}`: the schema, generated from the descriptors.

pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod routes;

use std::sync::LazyLock;

pub use app::{App, build};
pub use config::ReferenceConfig;
pub use tis_service_kit::ApiError;

static MIGRATIONS: LazyLock<tis_store::Migrations> = LazyLock::new(|| tis_store::Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
});

/// The service's migrations (for `tis migrate reference`).
pub fn migrations() -> &'static tis_store::Migrations {
    &MIGRATIONS
}
