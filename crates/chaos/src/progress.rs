//! What a person watching sees, on stderr (stdout is the report's): the phase, its clock,
//! requests, success and degradation so far, and what `/api/status` says. On a terminal one
//! line is rewritten in place; otherwise a plain line every few seconds.

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
        if !self.enabled {
            return;
        }
        let every = if self.tty {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(5)
        };
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
            if self.tty {
                let _ = write!(err, "\r\x1b[2K[{}] {line}", self.scenario);
                let _ = err.flush();
            } else {
                let _ = writeln!(err, "[{}] {line}", self.scenario);
            }
        }
        if self.tty {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
