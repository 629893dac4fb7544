//! What a person watching sees, on stderr (stdout is the report's): the phase, its clock,
//! requests, success and degradation so far, and what `/api/status` says, on one line
//! rewritten in place, on a terminal only (issue 18: quiet when not on one, as in CI and
//! pipes, where the lines that stay, [`Progress::say`], tell the phases and actions).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::workload::{Clock, Sample};

/// Counts of the phase in progress, and the last status seen.
#[derive(Default)]
pub struct Live {
    inner: Mutex<LiveInner>,
}

#[derive(Default, Clone)]
struct LiveInner {
    phase: usize,
    requests: u64,
    ok: u64,
    degraded: u64,
    status: String,
}

impl Live {
    pub fn record(&self, s: &Sample) {
        let mut l = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if s.phase != l.phase {
            if s.phase < l.phase {
                return; // a late answer of the previous phase
            }
            *l = LiveInner {
                phase: s.phase,
                status: std::mem::take(&mut l.status),
                ..LiveInner::default()
            };
        }
        l.requests += 1;
        if s.ok {
            l.ok += 1;
            if !s.degraded.is_empty() {
                l.degraded += 1;
            }
        }
    }

    pub fn set_status(&self, status: String) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).status = status;
    }

    fn snapshot(&self) -> LiveInner {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Where progress goes.
#[derive(Clone)]
pub struct Progress {
    enabled: bool,
    tty: bool,
    scenario: String,
}

impl Progress {
    pub fn new(enabled: bool, scenario: &str) -> Progress {
        Progress {
            enabled,
            tty: std::io::stderr().is_terminal(),
            scenario: scenario.to_owned(),
        }
    }

    /// Whether the live line is shown: enabled, on a terminal.
    fn live(&self) -> bool {
        self.enabled && self.tty
    }

    /// A line that stays (a phase starts, an action is done).
    pub fn say(&self, text: &str) {
        if !self.enabled {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(err, "[{}] {text}", self.scenario);
    }

    /// Shows the live line until `stop`.
    pub async fn run(
        self,
        live: Arc<Live>,
        clock: Arc<Clock>,
        phases: Vec<(String, Duration)>,
        mut stop: watch::Receiver<bool>,
    ) {
        if !self.live() {
            return;
        }
        let every = Duration::from_millis(500);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                () = tokio::time::sleep(every) => {}
            }
            let (phase, elapsed) = clock.now();
            let l = live.snapshot();
            let Some((name, duration)) = phases.get(phase) else {
                continue;
            };
            let (requests, ok, degraded) = if l.phase == phase {
                (l.requests, l.ok, l.degraded)
            } else {
                (0, 0, 0)
            };
            let pct = |a: u64, b: u64| {
                if b == 0 {
                    0.0
                } else {
                    100.0 * a as f64 / b as f64
                }
            };
            let line = format!(
                "{name} {:.0}s/{:.0}s: {requests} requests, {:.2}% ok, {:.1}% degraded | {}",
                elapsed.as_secs_f64(),
                duration.as_secs_f64(),
                pct(ok, requests),
                pct(degraded, ok),
                l.status
            );
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K[{}] {line}", self.scenario);
            let _ = err.flush();
        }
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn off_a_terminal_the_live_line_is_not_shown_and_the_task_ends_at_once() {
        let off = Progress {
            enabled: true,
            tty: false,
            scenario: "s".into(),
        };
        assert!(!off.live());
        let on = Progress {
            tty: true,
            ..off.clone()
        };
        assert!(on.live());
        let quiet = Progress {
            enabled: false,
            ..on
        };
        assert!(!quiet.live());
        // Off a terminal `run` returns without waiting for `stop` (nothing to draw).
        let (_stop, rx) = watch::channel(false);
        tokio::time::timeout(
            Duration::from_secs(5),
            off.run(Arc::default(), Arc::default(), Vec::new(), rx),
        )
        .await
        .expect("returns at once off a terminal");
    }
}
