//! What a phase does to the system: real signals to real processes, a cut link, a killed or
//! promoted database.
//!
//! | `do` | what | notes |
//! |---|---|---|
//! | `kill` | `kill -9` of `target` | `hold = true` keeps it down (the supervisor's hold file) until `release` |
//! | `stop` / `cont` | SIGSTOP / SIGCONT | a process that answers nothing: frozen, not dead |
//! | `restart` | SIGTERM (it drains), then wait until its replacement is ready everywhere | the supervisor restarts `tis up`'s processes; `tis chaos` its own |
//! | `release` | lift a hold and wait until the process is back and ready everywhere | |
//! | `rolling-restart` | `restart` each instance of each listed service in turn | |
//! | `refresh-tokens` | every user's token renewed now | before an IdP outage: tokens live 5 minutes |
//! | `partition` / `heal` | the network link of `reference-ns` down / up | silent drops, not refusals |
//! | `pg-kill` | `kill -9` of a PostgreSQL node's postmaster | |
//! | `pg-promote` | `pg_ctl promote` of a standby | what Patroni or an operator does |
//! | `pg-delay` | `recovery_min_apply_delay` on standbys (reload) | `delay = "0s"` undoes it |
//!
//! Targets name processes as `tis up` does (`idp`, `gateway`, `reference-1`, `profile-2`),
//! plus `tis chaos`'s own (`gateway-2`, `reference-ns`), or every instance of a service
//! (`service:reference`).

use std::time::Duration;

use serde::Deserialize;
use tis_core::service::{GATEWAY, IDP, PROFILE, REFERENCE};

use super::{Database, SystemSpec};

/// One step of a phase.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "do", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    Kill {
        target: String,
        #[serde(default)]
        hold: bool,
    },
    Stop {
        target: String,
    },
    Cont {
        target: String,
    },
    Restart {
        target: String,
    },
    Release {
        target: String,
    },
    RollingRestart {
        services: Vec<String>,
    },
    RefreshTokens,
    Partition {
        target: String,
    },
    Heal {
        target: String,
    },
    PgKill {
        node: String,
    },
    PgPromote {
        node: String,
    },
    PgDelay {
        nodes: Vec<String>,
        #[serde(with = "humantime_serde")]
        delay: Duration,
    },
}

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One process by name.
    Process(String),
    /// Every instance of a service.
    Service(String),
}

impl Target {
    pub fn parse(text: &str) -> Result<Target, String> {
        let ok_chars = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if let Some(service) = text.strip_prefix("service:") {
            if matches!(service, REFERENCE | PROFILE) {
                return Ok(Target::Service(service.to_owned()));
            }
            return Err(format!(
                "target {text:?}: the services are `{REFERENCE}` and `{PROFILE}`"
            ));
        }
        if ok_chars(text) {
            Ok(Target::Process(text.to_owned()))
        } else {
            Err(format!(
                "target {text:?} is neither a process name nor `service:<name>`"
            ))
        }
    }
}

/// The PostgreSQL nodes `tis chaos` starts.
pub const PG_NODES: &[&str] = &["primary", "replica1", "replica2"];

/// What an action does to the system, for the report's charts: a fault starts, or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Breaks something (`kill`, `stop`, `restart`, `partition`, `pg-kill`, a `pg-delay`).
    Fault,
    /// Undoes a fault (`release`, `cont`, `heal`, `pg-promote`, `pg-delay` of 0 s).
    Recovery,
    /// Neither (`refresh-tokens`).
    Neutral,
}

impl Action {
    /// Whether the action starts a fault or ends one.
    pub fn effect(&self) -> Effect {
        match self {
            Action::Kill { .. }
            | Action::Stop { .. }
            | Action::Restart { .. }
            | Action::RollingRestart { .. }
            | Action::Partition { .. }
            | Action::PgKill { .. } => Effect::Fault,
            Action::PgDelay { delay, .. } if !delay.is_zero() => Effect::Fault,
            Action::Release { .. }
            | Action::Cont { .. }
            | Action::Heal { .. }
            | Action::PgPromote { .. }
            | Action::PgDelay { .. } => Effect::Recovery,
            Action::RefreshTokens => Effect::Neutral,
        }
    }

    /// A short description for progress lines and reports.
    pub fn describe(&self) -> String {
        match self {
            Action::Kill { target, hold } => {
                format!(
                    "kill -9 {target}{}",
                    if *hold { " (held down)" } else { "" }
                )
            }
            Action::Stop { target } => format!("SIGSTOP {target}"),
            Action::Cont { target } => format!("SIGCONT {target}"),
            Action::Restart { target } => format!("restart {target}"),
            Action::Release { target } => format!("release {target}"),
            Action::RollingRestart { services } => {
                format!("rolling restart of {}", services.join(", "))
            }
            Action::RefreshTokens => "refresh every token".into(),
            Action::Partition { target } => format!("cut {target}'s link"),
            Action::Heal { target } => format!("restore {target}'s link"),
            Action::PgKill { node } => format!("kill -9 PostgreSQL {node}"),
            Action::PgPromote { node } => format!("promote PostgreSQL {node}"),
            Action::PgDelay { nodes, delay } => format!(
                "apply delay {} on {}",
                humantime::format_duration(*delay),
                nodes.join(", ")
            ),
        }
    }

    /// Checks the action against the system it will run on.
    pub fn validate(&self, sys: &SystemSpec) -> Result<(), String> {
        let process = |t: &str| -> Result<(), String> {
            match Target::parse(t)? {
                Target::Service(_) => Ok(()),
                Target::Process(name) => check_process(&name, sys),
            }
        };
        let pg = |node: &str| -> Result<(), String> {
            if sys.database != Database::Postgres {
                return Err(format!(
                    "PostgreSQL actions need `system.database = \"postgres\"` ({node})"
                ));
            }
            if PG_NODES.contains(&node) {
                Ok(())
            } else {
                Err(format!(
                    "PostgreSQL node {node:?} is not one of {}",
                    PG_NODES.join(", ")
                ))
            }
        };
        match self {
            Action::Kill { target, .. }
            | Action::Stop { target }
            | Action::Cont { target }
            | Action::Restart { target }
            | Action::Release { target } => process(target),
            Action::RollingRestart { services } => {
                if services.is_empty() {
                    return Err("`rolling-restart` needs at least one service".into());
                }
                services
                    .iter()
                    .try_for_each(|s| Target::parse(&format!("service:{s}")).map(|_| ()))
            }
            Action::RefreshTokens => Ok(()),
            Action::Partition { target } | Action::Heal { target } => {
                if target == "reference-ns" && sys.partition {
                    Ok(())
                } else {
                    Err(format!(
                        "only `reference-ns` (with `system.partition = true`) can be cut off, not {target:?}"
                    ))
                }
            }
            Action::PgKill { node } | Action::PgPromote { node } => pg(node),
            Action::PgDelay { nodes, .. } => {
                if nodes.is_empty() {
                    return Err("`pg-delay` needs at least one node".into());
                }
                nodes.iter().try_for_each(|n| pg(n))
            }
        }
    }
}

/// Whether the system will have a process called `name`.
fn check_process(name: &str, sys: &SystemSpec) -> Result<(), String> {
    let instance = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|n| n.parse::<u16>().ok())
            .is_some_and(|n| (1..=sys.instances).contains(&n))
    };
    let known = match name {
        IDP | GATEWAY => true,
        "gateway-2" => sys.gateways == 2,
        "reference-ns" => sys.partition,
        _ => instance(&format!("{REFERENCE}-")) || instance(&format!("{PROFILE}-")),
    };
    if known {
        Ok(())
    } else {
        Err(format!(
            "no process {name:?} in this system (idp, gateway, reference-1..{n}, profile-1..{n}{}{})",
            if sys.gateways == 2 { ", gateway-2" } else { "" },
            if sys.partition { ", reference-ns" } else { "" },
            n = sys.instances
        ))
    }
}
