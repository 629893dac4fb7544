//! Peak-EWMA, the latency estimate the balancer compares endpoints by.
//!
//! The balancer itself uses `tower::load::PeakEwma`; this is the same arithmetic, kept beside
//! each endpoint's breaker so that the status page can show the number the balancer acts on.
//!
//! Each endpoint keeps one estimate `rtt` and the time `t₀` it was last updated. When a
//! response arrives after `s` at time `t`:
//!
//! - if `s > rtt`, then `rtt = s`: bad news is believed at once (the *peak*), so an endpoint
//!   that turns slow stops being chosen after a single slow answer;
//! - otherwise `rtt = w·rtt + (1 − w)·s` with `w = e^(−(t − t₀)/τ)`: good news is believed
//!   gradually, and the longer since the last update, the less the old estimate weighs
//!   (`τ`, the decay, is 10 s by default: after 10 s an old value keeps `1/e ≈ 37 %` of its
//!   weight).
//!
//! Between responses the estimate also decays towards zero the same way, so an endpoint that
//! was slow once is tried again after a while rather than starved for ever. The balancer's
//! *cost* of an endpoint is `rtt × (requests in flight + 1)`: latency times queue, an estimate
//! of how long a new request would wait there.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub(crate) struct PeakEwma {
    rtt_ns: f64,
    updated: Instant,
    decay_ns: f64,
}

impl PeakEwma {
    pub(crate) fn new(default_rtt: Duration, decay: Duration, now: Instant) -> Self {
        PeakEwma {
            rtt_ns: default_rtt.as_nanos() as f64,
            updated: now,
            decay_ns: (decay.as_nanos() as f64).max(1.0),
        }
    }

    fn weight(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_nanos() as f64;
        (-elapsed / self.decay_ns).exp()
    }

    /// Takes one latency sample into the estimate.
    pub(crate) fn observe(&mut self, now: Instant, sample: Duration) {
        let s = sample.as_nanos() as f64;
        self.rtt_ns = if s > self.rtt_ns {
            s
        } else {
            let w = self.weight(now);
            self.rtt_ns * w + s * (1.0 - w)
        };
        self.updated = now;
    }

    /// The estimate as of `now`, decayed since the last sample.
    pub(crate) fn value(&self, now: Instant) -> Duration {
        Duration::from_nanos((self.rtt_ns * self.weight(now)) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_slow_answer_is_believed_at_once_and_forgotten_slowly() {
        let t0 = Instant::now();
        let mut e = PeakEwma::new(30 * MS, Duration::from_secs(10), t0);
        e.observe(t0, 500 * MS);
        assert_eq!(e.value(t0), 500 * MS);
        // A fast answer 1 s later moves the estimate only part of the way.
        let t1 = t0 + Duration::from_secs(1);
        e.observe(t1, MS);
        let v = e.value(t1);
        assert!(v > 400 * MS && v < 500 * MS, "{v:?}");
        // After one decay period with no news it keeps about 1/e of its value.
        let later = e.value(t1 + Duration::from_secs(10));
        let expected = v.as_secs_f64() / std::f64::consts::E;
        assert!((later.as_secs_f64() - expected).abs() < 0.001, "{later:?}");
    }
}
