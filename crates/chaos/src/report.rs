//! Figures per phase and verdicts per expectation, from the samples of a run.
//!
//! - success %: requests answered 2xx, of all requests started in the phase;
//! - degraded %: of the 2xx answers, those that carried `TIS-Degraded`;
//! - latency: whole requests, retries included; p50 and p99 by nearest rank.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::scenario::action::Effect;
use crate::scenario::{Expectation, PlannedPhase, Scenario, Selector, StatusExpectation};
use crate::workload::Sample;
use crate::workload::ledger::WriteCheck;

pub(crate) fn ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e5).round() / 100.0)
}

/// The `p`th percentile (0–100) of `sorted`, nearest rank; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Figures of a set of requests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub succeeded: u64,
    pub success_pct: f64,
    /// 2xx answers with `TIS-Degraded`.
    pub degraded: u64,
    pub degraded_pct: f64,
    /// Failures by code.
    pub errors: BTreeMap<String, u64>,
    /// Failed requests that were safe to retry.
    pub failed_idempotent: u64,
    /// Requests that needed more than one attempt.
    pub retried: u64,
    #[serde(serialize_with = "ms", rename = "p50_ms")]
    pub p50: Duration,
    #[serde(serialize_with = "ms", rename = "p99_ms")]
    pub p99: Duration,
    #[serde(serialize_with = "ms", rename = "max_ms")]
    pub max: Duration,
    /// The slowest failure (of those that started in the phase).
    #[serde(serialize_with = "ms", rename = "max_failure_ms")]
    pub max_failure: Duration,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

impl Stats {
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Stats {
        Stats::of_degraded(samples, None)
    }

    /// Like [`Stats::of`], counting as degraded only answers naming `degraded_as`.
    pub fn of_degraded<'a>(
        samples: impl IntoIterator<Item = &'a Sample>,
        degraded_as: Option<&str>,
    ) -> Stats {
        let mut s = Stats::default();
        let mut latencies = Vec::new();
        for x in samples {
            s.requests += 1;
            latencies.push(x.latency);
            if x.attempts > 1 {
                s.retried += 1;
            }
            if x.ok {
                s.succeeded += 1;
                let degraded = match degraded_as {
                    Some(name) => x.degraded.iter().any(|d| d == name),
                    None => !x.degraded.is_empty(),
                };
                if degraded {
                    s.degraded += 1;
                }
            } else {
                let code = x.code.clone().unwrap_or_else(|| "unknown".into());
                *s.errors.entry(code).or_default() += 1;
                if x.idempotent {
                    s.failed_idempotent += 1;
                }
                if !x.crossed {
                    s.max_failure = s.max_failure.max(x.latency);
                }
            }
        }
        latencies.sort();
        s.success_pct = pct(s.succeeded, s.requests);
        s.degraded_pct = pct(s.degraded, s.succeeded);
        s.p50 = percentile(&latencies, 50.0);
        s.p99 = percentile(&latencies, 99.0);
        s.max = latencies.last().copied().unwrap_or_default();
        s
    }
}

/// One `/api/status` poll.
#[derive(Debug, Clone, Serialize)]
pub struct StatusPoll {
    pub phase: usize,
    #[serde(serialize_with = "ms", rename = "offset_ms")]
    pub offset: Duration,
    /// From the run's start.
    #[serde(serialize_with = "ms", rename = "at_ms")]
    pub at: Duration,
    /// capability id (and `overall`) → (level, reason); `None`: no answer.
    pub capabilities: Option<BTreeMap<String, (String, String)>>,
}

impl StatusPoll {
    /// From an `/api/status` document.
    pub fn parse(
        phase: usize,
        offset: Duration,
        at: Duration,
        doc: Option<&serde_json::Value>,
    ) -> StatusPoll {
        let capabilities = doc.map(|doc| {
            let mut caps = BTreeMap::new();
            caps.insert(
                "overall".to_owned(),
                (
                    doc["status"].as_str().unwrap_or_default().to_owned(),
                    doc["summary"].as_str().unwrap_or_default().to_owned(),
                ),
            );
            for c in doc["capabilities"].as_array().into_iter().flatten() {
                if let Some(id) = c["id"].as_str() {
                    caps.insert(
                        id.to_owned(),
                        (
                            c["status"].as_str().unwrap_or_default().to_owned(),
                            c["reason"].as_str().unwrap_or_default().to_owned(),
                        ),
                    );
                }
            }
            caps
        });
        StatusPoll {
            phase,
            offset,
            at,
            capabilities,
        }
    }
}

/// What an action did.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    pub action: String,
    pub effect: Effect,
    /// When it started, from the run's start.
    #[serde(serialize_with = "ms", rename = "at_ms")]
    pub at: Duration,
    #[serde(serialize_with = "ms", rename = "took_ms")]
    pub took: Duration,
    pub error: Option<String>,
}

/// One phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub name: String,
    /// When it began, from the run's start.
    #[serde(serialize_with = "ms", rename = "start_ms")]
    pub start: Duration,
    #[serde(serialize_with = "ms", rename = "duration_ms")]
    pub duration: Duration,
    pub actions: Vec<ActionReport>,
    pub all: Stats,
    /// By group (`reference.read`, …, `idp.login`).
    pub groups: BTreeMap<String, Stats>,
    /// Capability → level → polls.
    pub status: BTreeMap<String, BTreeMap<String, u64>>,
    /// Polls with no answer.
    pub status_unanswered: u64,
    /// A few failure messages, one per code.
    pub sample_errors: BTreeMap<String, String>,
    /// The latest a request started against the schedule: more than [`MAX_LAG`] means the
    /// machine stalled the load generator itself, and the phase's figures say nothing.
    #[serde(serialize_with = "ms", rename = "max_start_lag_ms")]
    pub max_start_lag: Duration,
}

/// The most a request may start late before the run is void (the machine stalled).
pub const MAX_LAG: Duration = Duration::from_secs(1);

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    pub summary: String,
    pub proves: Option<String>,
    pub version: &'static str,
    pub rate: f64,
    /// RFC 3339.
    pub started_at: String,
    pub phases: Vec<PhaseReport>,
    pub writes: Option<WriteCheck>,
    pub verdicts: Vec<Verdict>,
    pub passed: bool,
    /// Second by second, and every `/api/status` poll: the report's charts.
    pub timeline: Timeline,
    /// Where `tis up`'s log was kept (a failed run), if it was ours.
    pub kept: Option<String>,
}

impl ScenarioReport {
    /// Expectations missed.
    pub fn missed(&self) -> usize {
        self.verdicts.iter().filter(|v| !v.passed).count()
    }
}

/// Everything a run collected.
pub struct Collected<'a> {
    pub scenario: &'a Scenario,
    pub short: bool,
    pub started_at: String,
    pub plan: &'a [PlannedPhase],
    /// When each phase began, from the run's start.
    pub starts: Vec<Duration>,
    pub durations: Vec<Duration>,
    pub actions: Vec<Vec<ActionReport>>,
    pub samples: Vec<Sample>,
    pub polls: Vec<StatusPoll>,
    pub writes: Option<WriteCheck>,
}

pub fn build(c: Collected<'_>) -> ScenarioReport {
    let index: BTreeMap<&str, usize> = c
        .plan
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let mut phases = Vec::new();
    for (i, p) in c.plan.iter().enumerate() {
        let mine: Vec<&Sample> = c.samples.iter().filter(|s| s.phase == i).collect();
        let mut groups: BTreeMap<String, Vec<&Sample>> = BTreeMap::new();
        let mut sample_errors = BTreeMap::new();
        for s in &mine {
            groups.entry(s.group.to_owned()).or_default().push(s);
            if let (false, Some(code)) = (s.ok, &s.code) {
                sample_errors.entry(code.clone()).or_insert_with(|| {
                    format!(
                        "{:?} as {}: {}",
                        s.journey,
                        s.user,
                        s.message.clone().unwrap_or_default()
                    )
                });
            }
        }
        let mut status: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut unanswered = 0;
        for poll in c.polls.iter().filter(|x| x.phase == i) {
            match &poll.capabilities {
                None => unanswered += 1,
                Some(caps) => {
                    for (id, (level, _)) in caps {
                        *status
                            .entry(id.clone())
                            .or_default()
                            .entry(level.clone())
                            .or_default() += 1;
                    }
                }
            }
        }
        phases.push(PhaseReport {
            name: p.name.clone(),
            start: c
                .starts
                .get(i)
                .copied()
                .unwrap_or_else(|| c.plan[..i].iter().map(|p| p.duration).sum::<Duration>()),
            duration: c.durations.get(i).copied().unwrap_or(p.duration),
            actions: c.actions.get(i).cloned().unwrap_or_default(),
            all: Stats::of(
                mine.iter()
                    .copied()
                    .filter(|s| Selector::All.matches(s.group)),
            ),
            groups: groups.into_iter().map(|(g, v)| (g, Stats::of(v))).collect(),
            status,
            status_unanswered: unanswered,
            sample_errors,
            max_start_lag: mine.iter().map(|s| s.lag).max().unwrap_or_default(),
        });
    }

    let mut verdicts = Vec::new();
    for p in &phases {
        for a in &p.actions {
            verdicts.push(Verdict {
                what: format!("{}: {}", p.name, a.action),
                expected: "done".into(),
                actual: a.error.clone().unwrap_or_else(|| "done".into()),
                passed: a.error.is_none(),
            });
        }
    }
    for p in &phases {
        verdicts.push(Verdict {
            what: format!("{}: the load started on schedule", p.name),
            expected: format!("every request within {} of its time", fmt_ms(MAX_LAG)),
            actual: format!(
                "latest {}{}",
                fmt_ms(p.max_start_lag),
                if p.max_start_lag > MAX_LAG {
                    " (the machine stalled tis chaos itself: the run is void)"
                } else {
                    ""
                }
            ),
            passed: p.max_start_lag <= MAX_LAG,
        });
    }
    // A request that started while its phase's actions were still being taken (between the
    // phase's start and the kill, say) met the system neither before nor after the fault: it
    // is shown in the tables but judged by no expectation. Without this, one request sent a
    // millisecond before `kill -9` landed counted as a success in the phase where none may.
    let settled: Vec<Duration> = c
        .actions
        .iter()
        .map(|acts| acts.iter().map(|a| a.at + a.took).max().unwrap_or_default())
        .collect();
    let judged: Vec<Sample> = c
        .samples
        .iter()
        .filter(|s| s.at >= settled.get(s.phase).copied().unwrap_or_default())
        .cloned()
        .collect();
    for e in &c.scenario.expect {
        verdicts.extend(judge(e, &index, &judged));
    }
    for e in &c.scenario.expect_status {
        verdicts.push(judge_status(e, &index, &c.polls));
    }
    match &c.writes {
        Some(w) => {
            verdicts.push(Verdict {
                what: "acknowledged creates read back".into(),
                expected: "0 lost, 0 duplicated".into(),
                actual: format!(
                    "{} acknowledged, {} lost, {} duplicated{}",
                    w.acknowledged,
                    w.lost.len(),
                    w.duplicated.len(),
                    if w.problems.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", w.problems.join("; "))
                    }
                ),
                passed: w.ok(),
            });
        }
        None => verdicts.push(Verdict {
            what: "acknowledged creates read back".into(),
            expected: "checked".into(),
            actual: "not checked".into(),
            passed: false,
        }),
    }
    let passed = verdicts.iter().all(|v| v.passed);
    let timeline = Timeline::of(&c.samples, c.polls);
    ScenarioReport {
        scenario: c.scenario.name.clone(),
        summary: c.scenario.summary.clone(),
        proves: c.scenario.proves.clone(),
        version: if c.short { "short" } else { "full" },
        rate: c.scenario.rate(c.short),
        started_at: c.started_at,
        phases,
        writes: c.writes,
        verdicts,
        passed,
        timeline,
        kept: None,
    }
}

fn selected<'a>(
    samples: &'a [Sample],
    phases: &[usize],
    sel: &'a Selector,
) -> impl Iterator<Item = &'a Sample> + Clone {
    let phases = phases.to_vec();
    samples
        .iter()
        .filter(move |s| phases.contains(&s.phase) && sel.matches(s.group))
}

fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// The verdicts of one `[[expect]]`, one per check.
pub fn judge(e: &Expectation, index: &BTreeMap<&str, usize>, samples: &[Sample]) -> Vec<Verdict> {
    let names = e.phase.to_vec();
    let phases: Vec<usize> = names
        .iter()
        .filter_map(|n| index.get(n.as_str()).copied())
        .collect();
    let sel = &e.requests;
    let stats = Stats::of_degraded(selected(samples, &phases, sel), e.degraded_as.as_deref());
    let what = |check: &str| format!("{}: {sel}: {check}", names.join("+"));
    let mut out = Vec::new();
    let mut v = |check: &str, expected: String, actual: String, passed: bool| {
        out.push(Verdict {
            what: what(check),
            expected,
            actual,
            passed,
        });
    };
    let min_requests = e.min_requests.unwrap_or(1);
    v(
        "requests",
        format!("≥ {min_requests}"),
        stats.requests.to_string(),
        stats.requests >= min_requests,
    );
    if let Some(min) = e.min_success {
        v(
            "success",
            format!("≥ {min}%"),
            format!(
                "{:.2}% ({} of {})",
                stats.success_pct, stats.succeeded, stats.requests
            ),
            stats.requests > 0 && stats.success_pct + 1e-9 >= min,
        );
    }
    if let Some(max) = e.max_success {
        v(
            "success",
            format!("≤ {max}%"),
            format!(
                "{:.2}% ({} of {})",
                stats.success_pct, stats.succeeded, stats.requests
            ),
            stats.success_pct <= max + 1e-9,
        );
    }
    if let Some(min) = e.min_degraded {
        let as_ = e
            .degraded_as
            .as_deref()
            .map(|d| format!(" as {d}"))
            .unwrap_or_default();
        v(
            &format!("successes marked degraded{as_}"),
            format!("≥ {min}%"),
            format!(
                "{:.2}% ({} of {})",
                stats.degraded_pct, stats.degraded, stats.succeeded
            ),
            stats.succeeded > 0 && stats.degraded_pct + 1e-9 >= min,
        );
    }
    if let Some(max) = e.max_failed_idempotent {
        v(
            "failed idempotent requests",
            format!("≤ {max}"),
            stats.failed_idempotent.to_string(),
            stats.failed_idempotent <= max,
        );
    }
    if let Some(max) = e.max_failure_latency {
        v(
            "slowest failure",
            format!("≤ {}", fmt_ms(max)),
            fmt_ms(stats.max_failure),
            stats.max_failure <= max,
        );
    }
    if let Some(codes) = &e.failure_codes {
        let other: Vec<String> = stats
            .errors
            .iter()
            .filter(|(c, _)| !codes.contains(c))
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect();
        v(
            "failure codes",
            format!("only {}", codes.join(", ")),
            if other.is_empty() {
                format_errors(&stats.errors)
            } else {
                format!("also {}", other.join(", "))
            },
            other.is_empty(),
        );
    }
    if let Some(max) = e.max_p99 {
        v(
            "p99",
            format!("≤ {}", fmt_ms(max)),
            fmt_ms(stats.p99),
            stats.p99 <= max,
        );
    }
    if let (Some(ratio), Some(base)) = (e.max_p99_ratio, &e.baseline) {
        let base_phase: Vec<usize> = index.get(base.as_str()).copied().into_iter().collect();
        let base_stats = Stats::of(selected(samples, &base_phase, sel));
        let limit = base_stats.p99.mul_f64(ratio);
        v(
            &format!("p99 against {base}"),
            format!("≤ {ratio}× {} = {}", fmt_ms(base_stats.p99), fmt_ms(limit)),
            format!(
                "{} ({:.2}×)",
                fmt_ms(stats.p99),
                stats.p99.as_secs_f64() / base_stats.p99.as_secs_f64().max(1e-9)
            ),
            base_stats.requests > 0 && stats.p99 <= limit,
        );
    }
    out
}

/// The verdict of one `[[expect_status]]`: every poll from `after` into the phase on shows
/// the capability at one of the levels (an unanswered poll does not).
pub fn judge_status(
    e: &StatusExpectation,
    index: &BTreeMap<&str, usize>,
    polls: &[StatusPoll],
) -> Verdict {
    let names = e.phase.to_vec();
    let phases: Vec<usize> = names
        .iter()
        .filter_map(|n| index.get(n.as_str()).copied())
        .collect();
    let levels = e.status.to_vec();
    let judged: Vec<&StatusPoll> = polls
        .iter()
        .filter(|p| phases.contains(&p.phase) && p.offset >= e.after)
        .collect();
    let mut misses = 0;
    let mut first_miss = None;
    for p in &judged {
        let seen = p
            .capabilities
            .as_ref()
            .and_then(|caps| caps.get(&e.capability));
        let good = seen.is_some_and(|(level, reason)| {
            levels.contains(level)
                && e.reason_contains
                    .as_ref()
                    .is_none_or(|want| reason.contains(want.as_str()))
        });
        if !good {
            misses += 1;
            first_miss.get_or_insert_with(|| match seen {
                Some((level, reason)) => format!("{level} ({reason})"),
                None if p.capabilities.is_none() => "no answer".to_owned(),
                None => "capability not shown".to_owned(),
            });
        }
    }
    let reason = e
        .reason_contains
        .as_ref()
        .map(|r| format!(", reason containing {r:?}"))
        .unwrap_or_default();
    Verdict {
        what: format!(
            "{}: /api/status {} from {} on",
            names.join("+"),
            e.capability,
            fmt_ms(e.after)
        ),
        expected: format!("{}{reason}", levels.join(" or ")),
        actual: match first_miss {
            None => format!("{} of {} polls", judged.len(), judged.len()),
            Some(m) => format!(
                "{} of {} polls; first miss: {m}",
                judged.len() - misses,
                judged.len()
            ),
        },
        passed: !judged.is_empty() && misses == 0,
    }
}

fn format_errors(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "-".into();
    }
    errors
        .iter()
        .map(|(c, n)| format!("{c}×{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The report as a table for people.
pub fn table(r: &ScenarioReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} ({}, {} req/s, started {}): {}",
        r.scenario,
        r.version,
        r.rate,
        r.started_at,
        if r.passed { "PASS" } else { "FAIL" }
    );
    let _ = writeln!(out, "  {}", r.summary);
    let _ = writeln!(
        out,
        "  {:<22} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
        "phase", "time", "reqs", "success", "degraded", "p50", "p99", "max"
    );
    for p in &r.phases {
        let row = |label: &str, s: &Stats, time: &str| {
            format!(
                "  {:<22} {:>6} {:>6} {:>7.2}% {:>7.2}% {:>8} {:>8} {:>8}  {}",
                label,
                time,
                s.requests,
                s.success_pct,
                s.degraded_pct,
                fmt_ms(s.p50),
                fmt_ms(s.p99),
                fmt_ms(s.max),
                format_errors(&s.errors)
            )
        };
        let _ = writeln!(
            out,
            "{}",
            row(
                &p.name,
                &p.all,
                &format!("{:.1}s", p.duration.as_secs_f64())
            )
        );
        for (g, s) in &p.groups {
            let _ = writeln!(out, "{}", row(&format!("  {g}"), s, ""));
        }
        for a in &p.actions {
            let _ = writeln!(
                out,
                "    action: {} ({:.1}s){}",
                a.action,
                a.took.as_secs_f64(),
                a.error
                    .as_ref()
                    .map(|e| format!(" FAILED: {e}"))
                    .unwrap_or_default()
            );
        }
        let status: Vec<String> = p
            .status
            .iter()
            .filter(|(id, _)| id.as_str() != "overall")
            .map(|(id, levels)| {
                let l: Vec<String> = levels.iter().map(|(k, n)| format!("{k}×{n}")).collect();
                format!("{id} {}", l.join("/"))
            })
            .collect();
        if !status.is_empty() || p.status_unanswered > 0 {
            let _ = writeln!(
                out,
                "    status: {}{}",
                status.join(", "),
                if p.status_unanswered > 0 {
                    format!(", no answer×{}", p.status_unanswered)
                } else {
                    String::new()
                }
            );
        }
        for (code, msg) in &p.sample_errors {
            let _ = writeln!(out, "    e.g. {code}: {}", truncate(msg, 160));
        }
    }
    if let Some(w) = &r.writes {
        let _ = writeln!(out, "  writes: {}", w.summary());
    }
    let _ = writeln!(out, "  expectations:");
    for v in &r.verdicts {
        let _ = writeln!(
            out,
            "    {} {}: expected {}, got {}",
            if v.passed { "ok  " } else { "MISS" },
            v.what,
            v.expected,
            v.actual
        );
    }
    if let Some(k) = &r.kept {
        let _ = writeln!(out, "  tis up's folder and log kept in {k}");
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

pub mod html;
pub mod timeline;

pub use timeline::{Second, Timeline};

#[cfg(test)]
mod tests;
