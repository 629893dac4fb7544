//! The scenarios of `scenarios/`, compiled in, so that `tis chaos run idp-down` works from
//! any folder. Files on disk win (`--scenarios DIR`, or `./scenarios`).

use super::{Scenario, ScenarioError};

/// Name and text of each built-in scenario, in the order `--all` runs them.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "idp-down",
        include_str!("../../../../scenarios/idp-down.toml"),
    ),
    (
        "profile-down",
        include_str!("../../../../scenarios/profile-down.toml"),
    ),
    (
        "reference-down",
        include_str!("../../../../scenarios/reference-down.toml"),
    ),
    (
        "instance-kill",
        include_str!("../../../../scenarios/instance-kill.toml"),
    ),
    (
        "service-down",
        include_str!("../../../../scenarios/service-down.toml"),
    ),
    (
        "instance-slow",
        include_str!("../../../../scenarios/instance-slow.toml"),
    ),
    (
        "rolling-restart",
        include_str!("../../../../scenarios/rolling-restart.toml"),
    ),
    (
        "gateway-restart",
        include_str!("../../../../scenarios/gateway-restart.toml"),
    ),
    (
        "partition",
        include_str!("../../../../scenarios/partition.toml"),
    ),
    (
        "db-primary-kill",
        include_str!("../../../../scenarios/db-primary-kill.toml"),
    ),
    (
        "replica-lag",
        include_str!("../../../../scenarios/replica-lag.toml"),
    ),
];

/// The built-in scenario called `name`.
pub fn get(name: &str) -> Option<Result<Scenario, ScenarioError>> {
    SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| Scenario::parse(text, &format!("{n} (built in)")))
}

/// Every built-in scenario.
pub fn all() -> Result<Vec<Scenario>, ScenarioError> {
    SCENARIOS
        .iter()
        .map(|(n, text)| Scenario::parse(text, &format!("{n} (built in)")))
        .collect()
}

/// Where `name` comes in `--all` (unknown names last, by name).
pub fn order(name: &str) -> (usize, String) {
    let i = SCENARIOS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(usize::MAX);
    (i, name.to_owned())
}
