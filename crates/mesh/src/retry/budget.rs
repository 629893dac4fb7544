//! The retry budget: retries may add at most 20 % to a service's traffic, plus a small floor.
//!
//! # Why a budget and not only "3 tries"
//!
//! A per-request limit multiplies load exactly when a service is failing: with three tries,
//! a dependency that fails everything receives three times its normal traffic, from every
//! caller, at the worst moment — a retry storm. A budget ties retries to the traffic that is
//! actually flowing instead, so a failing dependency sees at most `1 + p` times its normal
//! load, however many tries each request would have liked. (This is the scheme of Finagle and
//! of `tower::retry::budget::TpsBudget`; it is re-implemented here so that the status page can
//! read how much of it is used.)
//!
//! # The arithmetic
//!
//! Time is cut into slots (a tenth of the 10 s window each). Every call *deposits* into the
//! current slot; every retry *withdraws*. A retry is allowed when either:
//!
//! 1. **the ratio allows it**: `p × D − R ≥ 1`, where `D` is the number of deposits and `R`
//!    the number of retries paid this way, both summed over the slots of the window, and
//!    `p = budget_percent / 100`. With `p = 0.2`, every five calls earn one retry, and the
//!    right to it expires with the slot it was earned in; or
//! 2. **the floor allows it**: fewer than `min_retries_per_second` (10) retries were paid by
//!    the floor during the current second. The floor exists for quiet clients: at two calls a
//!    minute, 20 % would never add up to one retry.
//!
//! Otherwise the retry is refused (`mesh_retry_budget_exhausted_total`) and the caller gets
//! the failure it had. Over any window of `W` seconds carrying `N` calls, therefore,
//! `retries ≤ p·N + f·(W + 1)` (the `+ 1`: a window's edges can touch one more second of
//! floor). In steady state: at most `p` of the request rate, plus `f` per second.
//!
//! Deposits and withdrawals are counted in thousandths so that percentages that do not
//! divide 100 (`budget_percent = 15` → 150 per deposit, 1000 per retry) lose nothing to
//! rounding.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::snapshot::BudgetSnapshot;

const SLOTS: usize = 10;
const PER_RETRY: u64 = 1000;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    epoch: u64,
    deposits: u64,
    /// Retries paid from the ratio.
    ratio_retries: u64,
    /// All retries (ratio and floor), for the status page.
    retries: u64,
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    slots: [Slot; SLOTS],
    floor_second: u64,
    floor_used: u32,
    exhausted: u64,
}

/// A budget shared by every request of one service client.
#[derive(Debug)]
pub struct RetryBudget {
    inner: Mutex<Inner>,
    slot_ns: u128,
    deposit_amount: u64,
    floor: u32,
}

impl RetryBudget {
    /// `percent` of calls may be retried, over `window` (1–60 s), plus `floor` retries each
    /// second.
    pub fn new(window: Duration, floor: u32, percent: f64) -> Self {
        let window = window.clamp(Duration::from_secs(1), Duration::from_secs(60));
        RetryBudget {
            inner: Mutex::new(Inner {
                origin: Instant::now(),
                slots: [Slot::default(); SLOTS],
                floor_second: 0,
                floor_used: 0,
                exhausted: 0,
            }),
            slot_ns: (window.as_nanos() / SLOTS as u128).max(1),
            deposit_amount: (percent.clamp(0.0, 1000.0) * 10.0).round() as u64,
            floor,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current slot, emptied first if it belongs to an earlier round.
    fn slot<'a>(&self, inner: &'a mut Inner, now: Instant) -> &'a mut Slot {
        let since = now.saturating_duration_since(inner.origin).as_nanos();
        let epoch = u64::try_from(since / self.slot_ns).unwrap_or(u64::MAX);
        let slot = &mut inner.slots[(epoch % SLOTS as u64) as usize];
        if slot.epoch != epoch {
            *slot = Slot {
                epoch,
                ..Slot::default()
            };
        }
        slot
    }

    fn window(&self, inner: &Inner, now: Instant) -> Slot {
        let since = now.saturating_duration_since(inner.origin).as_nanos();
        let current = u64::try_from(since / self.slot_ns).unwrap_or(u64::MAX);
        inner
            .slots
            .iter()
            .filter(|s| s.epoch <= current && s.epoch + SLOTS as u64 > current)
            .fold(Slot::default(), |acc, s| Slot {
                epoch: current,
                deposits: acc.deposits + s.deposits,
                ratio_retries: acc.ratio_retries + s.ratio_retries,
                retries: acc.retries + s.retries,
            })
    }

    fn ratio_balance(&self, sums: &Slot) -> i128 {
        i128::from(sums.deposits) * i128::from(self.deposit_amount)
            - i128::from(sums.ratio_retries) * i128::from(PER_RETRY)
    }

    fn second(inner: &Inner, now: Instant) -> u64 {
        now.saturating_duration_since(inner.origin).as_secs()
    }

    /// Records a call.
    pub fn deposit(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        self.slot(&mut inner, now).deposits += 1;
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub fn withdraw(&self) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        let sums = self.window(&inner, now);
        if self.ratio_balance(&sums) >= i128::from(PER_RETRY) {
            let slot = self.slot(&mut inner, now);
            slot.ratio_retries += 1;
            slot.retries += 1;
            return true;
        }
        let second = Self::second(&inner, now);
        if inner.floor_second != second {
            inner.floor_second = second;
            inner.floor_used = 0;
        }
        if inner.floor_used < self.floor {
            inner.floor_used += 1;
            self.slot(&mut inner, now).retries += 1;
            return true;
        }
        inner.exhausted += 1;
        false
    }

    /// Whether [`RetryBudget::withdraw`] would succeed now (nothing is taken).
    pub fn has_retry(&self) -> bool {
        let now = Instant::now();
        let inner = self.lock();
        let sums = self.window(&inner, now);
        let floor_left = if inner.floor_second == Self::second(&inner, now) {
            self.floor.saturating_sub(inner.floor_used)
        } else {
            self.floor
        };
        self.ratio_balance(&sums) >= i128::from(PER_RETRY) || floor_left > 0
    }

    pub fn snapshot(&self) -> BudgetSnapshot {
        let now = Instant::now();
        let inner = self.lock();
        let sums = self.window(&inner, now);
        let ratio = u64::try_from(self.ratio_balance(&sums).max(0) / i128::from(PER_RETRY))
            .unwrap_or(u64::MAX);
        let floor_left = if inner.floor_second == Self::second(&inner, now) {
            self.floor.saturating_sub(inner.floor_used)
        } else {
            self.floor
        };
        BudgetSnapshot {
            requests_in_window: sums.deposits,
            retries_in_window: sums.retries,
            available_retries: ratio + u64::from(floor_left),
            exhausted_total: inner.exhausted,
        }
    }
}

impl tower::retry::budget::Budget for RetryBudget {
    fn deposit(&self) {
        RetryBudget::deposit(self)
    }

    fn withdraw(&self) -> bool {
        RetryBudget::withdraw(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> RetryBudget {
        RetryBudget::new(Duration::from_secs(10), 10, 20.0)
    }

    fn drain(b: &RetryBudget) -> u32 {
        let mut n = 0;
        while b.withdraw() {
            n += 1;
            assert!(n < 10_000, "the budget never ran out");
        }
        n
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_client_may_retry_ten_times_a_second_and_no_more() {
        let b = budget();
        assert_eq!(drain(&b), 10);
        assert_eq!(b.snapshot().exhausted_total, 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(drain(&b), 10, "the floor is renewed each second");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_limited_to_twenty_percent_of_calls_plus_the_floor() {
        let b = budget();
        for _ in 0..500 {
            b.deposit();
        }
        assert_eq!(drain(&b), 100 + 10);
        let snap = b.snapshot();
        assert_eq!(snap.requests_in_window, 500);
        assert_eq!(snap.retries_in_window, 110);
        assert_eq!(snap.available_retries, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn earned_retries_expire_with_the_window() {
        let b = budget();
        for _ in 0..100 {
            b.deposit();
        }
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(drain(&b), 10, "only the floor is left");
        assert_eq!(b.snapshot().requests_in_window, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_odd_percentage_loses_nothing_to_rounding() {
        let b = RetryBudget::new(Duration::from_secs(10), 0, 15.0);
        for _ in 0..20 {
            b.deposit();
        }
        assert_eq!(drain(&b), 3);
    }
}
