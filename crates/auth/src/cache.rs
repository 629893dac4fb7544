//! Verified tokens, remembered so that a repeated token costs a SHA-256 and a lookup instead
//! of a signature check.
//!
//! Keyed by the SHA-256 of the whole token (so the cache never holds bearer secrets, and two
//! tokens differing in any byte are different entries). Bounded in entries; each entry
//! leaves memory no later than its token's `exp`. Expiry inside moka runs on moka's own
//! clock, so a hit is also checked against our [`Clock`](crate::clock::Clock) and against
//! key trust by the caller: an entry never outlives its token, the key that verified it
//! (a key the IdP removed invalidates its tokens at the next refresh), or the key set's grace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use moka::sync::Cache;

use crate::keys::VerificationKey;

/// The longest an entry may stay, whatever its `exp` says.
const MAX_TTL: Duration = Duration::from_secs(3600);

/// One verified token.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub value: Arc<T>,
    pub kid: Arc<str>,
    pub key: Arc<VerificationKey>,
    /// The token's `exp`, Unix seconds.
    pub exp: u64,
    ttl: Duration,
}

struct ExpireAtTokenExp;

impl<T> moka::Expiry<[u8; 32], Arc<Entry<T>>> for ExpireAtTokenExp {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Entry<T>>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// A bounded map from token hash to verified token.
pub(crate) struct VerifiedCache<T> {
    inner: Option<Cache<[u8; 32], Arc<Entry<T>>>>,
}

impl<T: Send + Sync + 'static> VerifiedCache<T> {
    /// A cache of `capacity` entries; 0 disables caching.
    pub fn new(capacity: u64) -> Self {
        let inner = (capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .expire_after(ExpireAtTokenExp)
                .build()
        });
        VerifiedCache { inner }
    }

    pub fn hash(token: &str) -> [u8; 32] {
        let d = digest::digest(&digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<Entry<T>>> {
        self.inner.as_ref()?.get(hash)
    }

    pub fn remove(&self, hash: &[u8; 32]) {
        if let Some(c) = &self.inner {
            c.invalidate(hash);
        }
    }

    /// Remembers a token verified at `now` (Unix seconds) until its `exp`.
    pub fn insert(
        &self,
        hash: [u8; 32],
        value: Arc<T>,
        kid: Arc<str>,
        key: Arc<VerificationKey>,
        exp: u64,
        now: u64,
    ) {
        let Some(c) = &self.inner else {
            return;
        };
        let ttl = Duration::from_secs(exp.saturating_sub(now)).min(MAX_TTL);
        if ttl.is_zero() {
            return;
        }
        c.insert(
            hash,
            Arc::new(Entry {
                value,
                kid,
                key,
                exp,
                ttl,
            }),
        );
    }
}
