//! tis-profile-client: the authorisation context of ARCHITECTURE §5, resolved once per user
//! and kept, so that Profile being slow or down does not take the system down (failure F4).
//!
//! It owns the cache of users' `UserProfile`s in front of Profile's `/profile/api/userinfo`:
//! keyed by user (issuer + `preferred_username`, never the raw token), fresh for 60 s, then
//! served while one background call revalidates it, served marked stale (up to 12 h old)
//! when Profile cannot be reached, single-flight (a thousand concurrent first requests of one
//! user make one call), bounded in bytes, with short negative caching of "no such user" and
//! "inactive", and explicit invalidation. It implements tis-auth's [`ProfileSource`], so the
//! gateway (and a service receiving raw tokens) plugs it in where the static role catalogue
//! was. It must not touch Profile's data or tables, nor verify tokens (tis-auth has done that
//! before a profile is asked for); it calls Profile only through tis-mesh.
//!
//! # Wiring
//!
//! ```ignore
//! let profiles = ProfileClient::new(&config.profile, registry.discovery("profile"))?;
//! // per request, after tis-auth verified `token` into `claims`:
//! let resolved = profiles.resolve(token, &claims).await?;      // ClientError: distinct codes
//! // or as tis-auth's ProfileSource (the gateway's authorisation step):
//! let resolved = profiles.profile(token, &claims).await?;      // ProfileError → AuthError
//! ```
//!
//! # Layout
//! - [`config`]: [`ProfileClientConfig`], durations and the mesh settings.
//! - [`cache`]: the timeline of an entry (fresh → revalidate → must refresh → expired) and the
//!   negative entries.
//! - [`client`]: [`ProfileClient`]: lookups, single-flight calls, invalidation, the
//!   `ProfileSource` implementation.
//! - [`fetch`]: one `/userinfo` call over tis-mesh and what its answers mean.
//! - [`error`]: [`ClientError`] and its HTTP answers.
//! - [`metrics`]: counter names and [`CacheStats`].

pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod fetch;
pub mod metrics;

pub use client::ProfileClient;
pub use config::{ConfigError, ProfileClientConfig, USERINFO_PATH};
pub use error::ClientError;
pub use fetch::{Fetch, FetchFailure, Fetched, HttpFetch, UserKey};
pub use metrics::CacheStats;
pub use tis_auth::ProfileSource;
pub use tis_mesh::DiscoveryConfig;
