//! Every create the workload made, and whether it was acknowledged; at the end, read back
//! through the API: an acknowledged create must exist exactly once (not lost), and no
//! abbreviation of ours may exist twice (not duplicated by a retried request).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use serde::Serialize;

#[derive(Default)]
struct Entries {
    acknowledged: Vec<(i64, String)>,
    unacknowledged: Vec<String>,
}

/// The creates of one run. Abbreviations are `<prefix><n>`, the prefix random per run; the
/// placements' tags `<prefix>-P<n>`.
pub struct Ledger {
    prefix: String,
    pub placements: super::placements::Placements,
    next: AtomicU64,
    entries: Mutex<Entries>,
}

/// What the read-back found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WriteCheck {
    pub acknowledged: usize,
    /// Of those, TCS placements (the rest are Reference grades).
    #[serde(default)]
    pub placements: usize,
    /// Creates that failed (or whose answer was lost) and so may or may not exist.
    pub unacknowledged: usize,
    /// Of those, how many exist (once): the write happened, the answer did not arrive.
    pub unacknowledged_stored: usize,
    /// Acknowledged but not found.
    pub lost: Vec<String>,
    /// Found more than once.
    pub duplicated: Vec<String>,
    /// Other problems found by the system's extensions (e.g. a row missing on a replica).
    pub problems: Vec<String>,
}

impl WriteCheck {
    pub fn ok(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.problems.is_empty()
    }

    /// One line: what was acknowledged, lost, doubled, and what became of the rest.
    pub fn summary(&self) -> String {
        let placements = if self.placements > 0 {
            format!(" ({} of them placements)", self.placements)
        } else {
            String::new()
        };
        format!(
            "{} creates acknowledged{placements}, {} lost, {} duplicated; {} unacknowledged ({} of them stored)",
            self.acknowledged,
            self.lost.len(),
            self.duplicated.len(),
            self.unacknowledged,
            self.unacknowledged_stored
        )
    }
}

impl Ledger {
    pub fn new() -> Ledger {
        let tag: String = (0..4)
            .map(|_| fastrand::char('A'..='Z'))
            .collect::<String>();
        let prefix = format!("CX{tag}");
        Ledger {
            placements: super::placements::Placements::new(&prefix),
            prefix,
            next: AtomicU64::new(1),
            entries: Mutex::new(Entries::default()),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn next_abbreviation(&self) -> String {
        format!(
            "{}{:05}",
            self.prefix,
            self.next.fetch_add(1, Ordering::SeqCst)
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn acknowledged(&self, abbreviation: String, id: i64) {
        self.lock().acknowledged.push((id, abbreviation));
    }

    pub fn unacknowledged(&self, abbreviation: String) {
        self.lock().unacknowledged.push(abbreviation);
    }

    /// An acknowledged create, to update.
    pub fn pick(&self, rng: &mut fastrand::Rng) -> Option<(i64, String)> {
        let entries = self.lock();
        if entries.acknowledged.is_empty() {
            return None;
        }
        Some(entries.acknowledged[rng.usize(0..entries.acknowledged.len())].clone())
    }

    pub fn abbreviations(&self) -> Vec<String> {
        self.lock()
            .acknowledged
            .iter()
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// Reads every grade of ours back through the API at `entry` with `token`.
    pub async fn check(
        &self,
        http: &reqwest::Client,
        entry: &str,
        token: &str,
    ) -> anyhow::Result<WriteCheck> {
        let (acknowledged, unacknowledged) = {
            let e = self.lock();
            (e.acknowledged.clone(), e.unacknowledged.clone())
        };
        let found = self.list_ours(http, entry, token).await?;
        let mut check = WriteCheck {
            acknowledged: acknowledged.len(),
            unacknowledged: unacknowledged.len(),
            ..WriteCheck::default()
        };
        for (id, abbreviation) in &acknowledged {
            match found.get(abbreviation) {
                None => check.lost.push(format!("{abbreviation} (id {id})")),
                Some(ids) if !ids.contains(id) => check.lost.push(format!(
                    "{abbreviation} (acknowledged as id {id}, found as {ids:?})"
                )),
                Some(_) => {}
            }
        }
        check.unacknowledged_stored = unacknowledged
            .iter()
            .filter(|a| found.contains_key(*a))
            .count();
        check.duplicated = found
            .iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(a, ids)| format!("{a} (ids {ids:?})"))
            .collect();
        Ok(check)
    }

    /// Every grade whose abbreviation starts with our prefix: abbreviation → ids.
    async fn list_ours(
        &self,
        http: &reqwest::Client,
        entry: &str,
        token: &str,
    ) -> anyhow::Result<BTreeMap<String, Vec<i64>>> {
        let mut found: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let size = 100;
        for page in 0..1000 {
            let url = format!(
                "{entry}/reference/api/grades?searchQuery={}&size={size}&page={page}&sort=id,asc",
                self.prefix
            );
            let rows = super::placements::get(http, &url, token)
                .await
                .context("reading back our grades")?;
            // The API may cap the page size below ours: stop at an empty page, not a short one.
            if rows.is_empty() {
                break;
            }
            for row in rows {
                if let (Some(a), Some(id)) = (row["abbreviation"].as_str(), row["id"].as_i64())
                    && a.starts_with(&self.prefix)
                {
                    found.entry(a.to_owned()).or_default().push(id);
                }
            }
        }
        Ok(found)
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}
