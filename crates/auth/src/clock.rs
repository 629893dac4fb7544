//! Where tis-auth reads the time.
//!
//! Two clocks matter here. Token claims (`exp`, `nbf`, `iat`) and the persisted keys'
//! confirmation time are wall-clock seconds since the Unix epoch; refresh timing, back-off,
//! the unknown-`kid` rate limit and the grace period are measured on a monotonic clock so that
//! a wall-clock step cannot stretch or shrink them.
//!
//! [`Clock::system`] is the production clock. [`Clock::tokio`] anchors the wall clock to
//! tokio's clock at creation, so that in `#[tokio::test(start_paused = true)]` tests
//! `tokio::time::advance` moves both together: a test can jump thirteen hours and see tokens
//! expire and keys leave their grace, without sleeping.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The source of time for verification and key lifecycle. Cheap to clone.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    anchor: Option<(SystemTime, Instant)>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The system wall clock and tokio's monotonic clock.
    pub fn system() -> Self {
        Clock { anchor: None }
    }

    /// A wall clock that follows tokio's (possibly paused) clock from now on.
    pub fn tokio() -> Self {
        Clock {
            anchor: Some((SystemTime::now(), Instant::now())),
        }
    }

    /// Monotonic now.
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Wall-clock now.
    pub fn wall(&self) -> SystemTime {
        match self.anchor {
            None => SystemTime::now(),
            Some((wall, at)) => wall + Instant::now().saturating_duration_since(at),
        }
    }

    /// Wall-clock now in whole seconds since the Unix epoch (the unit of JWT time claims).
    pub fn unix_secs(&self) -> u64 {
        unix_secs(self.wall())
    }
}

/// Seconds since the Unix epoch; 0 for a time before it.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The wall-clock time `secs` seconds after the Unix epoch.
pub fn from_unix_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_moves_wall_time_with_paused_time() {
        let clock = Clock::tokio();
        let before = clock.unix_secs();
        tokio::time::advance(Duration::from_secs(13 * 3600)).await;
        assert_eq!(clock.unix_secs() - before, 13 * 3600);
    }
}
