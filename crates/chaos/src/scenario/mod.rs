//! A scenario: the system it needs, the workload, the timeline of phases and the faults each
//! phase injects, and what must hold. One TOML file each (`scenarios/<name>.toml`), parsed
//! with unknown keys refused, then checked as a whole ([`Scenario::validate`]) so that a typo
//! in a target or a phase name is an error before anything starts, not a surprise halfway.
//!
//! ```toml
//! name = "instance-kill"
//! summary = "kill -9 one of two Reference instances; the supervisor restarts it"
//!
//! [system]                 # what `tis chaos` starts (or finds, with --attach)
//! database = "sqlite"      # or "postgres": a primary, a synchronous replica and a replica
//! instances = 2            # of each service
//! gateways = 1             # 2: a second gateway and HAProxy in front of both
//! partition = false        # true: one more Reference instance in a network namespace
//! env = { TIS_GATEWAY__AUTH__REFRESH_INTERVAL = "2s" }   # extra settings of `tis up`
//!
//! [workload]
//! rate = 40                # requests per second, full version (open model)
//! short_rate = 25          # the CI version
//!
//! [[phases]]
//! name = "baseline"
//! duration = "20s"         # full version
//! short = "4s"             # CI version
//!
//! [[phases]]
//! name = "one-down"
//! duration = "30s"
//! short = "6s"
//! actions = [{ do = "kill", target = "reference-1", hold = true }]
//!
//! [[expect]]
//! phase = "one-down"
//! requests = "all"
//! min_success = 99.9
//! max_failed_idempotent = 0
//!
//! [[expect_status]]
//! phase = "one-down"
//! capability = "service:reference"
//! status = "degraded"
//! after = "3s"
//! ```
//!
//! A phase lasts at least its duration, and until its actions are done: actions run in order
//! at the phase's start, and one that takes longer (a rolling restart) stretches the phase.

pub mod action;
pub mod builtin;
pub mod expect;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use action::{Action, Target};
pub use expect::{Expectation, Selector, StatusExpectation};

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario {origin}: {source}")]
    Parse {
        origin: String,
        source: Box<toml::de::Error>,
    },
    #[error("scenario {scenario}: {problem}")]
    Invalid { scenario: String, problem: String },
    #[error(
        "no scenario {0:?}: not a file, not in the scenarios folder, not built in (`tis chaos list`)"
    )]
    Unknown(String),
}

/// One scenario, as written in its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// One sentence: what happens.
    pub summary: String,
    /// The row of the expectations table this scenario proves.
    #[serde(default)]
    pub proves: Option<String>,
    #[serde(default)]
    pub system: SystemSpec,
    #[serde(default)]
    pub workload: WorkloadSpec,
    pub phases: Vec<Phase>,
    #[serde(default)]
    pub expect: Vec<Expectation>,
    #[serde(default)]
    pub expect_status: Vec<StatusExpectation>,
}

/// Where the data lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Database {
    /// `tis up`'s embedded SQLite files.
    #[default]
    Sqlite,
    /// A PostgreSQL primary with a synchronous replica and an asynchronous one, started and
    /// controlled by `tis chaos` (so that it can kill and promote them).
    Postgres,
}

/// The system a scenario needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemSpec {
    pub database: Database,
    /// Instances of each service (`tis up --instances`).
    pub instances: u16,
    /// 1: `tis up`'s gateway alone. 2: a second gateway and HAProxy in front of both; the
    /// workload goes through HAProxy.
    pub gateways: u8,
    /// One more Reference instance, `reference-ns`, in its own network namespace joined by a
    /// veth pair, so that its link can be cut (needs root).
    pub partition: bool,
    /// Extra `TIS_…` settings for the `tis up` that `tis chaos` starts (not with --attach).
    pub env: BTreeMap<String, String>,
}

impl Default for SystemSpec {
    fn default() -> Self {
        SystemSpec {
            database: Database::Sqlite,
            instances: 2,
            gateways: 1,
            partition: false,
            env: BTreeMap::new(),
        }
    }
}

/// The steady load.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadSpec {
    /// Requests started per second in the full version, whatever the answers take.
    pub rate: f64,
    /// The same in the CI version.
    pub short_rate: f64,
    /// Relative weights of the journeys.
    pub mix: Mix,
    /// How long a client keeps retrying a keyed write (same key) that failed with a
    /// connection error, 429, 502, 503 or 504.
    #[serde(with = "humantime_serde")]
    pub write_retry_for: Duration,
    /// How long any request that never reached a server (a refused or reset connection: a
    /// gateway restarting) is retried.
    #[serde(with = "humantime_serde")]
    pub connect_retry_for: Duration,
    /// The client's own timeout of one request.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Requests in flight at once beyond which a scheduled request is counted as failed
    /// (`client_backlog`) instead of started: the harness must not grow without bound.
    pub max_in_flight: usize,
    /// Seed of the journey choice (random when absent).
    pub seed: Option<u64>,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            rate: 40.0,
            short_rate: 25.0,
            mix: Mix::default(),
            write_retry_for: Duration::from_secs(30),
            connect_retry_for: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_in_flight: 2000,
            seed: None,
        }
    }
}

/// Weights of the journeys (see [`crate::workload::Journey::pick`]).
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    pub list: u32,
    pub search: u32,
    pub filter: u32,
    pub read: u32,
    pub userinfo: u32,
    pub create: u32,
    pub update: u32,
    pub login: u32,
    /// TCS: a people search.
    pub people: u32,
    /// TCS: one person's whole record.
    pub person: u32,
    /// TCS: a person's contact details read and written back (a keyed write).
    pub contact: u32,
    /// TCS: a post's placements.
    pub post_placements: u32,
    /// TCS: a placement created with an Idempotency-Key (1 in 4 sent twice with it).
    pub place: u32,
    /// TCS: a current placement closed (ends yesterday), with an Idempotency-Key.
    pub close: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            list: 30,
            search: 15,
            filter: 10,
            read: 15,
            userinfo: 15,
            create: 8,
            update: 5,
            login: 2,
            people: 0,
            person: 0,
            contact: 0,
            post_placements: 0,
            place: 0,
            close: 0,
        }
    }
}

impl Mix {
    pub fn total(&self) -> u32 {
        self.list
            + self.search
            + self.filter
            + self.read
            + self.userinfo
            + self.create
            + self.update
            + self.login
            + self.people
            + self.person
            + self.contact
            + self.post_placements
            + self.place
            + self.close
    }
}

/// One phase of the timeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    /// Full version.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// CI version.
    #[serde(with = "humantime_serde")]
    pub short: Duration,
    /// Run in order at the phase's start.
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// A phase as it will run: the version's duration.
#[derive(Debug, Clone)]
pub struct PlannedPhase {
    pub name: String,
    pub duration: Duration,
    pub actions: Vec<Action>,
}

impl Scenario {
    /// Parses and validates one scenario's TOML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            origin: origin.to_owned(),
            source: Box::new(e),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_owned(),
            source,
        })?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// Finds a scenario by file path, by name in `dir` (when given, else `./scenarios` when it
    /// exists), or among the built-in ones.
    pub fn find(name_or_path: &str, dir: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let as_path = Path::new(name_or_path);
        if as_path.is_file() {
            return Scenario::load(as_path);
        }
        let default_dir = Path::new("scenarios");
        let dir = dir.or_else(|| default_dir.is_dir().then_some(default_dir));
        if let Some(dir) = dir {
            let file = dir.join(format!("{name_or_path}.toml"));
            if file.is_file() {
                return Scenario::load(&file);
            }
        }
        builtin::get(name_or_path).ok_or_else(|| ScenarioError::Unknown(name_or_path.to_owned()))?
    }

    /// Every scenario: the files of `dir` (or `./scenarios`), else the built-in ones; by name.
    pub fn all(dir: Option<&Path>) -> Result<Vec<Scenario>, ScenarioError> {
        let default_dir = Path::new("scenarios");
        let dir = dir.or_else(|| default_dir.is_dir().then_some(default_dir));
        let mut found = match dir {
            Some(dir) => {
                let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Read {
                    path: dir.to_owned(),
                    source,
                })?;
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect();
                files.sort();
                files
                    .iter()
                    .map(|f| Scenario::load(f))
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => builtin::all()?,
        };
        found.sort_by_key(|s| builtin::order(&s.name));
        Ok(found)
    }

    /// The phases of the full (`short = false`) or CI version.
    pub fn plan(&self, short: bool) -> Vec<PlannedPhase> {
        self.phases
            .iter()
            .map(|p| PlannedPhase {
                name: p.name.clone(),
                duration: if short { p.short } else { p.duration },
                actions: p.actions.clone(),
            })
            .collect()
    }

    /// The request rate of the version.
    pub fn rate(&self, short: bool) -> f64 {
        if short {
            self.workload.short_rate
        } else {
            self.workload.rate
        }
    }

    fn invalid(&self, problem: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            scenario: self.name.clone(),
            problem: problem.into(),
        }
    }

    /// Checks what parsing cannot: names, references between sections, ranges.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let valid_name = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !valid_name(&self.name) {
            return Err(self.invalid("`name` must be lowercase letters, digits and '-'"));
        }
        let sys = &self.system;
        if sys.instances == 0 {
            return Err(self.invalid("`system.instances` must be at least 1"));
        }
        if !(1..=2).contains(&sys.gateways) {
            return Err(self.invalid("`system.gateways` must be 1 or 2"));
        }
        if let Some(key) = sys.env.keys().find(|k| !k.starts_with("TIS_")) {
            return Err(self.invalid(format!(
                "`system.env.{key}`: only TIS_… settings may be given"
            )));
        }
        let w = &self.workload;
        for (key, rate) in [("rate", w.rate), ("short_rate", w.short_rate)] {
            if !(rate.is_finite() && rate > 0.0 && rate <= 5000.0) {
                return Err(self.invalid(format!("`workload.{key}` must be in (0, 5000]")));
            }
        }
        if w.mix.total() == 0 {
            return Err(self.invalid("`workload.mix` must give some journey a weight"));
        }
        if w.max_in_flight == 0 || w.request_timeout.is_zero() {
            return Err(self.invalid(
                "`workload.max_in_flight` and `workload.request_timeout` must be above zero",
            ));
        }
        if self.phases.is_empty() {
            return Err(self.invalid("at least one `[[phases]]` is needed"));
        }
        let mut names = std::collections::BTreeSet::new();
        for p in &self.phases {
            if !valid_name(&p.name) || !names.insert(p.name.as_str()) {
                return Err(self.invalid(format!(
                    "phase name {:?} must be unique, lowercase letters, digits and '-'",
                    p.name
                )));
            }
            if p.duration.is_zero() || p.short.is_zero() {
                return Err(self.invalid(format!(
                    "phase {:?}: `duration` and `short` must be above zero",
                    p.name
                )));
            }
            for a in &p.actions {
                a.validate(sys)
                    .map_err(|e| self.invalid(format!("phase {:?}: {e}", p.name)))?;
            }
        }
        for e in &self.expect {
            e.validate(&names).map_err(|p| self.invalid(p))?;
        }
        for e in &self.expect_status {
            e.validate(&names).map_err(|p| self.invalid(p))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
