//! Telling people what works (failure F7): the public status (`/api/status`, `/status`) and
//! the operators' detail (`/admin/status`).
//!
//! The public view speaks of *capabilities*, not components: can people log in, can they
//! use each service, can they save changes. Each is `ok`, `degraded` or `down`, with a
//! sentence a person can act on ("Login is unavailable: the identity provider cannot be
//! reached. People already logged in can keep working for up to 12 hours."). It shows no
//! addresses, versions or counters: it is served without a token.
//!
//! The admin view ([`admin::AdminStatus`]) has everything: the key lifecycle (tis-auth's
//! `KeyStatus`), every pool's instances with their breaker state, EWMA latency, success rate
//! and retry budget (tis-mesh's `ServiceSnapshot`), admission counters, the route table and
//! the last reload error, and the local registry.
//!
//! Everything is read from in-memory snapshots: building a status never waits on a
//! request, a lock held across I/O, or another service.

pub mod admin;
pub mod history;
pub mod page;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use tis_auth::{JwksCache, KeyState};
use tis_core::Degradation;
use tokio::time::Instant;

use crate::registry::Instances;
use crate::reload::Reloader;
use crate::routes::RouteTable;
use crate::steps::admission::Admission;

/// Whether a capability works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Degraded,
    Down,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Degraded => "degraded",
            Level::Down => "down",
        }
    }
}

/// One capability, as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    /// Stable: `login`, `service:<name>`, `writes`.
    pub id: String,
    pub name: String,
    pub status: Level,
    pub reason: String,
}

/// `GET /api/status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicStatus {
    /// The worst of the capabilities.
    pub status: Level,
    pub summary: String,
    /// RFC 3339, UTC.
    pub checked_at: String,
    pub capabilities: Vec<Capability>,
}

/// Degradations the services reported recently (`db-read-only`), by service: the ones this
/// build knows; a name it does not is relayed to the caller but not remembered.
#[derive(Debug, Default)]
pub struct Sightings {
    seen: Mutex<HashMap<(String, Degradation), Instant>>,
    /// Whether `seen` may hold anything: [`Sightings::forget`] runs on every successful
    /// proxied answer and must not take the lock (shared by every worker) when it is empty.
    any: AtomicBool,
}

impl Sightings {
    pub fn record(&self, service: &str, what: Degradation) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 1024 {
            seen.clear(); // bounded: service names come from routes and the registry
        }
        seen.insert((service.to_owned(), what), Instant::now());
        self.any.store(true, Ordering::Release);
    }

    /// Forgets a sighting: the service has just shown it is over (it answered without
    /// the mark, so its database has a primary again).
    pub fn forget(&self, service: &str, what: Degradation) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|(s, d), _| !(s == service && *d == what));
        self.any.store(!seen.is_empty(), Ordering::Release);
    }

    pub fn seen_recently(&self, service: &str, what: Degradation, within: Duration) -> bool {
        self.age(service, what).is_some_and(|age| age <= within)
    }

    /// How long ago `service` last reported `what`.
    pub fn age(&self, service: &str, what: Degradation) -> Option<Duration> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&(service.to_owned(), what)).map(Instant::elapsed)
    }
}

/// What the status endpoints read. Cheap to clone.
#[derive(Clone)]
pub struct Sources {
    pub keys: JwksCache,
    pub table: Arc<ArcSwap<RouteTable>>,
    pub admission: Arc<Admission>,
    pub sightings: Arc<Sightings>,
    pub reloader: Arc<Reloader>,
    pub instances: Arc<Instances>,
    pub started: Instant,
    pub degraded_memory: Duration,
    /// The history of the public status ([`history`]), kept by its recorder.
    pub history: history::recorder::Shared,
}

impl Sources {
    /// The public view (see the module documentation).
    pub fn public(&self) -> PublicStatus {
        let mut caps = vec![self.login()];
        let table = self.table.load();
        let mut read_only = Vec::new();
        for service in table.services.values() {
            let snapshots: Vec<_> = service
                .pools
                .iter()
                .filter(|p| p.weight > 0)
                .map(|p| p.client.snapshot())
                .collect();
            let (ready, total) = snapshots.iter().fold((0, 0), |(r, t), s| {
                (r + s.ready, t + s.ready + s.probation + s.ejected)
            });
            caps.push(service_capability(
                &service.name,
                &service.title,
                ready,
                total,
            ));
            let checks = snapshots
                .iter()
                .flat_map(|s| &s.endpoints)
                .filter_map(|e| e.last_health_check.as_ref());
            let sighted = self.sightings.age(&service.name, Degradation::DbReadOnly);
            if writes_unavailable(checks, sighted, self.degraded_memory) {
                read_only.push(service.title.clone());
            }
        }
        caps.push(writes_capability(&read_only));
        let status = caps.iter().map(|c| c.status).max().unwrap_or(Level::Ok);
        let summary = match status {
            Level::Ok => "TIS is working normally.",
            Level::Degraded => "TIS is working, with some parts degraded: see below.",
            Level::Down => "Parts of TIS are unavailable: see below.",
        };
        PublicStatus {
            status,
            summary: summary.to_owned(),
            checked_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            capabilities: caps,
        }
    }

    fn login(&self) -> Capability {
        let keys = self.keys.status();
        let (status, reason) = match keys.state {
            KeyState::Ok => (Level::Ok, "People can log in.".to_owned()),
            KeyState::Degraded => (
                Level::Degraded,
                format!(
                    "Login is unavailable: the identity provider cannot be reached. People already \
                     logged in can keep working for up to {}.",
                    plain_duration(Duration::from_secs(keys.grace_remaining_seconds.unwrap_or(0)))
                ),
            ),
            KeyState::Expired => (
                Level::Down,
                "Login is unavailable and signed-in sessions cannot be checked: the identity \
                 provider has not been reachable for too long. Nothing can be used until it is back."
                    .to_owned(),
            ),
            KeyState::Empty => (
                Level::Down,
                "Login is unavailable: the identity provider has not been reachable since this \
                 gateway started, so no session can be checked."
                    .to_owned(),
            ),
        };
        Capability {
            id: "login".into(),
            name: "Login".into(),
            status,
            reason,
        }
    }
}

fn service_capability(name: &str, title: &str, ready: usize, total: usize) -> Capability {
    let (status, reason) = if total == 0 {
        (
            Level::Down,
            format!("{title} is unavailable: no instance of it is running."),
        )
    } else if ready == 0 {
        (
            Level::Down,
            format!("{title} is unavailable: none of its {total} instances is responding."),
        )
    } else if ready < total {
        (
            Level::Degraded,
            format!(
                "{title} is working with reduced capacity: {} of {total} instances are not \
                 responding. It may be slower than usual.",
                total - ready
            ),
        )
    } else {
        (Level::Ok, format!("{title} is working normally."))
    };
    Capability {
        id: format!("service:{name}"),
        name: title.to_owned(),
        status,
        reason,
    }
}

/// A health check counts for this long (the checks run every second by default).
const FRESH_CHECK: Duration = Duration::from_secs(3);

/// How long after an answer's `db-read-only` a clean health check must come to overrule it:
/// an instance marks its answers at once after a failed write, but its readiness only at its
/// database monitor's next round (every second).
const SETTLE: Duration = Duration::from_secs(2);

/// Whether a service's writes are unavailable: one of its instances said `db-read-only` in
/// its last (fresh, passing) health check, or an answer of the service said so within
/// `memory` and no clean health check made [`SETTLE`] or more after it has said otherwise.
/// The checks make the status right without traffic, both when the primary goes and when it
/// comes back; the answers make it right between checks, and when health checks are off.
fn writes_unavailable<'a>(
    checks: impl Iterator<Item = &'a tis_mesh::HealthCheckSnapshot>,
    sighted: Option<Duration>,
    memory: Duration,
) -> bool {
    let fresh: Vec<_> = checks
        .filter(|c| c.ok && Duration::from_millis(c.age_ms) <= FRESH_CHECK)
        .collect();
    let says = |c: &&tis_mesh::HealthCheckSnapshot| {
        c.degraded
            .iter()
            .any(|d| d == Degradation::DbReadOnly.as_str())
    };
    if fresh.iter().any(says) {
        return true;
    }
    match sighted {
        Some(age) if age <= memory => {
            // A clean check made well after the sighting supersedes it.
            !fresh
                .iter()
                .any(|c| Duration::from_millis(c.age_ms) + SETTLE < age)
        }
        _ => false,
    }
}

fn writes_capability(read_only: &[String]) -> Capability {
    let (status, reason) = if read_only.is_empty() {
        (Level::Ok, "Changes can be saved.".to_owned())
    } else {
        (
            Level::Degraded,
            format!(
                "Changes cannot be saved in {} right now: its database is read-only while it \
                 recovers. Viewing still works.",
                read_only.join(", ")
            ),
        )
    };
    Capability {
        id: "writes".into(),
        name: "Saving changes".into(),
        status,
        reason,
    }
}

/// "12 hours", "40 minutes", "less than a minute".
pub fn plain_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 2 * 3600 {
        format!("{} hours", secs.div_ceil(3600))
    } else if secs >= 120 {
        format!("{} minutes", secs.div_ceil(60))
    } else {
        "less than a minute more".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sighting_is_remembered_until_forgotten() {
        let s = Sightings::default();
        let read_only = Degradation::DbReadOnly;
        s.record("reference", read_only);
        assert!(s.seen_recently("reference", read_only, Duration::from_secs(30)));
        s.forget("reference", read_only);
        assert!(!s.seen_recently("reference", read_only, Duration::from_secs(30)));
    }

    #[test]
    fn a_service_is_ok_degraded_or_down_by_its_ready_instances() {
        assert_eq!(
            service_capability("reference", "Reference", 2, 2).status,
            Level::Ok
        );
        let half = service_capability("reference", "Reference", 1, 2);
        assert_eq!(half.status, Level::Degraded);
        assert!(half.reason.contains("1 of 2 instances"), "{}", half.reason);
        let none = service_capability("reference", "Reference", 0, 2);
        assert_eq!(none.status, Level::Down);
        assert_eq!(
            none.reason,
            "Reference is unavailable: none of its 2 instances is responding."
        );
        assert_eq!(service_capability("r", "R", 0, 0).status, Level::Down);
    }

    #[test]
    fn grace_is_said_in_plain_words() {
        assert_eq!(plain_duration(Duration::from_secs(12 * 3600)), "12 hours");
        assert_eq!(
            plain_duration(Duration::from_secs(11 * 3600 + 5)),
            "12 hours"
        );
        assert_eq!(plain_duration(Duration::from_secs(40 * 60)), "40 minutes");
        assert_eq!(
            plain_duration(Duration::from_secs(30)),
            "less than a minute more"
        );
    }

    #[test]
    fn a_read_only_database_seen_recently_degrades_writes() {
        assert_eq!(writes_capability(&[]).status, Level::Ok);
        let w = writes_capability(&["Reference".into()]);
        assert_eq!(w.status, Level::Degraded);
        assert!(w.reason.starts_with("Changes cannot be saved in Reference"));
    }

    #[test]
    fn health_checks_tell_a_read_only_database_without_traffic_and_its_end() {
        let check = |age_ms: u64, ok: bool, degraded: &[&str]| tis_mesh::HealthCheckSnapshot {
            ok,
            age_ms,
            detail: "200".into(),
            degraded: degraded.iter().map(|d| d.to_string()).collect(),
        };
        let memory = Duration::from_secs(30);
        let s = |secs: u64| Some(Duration::from_secs(secs));
        // No traffic: one instance's readiness says so.
        let read_only = [check(400, true, &[]), check(200, true, &["db-read-only"])];
        assert!(writes_unavailable(read_only.iter(), None, memory));
        // Stale or failing checks do not count.
        let old = [check(10_000, true, &["db-read-only"])];
        assert!(!writes_unavailable(old.iter(), None, memory));
        let failing = [check(100, false, &["db-read-only"])];
        assert!(!writes_unavailable(failing.iter(), None, memory));
        // An answer said so 3 s ago; a check 2.5 s after it is clean: the outage is over.
        let clean = [check(500, true, &[]), check(900, true, &[])];
        assert!(!writes_unavailable(clean.iter(), s(3), memory));
        // … but a check made soon after the answer may predate the instance's own monitor.
        assert!(writes_unavailable(clean.iter(), s(2), memory));
        // … and a check older than the answer says nothing about it.
        let older = [check(2_500, true, &[])];
        assert!(writes_unavailable(older.iter(), s(2), memory));
        // Health checks off: the answers alone, for `memory`.
        assert!(writes_unavailable([].iter(), s(29), memory));
        assert!(!writes_unavailable([].iter(), s(31), memory));
    }
}
