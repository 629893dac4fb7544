//! What must hold, as written in a scenario file.
//!
//! `[[expect]]` judges the requests of some phases, chosen by a [`Selector`]:
//!
//! | key | meaning |
//! |---|---|
//! | `min_success`, `max_success` | percentage of requests answered 2xx |
//! | `min_degraded` | percentage of the 2xx answers that carry `TIS-Degraded` (naming `degraded_as`, when given) |
//! | `max_failed_idempotent` | failed requests that were safe to retry (GETs, keyed writes) |
//! | `max_failure_latency` | every failure answered within this (fail fast) |
//! | `failure_codes` | every failure carries one of these JSON error codes (a clear code) |
//! | `max_p99` | the p99 latency |
//! | `max_p99_ratio` + `baseline` | the p99 at most this multiple of the `baseline` phase's p99 |
//! | `min_requests` | at least this many requests were judged (default 1: no load, no verdict) |
//!
//! `[[expect_status]]` judges what `/api/status` said: from `after` into the phase to its
//! end, every poll shows `capability` at one of `status` (and its reason contains
//! `reason_contains`). `after` is the detection time allowed.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;

/// A string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// Which requests an expectation judges.
///
/// Requests fall in groups `<service>.<kind>`: `reference.read`, `reference.write`,
/// `profile.read` (the caller's `/userinfo`), `tcs.read`, `tcs.write`, and `idp.login` (new logins, straight to the
/// identity provider, as a browser would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every request through the gateway (not logins).
    All,
    /// One service (`reference`), one group (`reference.write`), or `login`.
    Only(String),
    /// Every request through the gateway except those of this service.
    AllBut(String),
}

pub const GROUPS: &[&str] = &[
    "reference.read",
    "reference.write",
    "profile.read",
    "tcs.read",
    "tcs.write",
    "idp.login",
];

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let known = |s: &str| {
            GROUPS
                .iter()
                .any(|g| *g == s || g.split('.').next() == Some(s))
        };
        match text {
            "all" => Ok(Selector::All),
            "login" => Ok(Selector::Only("idp.login".into())),
            _ => {
                let (neg, name) = match text.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, text),
                };
                if !known(name) || (neg && name.contains('.')) {
                    return Err(format!(
                        "requests = {text:?}: use all, login, a service (reference, profile, tcs), \
                         a group ({}), or !service",
                        GROUPS.join(", ")
                    ));
                }
                Ok(if neg {
                    Selector::AllBut(name.to_owned())
                } else {
                    Selector::Only(name.to_owned())
                })
            }
        }
    }

    /// Whether requests of `group` are selected.
    pub fn matches(&self, group: &str) -> bool {
        let service = group.split('.').next().unwrap_or(group);
        match self {
            Selector::All => service != tis_core::service::IDP,
            Selector::Only(name) => group == name || service == name,
            Selector::AllBut(name) => service != tis_core::service::IDP && service != name,
        }
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::All => f.write_str("all requests"),
            Selector::Only(g) if g == "idp.login" => f.write_str("new logins"),
            Selector::Only(g) => write!(f, "{g} requests"),
            Selector::AllBut(s) => write!(f, "requests to every service but {s}"),
        }
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Selector::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn all_requests() -> Selector {
    Selector::All
}

/// `[[expect]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub phase: OneOrMany,
    #[serde(default = "all_requests")]
    pub requests: Selector,
    #[serde(default)]
    pub min_requests: Option<u64>,
    #[serde(default)]
    pub min_success: Option<f64>,
    #[serde(default)]
    pub max_success: Option<f64>,
    #[serde(default)]
    pub min_degraded: Option<f64>,
    #[serde(default)]
    pub degraded_as: Option<String>,
    #[serde(default)]
    pub max_failed_idempotent: Option<u64>,
    #[serde(default, with = "humantime_serde")]
    pub max_failure_latency: Option<Duration>,
    #[serde(default)]
    pub failure_codes: Option<Vec<String>>,
    #[serde(default, with = "humantime_serde")]
    pub max_p99: Option<Duration>,
    #[serde(default)]
    pub max_p99_ratio: Option<f64>,
    #[serde(default)]
    pub baseline: Option<String>,
}

impl Expectation {
    pub fn validate(&self, phases: &BTreeSet<&str>) -> Result<(), String> {
        check_phases(&self.phase, phases)?;
        for (key, v) in [
            ("min_success", self.min_success),
            ("max_success", self.max_success),
            ("min_degraded", self.min_degraded),
        ] {
            if let Some(v) = v
                && !(0.0..=100.0).contains(&v)
            {
                return Err(format!("`{key}` is a percentage (0–100), not {v}"));
            }
        }
        match (self.max_p99_ratio, &self.baseline) {
            (Some(r), Some(b)) => {
                if !(r.is_finite() && r > 0.0) {
                    return Err("`max_p99_ratio` must be above zero".into());
                }
                if !phases.contains(b.as_str()) {
                    return Err(format!("`baseline` names no phase: {b:?}"));
                }
            }
            (None, None) => {}
            _ => return Err("`max_p99_ratio` and `baseline` go together".into()),
        }
        if self.degraded_as.is_some() && self.min_degraded.is_none() {
            return Err("`degraded_as` needs `min_degraded`".into());
        }
        let checks = [
            self.min_success.is_some(),
            self.max_success.is_some(),
            self.min_degraded.is_some(),
            self.max_failed_idempotent.is_some(),
            self.max_failure_latency.is_some(),
            self.failure_codes.is_some(),
            self.max_p99.is_some(),
            self.max_p99_ratio.is_some(),
        ];
        if !checks.iter().any(|c| *c) {
            return Err("an `[[expect]]` must check something".into());
        }
        Ok(())
    }
}

/// `[[expect_status]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusExpectation {
    pub phase: OneOrMany,
    /// `login`, `service:<name>`, `writes`, or `overall` (the top-level status).
    pub capability: String,
    /// Any of `ok`, `degraded`, `down`.
    pub status: OneOrMany,
    #[serde(default, with = "humantime_serde")]
    pub after: Duration,
    #[serde(default)]
    pub reason_contains: Option<String>,
}

impl StatusExpectation {
    pub fn validate(&self, phases: &BTreeSet<&str>) -> Result<(), String> {
        check_phases(&self.phase, phases)?;
        for s in self.status.to_vec() {
            if !matches!(s.as_str(), "ok" | "degraded" | "down") {
                return Err(format!("status {s:?} is not ok, degraded or down"));
            }
        }
        let cap = self.capability.as_str();
        if !(matches!(cap, "login" | "writes" | "overall") || cap.starts_with("service:")) {
            return Err(format!(
                "capability {cap:?} is not login, writes, overall or service:<name>"
            ));
        }
        Ok(())
    }
}

fn check_phases(phase: &OneOrMany, phases: &BTreeSet<&str>) -> Result<(), String> {
    let list = phase.to_vec();
    if list.is_empty() {
        return Err("an expectation needs a `phase`".into());
    }
    match list.iter().find(|p| !phases.contains(p.as_str())) {
        Some(p) => Err(format!("expectation names no phase: {p:?}")),
        None => Ok(()),
    }
}
