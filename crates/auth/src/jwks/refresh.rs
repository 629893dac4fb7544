//! The background task that keeps the keys fresh.
//!
//! It sleeps until the next attempt is due (`refresh_interval` after a success; the jittered
//! back-off after a failure, see `status.rs`), fetching through the same single-flight path as
//! everyone else. It also wakes every [`GAUGE_TICK`] to update the key-age gauge and the
//! readiness check, so that "degraded" and "expired" show up when they start, not at the next
//! fetch. It holds only a weak reference: when the last `JwksCache` handle is dropped the
//! task ends at its next wake-up.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{Inner, JwksCache};

/// How often gauges and readiness are re-published between fetches.
pub const GAUGE_TICK: Duration = Duration::from_secs(10);

impl JwksCache {
    /// Starts the background refresh. Call once; the task ends when the cache is dropped.
    pub fn spawn_refresher(&self) -> JoinHandle<()> {
        let weak = Arc::downgrade(&self.0);
        tokio::spawn(run(weak))
    }
}

async fn run(weak: Weak<Inner>) {
    loop {
        let wake = {
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let cache = JwksCache(inner);
            let now = cache.clock().now();
            cache.next_attempt().min(now + GAUGE_TICK)
        };
        tokio::time::sleep_until(wake).await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let cache = JwksCache(inner);
        if cache.clock().now() >= cache.next_attempt() {
            // Failures are recorded, logged and shown by the fetch path itself.
            let _ = cache.refresh().await;
        } else {
            cache.publish();
        }
    }
}
