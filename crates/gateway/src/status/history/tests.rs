//! The history driven through an hour of faults on an injected clock (every sample's wall
//! time is given), with the capabilities the live status computes
//! ([`service_capability`], [`writes_capability`]).

use super::*;
use crate::status::{service_capability, writes_capability};

/// 2026-12-07T10:00:00Z, a slot boundary.
const T0: u64 = 1_796_637_600_000;
const S: u64 = 1000;
const MIN: u64 = 60 * S;

/// The live status at `t` of the scripted hour: Reference loses one of its two instances
/// 10:20–10:25, both 10:30–10:32; its database is read-only 10:40–10:45.
fn live(t: u64) -> Vec<Capability> {
    let at = |m: u64| T0 + m * MIN;
    let ready = if (at(20)..at(25)).contains(&t) {
        1
    } else if (at(30)..at(32)).contains(&t) {
        0
    } else {
        2
    };
    let read_only: Vec<String> = if (at(40)..at(45)).contains(&t) {
        vec!["Reference data".into()]
    } else {
        vec![]
    };
    vec![
        service_capability("reference", "Reference data", ready, 2),
        writes_capability(&read_only),
    ]
}

/// Samples every 10 s from `from` (exclusive) to `to` (exclusive), as the recorder does.
fn run(h: &mut History, from: u64, to: u64, status: impl Fn(u64) -> Vec<Capability>) {
    let mut t = from + 10 * S;
    while t < to {
        h.record(t, &status(t), 10 * S);
        t += 10 * S;
    }
}

fn levels(w: &Window) -> Vec<&'static str> {
    w.bars.iter().map(Bar::class).collect()
}

#[test]
fn an_hour_of_faults_draws_bars_percentages_and_incidents() {
    let mut h = History::new("gw-a");
    run(&mut h, T0, T0 + 60 * MIN, live);
    let now = T0 + 60 * MIN - S;
    let view = h.view(now, &live(now));
    assert_eq!(view.gateways, 1);
    let reference = &view.capabilities[0];
    assert_eq!(reference.id, "service:reference");
    assert_eq!(reference.day.bars.len(), 96);
    assert_eq!(reference.month.bars.len(), 30);
    // The last four bars are the hour: ok, degraded, down, ok; nothing was seen before.
    let day = levels(&reference.day);
    assert_eq!(&day[92..], ["ok", "degraded", "down", "ok"]);
    assert!(day[..92].iter().all(|l| *l == "none"), "{day:?}");
    assert_eq!(reference.day.start, "2026-12-06T11:00:00Z");
    // 359 samples of 10 s; 30 degraded, 12 down: 3170 of 3590 s working normally.
    assert_eq!(reference.day.observed_seconds, 3590);
    assert_eq!(reference.day.availability, Some(88.300));
    let month = levels(&reference.month);
    assert_eq!(month[29], "down");
    assert!(month[..29].iter().all(|l| *l == "none"));
    assert_eq!(reference.month.availability, Some(88.300));
    let writes = &view.capabilities[1];
    assert_eq!(&levels(&writes.day)[92..], ["ok", "ok", "degraded", "ok"]);
    // 30 samples read-only: 3290 of 3590 s.
    assert_eq!(writes.day.availability, Some(91.643));
    // The bars' text alternatives say the same.
    assert_eq!(
        reference.day.summary(),
        "working normally 88.3 % of the time observed; 2 of 96 bars with trouble (1 down, 1 degraded)"
    );
    assert_eq!(
        reference.day.bars[94].label(),
        "7 Dec 2026, 10:30–10:45 UTC: down for 2 minutes"
    );
    assert_eq!(
        reference.month.bars[29].label(),
        "7 Dec 2026: down for 2 minutes, degraded for 5 minutes"
    );
    assert_eq!(
        reference.day.bars[0].label(),
        "6 Dec 2026, 11:00–11:15 UTC: no data"
    );

    // Newest first, in plain words, with their start and end.
    let incidents: Vec<_> = view
        .incidents
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.level,
                i.start.as_str(),
                i.end.as_deref(),
                i.lasted.as_str(),
            )
        })
        .collect();
    assert_eq!(
        incidents,
        [
            (
                "Saving changes",
                Level::Degraded,
                "2026-12-07T10:40:00Z",
                Some("2026-12-07T10:45:00Z"),
                "5 minutes"
            ),
            (
                "Reference data",
                Level::Down,
                "2026-12-07T10:30:00Z",
                Some("2026-12-07T10:32:00Z"),
                "2 minutes"
            ),
            (
                "Reference data",
                Level::Degraded,
                "2026-12-07T10:20:00Z",
                Some("2026-12-07T10:25:00Z"),
                "5 minutes"
            ),
        ]
    );
    // The page says when as people read it; the JSON keeps RFC 3339 (above).
    assert_eq!(
        view.incidents[1].when(),
        "7 Dec 2026, 10:30 to 10:32 UTC, for 2 minutes"
    );
    assert_eq!(
        view.incidents[1].what,
        "Reference data is unavailable: none of its 2 instances is responding."
    );
    assert_eq!(
        view.incidents[0].what,
        "Changes cannot be saved in Reference data right now: its database is read-only while it recovers. Viewing still works."
    );

    // An incident going on now says so.
    let mut h2 = History::new("gw-a");
    run(&mut h2, T0, T0 + 31 * MIN, live);
    let v = h2.view(T0 + 31 * MIN, &live(T0 + 31 * MIN));
    assert!(v.incidents[0].ongoing && v.incidents[0].end.is_none());
    assert_eq!(v.incidents[0].start, "2026-12-07T10:30:00Z");
    assert_eq!(
        v.incidents[0].when(),
        "Since 7 Dec 2026, 10:30 UTC, for 60 seconds so far: still going on"
    );
}

#[test]
fn times_read_as_people_read_them() {
    assert_eq!(readable(T0 + 5 * MIN), "7 Dec 2026, 10:05 UTC");
    assert_eq!(readable_date(T0 - 7 * 24 * 60 * MIN), "30 Nov 2026");
    assert_eq!(readable_date(1_767_225_600_000), "1 Jan 2026");
    assert_eq!(
        readable_rfc3339("2026-12-07T14:05:32Z"),
        "7 Dec 2026, 14:05:32 UTC"
    );
    assert_eq!(readable_rfc3339("not a time"), "not a time");
    // An incident across midnight names both days.
    let i = IncidentView {
        capability: "login".into(),
        name: "Login".into(),
        start: rfc3339(T0 + 13 * 60 * MIN + 50 * MIN),
        end: Some(rfc3339(T0 + 14 * 60 * MIN + 20 * MIN)),
        start_ms: T0 + 13 * 60 * MIN + 50 * MIN,
        end_ms: T0 + 14 * 60 * MIN + 20 * MIN,
        ongoing: false,
        level: Level::Degraded,
        lasted: plain_span(Duration::from_millis(30 * MIN)),
        what: String::new(),
    };
    assert_eq!(
        i.when(),
        "7 Dec 2026, 23:50 UTC to 8 Dec 2026, 00:20 UTC, for 30 minutes"
    );
}

#[test]
fn an_incident_that_worsens_keeps_its_start_and_takes_the_worst_words() {
    let mut h = History::new("gw-a");
    let t = T0 + MIN;
    h.record(t, &[service_capability("r", "R", 1, 2)], 10 * S);
    h.record(t + 10 * S, &[service_capability("r", "R", 0, 2)], 10 * S);
    h.record(t + 20 * S, &[service_capability("r", "R", 1, 2)], 10 * S);
    h.record(t + 30 * S, &[service_capability("r", "R", 2, 2)], 10 * S);
    let v = h.view(t + 40 * S, &[service_capability("r", "R", 2, 2)]);
    assert_eq!(v.incidents.len(), 1);
    let i = &v.incidents[0];
    assert_eq!((i.level, i.lasted.as_str()), (Level::Down, "30 seconds"));
    assert!(i.what.starts_with("R is unavailable"), "{}", i.what);
}

#[test]
fn the_file_keeps_the_history_across_a_restart_and_stays_bounded() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("history/status-history.jsonl");
    let (mut journal, mut h) = Journal::open(&path, T0).expect("open");
    let id = h.id().to_owned();
    // 10:00–10:31, flushed each minute: Reference is down when the gateway is killed.
    let mut t = T0;
    while t < T0 + 31 * MIN {
        run(&mut h, t, t + MIN + S, live);
        journal.write(&h.changes(), None).expect("append");
        t += MIN;
    }
    let before = h.view(T0 + 31 * MIN, &live(T0));
    drop((journal, h)); // kill -9: nothing more is written
    // A torn last line, as a crash in the middle of a write leaves.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(b"{\"k\":\"cell\",\"slot\":"))
        .expect("torn line");

    let (mut journal, mut h) = Journal::open(&path, T0 + 40 * MIN).expect("reopen");
    assert_eq!(h.id(), id, "a restarted gateway carries on under its id");
    let after = h.view(T0 + 31 * MIN, &live(T0));
    let json = |v: &HistoryView| serde_json::to_value(&v.capabilities).expect("json");
    assert_eq!(json(&after), json(&before));
    // The incident open at the crash ended when the gateway was last heard from.
    let down = &after.incidents[0];
    assert_eq!(down.start, "2026-12-07T10:30:00Z");
    assert_eq!(down.end.as_deref(), Some("2026-12-07T10:31:00Z"));
    // Back at 10:40, recording goes on in the same cells.
    run(&mut h, T0 + 40 * MIN, T0 + 60 * MIN, live);
    journal.write(&h.changes(), None).expect("append");
    let v = h.view(T0 + 60 * MIN - S, &live(T0));
    // 10:00–10:31 (186 samples) and 10:40–10:59:50 (119).
    assert_eq!(v.capabilities[0].day.observed_seconds, 1860 + 1190);
    assert_eq!(
        &levels(&v.capabilities[0].day)[92..],
        ["ok", "degraded", "down", "ok"]
    );

    // Thousands of flushes: the file is rewritten, never more than four times its content.
    for k in 0..3000 {
        h.record(T0 + 60 * MIN + k * S, &live(T0), S);
        let whole = journal.wants_rewrite().then(|| h.snapshot());
        journal.write(&h.changes(), whole.as_ref()).expect("write");
    }
    let lines = std::fs::read_to_string(&path)
        .expect("read")
        .lines()
        .count();
    assert!(lines <= 4 * 1000 + 10, "{lines} lines");
    let (_, reread) = Journal::open(&path, T0 + 120 * MIN).expect("reopen");
    assert_eq!(
        json(&reread.view(T0 + 110 * MIN, &live(T0))),
        json(&h.view(T0 + 110 * MIN, &live(T0)))
    );
}

#[test]
fn a_month_old_history_is_forgotten() {
    let mut h = History::new("gw-a");
    run(&mut h, T0, T0 + 60 * MIN, live);
    let later = T0 + 31 * DAY_MS;
    h.prune(later);
    assert!(h.is_empty(), "{} entries left", h.len());
}

#[test]
fn two_gateways_that_exchanged_tell_the_same_story() {
    // A runs the whole hour; B starts at 10:10 and sees Reference down a little longer
    // (its health checks lag): 10:30:30–10:33.
    let mut a = History::new("gw-a");
    let mut b = History::new("gw-b");
    run(&mut a, T0, T0 + 60 * MIN, live);
    run(&mut b, T0 + 10 * MIN, T0 + 60 * MIN, |t| {
        let down = (T0 + 30 * MIN + 30 * S..T0 + 33 * MIN).contains(&t);
        vec![
            service_capability("reference", "Reference data", if down { 0 } else { 2 }, 2),
            writes_capability(&[]),
        ]
    });
    let now = T0 + 60 * MIN - S;
    let caps = live(now);
    let json = |h: &History| serde_json::to_value(h.view(now, &caps)).expect("json");
    assert_ne!(json(&a), json(&b));
    // What each pulls from the other (what `GET /admin/status/history` serves).
    let (from_a, from_b) = (a.export(0), b.export(0));
    a.absorb(from_b.clone());
    b.absorb(from_a.clone());
    assert_eq!(json(&a), json(&b), "after one exchange both say the same");
    // Pulling again (or the same cells twice) changes nothing.
    a.absorb(from_b);
    b.absorb(a.export(T0 + 50 * MIN));
    assert_eq!(json(&a), json(&b));
    let view = a.view(now, &caps);
    assert_eq!(view.gateways, 2);
    // The worst either saw: down 10:30–10:33 (A's 2 minutes and B's 2 min 30 s overlap).
    let down: Vec<_> = view
        .incidents
        .iter()
        .filter(|i| i.level == Level::Down)
        .map(|i| (i.start.as_str(), i.end.as_deref()))
        .collect();
    assert_eq!(
        down,
        [("2026-12-07T10:30:00Z", Some("2026-12-07T10:33:00Z"))]
    );
    let reference = &view.capabilities[0];
    // A's slot 10:30–10:45 was down 120 s of 900; B's 150 s of 900: the worst, 150 s.
    assert_eq!(reference.day.bars[94].counts.down, 150 * S);
    assert_eq!(reference.day.observed_seconds, 3590);
}
