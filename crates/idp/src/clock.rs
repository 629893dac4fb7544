//! Wall-clock time, injectable.
//!
//! Token lifetimes, key retirement and the failed-login window are all wall-clock facts (a
//! JWT's `exp` is seconds since the Unix epoch), so tokio's paused clock cannot drive them.
//! Everything that asks "what time is it" asks a [`Clock`]; tests hand the app a
//! [`ManualClock`] and move it forward instead of sleeping.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + Debug + 'static {
    fn now(&self) -> SystemTime;

    /// Seconds since the Unix epoch, as JWT `NumericDate`s are written.
    fn unix(&self) -> u64 {
        unix(self.now())
    }
}

/// Seconds since the Unix epoch (0 for times before it).
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to; starts at the real time so that tokens it stamps
/// also verify with libraries that read the system clock.
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    pub fn new() -> Self {
        ManualClock(Mutex::new(SystemTime::now()))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new();
        let t0 = clock.unix();
        assert_eq!(clock.unix(), t0);
        clock.advance(Duration::from_secs(301));
        assert_eq!(clock.unix(), t0 + 301);
    }
}
