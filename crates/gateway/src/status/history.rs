//! The status page's history (issue 18): how each capability did over the last 24 hours
//! (96 bars of 15 minutes) and 30 days (30 bars of one UTC day), the share of each window it
//! was fully working, and the incidents (start, end, what was degraded, in plain words).
//!
//! **What drives it.** Nothing new is measured: a sampler ([`recorder`]) takes the live
//! public status ([`super::Sources::public`], the same answer as `/api/status`) every
//! `sample_interval` and adds the time since its last sample to the level each capability
//! has now. The request path never touches the history.
//!
//! **Cells, keyed by the wall clock.** Time is counted per *cell*: (15-minute slot starting
//! at a UTC multiple of 15 minutes, capability, gateway), holding milliseconds seen `ok`,
//! `degraded` and `down`. Slots are wall-clock boundaries, so every gateway's cells for
//! "11:15–11:30, login" describe the same interval whatever the gateway and whenever it
//! started. A day bar is its 96 slots.
//!
//! **Two gateways tell one story.** Each gateway keeps its own cells and incidents under
//! its id, and pulls its peers' (`GET /admin/status/history?since=…` on their admin
//! listeners, `status_history.peers`) every `exchange_interval`. Joining is a field-wise
//! maximum of cumulative counters (idempotent, commutative, associative), and the view
//! combines the gateways of a slot with the worst any of them saw (the most down time, then
//! the most degraded time, over the longest observed time), and merges overlapping incidents
//! of a capability into one. Gateways that have exchanged hold the same cells and incidents,
//! so they render the same bars, percentages and incidents.
//!
//! **Kept across restarts.** With `status_history.file` set (`tis up`: `.tis/status-history.jsonl`),
//! changed cells and incidents are appended as JSON lines every `flush_interval` (off the
//! request path, on a blocking thread) and read back at start; the gateway's id is the
//! file's first line, so a restarted gateway carries on its own cells. The file is rewritten
//! (temporary file, then rename) at start and whenever it has grown past four times its live
//! content, and holds 30 days: bounded whatever the uptime. A `kill -9` loses at most the
//! last `flush_interval`.

pub mod recorder;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Capability, Level};

/// One bar of the 24-hour view.
pub const SLOT_MS: u64 = 15 * 60 * 1000;
/// One bar of the 30-day view.
pub const DAY_MS: u64 = 24 * 3600 * 1000;
/// Bars of each view.
pub const DAY_BARS: u64 = 96;
pub const MONTH_BARS: u64 = 30;
/// Incidents kept per capability (the newest).
const INCIDENTS_PER_CAPABILITY: usize = 100;
/// A gateway not heard from for this long has its open incidents shown as ended when it
/// was last heard from (it crashed, or was taken away, in the middle of one).
const SILENT: Duration = Duration::from_secs(300);

/// `[gateway.status_history]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// The append-only file the history is kept in (JSON lines). Unset: in memory only, lost
    /// at restart.
    pub file: Option<PathBuf>,
    /// How often the live status is sampled into the history.
    #[serde(with = "humantime_serde")]
    pub sample_interval: Duration,
    /// How often changed cells are appended to `file`.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    /// The admin listeners (`host:port`) of the other gateways, whose history this one
    /// merges with its own. A name resolving to several addresses (a Kubernetes headless
    /// Service) means all of them; this gateway's own address may be listed (it is
    /// recognised by its id and skipped), so every gateway can share one list.
    pub peers: Vec<String>,
    /// How often the peers' history is pulled.
    #[serde(with = "humantime_serde")]
    pub exchange_interval: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            file: None,
            sample_interval: Duration::from_secs(10),
            flush_interval: Duration::from_secs(60),
            peers: Vec::new(),
            exchange_interval: Duration::from_secs(30),
        }
    }
}

impl HistoryConfig {
    /// Problems, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (key, d) in [
            ("sample_interval", self.sample_interval),
            ("flush_interval", self.flush_interval),
            ("exchange_interval", self.exchange_interval),
        ] {
            if d < Duration::from_millis(10) || d > Duration::from_secs(SLOT_MS / 1000) {
                out.push(format!(
                    "`gateway.status_history.{key}` must be between 10ms and 15m, not {}",
                    humantime::format_duration(d)
                ));
            }
        }
        out
    }
}

/// Milliseconds a capability was seen at each level in one cell (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub ok: u64,
    pub degraded: u64,
    pub down: u64,
}

impl Counts {
    fn add(&mut self, level: Level, ms: u64) {
        match level {
            Level::Ok => self.ok += ms,
            Level::Degraded => self.degraded += ms,
            Level::Down => self.down += ms,
        }
    }

    /// The join of two versions of one gateway's cell (counters only grow).
    fn join(&mut self, other: Counts) {
        self.ok = self.ok.max(other.ok);
        self.degraded = self.degraded.max(other.degraded);
        self.down = self.down.max(other.down);
    }

    fn observed(self) -> u64 {
        self.ok + self.degraded + self.down
    }

    /// Several gateways' views of one slot: the worst any of them saw.
    fn worst(views: impl Iterator<Item = Counts>) -> Counts {
        let (mut observed, mut down, mut degraded) = (0, 0, 0);
        for c in views {
            observed = observed.max(c.observed());
            down = down.max(c.down);
            degraded = degraded.max(c.degraded);
        }
        let degraded = degraded.min(observed - down);
        Counts {
            ok: observed - down - degraded,
            degraded,
            down,
        }
    }

    fn sum(&mut self, other: Counts) {
        self.ok += other.ok;
        self.degraded += other.degraded;
        self.down += other.down;
    }

    /// A bar's level: the worst seen in it, `None` when nothing was seen.
    fn level(self) -> Option<Level> {
        if self.observed() == 0 {
            None
        } else if self.down > 0 {
            Some(Level::Down)
        } else if self.degraded > 0 {
            Some(Level::Degraded)
        } else {
            Some(Level::Ok)
        }
    }
}

/// One gateway's count of one capability in one 15-minute slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The slot's start, ms since the epoch (a multiple of [`SLOT_MS`]).
    pub slot: u64,
    pub capability: String,
    pub gateway: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// One gateway's record of one incident of one capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub gateway: String,
    pub capability: String,
    /// What people call the capability ("Reference data").
    pub name: String,
    /// ms since the epoch.
    pub start: u64,
    pub end: Option<u64>,
    /// The worst level it reached.
    pub level: Level,
    /// What was wrong, in plain words (the live status's sentence at its worst).
    pub reason: String,
}

/// What one gateway hands its peers and its file: `GET /admin/status/history?since=…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub gateway: String,
    pub cells: Vec<Cell>,
    pub incidents: Vec<Incident>,
    /// When each gateway last sampled, ms since the epoch.
    pub seen: BTreeMap<String, u64>,
    /// Capability id → name, for capabilities no longer in the route table.
    pub names: BTreeMap<String, String>,
}

type CellKey = (u64, String, String);
type IncidentKey = (String, String, u64);

/// The history: every known gateway's cells and incidents (see the module documentation).
#[derive(Debug)]
pub struct History {
    me: String,
    cells: BTreeMap<CellKey, Counts>,
    incidents: BTreeMap<IncidentKey, Incident>,
    seen: BTreeMap<String, u64>,
    names: BTreeMap<String, String>,
    /// This gateway's open incident per capability (its key).
    open: HashMap<String, IncidentKey>,
    dirty_cells: BTreeSet<CellKey>,
    dirty_incidents: BTreeSet<IncidentKey>,
    dirty_names: bool,
}

impl Default for History {
    /// An empty history under a new id (a gateway without a history file).
    fn default() -> History {
        History::new(new_id())
    }
}

impl History {
    pub fn new(me: impl Into<String>) -> History {
        History {
            me: me.into(),
            cells: BTreeMap::new(),
            incidents: BTreeMap::new(),
            seen: BTreeMap::new(),
            names: BTreeMap::new(),
            open: HashMap::new(),
            dirty_cells: BTreeSet::new(),
            dirty_incidents: BTreeSet::new(),
            dirty_names: false,
        }
    }

    /// This gateway's id.
    pub fn id(&self) -> &str {
        &self.me
    }

    /// Adds `ms` at each capability's level, in the slot of `now` (ms since the epoch), and
    /// opens, worsens or closes this gateway's incidents.
    pub fn record(&mut self, now: u64, caps: &[Capability], ms: u64) {
        let slot = now - now % SLOT_MS;
        for cap in caps {
            let key = (slot, cap.id.clone(), self.me.clone());
            self.cells
                .entry(key.clone())
                .or_default()
                .add(cap.status, ms);
            self.dirty_cells.insert(key);
            if self.names.get(&cap.id) != Some(&cap.name) {
                self.names.insert(cap.id.clone(), cap.name.clone());
                self.dirty_names = true;
            }
            self.track(now, cap);
        }
        // A capability gone from the table (a route removed) ends its incident.
        let live: BTreeSet<&str> = caps.iter().map(|c| c.id.as_str()).collect();
        let gone: Vec<String> = self
            .open
            .keys()
            .filter(|c| !live.contains(c.as_str()))
            .cloned()
            .collect();
        for cap in gone {
            self.close(&cap, now);
        }
        self.seen.insert(self.me.clone(), now);
    }

    fn track(&mut self, now: u64, cap: &Capability) {
        match (self.open.get(&cap.id).cloned(), cap.status) {
            (None, Level::Ok) => {}
            (Some(_), Level::Ok) => self.close(&cap.id, now),
            (None, level) => {
                let key = (self.me.clone(), cap.id.clone(), now);
                self.incidents.insert(
                    key.clone(),
                    Incident {
                        gateway: self.me.clone(),
                        capability: cap.id.clone(),
                        name: cap.name.clone(),
                        start: now,
                        end: None,
                        level,
                        reason: cap.reason.clone(),
                    },
                );
                self.dirty_incidents.insert(key.clone());
                self.open.insert(cap.id.clone(), key);
            }
            (Some(key), level) => {
                if let Some(i) = self.incidents.get_mut(&key)
                    && level > i.level
                {
                    i.level = level;
                    i.reason = cap.reason.clone();
                    self.dirty_incidents.insert(key);
                }
            }
        }
    }

    fn close(&mut self, cap: &str, now: u64) {
        if let Some(key) = self.open.remove(cap) {
            if let Some(i) = self.incidents.get_mut(&key) {
                i.end = Some(now);
            }
            self.dirty_incidents.insert(key);
        }
    }

    /// Takes in another gateway's export (or this one's, read back from its file).
    pub fn absorb(&mut self, export: Export) {
        for cell in export.cells {
            let key = (cell.slot, cell.capability, cell.gateway);
            let mine = key.2 == self.me;
            let entry = self.cells.entry(key.clone()).or_default();
            let before = *entry;
            entry.join(cell.counts);
            if mine && *entry != before {
                self.dirty_cells.insert(key);
            }
        }
        for incident in export.incidents {
            let key = (
                incident.gateway.clone(),
                incident.capability.clone(),
                incident.start,
            );
            match self.incidents.get_mut(&key) {
                // An ended record wins over the open one; a worse level over a better one.
                Some(known) => {
                    if known.end.is_none() {
                        known.end = incident.end;
                    }
                    if incident.level > known.level {
                        known.level = incident.level;
                        known.reason = incident.reason;
                    }
                }
                None => {
                    self.incidents.insert(key, incident);
                }
            }
        }
        for (gateway, at) in export.seen {
            let e = self.seen.entry(gateway).or_default();
            *e = (*e).max(at);
        }
        for (id, name) in export.names {
            self.names.entry(id).or_insert(name);
        }
    }

    /// After reading back its own file: an incident this gateway left open when it stopped
    /// ended when it was last heard from (the live status opens a new one if it goes on).
    pub fn resume(&mut self) {
        let last = self.seen.get(&self.me).copied().unwrap_or(0);
        for i in self.incidents.values_mut() {
            if i.gateway == self.me && i.end.is_none() {
                i.end = Some(last.max(i.start));
            }
        }
        self.open.clear();
    }

    /// Cells and incidents that concern `since` (ms) or later: what peers pull.
    pub fn export(&self, since: u64) -> Export {
        let slot = since - since % SLOT_MS;
        Export {
            gateway: self.me.clone(),
            cells: self
                .cells
                .range((slot, String::new(), String::new())..)
                .map(|(k, c)| cell(k, *c))
                .collect(),
            incidents: self
                .incidents
                .values()
                .filter(|i| i.end.is_none_or(|e| e >= since))
                .cloned()
                .collect(),
            seen: self.seen.clone(),
            names: self.names.clone(),
        }
    }

    /// Everything, for rewriting the file.
    fn export_all(&self) -> Export {
        let mut all = self.export(0);
        all.incidents = self.incidents.values().cloned().collect();
        all
    }

    /// What changed since the last call: the lines to append to the file.
    fn take_dirty(&mut self) -> Export {
        let cells = std::mem::take(&mut self.dirty_cells)
            .into_iter()
            .filter_map(|k| self.cells.get(&k).map(|c| cell(&k, *c)))
            .collect();
        let incidents = std::mem::take(&mut self.dirty_incidents)
            .into_iter()
            .filter_map(|k| self.incidents.get(&k).cloned())
            .collect();
        let names = if std::mem::take(&mut self.dirty_names) {
            self.names.clone()
        } else {
            BTreeMap::new()
        };
        Export {
            gateway: self.me.clone(),
            cells,
            incidents,
            seen: self.seen.clone(),
            names,
        }
    }

    /// Forgets what is older than the 30-day view and all but the newest incidents of each
    /// capability: the history's whole size is bounded.
    pub fn prune(&mut self, now: u64) {
        let from = month_start(now);
        self.cells = self.cells.split_off(&(from, String::new(), String::new()));
        self.incidents
            .retain(|_, i| i.end.is_none_or(|e| e >= from));
        let mut per: BTreeMap<String, Vec<(u64, IncidentKey)>> = BTreeMap::new();
        for (k, i) in &self.incidents {
            per.entry(i.capability.clone())
                .or_default()
                .push((i.start, k.clone()));
        }
        for mut list in per.into_values() {
            if list.len() > INCIDENTS_PER_CAPABILITY {
                list.sort();
                for (_, k) in &list[..list.len() - INCIDENTS_PER_CAPABILITY] {
                    self.incidents.remove(k);
                }
            }
        }
    }

    /// Entries held (cells and incidents): the measure of the file's live content.
    pub fn len(&self) -> usize {
        self.cells.len() + self.incidents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The view of `caps` (the live capabilities, in their order) at `now`.
    pub fn view(&self, now: u64, caps: &[Capability]) -> HistoryView {
        let day_end = now - now % SLOT_MS + SLOT_MS;
        let day_start = day_end - DAY_BARS * SLOT_MS;
        let month_end = now - now % DAY_MS + DAY_MS;
        let month_start = month_start(now);
        let gateways: BTreeSet<&str> = self
            .cells
            .range((month_start, String::new(), String::new())..)
            .map(|((_, _, g), _)| g.as_str())
            .collect();
        let capabilities = caps
            .iter()
            .map(|cap| {
                let slots = self.slots(&cap.id, month_start);
                CapabilityHistory {
                    id: cap.id.clone(),
                    name: cap.name.clone(),
                    day: window(&slots, day_start, day_end, SLOT_MS),
                    month: window(&slots, month_start, month_end, DAY_MS),
                }
            })
            .collect();
        HistoryView {
            gateways: gateways.len(),
            capabilities,
            incidents: self.merged_incidents(now, month_start),
        }
    }

    /// The combined counts of each slot of `capability` from `from`.
    fn slots(&self, capability: &str, from: u64) -> BTreeMap<u64, Counts> {
        let mut per: BTreeMap<u64, Vec<Counts>> = BTreeMap::new();
        for ((slot, cap, _), counts) in self.cells.range((from, String::new(), String::new())..) {
            if cap == capability {
                per.entry(*slot).or_default().push(*counts);
            }
        }
        per.into_iter()
            .map(|(slot, views)| (slot, Counts::worst(views.into_iter())))
            .collect()
    }

    /// Every gateway's incidents, overlapping ones of a capability merged into one, newest
    /// first.
    fn merged_incidents(&self, now: u64, from: u64) -> Vec<IncidentView> {
        let mut by_cap: BTreeMap<&str, Vec<(u64, u64, bool, &Incident)>> = BTreeMap::new();
        for i in self.incidents.values() {
            let silent_since = self
                .seen
                .get(&i.gateway)
                .copied()
                .filter(|&s| now.saturating_sub(s) > SILENT.as_millis() as u64);
            let (end, ongoing) = match (i.end, silent_since) {
                (Some(e), _) => (e, false),
                (None, Some(last)) => (last.max(i.start), false),
                (None, None) => (now.max(i.start), true),
            };
            if end < from {
                continue;
            }
            by_cap
                .entry(i.capability.as_str())
                .or_default()
                .push((i.start, end, ongoing, i));
        }
        let mut out = Vec::new();
        for (_, mut list) in by_cap {
            list.sort_by_key(|(s, e, _, _)| (*s, *e));
            let mut current: Option<Merged> = None;
            for (start, end, ongoing, i) in list {
                match &mut current {
                    Some(m) if start <= m.end => {
                        m.end = m.end.max(end);
                        m.ongoing |= ongoing;
                        if i.level > m.level {
                            m.level = i.level;
                        }
                        m.reasons
                            .insert((std::cmp::Reverse(i.level), i.reason.clone()));
                    }
                    _ => {
                        if let Some(m) = current.take() {
                            out.push(m.view());
                        }
                        current = Some(Merged {
                            capability: i.capability.clone(),
                            name: self.names.get(&i.capability).unwrap_or(&i.name).clone(),
                            start,
                            end,
                            ongoing,
                            level: i.level,
                            reasons: BTreeSet::from([(
                                std::cmp::Reverse(i.level),
                                i.reason.clone(),
                            )]),
                        });
                    }
                }
            }
            if let Some(m) = current {
                out.push(m.view());
            }
        }
        out.sort_by(|a, b| {
            b.start_ms
                .cmp(&a.start_ms)
                .then(a.capability.cmp(&b.capability))
        });
        out
    }
}

struct Merged {
    capability: String,
    name: String,
    start: u64,
    end: u64,
    ongoing: bool,
    level: Level,
    reasons: BTreeSet<(std::cmp::Reverse<Level>, String)>,
}

impl Merged {
    fn view(self) -> IncidentView {
        let reasons: Vec<String> = self.reasons.into_iter().map(|(_, r)| r).collect();
        let lasted = Duration::from_millis(self.end - self.start);
        IncidentView {
            capability: self.capability,
            name: self.name,
            start: rfc3339(self.start),
            end: (!self.ongoing).then(|| rfc3339(self.end)),
            start_ms: self.start,
            end_ms: self.end,
            ongoing: self.ongoing,
            level: self.level,
            lasted: plain_span(lasted),
            what: reasons.join(" "),
        }
    }
}

fn cell(k: &CellKey, counts: Counts) -> Cell {
    Cell {
        slot: k.0,
        capability: k.1.clone(),
        gateway: k.2.clone(),
        counts,
    }
}

/// The first slot of the 30-day view.
fn month_start(now: u64) -> u64 {
    (now - now % DAY_MS + DAY_MS).saturating_sub(MONTH_BARS * DAY_MS)
}

fn window(slots: &BTreeMap<u64, Counts>, start: u64, end: u64, bar: u64) -> Window {
    let mut total = Counts::default();
    let mut bars = Vec::new();
    let mut at = start;
    while at < end {
        let mut c = Counts::default();
        for (_, counts) in slots.range(at..at + bar) {
            c.sum(*counts);
        }
        total.sum(c);
        bars.push(Bar {
            start: at,
            minutes: bar / 60_000,
            level: c.level(),
            counts: c,
        });
        at += bar;
    }
    Window {
        start: rfc3339(start),
        bar_minutes: bar / 60_000,
        availability: (total.observed() > 0)
            .then(|| (total.ok as f64 * 100_000.0 / total.observed() as f64).floor() / 1000.0),
        observed_seconds: total.observed() / 1000,
        bars,
    }
}

/// `GET /api/status`'s `history`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    /// Gateways whose view is merged in.
    pub gateways: usize,
    pub capabilities: Vec<CapabilityHistory>,
    /// Newest first.
    pub incidents: Vec<IncidentView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityHistory {
    pub id: String,
    pub name: String,
    /// The last 24 hours: 96 bars of 15 minutes, oldest first, the last one now.
    pub day: Window,
    /// The last 30 days: 30 bars of one UTC day, oldest first, the last one today.
    pub month: Window,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// The first bar's start (RFC 3339, UTC).
    pub start: String,
    pub bar_minutes: u64,
    /// The share of observed time the capability was fully working (`ok`), in per cent
    /// (three decimals, rounded down); `null` when nothing was observed.
    pub availability: Option<f64>,
    pub observed_seconds: u64,
    pub bars: Vec<Bar>,
}

impl Window {
    /// "99.931 %", or "no data yet".
    pub fn percent(&self) -> String {
        self.availability
            .map_or_else(|| "no data yet".to_owned(), |a| format!("{a} %"))
    }

    /// The bars' text alternative: "working normally 99.931 % of the time; 2 of 96 bars
    /// with trouble (1 down, 1 degraded)".
    pub fn summary(&self) -> String {
        let count = |l: Level| self.bars.iter().filter(|b| b.level == Some(l)).count();
        let (down, degraded) = (count(Level::Down), count(Level::Degraded));
        let Some(a) = self.availability else {
            return "no data yet".to_owned();
        };
        if down + degraded == 0 {
            format!("working normally {a} % of the time observed, no trouble")
        } else {
            format!(
                "working normally {a} % of the time observed; {} of {} bars with trouble ({down} down, {degraded} degraded)",
                down + degraded,
                self.bars.len()
            )
        }
    }
}

/// One bar: the worst level seen in it (`none`: no gateway was running).
#[derive(Debug, Clone)]
pub struct Bar {
    pub start: u64,
    pub minutes: u64,
    pub level: Option<Level>,
    pub counts: Counts,
}

impl Bar {
    pub fn class(&self) -> &'static str {
        self.level.map_or("none", Level::as_str)
    }

    /// The bar's text alternative, as people read it: "7 Dec 2026, 11:15–11:30 UTC: down for
    /// 2 minutes", "7 Dec 2026: down for 2 minutes, degraded for 5 minutes".
    pub fn label(&self) -> String {
        let minutes = self.minutes;
        let when = if minutes >= 24 * 60 {
            readable_date(self.start)
        } else {
            let to = rfc3339(self.start + minutes * 60_000);
            format!(
                "{}–{} UTC",
                readable(self.start).trim_end_matches(" UTC"),
                &to[11..16]
            )
        };
        let span = |what: &str, ms: u64| {
            (ms > 0).then(|| format!("{what} for {}", plain_span(Duration::from_millis(ms))))
        };
        match self.level {
            None => format!("{when}: no data"),
            Some(Level::Ok) => format!("{when}: working normally"),
            Some(_) => {
                let parts: Vec<String> = [
                    span("down", self.counts.down),
                    span("degraded", self.counts.degraded),
                ]
                .into_iter()
                .flatten()
                .collect();
                format!("{when}: {}", parts.join(", "))
            }
        }
    }
}

impl Serialize for Bar {
    /// A bar in JSON is its level alone (`"ok"`, `"degraded"`, `"down"`, `"none"`): 126
    /// per capability, so `/api/status` stays small.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.class())
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentView {
    pub capability: String,
    pub name: String,
    pub start: String,
    /// `null` while it goes on.
    pub end: Option<String>,
    #[serde(skip)]
    pub start_ms: u64,
    /// Now while it goes on.
    #[serde(skip)]
    pub end_ms: u64,
    pub ongoing: bool,
    /// The worst level it reached.
    pub level: Level,
    /// "12 minutes".
    pub lasted: String,
    /// What was degraded, in plain words.
    pub what: String,
}

impl IncidentView {
    /// When it happened, as people read it (the page; the JSON keeps RFC 3339):
    /// "7 Dec 2026, 10:30 to 10:32 UTC, for 2 minutes", or "Since 7 Dec 2026, 10:30 UTC,
    /// for 1 minute so far: still going on".
    pub fn when(&self) -> String {
        let start = readable(self.start_ms);
        if self.ongoing {
            return format!("Since {start}, for {} so far: still going on", self.lasted);
        }
        let end = if readable_date(self.end_ms) == readable_date(self.start_ms) {
            let to = rfc3339(self.end_ms);
            format!("{} to {} UTC", start.trim_end_matches(" UTC"), &to[11..16])
        } else {
            format!("{start} to {}", readable(self.end_ms))
        };
        format!("{end}, for {}", self.lasted)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "7 Dec 2026": a day as people read it (UTC).
pub fn readable_date(ms: u64) -> String {
    let iso = rfc3339(ms); // 2026-12-07T10:30:00Z
    let month = iso[5..7]
        .parse::<usize>()
        .map_or("?", |m| MONTHS[(m + 11) % 12]);
    let day = iso[8..10].trim_start_matches('0');
    format!("{day} {month} {}", &iso[..4])
}

/// "7 Dec 2026, 10:30 UTC": a moment as people read it (the status page; `/api/status` keeps
/// RFC 3339).
pub fn readable(ms: u64) -> String {
    format!("{}, {} UTC", readable_date(ms), &rfc3339(ms)[11..16])
}

/// "7 Dec 2026, 10:30:05 UTC", from RFC 3339 (the live status's `checkedAt`); the text
/// itself if it is not RFC 3339.
pub fn readable_rfc3339(iso: &str) -> String {
    match humantime::parse_rfc3339(iso) {
        Ok(t) => {
            let ms = t
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            format!("{}, {} UTC", readable_date(ms), &rfc3339(ms)[11..19])
        }
        Err(_) => iso.to_owned(),
    }
}

/// "3 seconds", "12 minutes", "2 hours 5 minutes".
pub fn plain_span(d: Duration) -> String {
    let s = d.as_secs();
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if s < 120 {
        plural(s, "second")
    } else if s < 2 * 3600 {
        plural(s / 60, "minute")
    } else if s % 3600 < 60 {
        plural(s / 3600, "hour")
    } else {
        format!(
            "{} {}",
            plural(s / 3600, "hour"),
            plural(s % 3600 / 60, "minute")
        )
    }
}

pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// Now, ms since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The history's file: JSON lines, appended to, rewritten when it has grown too much.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    /// Lines appended since the last rewrite.
    appended: usize,
    /// Lines written at the last rewrite.
    base: usize,
}

/// One line of the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "k")]
enum Line {
    /// The first line: whose file this is.
    Gateway {
        id: String,
    },
    Cell(Cell),
    Incident(Incident),
    Seen {
        gateway: String,
        at: u64,
    },
    Name {
        id: String,
        name: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("status history file {path}: {source}")]
pub struct JournalError {
    path: String,
    source: std::io::Error,
}

impl Journal {
    /// Opens (or creates) the file and reads the history back; rewrites it compacted.
    pub fn open(path: &Path, now: u64) -> Result<(Journal, History), JournalError> {
        let err = |source| JournalError {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut id = None;
        let mut read = Export::default();
        let mut bad = 0usize;
        match std::fs::File::open(path) {
            Ok(f) => {
                for line in std::io::BufReader::new(f).lines() {
                    let line = line.map_err(err)?;
                    match serde_json::from_str::<Line>(&line) {
                        Ok(Line::Gateway { id: i }) => id = id.or(Some(i)),
                        Ok(Line::Cell(c)) => read.cells.push(c),
                        Ok(Line::Incident(i)) => read.incidents.push(i),
                        Ok(Line::Seen { gateway, at }) => {
                            let e = read.seen.entry(gateway).or_default();
                            *e = (*e).max(at);
                        }
                        Ok(Line::Name { id, name }) => {
                            read.names.insert(id, name);
                        }
                        // A line cut short by a crash, or written by a newer version.
                        Err(_) => bad += 1,
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        if bad > 0 {
            tracing::warn!(file.path = %path.display(), lines = bad, "status history: unreadable lines skipped");
        }
        let mut history = History::new(id.unwrap_or_else(new_id));
        history.absorb(read);
        history.resume();
        history.prune(now);
        history.dirty_cells.clear();
        history.dirty_incidents.clear();
        history.dirty_names = false;
        let (file, base) = rewrite(path, &history).map_err(err)?;
        Ok((
            Journal {
                path: path.to_owned(),
                file,
                appended: 0,
                base,
            },
            history,
        ))
    }

    /// Appends what changed, or, given the whole history (when [`Journal::wants_rewrite`]),
    /// rewrites the file with it. Blocking: call it off the async threads.
    pub fn write(&mut self, changes: &Export, whole: Option<&History>) -> Result<(), JournalError> {
        let err = |source| JournalError {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(h) = whole {
            let (file, base) = rewrite(&self.path, h).map_err(err)?;
            self.file = file;
            self.base = base;
            self.appended = 0;
            return Ok(());
        }
        let (text, n) = lines(changes, false);
        self.file.write_all(text.as_bytes()).map_err(err)?;
        self.appended += n;
        Ok(())
    }

    /// Whether the file holds four times its live content (or 4,000 lines, for a small one).
    pub fn wants_rewrite(&self) -> bool {
        self.appended > 3 * self.base.max(1000)
    }
}

impl History {
    /// What changed since the last flush, for [`Journal::write`].
    pub fn changes(&mut self) -> Export {
        self.take_dirty()
    }

    /// A copy of everything, for a rewrite of the file.
    pub fn snapshot(&self) -> History {
        History {
            me: self.me.clone(),
            cells: self.cells.clone(),
            incidents: self.incidents.clone(),
            seen: self.seen.clone(),
            names: self.names.clone(),
            open: HashMap::new(),
            dirty_cells: BTreeSet::new(),
            dirty_incidents: BTreeSet::new(),
            dirty_names: false,
        }
    }
}

fn lines(e: &Export, header: bool) -> (String, usize) {
    let mut out = String::new();
    let mut n = 0;
    let mut push = |line: Line| {
        if let Ok(s) = serde_json::to_string(&line) {
            out.push_str(&s);
            out.push('\n');
            n += 1;
        }
    };
    if header {
        push(Line::Gateway {
            id: e.gateway.clone(),
        });
    }
    for (id, name) in &e.names {
        push(Line::Name {
            id: id.clone(),
            name: name.clone(),
        });
    }
    for c in &e.cells {
        push(Line::Cell(c.clone()));
    }
    for i in &e.incidents {
        push(Line::Incident(i.clone()));
    }
    for (gateway, at) in &e.seen {
        if header || *gateway == e.gateway {
            push(Line::Seen {
                gateway: gateway.clone(),
                at: *at,
            });
        }
    }
    (out, n)
}

/// Writes the whole history to a temporary file and renames it over `path`.
fn rewrite(path: &Path, history: &History) -> std::io::Result<(std::fs::File, usize)> {
    let (text, n) = lines(&history.export_all(), true);
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    let file = std::fs::OpenOptions::new().append(true).open(path)?;
    Ok((file, n))
}

/// A new gateway id: random, 16 hex digits.
fn new_id() -> String {
    format!("gw-{:016x}", fastrand::u64(..))
}

#[cfg(test)]
mod tests;
