use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::scenario::Scenario;
use crate::workload::Journey;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sample(phase: usize, journey: Journey, ok: bool, latency: Duration) -> Sample {
    Sample {
        phase,
        offset: Duration::ZERO,
        at: Duration::ZERO,
        journey,
        group: journey.group(),
        user: "admin",
        ok,
        status: Some(if ok { 200 } else { 503 }),
        code: (!ok).then(|| "service_unavailable".to_owned()),
        message: None,
        degraded: Vec::new(),
        latency,
        attempts: 1,
        idempotent: journey != Journey::Login,
        crossed: false,
        lag: Duration::ZERO,
    }
}

#[test]
fn percentiles_are_nearest_rank() {
    let v: Vec<Duration> = (1..=100).map(ms).collect();
    assert_eq!(percentile(&v, 50.0), ms(50));
    assert_eq!(percentile(&v, 99.0), ms(99));
    assert_eq!(percentile(&v, 100.0), ms(100));
    assert_eq!(percentile(&v[..1], 99.0), ms(1));
    assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    let v: Vec<Duration> = (1..=10).map(ms).collect();
    assert_eq!(
        percentile(&v, 99.0),
        ms(10),
        "99 % of 10 rounds up to the 10th"
    );
}

#[test]
fn stats_count_success_degradation_and_errors() {
    let mut samples: Vec<Sample> = (0..8)
        .map(|i| sample(0, Journey::List, true, ms(10 + i)))
        .collect();
    samples[0].degraded = vec!["profile-stale".into()];
    samples[1].degraded = vec!["idp".into()];
    samples.push(sample(0, Journey::Read, false, ms(3)));
    let mut login = sample(0, Journey::Login, false, ms(1));
    login.code = Some("connect".into());
    samples.push(login);
    let s = Stats::of(&samples);
    assert_eq!((s.requests, s.succeeded), (10, 8));
    assert_eq!(s.success_pct, 80.0);
    assert_eq!(s.degraded, 2);
    assert_eq!(s.degraded_pct, 25.0);
    assert_eq!(s.errors["service_unavailable"], 1);
    assert_eq!(s.errors["connect"], 1);
    assert_eq!(s.failed_idempotent, 1, "a failed login is not idempotent");
    assert_eq!(s.max, ms(17));
    assert_eq!(s.max_failure, ms(3));
    let mut slow_crossing = sample(0, Journey::Read, false, ms(900));
    slow_crossing.crossed = true;
    let with_crossing = Stats::of(samples.iter().chain(std::iter::once(&slow_crossing)));
    assert_eq!(
        with_crossing.max_failure,
        ms(3),
        "a request in flight when the phase began is not judged for its latency"
    );
    assert_eq!(with_crossing.failed_idempotent, 2, "but its failure counts");
    let s = Stats::of_degraded(&samples, Some("profile-stale"));
    assert_eq!(s.degraded, 1);
    let empty = Stats::of(&[]);
    assert_eq!((empty.requests, empty.success_pct), (0, 0.0));
}

const SCENARIO: &str = r#"
name = "t"
summary = "a test"

[[phases]]
name = "baseline"
duration = "20s"
short = "4s"

[[phases]]
name = "down"
duration = "30s"
short = "6s"

[[expect]]
phase = "down"
requests = "all"
min_success = 99.9
max_failed_idempotent = 0

[[expect]]
phase = "down"
requests = "reference"
max_p99_ratio = 2.0
baseline = "baseline"

[[expect]]
phase = "down"
requests = "login"
max_success = 0.0
max_failure_latency = "50ms"
failure_codes = ["connect"]

[[expect_status]]
phase = "down"
capability = "service:reference"
status = "degraded"
after = "1s"
reason_contains = "reduced capacity"
"#;

fn status(phase: usize, offset: Duration, level: Option<&str>) -> StatusPoll {
    StatusPoll {
        phase,
        offset,
        at: offset,
        capabilities: level.map(|l| {
            BTreeMap::from([(
                "service:reference".to_owned(),
                (
                    l.to_owned(),
                    "Reference data is working with reduced capacity".to_owned(),
                ),
            )])
        }),
    }
}

fn run(samples: Vec<Sample>, polls: Vec<StatusPoll>, writes: Option<WriteCheck>) -> ScenarioReport {
    let scenario = Scenario::parse(SCENARIO, "test").expect("valid");
    let plan = scenario.plan(true);
    build(Collected {
        scenario: &scenario,
        short: true,
        started_at: "now".into(),
        plan: &plan,
        starts: Vec::new(),
        durations: vec![ms(4000), ms(6000)],
        actions: vec![Vec::new(), Vec::new()],
        samples,
        polls,
        writes,
    })
}

fn good_samples() -> Vec<Sample> {
    let mut s: Vec<Sample> = (0..100)
        .map(|i| sample(0, Journey::List, true, ms(10 + i % 10)))
        .collect();
    s.extend((0..100).map(|i| sample(1, Journey::List, true, ms(12 + i % 20))));
    let mut login = sample(1, Journey::Login, false, ms(2));
    login.code = Some("connect".into());
    s.push(login);
    s
}

fn good_polls() -> Vec<StatusPoll> {
    vec![
        status(1, ms(500), Some("ok")), // before `after`: not judged
        status(1, ms(1500), Some("degraded")),
        status(1, ms(2000), Some("degraded")),
    ]
}

#[test]
fn a_good_run_passes_every_expectation() {
    let r = run(good_samples(), good_polls(), Some(WriteCheck::default()));
    let missed: Vec<_> = r.verdicts.iter().filter(|v| !v.passed).collect();
    assert!(missed.is_empty(), "{missed:#?}");
    assert!(r.passed);
    assert_eq!(
        r.phases[1].all.requests, 100,
        "logins are not gateway requests"
    );
    assert_eq!(r.phases[1].groups["idp.login"].requests, 1);
    assert_eq!(r.phases[1].status["service:reference"]["degraded"], 2);
    let table = table(&r);
    assert!(table.contains("PASS") && table.contains("down"), "{table}");
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["phases"][0]["all"]["p99_ms"], 19.0);
}

#[test]
fn one_failure_in_a_hundred_misses_99_9() {
    let mut s = good_samples();
    s[150] = sample(1, Journey::Read, false, ms(5));
    let r = run(s, good_polls(), Some(WriteCheck::default()));
    assert!(!r.passed);
    let missed: Vec<&str> = r
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.what.as_str())
        .collect();
    assert_eq!(
        missed,
        [
            "down: all requests: success",
            "down: all requests: failed idempotent requests"
        ]
    );
}

#[test]
fn a_slow_phase_misses_the_p99_ratio() {
    let mut s = good_samples();
    for x in s.iter_mut().filter(|x| x.phase == 1).take(5) {
        x.latency = ms(500);
    }
    let r = run(s, good_polls(), Some(WriteCheck::default()));
    let v = r
        .verdicts
        .iter()
        .find(|v| v.what.contains("p99 against baseline"))
        .expect("verdict");
    assert!(!v.passed, "{v:?}");
    assert!(v.expected.contains("19.0 ms"), "{v:?}");
}

#[test]
fn slow_or_unclear_failures_miss() {
    let mut s = good_samples();
    let login = s.last_mut().expect("login");
    login.latency = ms(80);
    login.code = Some("http_500".into());
    let r = run(s, good_polls(), Some(WriteCheck::default()));
    let missed: Vec<&str> = r
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.what.as_str())
        .collect();
    assert_eq!(
        missed,
        [
            "down: new logins: slowest failure",
            "down: new logins: failure codes"
        ]
    );
}

#[test]
fn status_must_show_the_degradation_in_every_poll_after_detection() {
    let mut polls = good_polls();
    polls.push(status(1, ms(2500), Some("ok")));
    let r = run(good_samples(), polls, Some(WriteCheck::default()));
    let v = r
        .verdicts
        .iter()
        .find(|v| v.what.contains("/api/status"))
        .expect("v");
    assert!(!v.passed);
    assert!(
        v.actual.contains("2 of 3") && v.actual.contains("first miss: ok"),
        "{v:?}"
    );

    let r = run(
        good_samples(),
        vec![status(1, ms(2000), None)],
        Some(WriteCheck::default()),
    );
    let v = r
        .verdicts
        .iter()
        .find(|v| v.what.contains("/api/status"))
        .expect("v");
    assert!(!v.passed && v.actual.contains("no answer"), "{v:?}");

    let r = run(good_samples(), Vec::new(), Some(WriteCheck::default()));
    let v = r
        .verdicts
        .iter()
        .find(|v| v.what.contains("/api/status"))
        .expect("v");
    assert!(!v.passed, "no poll at all is no evidence");
}

#[test]
fn lost_or_duplicated_writes_fail_the_run() {
    let lost = WriteCheck {
        acknowledged: 3,
        lost: vec!["CXABCD00002 (id 40)".into()],
        ..WriteCheck::default()
    };
    assert!(!run(good_samples(), good_polls(), Some(lost)).passed);
    let dup = WriteCheck {
        acknowledged: 3,
        duplicated: vec!["CXABCD00001 (ids [38, 39])".into()],
        ..WriteCheck::default()
    };
    assert!(!run(good_samples(), good_polls(), Some(dup)).passed);
    assert!(
        !run(good_samples(), good_polls(), None).passed,
        "unchecked is not passed"
    );
}

#[test]
fn no_requests_is_no_verdict() {
    let r = run(Vec::new(), good_polls(), Some(WriteCheck::default()));
    let v = r
        .verdicts
        .iter()
        .find(|v| v.what == "down: all requests: requests")
        .expect("v");
    assert!(!v.passed);
}

#[test]
fn a_stalled_load_generator_voids_the_run() {
    let mut s = good_samples();
    s[10].lag = ms(2500);
    let r = run(s, good_polls(), Some(WriteCheck::default()));
    assert!(!r.passed);
    let v = r
        .verdicts
        .iter()
        .find(|v| !v.passed)
        .expect("a missed verdict");
    assert_eq!(v.what, "baseline: the load started on schedule");
    assert!(v.actual.contains("void"), "{v:?}");
    assert_eq!(r.phases[0].max_start_lag, ms(2500));
}

#[test]
fn a_request_sent_while_the_fault_was_being_made_is_judged_by_no_expectation() {
    let scenario = Scenario::parse(SCENARIO, "test").expect("valid");
    let plan = scenario.plan(true);
    let kill = ActionReport {
        action: "kill -9 service:reference".into(),
        effect: Effect::Fault,
        at: ms(4000),
        took: ms(5),
        error: None,
    };
    let login_ok_at = |at: Duration| {
        let mut s = good_samples();
        s.retain(|s| s.journey != Journey::Login);
        let mut early = sample(1, Journey::Login, true, ms(1));
        early.at = at;
        let mut failed = sample(1, Journey::Login, false, ms(2));
        failed.code = Some("connect".into());
        failed.at = ms(4100);
        s.extend([early, failed]);
        s
    };
    let verdict = |samples: Vec<Sample>| {
        let r = build(Collected {
            scenario: &scenario,
            short: true,
            started_at: "now".into(),
            plan: &plan,
            starts: vec![ms(0), ms(4000)],
            durations: vec![ms(4000), ms(6000)],
            actions: vec![Vec::new(), vec![kill.clone()]],
            samples,
            polls: good_polls(),
            writes: None,
        });
        let names: Vec<String> = r.verdicts.iter().map(|v| v.what.clone()).collect();
        r.verdicts
            .into_iter()
            .find(|v| {
                v.what.starts_with("down: ")
                    && v.what.contains("login")
                    && v.what.ends_with(": success")
            })
            .unwrap_or_else(|| panic!("no login success verdict in {names:?}"))
    };
    // Sent 2 ms into the kill: shown, not judged.
    let v = verdict(login_ok_at(ms(4002)));
    assert!(v.passed, "{v:?}");
    // Sent once the kill was done: a success where none may be.
    let v = verdict(login_ok_at(ms(4010)));
    assert!(!v.passed, "{v:?}");
}
