//! The sliding window behind the breaker's success rate.
//!
//! The window (10 s by default) is cut into ten slots; each slot counts the successes and
//! failures of its tenth. A slot is reused when its time comes round again, so the counts
//! cover between nine and ten tenths of the window: a sliding window at the cost of ten pairs
//! of integers, with no allocation and no timer.

use std::time::Duration;

use tokio::time::Instant;

const SLOTS: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Which tenth since `origin` this slot counts; stale when it is too old.
    epoch: u64,
    ok: u32,
    failed: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Window {
    width_ns: u128,
    origin: Instant,
    slots: [Slot; SLOTS],
}

impl Window {
    pub(crate) fn new(window: Duration, now: Instant) -> Self {
        Window {
            width_ns: (window.as_nanos() / SLOTS as u128).max(1),
            origin: now,
            slots: [Slot::default(); SLOTS],
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        let ns = now.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(ns / self.width_ns).unwrap_or(u64::MAX)
    }

    pub(crate) fn record(&mut self, now: Instant, ok: bool) {
        let epoch = self.epoch(now);
        let slot = &mut self.slots[(epoch % SLOTS as u64) as usize];
        if slot.epoch != epoch {
            *slot = Slot {
                epoch,
                ok: 0,
                failed: 0,
            };
        }
        if ok {
            slot.ok = slot.ok.saturating_add(1);
        } else {
            slot.failed = slot.failed.saturating_add(1);
        }
    }

    /// (successes, failures) within the window ending now.
    pub(crate) fn totals(&self, now: Instant) -> (u32, u32) {
        let current = self.epoch(now);
        self.slots
            .iter()
            .filter(|s| s.epoch + (SLOTS as u64) > current && s.epoch <= current)
            .filter(|s| s.ok + s.failed > 0)
            .fold((0u32, 0u32), |(ok, failed), s| {
                (ok.saturating_add(s.ok), failed.saturating_add(s.failed))
            })
    }

    /// The success rate, if anything was seen.
    pub(crate) fn success_rate(&self, now: Instant) -> Option<f64> {
        let (ok, failed) = self.totals(now);
        let total = ok + failed;
        (total > 0).then(|| f64::from(ok) / f64::from(total))
    }

    pub(crate) fn clear(&mut self) {
        self.slots = [Slot::default(); SLOTS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_slide_out_after_the_window() {
        let t0 = Instant::now();
        let mut w = Window::new(Duration::from_secs(10), t0);
        w.record(t0, true);
        w.record(t0 + Duration::from_secs(3), false);
        w.record(t0 + Duration::from_secs(9), false);
        assert_eq!(w.totals(t0 + Duration::from_secs(9)), (1, 2));
        // The first success is more than ten seconds old now.
        assert_eq!(w.totals(t0 + Duration::from_millis(10_500)), (0, 2));
        assert_eq!(w.totals(t0 + Duration::from_secs(30)), (0, 0));
        assert_eq!(w.success_rate(t0 + Duration::from_secs(30)), None);
    }

    #[test]
    fn a_reused_slot_forgets_its_old_counts() {
        let t0 = Instant::now();
        let mut w = Window::new(Duration::from_secs(10), t0);
        w.record(t0, false);
        w.record(t0 + Duration::from_secs(10), true);
        assert_eq!(w.totals(t0 + Duration::from_secs(10)), (1, 0));
        assert_eq!(w.success_rate(t0 + Duration::from_secs(10)), Some(1.0));
    }
}
