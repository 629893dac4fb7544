//! tis-service-kit: what every TIS service is built on, so that a service keeps only its own
//! domain.
//!
//! It owns the descriptor-driven CRUD for plain entities (declare a type once with
//! [`entity!`] and get its DTO, validation, DDL for both backends, repository, list
//! parameters, routes and OpenAPI operations), guards (the original's `@PreAuthorize`,
//! checked before a body is read), the one API error type and its mapping to the JSON errors,
//! the idempotency middleware, the base configuration every service section shares, the
//! `App` build/run skeleton (listener, database monitor, demo data, principal verification,
//! standard layers, drain), and — with the `testing` feature — the API-test helpers that spawn
//! a service on port 0 on SQLite and PostgreSQL.
//!
//! It must not know any service's tables, DTOs or permissions: those live in each service
//! crate, which adds hand-written modules for what is not plain CRUD (Profile's `/userinfo`,
//! TCS's placements) through the same registrar.
//!
//! # Layout
//! - [`entity`](mod@entity): [`entity::Descriptor`], the [`entity!`] and [`lookup!`] macros, validation,
//!   DDL, the shared `Status`.
//! - [`repo`]: the one repository over any descriptor, and its SQL.
//! - [`guard`]: [`guard::Guard`], per-entity [`guard::Guards`], the `Can<P>` extractor.
//! - [`http`]: the [`http::Kit`] state, the registrar ([`http::api`]), the CRUD routes
//!   ([`http::crud`]), `searchQuery`/`columnFilters` ([`http::params`]), idempotency, and
//!   [`http::serve_api`].
//! - [`error`]: [`ApiError`], the one error type of every handler.
//! - [`config`]: [`config::ServiceConfig`] and [`config::Base`], the keys every `[<service>]`
//!   section has, and the [`service_config!`] macro that declares a service's section around them.
//! - [`app`]: [`app::App`], the build/run skeleton.
//! - `testing` (feature `testing`): `spawn` on port 0 on both backends, principals.

pub mod app;
pub mod config;
pub mod entity;
pub mod error;
pub mod guard;
pub mod http;
pub mod repo;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(test)]
mod fixtures;

/// What the kit's macros name, so that a service need not depend on each crate by name.
#[doc(hidden)]
pub mod __private {
    pub use tis_auth;
    pub use tis_core;
    pub use tis_store;
}

pub use app::App;
pub use error::ApiError;
pub use guard::{Can, Guard, Guards};
pub use http::Kit;
