//! The report as one self-contained HTML page (`tis chaos run … --report FILE.html`): for each
//! scenario, charts of the run second by second (success, degraded share, p50/p99 latency),
//! the status page's answers along the same time axis, each action marked where it happened
//! (a fault in red, its undoing in green, the time between shaded), the phase table and the
//! verdict of every expectation. Inline SVG drawn here and inline CSS: no script, no external
//! asset; it opens from disk.
//!
//! The geometry is computed here; `templates/report.html` (askama, escaping every text) only
//! writes it out.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use askama::Template;

use super::{ScenarioReport, Stats, fmt_ms, format_errors};
use crate::scenario::action::Effect;
use crate::workload::ledger::WriteCheck;

/// The SVG's user units: the page scales it to its width.
const WIDTH: f64 = 1000.0;
const LEFT: f64 = 120.0;
const RIGHT: f64 = 16.0;
/// Room above the plot for two rows of phase names.
const TOP: f64 = 30.0;
const BOTTOM: f64 = 22.0;
/// Height of a line chart's plot area.
const PLOT: f64 = 150.0;
/// Height of one row of the status strip.
const ROW: f64 = 18.0;
/// The latency axis: 1 ms to 10 s, logarithmic.
const LAT_MIN_MS: f64 = 1.0;
const LAT_MAX_MS: f64 = 10_000.0;

/// One page of reports.
#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    title: String,
    generated_at: String,
    scenarios: Vec<ScenarioView>,
}

struct ScenarioView {
    id: String,
    name: String,
    summary: String,
    proves: String,
    version: String,
    rate: String,
    started_at: String,
    passed: bool,
    missed: usize,
    charts: Vec<Chart>,
    status: Chart,
    phases: Vec<PhaseRow>,
    verdicts: Vec<VerdictRow>,
    writes: String,
    kept: String,
}

struct PhaseRow {
    name: String,
    time: String,
    requests: u64,
    success: String,
    degraded: String,
    p50: String,
    p99: String,
    max: String,
    errors: String,
    actions: String,
}

struct VerdictRow {
    passed: bool,
    what: String,
    expected: String,
    actual: String,
}

/// One SVG: a line chart, or the status strip.
struct Chart {
    title: String,
    height: String,
    /// Bottom of the plot area (the time axis).
    base: String,
    top: String,
    /// Height of the plot area.
    plot_h: String,
    left: String,
    right: String,
    /// The phases, shaded alternately, named at the top.
    bands: Vec<Band>,
    /// From a fault to its undoing.
    faults: Vec<Band>,
    /// Each action, a vertical line.
    marks: Vec<Mark>,
    yticks: Vec<Tick>,
    xticks: Vec<Tick>,
    series: Vec<Series>,
    /// Status strip rows.
    rows: Vec<Row>,
}

struct Band {
    x: String,
    w: String,
    label: String,
    /// Phase names alternate between two rows, so that short phases' names do not overlap.
    label_y: String,
    odd: bool,
}

struct Mark {
    x: String,
    label: String,
    /// Staggered, so that the labels of actions close together do not overlap.
    label_y: String,
    class: &'static str,
}

struct Tick {
    at: String,
    label: String,
}

struct Series {
    label: String,
    class: String,
    /// Runs of consecutive points (`x,y x,y …`): a second without requests breaks the line.
    segments: Vec<String>,
    /// Points standing alone (no neighbour to draw a line to).
    dots: Vec<(String, String)>,
}

struct Row {
    label: String,
    y: String,
    label_y: String,
    cells: Vec<Cell>,
}

struct Cell {
    x: String,
    w: String,
    class: String,
    title: String,
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// The time axis shared by a scenario's charts.
#[derive(Clone, Copy)]
struct Axis {
    seconds: f64,
}

impl Axis {
    fn of(r: &ScenarioReport) -> Axis {
        let phases_end = r
            .phases
            .last()
            .map(|p| (p.start + p.duration).as_secs_f64())
            .unwrap_or(0.0);
        let samples_end = r.timeline.seconds.len() as f64;
        Axis {
            seconds: phases_end.max(samples_end).max(1.0),
        }
    }

    fn x(self, t: f64) -> f64 {
        LEFT + t.clamp(0.0, self.seconds) / self.seconds * (WIDTH - LEFT - RIGHT)
    }

    fn ticks(self) -> Vec<Tick> {
        let step = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0]
            .into_iter()
            .find(|s| self.seconds / s <= 12.0)
            .unwrap_or(600.0);
        let mut out = Vec::new();
        let mut t: f64 = 0.0;
        while t <= self.seconds + 1e-9 {
            out.push(Tick {
                at: f1(self.x(t)),
                label: format!("{t:.0}s"),
            });
            t += step;
        }
        out
    }
}

/// A chart with the scenario's phases, faults and actions on the time axis.
fn frame(r: &ScenarioReport, axis: Axis, title: &str, plot: f64, named: bool) -> Chart {
    let base = TOP + plot;
    let bands = r
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x0 = axis.x(p.start.as_secs_f64());
            let x1 = axis.x((p.start + p.duration).as_secs_f64());
            Band {
                x: f1(x0),
                w: f1((x1 - x0).max(0.0)),
                label: if named { p.name.clone() } else { String::new() },
                label_y: f1(if i % 2 == 1 { 24.0 } else { 12.0 }),
                odd: i % 2 == 1,
            }
        })
        .collect();
    let mut marks = Vec::new();
    let actions: Vec<_> = r
        .phases
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.actions.iter().map(move |a| (i, a)))
        .collect();
    let mut faults = Vec::new();
    for (n, (phase, a)) in actions.iter().enumerate() {
        let at = a.at.as_secs_f64();
        marks.push(Mark {
            x: f1(axis.x(at)),
            label: if named {
                a.action.clone()
            } else {
                String::new()
            },
            label_y: f1(TOP + 12.0 + 11.0 * (n % 3) as f64),
            class: match a.effect {
                Effect::Fault => "fault",
                Effect::Recovery => "recovery",
                Effect::Neutral => "neutral",
            },
        });
        if a.effect == Effect::Fault {
            // Until the next recovery has been carried out, or else the end of its phase.
            let end = actions[n + 1..]
                .iter()
                .find(|(_, b)| b.effect == Effect::Recovery)
                .map(|(_, b)| (b.at + b.took).as_secs_f64())
                .unwrap_or_else(|| {
                    let p = &r.phases[*phase];
                    (p.start + p.duration).as_secs_f64()
                });
            let (x0, x1) = (axis.x(at), axis.x(end));
            faults.push(Band {
                x: f1(x0),
                w: f1((x1 - x0).max(1.0)),
                label: String::new(),
                label_y: String::new(),
                odd: false,
            });
        }
    }
    Chart {
        title: title.to_owned(),
        height: f1(base + BOTTOM),
        base: f1(base),
        top: f1(TOP),
        plot_h: f1(plot),
        left: f1(LEFT),
        right: f1(WIDTH - RIGHT),
        bands,
        faults,
        marks,
        yticks: Vec::new(),
        xticks: axis.ticks(),
        series: Vec::new(),
        rows: Vec::new(),
    }
}

/// A line through the seconds that have a value; `y` maps a value to the plot.
fn series(
    label: &str,
    class: &str,
    axis: Axis,
    values: impl IntoIterator<Item = (u64, Option<f64>)>,
    y: impl Fn(f64) -> f64,
) -> Series {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<u64> = None;
    for (second, v) in values {
        let Some(v) = v else { continue };
        // Each second's point sits in its middle.
        let p = (axis.x(second as f64 + 0.5), y(v));
        match (last, runs.last_mut()) {
            (Some(l), Some(run)) if l + 1 == second => run.push(p),
            _ => runs.push(vec![p]),
        }
        last = Some(second);
    }
    let mut segments = Vec::new();
    let mut dots = Vec::new();
    for run in runs {
        if run.len() == 1 {
            dots.push((f1(run[0].0), f1(run[0].1)));
        } else {
            let mut pts = String::new();
            for (x, y) in run {
                let _ = write!(pts, "{x:.1},{y:.1} ");
            }
            segments.push(pts.trim_end().to_owned());
        }
    }
    Series {
        label: label.to_owned(),
        class: class.to_owned(),
        segments,
        dots,
    }
}

fn pct_chart(r: &ScenarioReport, axis: Axis, title: &str, named: bool) -> Chart {
    let mut c = frame(r, axis, title, PLOT, named);
    c.yticks = [0.0, 25.0, 50.0, 75.0, 100.0]
        .into_iter()
        .map(|v| Tick {
            at: f1(pct_y(v)),
            label: format!("{v:.0}%"),
        })
        .collect();
    c
}

fn pct_y(v: f64) -> f64 {
    TOP + PLOT - v.clamp(0.0, 100.0) / 100.0 * PLOT
}

fn latency_y(ms: f64) -> f64 {
    let span = (LAT_MAX_MS / LAT_MIN_MS).log10();
    let v = ms.clamp(LAT_MIN_MS, LAT_MAX_MS);
    TOP + PLOT - (v / LAT_MIN_MS).log10() / span * PLOT
}

fn charts(r: &ScenarioReport, axis: Axis) -> Vec<Chart> {
    let secs = &r.timeline.seconds;
    let mut success = pct_chart(
        r,
        axis,
        "Success: % of the requests started each second answered 2xx",
        true,
    );
    let groups: BTreeSet<&str> = secs
        .iter()
        .flat_map(|s| s.groups.keys().map(String::as_str))
        .collect();
    for (i, g) in groups.into_iter().enumerate() {
        success.series.push(series(
            g,
            &format!("g{}", i % 6),
            axis,
            secs.iter().map(|s| (s.second, s.groups.get(g).copied())),
            pct_y,
        ));
    }
    // Last, so that it is drawn over the groups.
    success.series.push(series(
        "all (through the gateway)",
        "all",
        axis,
        secs.iter().map(|s| (s.second, s.success_pct)),
        pct_y,
    ));
    let mut degraded = pct_chart(
        r,
        axis,
        "Degraded: % of the 2xx answers marked TIS-Degraded",
        false,
    );
    degraded.series.push(series(
        "degraded",
        "degraded",
        axis,
        secs.iter().map(|s| (s.second, s.degraded_pct)),
        pct_y,
    ));
    let mut latency = frame(
        r,
        axis,
        "Latency of the requests started each second (log scale, retries included)",
        PLOT,
        false,
    );
    latency.yticks = [1.0, 10.0, 100.0, 1000.0, 10_000.0]
        .into_iter()
        .map(|v| Tick {
            at: f1(latency_y(v)),
            label: fmt_ms(Duration::from_secs_f64(v / 1000.0)),
        })
        .collect();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    latency.series.push(series(
        "p50",
        "p50",
        axis,
        secs.iter()
            .map(|s| (s.second, (s.requests > 0).then(|| ms(s.p50)))),
        latency_y,
    ));
    latency.series.push(series(
        "p99",
        "p99",
        axis,
        secs.iter()
            .map(|s| (s.second, (s.requests > 0).then(|| ms(s.p99)))),
        latency_y,
    ));
    vec![success, degraded, latency]
}

/// The status page's answers: one row per capability, a cell per poll.
fn status_strip(r: &ScenarioReport, axis: Axis) -> Chart {
    let polls = &r.timeline.polls;
    let mut ids: Vec<String> = Vec::new();
    for p in polls {
        for id in p.capabilities.iter().flat_map(|c| c.keys()) {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    // `overall` first, then the capabilities in the order the page shows them.
    ids.sort_by_key(|id| (id != "overall", id.clone()));
    let rows_h = ROW * ids.len().max(1) as f64;
    let mut c = frame(r, axis, "/api/status, polled every 500 ms", rows_h, false);
    for (i, id) in ids.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let mut cells = Vec::new();
        for (n, p) in polls.iter().enumerate() {
            let t0 = p.at.as_secs_f64();
            let t1 = polls
                .get(n + 1)
                .map(|q| q.at.as_secs_f64())
                .unwrap_or(t0 + 0.5);
            let (x0, x1) = (axis.x(t0), axis.x(t1));
            let (class, title) = match p.capabilities.as_ref().map(|c| c.get(id)) {
                None => ("none".to_owned(), "no answer".to_owned()),
                Some(None) => ("none".to_owned(), "not shown".to_owned()),
                Some(Some((level, reason))) => (
                    match level.as_str() {
                        "ok" | "degraded" | "down" => level.clone(),
                        _ => "none".to_owned(),
                    },
                    format!("{level}: {reason}"),
                ),
            };
            cells.push(Cell {
                x: f1(x0),
                // A little wider than the poll's span: no hairline gaps between cells.
                w: f1((x1 - x0).max(0.5) + 0.4),
                class,
                title: format!("{:.1}s {id} {title}", t0),
            });
        }
        c.rows.push(Row {
            label: id.clone(),
            y: f1(y + 1.0),
            label_y: f1(y + ROW * 0.7),
            cells,
        });
    }
    c
}

fn phase_row(p: &super::PhaseReport) -> PhaseRow {
    let s: &Stats = &p.all;
    PhaseRow {
        name: p.name.clone(),
        time: format!("{:.1}s", p.duration.as_secs_f64()),
        requests: s.requests,
        success: format!("{:.2}%", s.success_pct),
        degraded: format!("{:.2}%", s.degraded_pct),
        p50: fmt_ms(s.p50),
        p99: fmt_ms(s.p99),
        max: fmt_ms(s.max),
        errors: format_errors(&s.errors),
        actions: p
            .actions
            .iter()
            .map(|a| match &a.error {
                None => format!("{} ({:.1}s)", a.action, a.took.as_secs_f64()),
                Some(e) => format!("{} FAILED: {e}", a.action),
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn view(r: &ScenarioReport) -> ScenarioView {
    let axis = Axis::of(r);
    ScenarioView {
        id: r.scenario.clone(),
        name: r.scenario.clone(),
        summary: r.summary.clone(),
        proves: r.proves.clone().unwrap_or_default(),
        version: r.version.to_owned(),
        rate: format!("{}", r.rate),
        started_at: r.started_at.clone(),
        passed: r.passed,
        missed: r.missed(),
        charts: charts(r, axis),
        status: status_strip(r, axis),
        phases: r.phases.iter().map(phase_row).collect(),
        verdicts: r
            .verdicts
            .iter()
            .map(|v| VerdictRow {
                passed: v.passed,
                what: v.what.clone(),
                expected: v.expected.clone(),
                actual: v.actual.clone(),
            })
            .collect(),
        writes: r
            .writes
            .as_ref()
            .map(WriteCheck::summary)
            .unwrap_or_else(|| "not checked".to_owned()),
        kept: r.kept.clone().unwrap_or_default(),
    }
}

/// The page for `reports` (one or several scenarios).
pub fn render(reports: &[ScenarioReport], generated_at: &str) -> String {
    let title = match reports {
        [one] => format!("tis chaos: {}", one.scenario),
        _ => format!("tis chaos: {} scenarios", reports.len()),
    };
    Page {
        title,
        generated_at: generated_at.to_owned(),
        scenarios: reports.iter().map(view).collect(),
    }
    .render()
    .unwrap_or_else(|e| format!("<!doctype html><title>tis chaos</title><p>report: {e}"))
}

/// Writes the page for `reports` to `file`, stamped with the time now.
pub fn write(file: &std::path::Path, reports: &[ScenarioReport]) -> std::io::Result<()> {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    std::fs::write(file, render(reports, &now))
}

/// Whether `html` is well-formed: every element closed, in order (void elements and `/>`
/// excepted), no text in `<style>` taken for tags. For tests of the report.
pub fn well_formed(html: &str) -> Result<(), String> {
    const VOID: &[&str] = &["meta", "br", "img", "input", "link", "hr"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').ok_or("a tag is never closed by `>`")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(top) if top == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            return Err(format!("a stray `<` before {tag:?}"));
        }
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "style" {
            let close = rest.find("</style>").ok_or("<style> never closed")?;
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        open.push(name);
    }
    if open.is_empty() {
        Ok(())
    } else {
        Err(format!("never closed: {open:?}"))
    }
}

#[cfg(test)]
mod tests;
