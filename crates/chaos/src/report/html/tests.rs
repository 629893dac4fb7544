use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::report::{ActionReport, Collected, StatusPoll, build};
use crate::scenario::Scenario;
use crate::workload::ledger::WriteCheck;
use crate::workload::{Journey, Sample};

const SCENARIO: &str = r#"
name = "pictures"
summary = "one <b>Reference</b> instance killed & released"

[[phases]]
name = "baseline"
duration = "3s"
short = "3s"

[[phases]]
name = "down"
duration = "4s"
short = "4s"
actions = [{ do = "kill", target = "reference-1", hold = true }]

[[phases]]
name = "back"
duration = "3s"
short = "3s"
actions = [{ do = "release", target = "reference-1" }]

[[expect]]
phase = "baseline"
requests = "all"
min_success = 99.0

[[expect]]
phase = "down"
requests = "all"
min_success = 99.0
"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Ten requests a second for 10 s, none in second 5; half of them fail in the `down` phase
/// (seconds 3–6), and are slower.
fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    for second in (0..10u64).filter(|s| *s != 5) {
        let phase = match second {
            0..=2 => 0,
            3..=6 => 1,
            _ => 2,
        };
        for i in 0..10u64 {
            let ok = phase != 1 || i % 2 == 0;
            out.push(Sample {
                phase,
                offset: Duration::ZERO,
                at: ms(second * 1000 + i * 100),
                journey: Journey::List,
                group: Journey::List.group(),
                user: "admin",
                ok,
                status: Some(if ok { 200 } else { 503 }),
                code: (!ok).then(|| "no_healthy_endpoints".to_owned()),
                message: None,
                degraded: if phase == 1 && ok {
                    vec!["profile-stale".to_owned()]
                } else {
                    Vec::new()
                },
                latency: ms(if phase == 1 { 50 } else { 5 }),
                attempts: 1,
                idempotent: true,
                crossed: false,
                lag: Duration::ZERO,
            });
        }
    }
    out
}

fn polls() -> Vec<StatusPoll> {
    (0..20u64)
        .map(|n| {
            let at = ms(n * 500);
            let level = if (6..14).contains(&n) {
                "degraded"
            } else {
                "ok"
            };
            StatusPoll {
                phase: 0,
                offset: at,
                at,
                capabilities: (n != 19).then(|| {
                    BTreeMap::from([(
                        "service:reference".to_owned(),
                        (level.to_owned(), "Reference data".to_owned()),
                    )])
                }),
            }
        })
        .collect()
}

fn report() -> ScenarioReport {
    let scenario = Scenario::parse(SCENARIO, "test").expect("valid");
    let plan = scenario.plan(true);
    let action = |what: &str, effect, at, took| ActionReport {
        action: what.to_owned(),
        effect,
        at: ms(at),
        took: ms(took),
        error: None,
    };
    build(Collected {
        scenario: &scenario,
        short: true,
        started_at: "2026-12-07T09:00:00Z".into(),
        plan: &plan,
        starts: vec![ms(0), ms(3000), ms(7000)],
        durations: vec![ms(3000), ms(4000), ms(3000)],
        actions: vec![
            Vec::new(),
            vec![action(
                "kill -9 reference-1 (held down)",
                Effect::Fault,
                3000,
                100,
            )],
            vec![action("release reference-1", Effect::Recovery, 7000, 500)],
        ],
        samples: samples(),
        polls: polls(),
        writes: Some(WriteCheck::default()),
    })
}

#[test]
fn the_timeline_has_one_point_a_second_and_gaps_where_nothing_started() {
    let r = report();
    let secs = &r.timeline.seconds;
    assert_eq!(secs.len(), 10);
    assert_eq!(secs[0].success_pct, Some(100.0));
    assert_eq!(secs[3].success_pct, Some(50.0));
    assert_eq!(secs[3].degraded_pct, Some(100.0));
    assert_eq!(secs[3].p99, ms(50));
    assert_eq!(secs[5].requests, 0);
    assert_eq!(secs[5].success_pct, None, "no request: no point");
    assert_eq!(secs[8].groups["reference.read"], 100.0);
    assert_eq!(r.timeline.polls.len(), 20);
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["timeline"]["seconds"][3]["p50_ms"], 50.0);
}

/// The `x,y` pairs of the polylines and dots of series `class` in `html`.
fn points(html: &str, class: &str) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let line = format!("<polyline class=\"s-{class}\" points=\"");
    for part in html.split(&line).skip(1) {
        let pts = &part[..part.find('"').expect("closing quote")];
        for p in pts.split(' ') {
            let (x, y) = p.split_once(',').expect("x,y");
            out.push((x.parse().expect("x"), y.parse().expect("y")));
        }
    }
    let dot = format!("<circle class=\"s-{class}\" cx=\"");
    for part in html.split(&dot).skip(1) {
        let x = &part[..part.find('"').expect("quote")];
        let y = part.split("cy=\"").nth(1).expect("cy");
        let y = &y[..y.find('"').expect("quote")];
        out.push((x.parse().expect("x"), y.parse().expect("y")));
    }
    out
}

#[test]
fn the_page_draws_every_second_the_faults_the_status_and_the_verdicts() {
    let r = report();
    let html = render(std::slice::from_ref(&r), "2026-12-07T09:01:00Z");
    std::fs::write(
        std::env::temp_dir().join("tis-chaos-report-test.html"),
        &html,
    )
    .ok();
    well_formed(&html).expect("well-formed");

    // The success line: 9 seconds with requests, in two runs around the empty second 5.
    // The axis is 10 s over x 120..984: second n's point is at 120 + (n + 0.5) × 86.4.
    let all = points(&html, "all");
    assert_eq!(all.len(), 9, "{all:?}");
    assert_eq!(all[0], (163.2, 30.0), "second 0, 100 %: the top");
    assert_eq!(all[3], (422.4, 105.0), "second 3, 50 %: the middle");
    assert!(
        !all.iter().any(|(x, _)| *x == 595.2),
        "no point for second 5"
    );
    assert_eq!(
        html.matches("<polyline class=\"s-all\"").count(),
        2,
        "the line breaks where no request started"
    );
    assert_eq!(points(&html, "p99").len(), 9);
    assert_eq!(points(&html, "degraded").len(), 9);

    // The fault: a red line at 3 s, shaded until the release was done (7.5 s), a green
    // line at 7 s; on every chart (three line charts and the status strip).
    assert_eq!(
        html.matches("<line class=\"mark fault\" x1=\"379.2\"")
            .count(),
        4
    );
    assert_eq!(
        html.matches("<line class=\"mark recovery\" x1=\"724.8\"")
            .count(),
        4
    );
    assert!(html.contains("<rect class=\"faultband\" x=\"379.2\" y=\"30.0\" width=\"388.8\""));
    assert!(html.contains(">kill -9 reference-1 (held down)</text>"));

    // The status page's answers: a cell per poll, degraded in the middle, one unanswered.
    assert_eq!(html.matches("<rect class=\"c-degraded\"").count(), 8);
    assert_eq!(html.matches("<rect class=\"c-ok\"").count(), 11);
    assert_eq!(html.matches("<rect class=\"c-none\"").count(), 1);

    // The verdicts: the baseline held, the down phase missed (judged without the request
    // sent at 3.0 s, while the kill was still being made: it ran until 3.1 s).
    assert!(html.contains("FAIL</span> (1 missed)"));
    assert!(
        html.contains(
            "<td>down: all requests: success</td><td>≥ 99%</td><td>48.28% (14 of 29)</td>"
        ),
        "{html}"
    );
    assert!(html.contains("<td>baseline: all requests: success</td>"));

    // Text is escaped; nothing is fetched from elsewhere.
    assert!(
        html.contains("one &#60;b&#62;Reference&#60;/b&#62; instance killed &#38; released")
            || html.contains("one &lt;b&gt;Reference&lt;/b&gt; instance killed &amp; released"),
        "escaped"
    );
    for external in ["<script", "<link", "src=", "href=\"http", "url("] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn the_well_formedness_check_finds_unclosed_and_crossed_elements() {
    assert!(well_formed("<!doctype html><p>a<br><b>b</b></p><svg><rect/></svg>").is_ok());
    assert!(well_formed("<p><b>a</p></b>").is_err());
    assert!(well_formed("<p>a").is_err());
    assert!(well_formed("<style>a<b{}</style><p></p>").is_ok());
}
