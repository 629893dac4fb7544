//! tis-profile: the Profile service, owner of the authorisation context (ARCHITECTURE §5):
//! TIS users (`HeeUser`), roles, permissions with their IAM-style policies, each user's
//! designated bodies, trusts and programmes, and trainee id mappings, served under the
//! original's `/profile/api` with its JSON names, and `GET /userinfo` in exactly the
//! `UserProfile` shape every service authorised with (DOMAIN §1.3).
//!
//! It owns its own tables (through tis-store, on SQLite or PostgreSQL) and nothing else: it
//! must not read other services' data (trusts and programmes are copied ids and names), and
//! it must not depend on the gateway or on the cached Profile client: `/userinfo` verifies the
//! caller's access token itself and reads this database, so there is no cycle. Its one call
//! out is to Reference, to check designated-body codes on writes, through tis-mesh with the
//! caller's own credential, through tis-reference-client: codes Reference confirmed are
//! remembered, so writes naming them survive a Reference outage (marked `reference-stale`),
//! and anything else is refused with 503, never accepted unchecked.
//!
//! # Layout
//! - [`config`]: `ProfileConfig` (`[profile]`): the kit's common keys and the Reference
//!   client's section.
//! - [`app`]: [`build`], the kit's `App` with Profile's migrations, demo data,
//!   profile source, Reference client and routes.
//! - [`domain`]: users, roles, permissions, trainees; user names; the `UserProfile` assembler.
//! - [`repo`]: the repository and its SQL (users, roles and permissions, trainees).
//! - [`routes`]: the router and its guards (the kit's `Can<P>`); `/userinfo` and the directory
//!   look-ups, `/hee-users`, `/roles` and `/permissions`, `/trainee-id`; wire DTOs and inputs;
//!   tis-store's middleware and `Idempotency-Key` on the routes that write.
//! - [`local`]: `LocalProfiles`, the `ProfileSource` over this database.
//! - [`error`]: Profile's own error conditions, as the kit's `ApiError`.
//! - [`catalogue`]: the role catalogue (tis-auth's `RoleCatalogue`) as a migration: roles and
//!   permissions exist in every deployment.
//! - [`bootstrap`]: `tis profile add-user`, the first administrator of a new deployment.
//! - [`demo`]: the demo users.
//! - `migrations/{sqlite,postgres}`: the schema.

pub mod app;
pub mod bootstrap;
pub mod catalogue;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod local;
pub mod repo;
pub mod routes;

use std::sync::LazyLock;

pub use app::{App, build, build_with_reference};
pub use config::{AUDIENCE, ProfileConfig, ReferenceClientConfig};
pub use error::ApiError;
pub use local::LocalProfiles;

static MIGRATIONS: LazyLock<tis_store::Migrations> = LazyLock::new(|| tis_store::Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
});

/// The service's migrations (for `tis migrate profile` and `tis up`).
pub fn migrations() -> &'static tis_store::Migrations {
    &MIGRATIONS
}

#[cfg(test)]
mod tests {
    use tis_service_kit::entity::ddl::check_migration;
    use tis_service_kit::http::json_patch::JSON_PATCH;
    use tis_store::Backend;

    #[test]
    fn the_json_patch_migrations_are_the_kits_descriptor_on_both_backends() {
        for (backend, file) in [
            (Backend::Sqlite, "migrations/sqlite/0002_json_patch.sql"),
            (Backend::Postgres, "migrations/postgres/0002_json_patch.sql"),
        ] {
            check_migration(&[&JSON_PATCH], backend, env!("CARGO_MANIFEST_DIR"), file);
        }
    }
}
