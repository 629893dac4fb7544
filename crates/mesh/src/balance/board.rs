//! The board: every endpoint of one service and the state of its breaker, shared by the
//! breakers (which write it), the health checks (which write it too), the balancer handle
//! (which reads it to fail fast) and the status page (which copies it).
//!
//! Every change of an endpoint's state goes through [`EndpointShared::update`], which keeps the
//! per-state counts and gauges right, wakes the endpoint's breaker (it may be ready now) and
//! bumps a `watch` counter that requests waiting for an endpoint listen to (they may have to
//! give up now).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use futures::task::AtomicWaker;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::breaker::state::{BreakerState, EndpointState, Phase};
use crate::config::MeshConfig;
use crate::latency::LatencyEstimate;
use crate::metrics::{EndpointMetrics, ServiceMetrics};
use crate::retry::budget::RetryBudget;
use crate::snapshot::{EndpointSnapshot, HealthCheckSnapshot};
use crate::task::AbortOnDrop;

/// How many times one request may be turned away from the endpoint it should avoid, so that
/// avoiding can never spin.
const AVOID_TRIES: u8 = 8;

/// Counters the status page reads (Prometheus counters cannot be read back).
#[derive(Debug, Default)]
pub(crate) struct ServiceStats {
    pub shed: AtomicU64,
    pub no_healthy: AtomicU64,
    pub retries: AtomicU64,
    pub budget_exhausted: AtomicU64,
}

/// What every layer of one service's stack shares.
#[derive(Debug)]
pub(crate) struct ServiceCtx {
    pub name: Arc<str>,
    pub metrics: ServiceMetrics,
    pub stats: ServiceStats,
    /// The retry budget, taken from by the retry policy and looked at by early timeouts.
    pub budget: Arc<RetryBudget>,
    /// The service's latency, from which tries are cut early ([`crate::latency`]).
    pub latency: LatencyEstimate,
    /// `retry.max_retries`: the last try of a request is never cut early.
    pub max_retries: u32,
    changes: watch::Sender<u64>,
    /// The endpoint a retry polling its thread's balancer must not get, the tries left, and
    /// that thread: other threads' balancers are polled at the same time.
    avoid: Mutex<Vec<(SocketAddr, u8, std::thread::ThreadId)>>,
    /// Whether `avoid` holds anything: every poll of every breaker asks, without the lock.
    avoiding: AtomicBool,
    /// Endpoints ready, in probation, ejected.
    counts: Mutex<[usize; 3]>,
}

fn index(state: EndpointState) -> usize {
    match state {
        EndpointState::Ready => 0,
        EndpointState::Probation => 1,
        EndpointState::Ejected => 2,
    }
}

impl ServiceCtx {
    pub(crate) fn new(name: &str, cfg: &MeshConfig) -> Arc<Self> {
        Arc::new(ServiceCtx {
            name: Arc::from(name),
            metrics: ServiceMetrics::new(name),
            stats: ServiceStats::default(),
            budget: Arc::new(RetryBudget::new(
                cfg.retry.budget_window,
                cfg.retry.min_retries_per_second,
                cfg.retry.budget_percent,
            )),
            latency: LatencyEstimate::new(&cfg.latency_timeout),
            max_retries: cfg.retry.max_retries,
            changes: watch::channel(0).0,
            avoid: Mutex::new(Vec::new()),
            avoiding: AtomicBool::new(false),
            counts: Mutex::new([0; 3]),
        })
    }

    /// Endpoints ready now (closed breakers).
    pub(crate) fn ready(&self) -> usize {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())[0]
    }

    /// A receiver that is told about every change of the board.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub(crate) fn notify(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn moved(&self, from: Option<EndpointState>, to: Option<EndpointState>) {
        let counts = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(from) = from {
                counts[index(from)] = counts[index(from)].saturating_sub(1);
            }
            if let Some(to) = to {
                counts[index(to)] += 1;
            }
            *counts
        };
        self.metrics.ready.set(counts[0] as f64);
        self.metrics.probation.set(counts[1] as f64);
        self.metrics.ejected.set(counts[2] as f64);
        self.notify();
    }

    /// While the balancer is being polled for one request: turn away `addr`.
    pub(crate) fn set_avoid(&self, addr: Option<SocketAddr>) {
        let me = std::thread::current().id();
        let mut avoid = self.avoid.lock().unwrap_or_else(|p| p.into_inner());
        avoid.retain(|(_, _, t)| *t != me);
        if let Some(a) = addr {
            avoid.push((a, AVOID_TRIES, me));
        }
        self.avoiding.store(!avoid.is_empty(), Ordering::Release);
    }

    /// Whether the endpoint at `addr` should report not-ready to the current request (the
    /// one polling this thread's balancer).
    pub(crate) fn should_avoid(&self, addr: SocketAddr) -> bool {
        if !self.avoiding.load(Ordering::Acquire) {
            return false;
        }
        let me = std::thread::current().id();
        let mut avoid = self.avoid.lock().unwrap_or_else(|p| p.into_inner());
        match avoid.iter_mut().find(|(a, _, t)| *a == addr && *t == me) {
            Some((_, tries, _)) if *tries > 0 => {
                *tries -= 1;
                true
            }
            _ => false,
        }
    }
}

/// One endpoint: its breaker state and what reads or drives it.
#[derive(Debug)]
pub(crate) struct EndpointShared {
    pub addr: SocketAddr,
    pub ctx: Arc<ServiceCtx>,
    pub metrics: EndpointMetrics,
    pub failure_statuses: Vec<u16>,
    pub in_flight: AtomicUsize,
    state: Mutex<BreakerState>,
    /// The breaker service's task, woken on every change.
    pub waker: AtomicWaker,
    retired: AtomicBool,
}

impl EndpointShared {
    pub(crate) fn new(addr: SocketAddr, ctx: Arc<ServiceCtx>, cfg: &MeshConfig) -> Arc<Self> {
        let state = BreakerState::new(
            cfg.breaker.clone(),
            &cfg.balancer,
            cfg.health_check.interval,
            Instant::now(),
        );
        let metrics = EndpointMetrics::new(&ctx.name, addr);
        metrics.breaker_state.set(state.state().gauge());
        ctx.moved(None, Some(state.state()));
        Arc::new(EndpointShared {
            addr,
            ctx,
            metrics,
            failure_statuses: cfg.breaker.failure_statuses.clone(),
            in_flight: AtomicUsize::new(0),
            state: Mutex::new(state),
            waker: AtomicWaker::new(),
            retired: AtomicBool::new(false),
        })
    }

    /// Runs `f` on the breaker state; if the state changed, tells everyone who cares.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut BreakerState, Instant) -> R) -> R {
        let now = Instant::now();
        let (before, after, out) = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let before = st.phase;
            let out = f(&mut st, now);
            (before, st.phase, out)
        };
        if before != after {
            self.changed(state_of(before), state_of(after));
        }
        out
    }

    fn changed(&self, before: EndpointState, after: EndpointState) {
        if before != after {
            self.metrics.breaker_state.set(after.gauge());
            let service = &*self.ctx.name;
            match after {
                EndpointState::Ejected => {
                    tracing::warn!(service, endpoint = %self.addr, "endpoint ejected")
                }
                EndpointState::Probation => {
                    tracing::info!(service, endpoint = %self.addr, "endpoint in probation")
                }
                EndpointState::Ready => {
                    tracing::info!(service, endpoint = %self.addr, "endpoint ready")
                }
            }
            if !self.retired.load(Ordering::Acquire) {
                self.ctx.moved(Some(before), Some(after));
            }
        } else {
            // Same state, different detail (the probe was taken or freed).
            self.ctx.notify();
        }
        self.waker.wake();
    }

    pub(crate) fn is_available(&self, now: Instant) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_available(now)
    }

    /// Removed from discovery: no longer counted.
    fn retire(&self) {
        if !self.retired.swap(true, Ordering::AcqRel) {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner()).state();
            self.ctx.moved(Some(state), None);
        }
        self.waker.wake();
    }

    pub(crate) fn snapshot(&self, now: Instant) -> EndpointSnapshot {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (success_rate, responses) = st.success_rate(now);
        EndpointSnapshot {
            address: self.addr,
            state: st.state(),
            ewma_latency_ms: st.ewma.value(now).as_secs_f64() * 1000.0,
            success_rate,
            responses_in_window: responses,
            consecutive_failures: st.consecutive_failures,
            in_flight: self.in_flight.load(Ordering::Relaxed),
            requests_total: st.requests,
            failures_total: st.failures,
            probation_ends_in_ms: match st.phase {
                // Rounded up: 0 means a probe may go now.
                Phase::Open { until } => Some(
                    u64::try_from(
                        until
                            .saturating_duration_since(now)
                            .as_micros()
                            .div_ceil(1000),
                    )
                    .unwrap_or(u64::MAX),
                ),
                _ => None,
            },
            last_health_check: st.last_check.as_ref().map(|c| HealthCheckSnapshot {
                ok: c.ok,
                age_ms: millis(now.saturating_duration_since(c.at)),
                detail: c.detail.clone(),
                degraded: c.degraded.clone(),
            }),
        }
    }
}

fn state_of(phase: Phase) -> EndpointState {
    match phase {
        Phase::Closed => EndpointState::Ready,
        Phase::HalfOpen(_) => EndpointState::Probation,
        Phase::Open { .. } => EndpointState::Ejected,
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

struct Entry {
    shared: Arc<EndpointShared>,
    _health: Option<AbortOnDrop>,
}

/// The endpoints of one service.
pub(crate) struct Board {
    pub ctx: Arc<ServiceCtx>,
    endpoints: RwLock<BTreeMap<SocketAddr, Entry>>,
}

impl Board {
    pub(crate) fn new(ctx: Arc<ServiceCtx>) -> Arc<Self> {
        Arc::new(Board {
            ctx,
            endpoints: RwLock::new(BTreeMap::new()),
        })
    }

    pub(crate) fn insert(&self, shared: Arc<EndpointShared>, health: Option<AbortOnDrop>) {
        let old = self
            .endpoints
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                shared.addr,
                Entry {
                    shared,
                    _health: health,
                },
            );
        if let Some(old) = old {
            old.shared.retire();
        }
        self.ctx.notify();
    }

    pub(crate) fn remove(&self, addr: SocketAddr) -> bool {
        let old = self
            .endpoints
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&addr);
        match old {
            Some(entry) => {
                entry.shared.retire();
                true
            }
            None => false,
        }
    }

    /// Endpoints that could take a request now, leaving out `except`.
    pub(crate) fn available(&self, now: Instant, except: Option<SocketAddr>) -> usize {
        self.endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|e| Some(e.shared.addr) != except && e.shared.is_available(now))
            .count()
    }

    pub(crate) fn snapshot(&self, now: Instant) -> Vec<crate::snapshot::EndpointSnapshot> {
        self.endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|e| e.shared.snapshot(now))
            .collect()
    }
}
