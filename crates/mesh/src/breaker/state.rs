//! The breaker of one endpoint as a plain state machine: no I/O, no clock of its own (every
//! method takes `now`), so every rule below is tested directly.
//!
//! ```text
//!            N failures in a row, or success rate < 80 % over ≥ 5 responses,
//!            or a failed health check
//!   Closed ───────────────────────────────────────────────► Open (ejected)
//!     ▲                                                      │  │ probation elapsed, or a
//!     │ the probe succeeds, or                               │  │ passing health check
//!     │ a passing health check                               │  ▼
//!     └───────────────────────────────────────────────── HalfOpen (probation)
//!                     the probe fails, or a failed check ──► Open, probation × 2
//! ```
//!
//! In half-open exactly one request at a time is let through (the probe): the first caller
//! *reserves* it when the endpoint reports ready, and it is *in flight* once sent. Probation
//! starts at 1 s and doubles after each failed probe up to 60 s, each time stretched or shrunk
//! at random by up to 10 % so that many clients do not probe in step. A success closes the
//! breaker and forgets the past: the window and the back-off start again.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::window::Window;
use crate::balance::ewma::PeakEwma;
use crate::config::{BalancerConfig, BreakerConfig};

/// How the status page names an endpoint's breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointState {
    /// Closed: takes traffic.
    Ready,
    /// Half-open: one probe request at a time.
    Probation,
    /// Open: takes no traffic until probation.
    Ejected,
}

impl EndpointState {
    /// The value of the `mesh_breaker_state` gauge.
    pub fn gauge(self) -> f64 {
        match self {
            EndpointState::Ready => 0.0,
            EndpointState::Probation => 1.0,
            EndpointState::Ejected => 2.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    Free,
    Reserved,
    InFlight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen(Probe),
}

/// The answer to "may a request be sent now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    Yes,
    /// Yes, as the one probe of a half-open breaker.
    Probe,
    /// No; ask again at this time (or when told that something changed).
    No(Option<Instant>),
}

/// How a try ended, as far as the endpoint's health goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failure,
    /// Neither: cancelled by the caller, or cut by the caller's deadline.
    Ignored,
}

/// The last active health check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckRecord {
    pub ok: bool,
    pub at: Instant,
    pub detail: String,
    /// The degradations the endpoint reported with its readiness (`TIS-Degraded`).
    pub degraded: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct BreakerState {
    cfg: BreakerConfig,
    /// How long a failed health check keeps an ejected endpoint out, at least.
    check_interval: Duration,
    pub(crate) phase: Phase,
    pub(crate) consecutive_failures: u32,
    window: Window,
    /// Trips since the endpoint was last closed: the exponent of the back-off.
    trips: u32,
    /// When the breaker last tripped: a passing check sent before then is stale news.
    tripped_at: Option<Instant>,
    pub(crate) ewma: PeakEwma,
    pub(crate) requests: u64,
    pub(crate) failures: u64,
    pub(crate) last_check: Option<CheckRecord>,
}

impl BreakerState {
    pub(crate) fn new(
        cfg: BreakerConfig,
        ewma: &BalancerConfig,
        check_interval: Duration,
        now: Instant,
    ) -> Self {
        BreakerState {
            window: Window::new(cfg.window, now),
            cfg,
            check_interval,
            phase: Phase::Closed,
            consecutive_failures: 0,
            trips: 0,
            tripped_at: None,
            ewma: PeakEwma::new(ewma.default_rtt, ewma.decay, now),
            requests: 0,
            failures: 0,
            last_check: None,
        }
    }

    pub(crate) fn state(&self) -> EndpointState {
        match self.phase {
            Phase::Closed => EndpointState::Ready,
            Phase::HalfOpen(_) => EndpointState::Probation,
            Phase::Open { .. } => EndpointState::Ejected,
        }
    }

    /// Whether a request could be admitted now (without reserving anything).
    pub(crate) fn is_available(&self, now: Instant) -> bool {
        match self.phase {
            Phase::Closed => true,
            Phase::Open { until } => now >= until,
            Phase::HalfOpen(probe) => probe != Probe::InFlight,
        }
    }

    pub(crate) fn admit(&mut self, now: Instant) -> Admit {
        match self.phase {
            Phase::Closed => Admit::Yes,
            Phase::Open { until } if now < until => Admit::No(Some(until)),
            Phase::Open { .. } | Phase::HalfOpen(Probe::Free) => {
                self.phase = Phase::HalfOpen(Probe::Reserved);
                Admit::Probe
            }
            Phase::HalfOpen(_) => Admit::No(None),
        }
    }

    /// The reserved probe is being sent. Returns whether it still is a probe (a health check
    /// may have closed the breaker meanwhile).
    pub(crate) fn start_probe(&mut self) -> bool {
        if self.phase == Phase::HalfOpen(Probe::Reserved) {
            self.phase = Phase::HalfOpen(Probe::InFlight);
            true
        } else {
            false
        }
    }

    /// The probe will not be sent or its answer will not count: let another one through.
    pub(crate) fn release_probe(&mut self) {
        if let Phase::HalfOpen(Probe::Reserved | Probe::InFlight) = self.phase {
            self.phase = Phase::HalfOpen(Probe::Free);
        }
    }

    /// Whether a request that is not the probe may be sent.
    pub(crate) fn allows_unprobed(&self) -> bool {
        self.phase == Phase::Closed
    }

    pub(crate) fn record(
        &mut self,
        now: Instant,
        outcome: Outcome,
        probe: bool,
        latency: Option<Duration>,
    ) {
        if let Some(latency) = latency {
            self.ewma.observe(now, latency);
        }
        match outcome {
            Outcome::Success => {
                self.requests += 1;
                self.window.record(now, true);
                self.consecutive_failures = 0;
                if probe && matches!(self.phase, Phase::HalfOpen(_)) {
                    self.close();
                }
            }
            Outcome::Failure => {
                self.requests += 1;
                self.failures += 1;
                self.window.record(now, false);
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                match self.phase {
                    Phase::Closed if self.should_trip(now) => self.trip(now),
                    Phase::HalfOpen(_) if probe => self.trip(now),
                    _ => {}
                }
            }
            Outcome::Ignored => {
                if probe {
                    self.release_probe();
                }
            }
        }
    }

    /// An active health check answered: it confirms both ways.
    #[cfg(test)]
    pub(crate) fn on_check(&mut self, now: Instant, ok: bool, detail: String) {
        self.on_check_reporting(now, now, ok, detail, Vec::new());
    }

    /// [`BreakerState::on_check`], with when the check was sent and the degradations the
    /// endpoint reported. A pass sent before the breaker last tripped says nothing about the
    /// endpoint since (its answer may have crossed the failures that tripped it): it is kept
    /// as the last check but moves nothing.
    pub(crate) fn on_check_reporting(
        &mut self,
        now: Instant,
        sent: Instant,
        ok: bool,
        detail: String,
        degraded: Vec<String>,
    ) {
        self.last_check = Some(CheckRecord {
            ok,
            at: now,
            detail,
            degraded,
        });
        let stale = ok && self.tripped_at.is_some_and(|tripped| sent < tripped);
        if stale {
            return;
        }
        match (ok, self.phase) {
            (true, Phase::Open { .. }) => self.phase = Phase::HalfOpen(Probe::Free),
            (true, Phase::HalfOpen(_)) => self.close(),
            (true, Phase::Closed) => {}
            (false, Phase::Closed | Phase::HalfOpen(_)) => self.trip(now),
            (false, Phase::Open { until }) => {
                self.phase = Phase::Open {
                    until: until.max(now + self.check_interval),
                }
            }
        }
    }

    /// The success rate over the window, and how many responses it rests on.
    pub(crate) fn success_rate(&self, now: Instant) -> (Option<f64>, u32) {
        let (ok, failed) = self.window.totals(now);
        (self.window.success_rate(now), ok + failed)
    }

    /// A try was cut at its early timeout (crate::latency): trip at once, from closed or from
    /// a probe on probation; an open breaker keeps its time.
    pub(crate) fn trip_overdue(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Open { .. }) {
            self.trip(now);
        }
    }

    fn should_trip(&self, now: Instant) -> bool {
        if self.consecutive_failures >= self.cfg.consecutive_failures {
            return true;
        }
        let (ok, failed) = self.window.totals(now);
        let total = ok + failed;
        total >= self.cfg.min_requests
            && f64::from(ok) < self.cfg.min_success_rate * f64::from(total)
    }

    fn trip(&mut self, now: Instant) {
        let base = self.cfg.probation.as_secs_f64() * 2f64.powi(self.trips.min(30) as i32);
        let max = self.cfg.max_probation.as_secs_f64();
        let jitter = 1.0 + self.cfg.jitter * (2.0 * fastrand::f64() - 1.0);
        let secs = (base.min(max) * jitter).min(max);
        self.phase = Phase::Open {
            until: now + Duration::from_secs_f64(secs),
        };
        self.trips = self.trips.saturating_add(1);
        self.tripped_at = Some(now);
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.consecutive_failures = 0;
        self.window.clear();
        self.trips = 0;
    }
}

#[cfg(test)]
mod tests;
