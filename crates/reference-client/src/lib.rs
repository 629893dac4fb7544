//! tis-reference-client: what other services ask Reference, asked once and remembered, so
//! that Reference being slow or down degrades their writes instead of stopping them (failure
//! F8; ARCHITECTURE §11).
//!
//! The question is always the same shape: "do these codes (or ids) of type X exist?", or
//! "give me these records of type X by code (or id)". Each key's answer is
//! [`Answer::Exists`] (fresh, or `stale` when Reference could not be asked and this is the
//! last-good answer), [`Answer::Missing`], or [`Answer::Unknown`] (Reference could not be
//! asked and nothing usable is remembered). The keys the cache cannot answer are asked
//! together through Reference's batch look-ups (`POST /{plural}/exists/`,
//! `POST /{plural}/ids/exists`, or the list filtered on the code or id), through tis-mesh,
//! forwarding the caller's own credential ([`tis_auth::Credential`]).
//!
//! Answers are remembered per key with the Profile client's timeline (see [`cache`]): fresh
//! for 60 s, then used at once while one background call refreshes them, then asked first;
//! while Reference is down a "yes" up to 12 h old is used, marked stale; a "no" is not
//! remembered (a code created a moment ago must work) and never used stale. Calls are
//! single-flight per key and memory is bounded (`max_entries`).
//!
//! # Use (Profile today, TCS next)
//!
//! ```ignore
//! let reference = ReferenceClient::new(&config.reference, discovery)?;
//! // in a handler that writes, on the caller's behalf:
//! let credential = Credential::on_behalf_of(&who, &headers);
//! let checked = reference
//!     .codes_exist(RefType::GRADES, ["F1", "ST3"], credential.as_ref())
//!     .await;
//! let missing = checked.settle()?;  // 503 dependency_unavailable if any is unknown;
//!                                   // marks `reference-stale` if any answer was stale
//! for code in missing { /* 400: no grade with that code */ }
//! ```
//!
//! The crate must not touch Reference's tables or any service's routes; it calls Reference
//! only through tis-mesh.
//!
//! # Layout
//! - [`config`]: [`ReferenceClientConfig`], the windows, the capacity, the mesh settings.
//! - [`types`]: [`RefType`] (the types, by Reference's path names), [`By`], [`Answer`],
//!   [`Lookup`].
//! - [`cache`]: the timeline of an answer (fresh → revalidate → must refresh → expired).
//! - [`client`]: [`ReferenceClient`]: questions, single-flight batched calls, invalidation;
//!   [`Checked`] answers and their [`settle`](Checked::settle) rule.
//! - [`fetch`]: one batched call over tis-mesh and what its answers mean.
//! - [`error`]: [`ReferenceUnavailable`] (503 `dependency_unavailable`) and when the
//!   degradations `reference-stale` and `dependency-reference` are marked.
//! - [`metrics`]: counter names and [`CacheStats`].

pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod fetch;
pub mod metrics;
pub mod types;

pub use client::{Checked, Existence, HasAnswer, Records, ReferenceClient};
pub use config::{ConfigError, ReferenceClientConfig};
pub use error::ReferenceUnavailable;
pub use fetch::{Answers, Fetch, FetchFailure, Fetched, HttpFetch, Question};
pub use metrics::CacheStats;
pub use tis_auth::Credential;
pub use tis_mesh::DiscoveryConfig;
pub use types::{Answer, By, Lookup, RefType};
