//! tis-idp: the development OpenID Connect provider (`tis idp`), and the token client
//! behind `tis token`.
//!
//! It serves Keycloak's URL layout (`/realms/{realm}/…`) and token shapes, so that `tis up`
//! and the tests run the real login path without a Keycloak, and the verifier (`tis-auth`)
//! cannot tell the difference: discovery, JWKS, the token endpoint (password,
//! client_credentials, refresh_token) and userinfo. Users and clients come from a TOML file
//! with argon2-hashed secrets; signing keys are generated, persisted and rotated with an
//! overlap. It owns nothing used on production paths (production logs in with Keycloak) and
//! must not touch other crates' concerns: it verifies only tokens it issued itself, and
//! token verification for services belongs to `tis-auth`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use tis_idp::{App, IdpConfig, client};
//! let config = IdpConfig { listen: "127.0.0.1:0".parse()?, ..IdpConfig::default() };
//! tis_idp::realm::demo::ensure_demo_realm(&config.realm_file)?; // local mode only
//! let app = App::build(config).await?;
//! let issuer = app.issuer("lin");
//! tokio::spawn(app.run(tis_core::shutdown::signal()));
//! let token = client::fetch_access_token(&issuer, &client::TokenRequest::user("admin"),
//!                                        client::DEFAULT_TIMEOUT).await?;
//! # let _ = token; Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: [`IdpConfig`], the `[idp]` section, and its validation.
//! - [`app`]: [`App`]: build (load realms and keys, bind), run (serve, drain, key upkeep).
//! - [`realm`]: the realm file, its validated form, and the demo realm `lin`.
//! - [`password`]: argon2 hashing, verification off the runtime, [`password::Secret`].
//! - [`keys`]: signing keys on disk, rotation with overlap, the JWKS.
//! - `tokens`: claims, minting and checking tokens, refresh-token single use, scopes.
//! - `routes`: the HTTP endpoints and their OAuth2 errors.
//! - `limiter`: failed logins per username.
//! - [`clock`]: injectable wall-clock time.
//! - [`client`]: the token client for `tis token`.

pub mod app;
mod browser;
pub mod client;
pub mod clock;
pub mod config;
pub mod keys;
mod limiter;
pub mod password;
pub mod realm;
mod routes;
mod tokens;

pub use app::App;
pub use config::{IdpConfig, SigningAlgorithm};
pub use keys::{KeyError, KeyStore, Rotation, rotate_keys};
