//! A run second by second: the figures of [`Stats`] for the requests that started in each
//! second of the run (requests through the gateway, as the phase row), the success rate of
//! each request group, and every `/api/status` poll. The HTML report draws them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{Stats, StatusPoll, ms};
use crate::scenario::Selector;
use crate::workload::Sample;

/// The requests that started in one second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    /// Seconds from the run's start: this second is `[second, second + 1)`.
    pub second: u64,
    /// Requests through the gateway (logins are their own group).
    pub requests: u64,
    /// `None` when no request started in this second.
    pub success_pct: Option<f64>,
    /// Of the 2xx answers; `None` without any.
    pub degraded_pct: Option<f64>,
    #[serde(serialize_with = "ms", rename = "p50_ms")]
    pub p50: Duration,
    #[serde(serialize_with = "ms", rename = "p99_ms")]
    pub p99: Duration,
    /// Success % of each request group (`reference.read`, …, `idp.login`) with requests.
    pub groups: BTreeMap<String, f64>,
}

/// The run over time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// One per second from the run's start to the last request's start, empty ones included.
    pub seconds: Vec<Second>,
    /// Every `/api/status` poll, in order.
    pub polls: Vec<StatusPoll>,
}

impl Timeline {
    pub fn of(samples: &[Sample], polls: Vec<StatusPoll>) -> Timeline {
        let mut buckets: Vec<Vec<&Sample>> = Vec::new();
        for s in samples {
            let i = usize::try_from(s.at.as_secs()).unwrap_or(usize::MAX);
            if i >= buckets.len() {
                // A sample from a broken clock would ask for an absurd size: ignore it.
                if i > 100_000 {
                    continue;
                }
                buckets.resize_with(i + 1, Vec::new);
            }
            buckets[i].push(s);
        }
        let seconds = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| second(i as u64, b))
            .collect();
        Timeline { seconds, polls }
    }
}

fn second(second: u64, samples: &[&Sample]) -> Second {
    let all = Stats::of(
        samples
            .iter()
            .copied()
            .filter(|s| Selector::All.matches(s.group)),
    );
    let mut by_group: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        by_group.entry(s.group).or_default().push(s);
    }
    Second {
        second,
        requests: all.requests,
        success_pct: (all.requests > 0).then_some(all.success_pct),
        degraded_pct: (all.succeeded > 0).then_some(all.degraded_pct),
        p50: all.p50,
        p99: all.p99,
        groups: by_group
            .into_iter()
            .map(|(g, v)| (g.to_owned(), Stats::of(v).success_pct))
            .collect(),
    }
}
