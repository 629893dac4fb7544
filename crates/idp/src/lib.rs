//! tis-idp: the development OpenID Connect provider (`tis idp`), and the token client
//! behind `tis token`.
//!
//! It serves Keycloak's URL layout (`/realms/{realm}/…`) and token shapes, so that `tis up`
//! and the tests run the real login path without a Keycloak, and the verifier (`tis-auth`)
//! cannot tell the difference: discovery, JWKS, the token endpoint (authorization_code,
//! password, client_credentials, refresh_token), userinfo, and browser sign-in (a login
//! page, the authorization code flow with PKCE, SSO sessions and logout). Users and clients come from a TOML file
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
//! # Browser sign-in
//!
//! A web application signs people in as it would with Keycloak (same configuration, only
//! the issuer, client id and secret differ):
//!
//! 1. `GET /realms/{realm}/protocol/openid-connect/auth` (`response_type=code`, `client_id`,
//!    an exactly registered `redirect_uri`, `scope` with `openid`, `state`, `nonce`,
//!    `code_challenge` + `code_challenge_method=S256`) answers with the login page, or with
//!    a code at once when the browser's `KEYCLOAK_SESSION` cookie names a live SSO session
//!    (`prompt=login` and `max_age` force the form; `prompt=none` never shows it).
//! 2. The page's form posts to `/realms/{realm}/login-actions/authenticate?tab_id=…` with the
//!    `AUTH_SESSION_ID` cookie; the right password redirects to
//!    `redirect_uri?code=…&state=…&session_state=…&iss=…`.
//! 3. The client redeems the code at the token endpoint (`grant_type=authorization_code`,
//!    `code`, `redirect_uri`, `code_verifier`, its credentials) once, within 60 s, for an
//!    access token, an ID token (`nonce`, `sid`, `auth_time`, `at_hash`) and a refresh token
//!    that rotates at each refresh.
//! 4. `…/protocol/openid-connect/logout` (`id_token_hint`, `post_logout_redirect_uri`,
//!    `state`, `client_id`; or `POST` with `refresh_token` and client credentials) ends the
//!    session and every refresh token of it.
//!
//! SSO sessions, login pages and codes are kept in memory, bounded (`browser`); a restart
//! signs browser users out. The endpoints are in `routes::authorize`, `routes::logout`
//! and `routes::page` (the HTML, its escaping and security headers).
//!
//! # Layout
//! - [`config`]: [`IdpConfig`], the `[idp]` section, and its validation.
//! - [`app`]: [`App`]: build (load realms and keys, bind), run (serve, drain, key upkeep).
//! - [`realm`]: the realm file, its validated form, and the demo realm `lin`.
//! - [`password`]: argon2 hashing, verification off the runtime, [`password::Secret`].
//! - [`keys`]: signing keys on disk, rotation with overlap, the JWKS.
//! - `tokens`: claims, minting and checking tokens, refresh-token single use, scopes.
//! - `routes`: the HTTP endpoints and their OAuth2 errors.
//! - `limiter`: failed logins per username (password grant and login page).
//! - `browser`: SSO sessions, login pages in progress and authorization codes.
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
