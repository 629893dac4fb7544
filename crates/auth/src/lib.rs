//! tis-auth: who is calling, verified locally, so that the identity provider being down does
//! not take the system down (failure F1), and what they may do, carried in a signed principal
//! so that Profile being down does not either (F4).
//!
//! It owns the verification of identity-provider access tokens (RS256, PS256, ES256, EdDSA)
//! against the provider's signing keys, which it discovers, caches in memory, persists to
//! disk as last-good, refreshes in the background and keeps trusting for a bounded grace when
//! the provider is unreachable; the `TIS-Principal` token the gateway mints and services
//! verify; permission checks over the original `UserProfile`; the static role catalogue; and
//! the axum extractor services authenticate with. It must not touch HTTP routing, databases
//! or the Profile service's data: the gateway and services wire these pieces into their own
//! routers, and profiles come through the [`ProfileSource`] trait.
//!
//! # Wiring
//!
//! Gateway: [`JwksCache::start`] → [`AccessTokenVerifier`] → (its profile client) →
//! [`PrincipalSigner::mint`]. Service: [`PrincipalVerifier::from_config`] →
//! [`Authenticator`] (optionally [`Authenticator::with_access_tokens`] and a
//! [`RoleCatalogue`]) in the router state → handlers take [`Authenticated`].
//!
//! # Layout
//! - [`config`]: `AuthConfig` (`[auth]`) and `PrincipalConfig` (`[principal]`).
//! - [`error`]: `AuthError`, one variant per condition, and its single mapping to
//!   `tis_core::HttpError`; `FetchError` for key fetches.
//! - [`headers`]: the token of a request (`Authorization: Bearer`, `OIDC_access_token`).
//! - [`token`]: the front end every token passes before any key is touched.
//! - [`claims`]: Keycloak's access-token claims; audience and time checks.
//! - [`keys`]: JWKs into verification keys, each bound to the algorithms it may verify.
//! - [`jwks`]: the key lifecycle (`JwksCache`): discovery, fetch, persistence, refresh,
//!   unknown-`kid` rate limit, grace, status.
//! - `jws`: the signature check against keys parsed once; the required-claims check.
//! - `cache`: verified tokens by SHA-256, bounded and expiring.
//! - [`verify`]: the `AccessTokenVerifier`.
//! - [`principal`]: `UserProfile`, `Principal` and its permission checks, the principal
//!   token's signer and verifier, the Ed25519 key files.
//! - [`profile_source`]: the `ProfileSource` trait.
//! - [`catalogue`]: the TIS roles → permissions → policies table (`RoleCatalogue`).
//! - [`extract`]: `Authenticator` and the `Authenticated` extractor.
//! - [`forward`]: [`Credential`], what a service forwards when it calls another on a caller's
//!   behalf.
//! - [`clock`]: wall and monotonic time, injectable for paused-clock tests.
//! - [`metrics`]: metric names.
//! - `testing` (feature `test-util`): keys, token minting, a scripted key source, a fake
//!   identity provider.

mod cache;
pub mod catalogue;
pub mod claims;
pub mod clock;
pub mod config;
pub mod error;
pub mod extract;
pub mod forward;
pub mod headers;
pub mod jwks;
mod jws;
pub mod keys;
pub mod metrics;
pub mod principal;
pub mod profile_source;
pub mod static_token;
pub mod token;
pub mod verify;

#[cfg(feature = "test-util")]
pub mod testing;

pub use catalogue::RoleCatalogue;
pub use claims::{AccessClaims, Audience};
pub use clock::Clock;
pub use config::{AuthConfig, ConfigError, PrincipalConfig};
pub use error::{AuthError, FetchError};
pub use extract::{Authenticated, Authenticator};
pub use forward::Credential;
pub use headers::bearer_token;
/// The signature algorithms (re-exported from jsonwebtoken).
pub use jsonwebtoken::Algorithm;
pub use jwks::{JwksCache, KeySource, KeyState, KeyStatus};
pub use principal::{
    AuthenticatedBy, PRINCIPAL_HEADER, PermissionPolicy, Principal, PrincipalSigner,
    PrincipalVerifier, UserProfile,
};
pub use profile_source::{ProfileError, ProfileSource, ResolvedProfile};
pub use static_token::StaticToken;
pub use verify::{AccessTokenVerifier, VerifiedToken};
