//! Per-try timeouts derived from the service's observed latency, so that a frozen or
//! partitioned endpoint costs a request about `max(floor, multiplier × p99)` instead of the
//! fixed `per_try_timeout` (chaos finding 5: a SIGSTOPped instance cost one request 5 s).
//!
//! # The estimate
//!
//! Every try that gets an answer (any status) records its time to the response headers,
//! connection included, in a per-service histogram of logarithmic buckets (four per doubling,
//! from 64 µs to about 4 s; a bucket's upper bound is at most 19 % above any sample in it).
//! The histogram is two halves of `window` each, used in turn: a half is emptied when its
//! turn comes round again, so the estimate covers the last one to two windows and forgets a
//! slow spell after at most two. The p99 is the upper bound of the bucket holding the
//! 99th-percentile sample, recomputed at most every [`REFRESH`] and read from an atomic in
//! between (a quiet service without an estimate computes it at each try); with fewer than [`MIN_SAMPLES`] samples there is no estimate, and tries keep the
//! fixed timeout. Tries that time out record nothing (they are not latencies), so a frozen
//! endpoint does not raise the bar it is measured against; a slow-but-alive service does,
//! through the tries that still get through (the last try of a request always waits the full
//! timeout, see below).
//!
//! # When a try is cut early
//!
//! At `max(floor, multiplier × p99)` (never beyond `per_try_timeout` or the deadline) a try
//! that has no answer yet is cut with the ordinary [`crate::Timeout`], which the breaker
//! charges to the endpoint and the retry policy retries on another endpoint, only when all of
//! these hold; otherwise it keeps waiting up to `per_try_timeout`:
//! - the request may be sent again (GET, HEAD, OPTIONS, PUT, DELETE, or POST/PATCH with an
//!   `Idempotency-Key`, and a replayable body): a POST without a key is never cut early, since
//!   it would not be retried and its answer would be lost;
//! - it has retries left (`retry.max_retries`): the last try waits the full timeout, so a
//!   request that is merely slow still gets its answer;
//! - another endpoint of the service is ready to take the retry;
//! - the retry budget holds a retry (looked at, not taken: the retry policy takes it).
//!
//! The last two are looked at only when the early timer fires, so the request path pays one
//! histogram increment and, every [`REFRESH`], one percentile computation.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::LatencyTimeoutConfig;

/// Buckets per doubling of latency.
const PER_DOUBLING: f64 = 4.0;
/// The upper bound of bucket 0; bucket `i ≥ 1` ends at `BASE_NS × 2^(i / 4)`.
const BASE_NS: f64 = 64_000.0;
/// 64 µs × 2^(63/4) ≈ 3.5 s; slower samples go to the last bucket.
const BUCKETS: usize = 64;
/// Fewer samples than this in the histogram: no estimate.
pub const MIN_SAMPLES: u64 = 20;
/// How long a computed percentile is reused.
pub const REFRESH: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Half {
    /// Which window since `origin` this half counts.
    epoch: AtomicU64,
    counts: [AtomicU32; BUCKETS],
}

impl Half {
    fn new() -> Self {
        Half {
            epoch: AtomicU64::new(0),
            counts: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

/// One service's latency histogram and the per-try timeout derived from it.
#[derive(Debug)]
pub(crate) struct LatencyEstimate {
    origin: Instant,
    window_ns: u64,
    halves: [Half; 2],
    /// The last computed p99 in ns (0: none, computed again at every call), and when (ns
    /// since `origin`).
    p99_ns: AtomicU64,
    computed_at: AtomicU64,
    cfg: LatencyTimeoutConfig,
}

fn bucket(sample: Duration) -> usize {
    let ns = sample.as_nanos() as f64;
    if ns < BASE_NS {
        return 0;
    }
    let i = ((ns / BASE_NS).log2() * PER_DOUBLING).floor() as usize + 1;
    i.min(BUCKETS - 1)
}

fn upper_bound(bucket: usize) -> Duration {
    Duration::from_nanos((BASE_NS * 2f64.powf(bucket as f64 / PER_DOUBLING)) as u64)
}

impl LatencyEstimate {
    pub(crate) fn new(cfg: &LatencyTimeoutConfig) -> Self {
        LatencyEstimate {
            origin: Instant::now(),
            window_ns: u64::try_from(cfg.window.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1),
            halves: [Half::new(), Half::new()],
            p99_ns: AtomicU64::new(0),
            computed_at: AtomicU64::new(0),
            cfg: cfg.clone(),
        }
    }

    fn since(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records the time to the headers of one answered try.
    pub(crate) fn record(&self, now: Instant, sample: Duration) {
        if !self.cfg.enabled {
            return;
        }
        let epoch = self.since(now) / self.window_ns;
        let half = &self.halves[(epoch % 2) as usize];
        let seen = half.epoch.load(Ordering::Acquire);
        if seen != epoch
            && half
                .epoch
                .compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // This half's turn has come round again: forget what it counted. A sample another
            // thread adds meanwhile may be lost or kept; an estimate can afford either.
            for c in &half.counts {
                c.store(0, Ordering::Relaxed);
            }
        }
        half.counts[bucket(sample)].fetch_add(1, Ordering::Relaxed);
    }

    /// The 99th percentile of the last one to two windows, if there are enough samples.
    pub(crate) fn p99(&self, now: Instant) -> Option<Duration> {
        let at = self.since(now);
        let computed = self.computed_at.load(Ordering::Relaxed);
        let ns = self.p99_ns.load(Ordering::Relaxed);
        if ns != 0 && at.saturating_sub(computed) < REFRESH.as_nanos() as u64 {
            return Some(Duration::from_nanos(ns));
        }
        let p99 = self.compute(at / self.window_ns);
        let ns = p99.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.computed_at.store(at, Ordering::Relaxed);
        self.p99_ns.store(ns, Ordering::Relaxed);
        p99
    }

    fn compute(&self, epoch: u64) -> Option<Duration> {
        let mut counts = [0u64; BUCKETS];
        for half in &self.halves {
            let e = half.epoch.load(Ordering::Acquire);
            if e == epoch || e + 1 == epoch {
                for (sum, c) in counts.iter_mut().zip(&half.counts) {
                    *sum += u64::from(c.load(Ordering::Relaxed));
                }
            }
        }
        let total: u64 = counts.iter().sum();
        if total < MIN_SAMPLES {
            return None;
        }
        let rank = total - total / 100; // the sample at or below which 99 % fall
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(upper_bound(i));
            }
        }
        Some(upper_bound(BUCKETS - 1))
    }

    /// How long a try may wait before it is cut early, if the estimate allows one:
    /// `max(floor, multiplier × p99)`; `None` when disabled or without an estimate.
    pub(crate) fn early_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.cfg.enabled {
            return None;
        }
        let p99 = self.p99(now)?;
        Some(self.cfg.floor.max(p99.mul_f64(self.cfg.multiplier)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn estimate() -> LatencyEstimate {
        LatencyEstimate::new(&LatencyTimeoutConfig::default())
    }

    #[test]
    fn buckets_bound_their_samples_within_a_fifth() {
        for us in [1u64, 63, 64, 65, 100, 1_000, 9_999, 250_000, 3_000_000] {
            let d = Duration::from_micros(us);
            let b = upper_bound(bucket(d));
            assert!(b >= d, "{d:?} above its bucket's bound {b:?}");
            if us > 64 {
                assert!(
                    b.as_secs_f64() <= d.as_secs_f64() * 1.19 + 1e-9,
                    "{d:?} {b:?}"
                );
            }
        }
        assert_eq!(bucket(Duration::from_secs(60)), BUCKETS - 1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_estimate_until_enough_samples() {
        let e = estimate();
        for _ in 0..MIN_SAMPLES - 1 {
            e.record(Instant::now(), 5 * MS);
        }
        assert_eq!(e.early_timeout(Instant::now()), None);
        e.record(Instant::now(), 5 * MS);
        let p99 = e.p99(Instant::now()).expect("estimate");
        assert!(p99 >= 5 * MS && p99 < 6 * MS, "{p99:?}");
        // 3 × 5 ms is under the floor.
        assert_eq!(e.early_timeout(Instant::now()), Some(100 * MS));
    }

    #[tokio::test(start_paused = true)]
    async fn the_p99_ignores_the_fastest_99_percent_and_forgets_after_two_windows() {
        let e = estimate();
        for i in 0..1000 {
            e.record(Instant::now(), if i % 100 == 0 { 80 * MS } else { 2 * MS });
        }
        // 10 of 1000 samples at 80 ms: the 99th percentile is the slowest 2 ms bucket.
        let p99 = e.p99(Instant::now()).expect("estimate");
        assert!(p99 >= 2 * MS && p99 < 3 * MS, "{p99:?}");
        for _ in 0..30 {
            e.record(Instant::now(), 400 * MS);
        }
        tokio::time::advance(REFRESH).await;
        let p99 = e.p99(Instant::now()).expect("estimate");
        assert!(p99 >= 400 * MS && p99 < 480 * MS, "{p99:?}");
        let timeout = e.early_timeout(Instant::now()).expect("estimate");
        assert!(timeout >= 1200 * MS && timeout < 1440 * MS, "{timeout:?}");
        // Two windows later, with fast samples only, the slow spell is forgotten.
        tokio::time::advance(2 * LatencyTimeoutConfig::default().window).await;
        for _ in 0..MIN_SAMPLES {
            e.record(Instant::now(), MS);
        }
        let p99 = e.p99(Instant::now()).expect("estimate");
        assert!(p99 < 2 * MS, "{p99:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_records_nothing_and_cuts_nothing() {
        let e = LatencyEstimate::new(&LatencyTimeoutConfig {
            enabled: false,
            ..LatencyTimeoutConfig::default()
        });
        for _ in 0..100 {
            e.record(Instant::now(), MS);
        }
        assert_eq!(e.early_timeout(Instant::now()), None);
    }

    /// The early timeout inside the real stack, over scripted endpoints.
    mod in_the_stack {
        use http::{Method, StatusCode};

        use super::*;
        use crate::Timeout;
        use crate::client::testing::{Harness, Script, get, request};
        use crate::config::MeshConfig;

        /// Sends `n` GETs one after the other, each answered.
        async fn warm(h: &Harness, n: usize) {
            for _ in 0..n {
                h.call(get()).await.expect("answered");
            }
        }

        /// Sends `make()` until one reaches the endpoint on port 1; its result and duration.
        async fn until_port_1(
            h: &Harness,
            make: impl Fn() -> crate::outbound::MeshRequest,
        ) -> (Result<http::Response<()>, crate::BoxError>, Duration) {
            for _ in 0..64 {
                let before = h.count(1);
                let started = Instant::now();
                let result = h.call(make()).await;
                if h.count(1) > before {
                    return (result, started.elapsed());
                }
            }
            panic!("64 requests and none reached port 1");
        }

        #[tokio::test(start_paused = true)]
        async fn a_get_sent_to_a_frozen_endpoint_is_retried_after_the_floor_not_5_s() {
            let h = Harness::new(&[1, 2], MeshConfig::default());
            warm(&h, 40).await;
            h.script(1, Script::Hang);
            let (result, took) = until_port_1(&h, get).await;
            let res = result.expect("answered by the other endpoint");
            assert_eq!(res.status(), 200);
            assert_eq!(Harness::served_by(&res), Some(2));
            // Answers take no time here, so the early timeout is the 100 ms floor.
            assert_eq!(took, 100 * MS);
        }

        #[tokio::test(start_paused = true)]
        async fn one_cut_ejects_the_frozen_endpoint_so_the_next_requests_do_not_pay_it() {
            let h = Harness::new(&[1, 2], MeshConfig::default());
            warm(&h, 40).await;
            h.script(1, Script::Hang);
            let (result, took) = until_port_1(&h, get).await;
            result.expect("answered by the other endpoint");
            assert_eq!(took, 100 * MS);
            // Before, the endpoint stayed ready until `consecutive_failures` (3) tries had each
            // been cut, and the balancer's decaying EWMA kept choosing it again.
            assert_ne!(
                h.endpoint(1).update(|st, _| st.state()),
                crate::breaker::state::EndpointState::Ready
            );
            let reached = h.count(1);
            for _ in 0..200 {
                let started = Instant::now();
                let res = h.call(get()).await.expect("answered");
                assert_eq!(Harness::served_by(&res), Some(2));
                assert!(started.elapsed() < 100 * MS);
            }
            assert_eq!(
                h.count(1),
                reached,
                "nothing more sent to the frozen endpoint"
            );
        }

        #[tokio::test(start_paused = true)]
        async fn a_slow_but_alive_service_raises_the_early_timeout() {
            let h = Harness::new(&[1, 2], MeshConfig::default());
            let slow = Script::Answer(StatusCode::OK, 200 * MS);
            h.script(1, slow);
            h.script(2, slow);
            warm(&h, 30).await;
            h.script(1, Script::Hang);
            let (result, took) = until_port_1(&h, get).await;
            assert_eq!(result.expect("answered").status(), 200);
            // Cut at 3 × p99 (600–715 ms with the bucket's rounding), then 200 ms on port 2.
            assert!(took >= 800 * MS && took <= 915 * MS, "{took:?}");
        }

        #[tokio::test(start_paused = true)]
        async fn a_post_without_an_idempotency_key_waits_the_full_timeout() {
            let h = Harness::new(&[1, 2], MeshConfig::default());
            warm(&h, 40).await;
            h.script(1, Script::Hang);
            let post = || request(Method::POST, false, None);
            let (result, took) = until_port_1(&h, post).await;
            let err = result.expect_err("not retried, so not cut early either");
            assert!(err.is::<Timeout>(), "{err}");
            assert_eq!(took, MeshConfig::default().per_try_timeout);
        }

        #[tokio::test(start_paused = true)]
        async fn a_post_with_an_idempotency_key_is_cut_early_like_a_get() {
            let h = Harness::new(&[1, 2], MeshConfig::default());
            warm(&h, 40).await;
            h.script(1, Script::Hang);
            let keyed = || request(Method::POST, true, None);
            let (result, took) = until_port_1(&h, keyed).await;
            assert_eq!(result.expect("answered").status(), 200);
            assert_eq!(took, 100 * MS);
        }

        #[tokio::test(start_paused = true)]
        async fn the_last_try_and_a_lone_endpoint_wait_the_full_timeout() {
            let mut cfg = MeshConfig::default();
            cfg.retry.max_retries = 0;
            let h = Harness::new(&[1, 2], cfg);
            warm(&h, 40).await;
            h.script(1, Script::Hang);
            let (result, took) = until_port_1(&h, get).await;
            assert!(result.expect_err("no retry").is::<Timeout>());
            assert_eq!(took, MeshConfig::default().per_try_timeout);

            // Nowhere else to go: the only endpoint's answer is worth waiting for.
            let h = Harness::new(&[1], MeshConfig::default());
            warm(&h, 40).await;
            h.script(1, Script::Hang);
            let started = Instant::now();
            let _ = h.call(get()).await;
            assert!(started.elapsed() >= MeshConfig::default().per_try_timeout);
        }
    }
}
