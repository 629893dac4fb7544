//! The TCS placement journeys' material and their read-back. Before the load: a pool of
//! demo posts (with their primary site and approved grade, so a create passes Reference's
//! checks) and of current demo placements (to close, each once). Each create is a one-day
//! placement on a day of its own, far in the future (no overlap with another of ours nor
//! with the demo's), tagged in `trainingDescription` with the run's prefix and a number.
//! At the end every placement of ours is read back through the API
//! (`/placements/filter` over our days): an acknowledged create must exist exactly once,
//! and no tag may exist twice (a create sent again with its Idempotency-Key is not doubled).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};

use super::ledger::WriteCheck;

/// 2060-01-01 as Unix seconds: our placements' days start there.
const FIRST_DAY: u64 = 2_840_140_800;
const DAY: u64 = 86_400;

/// A post to place in.
#[derive(Debug, Clone)]
pub struct PostRef {
    pub id: i64,
    pub site_id: i64,
    pub site_code: String,
    pub grade_id: i64,
    pub grade_code: String,
}

#[derive(Default)]
struct Entries {
    acknowledged: Vec<(String, i64)>,
    unacknowledged: Vec<String>,
    /// A create sent again with its key that answered another placement.
    replayed_elsewhere: Vec<String>,
}

/// The placements of one run.
pub struct Placements {
    prefix: String,
    /// Days after 2060-01-01 where this run's days start (random, so that runs against one
    /// database in `--attach` mode do not meet).
    base: u64,
    next: AtomicU64,
    posts: Mutex<Vec<PostRef>>,
    current: Mutex<Vec<i64>>,
    entries: Mutex<Entries>,
}

/// The date `days` after `at` (`YYYY-MM-DD`).
fn day(at: SystemTime, days: i64) -> String {
    let t = if days >= 0 {
        at + Duration::from_secs(days as u64 * DAY)
    } else {
        at - Duration::from_secs(days.unsigned_abs() * DAY)
    };
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_owned()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Placements {
    pub fn new(prefix: &str) -> Placements {
        Placements {
            prefix: format!("{prefix}-P"),
            base: fastrand::u64(0..20_000),
            next: AtomicU64::new(1),
            posts: Mutex::new(Vec::new()),
            current: Mutex::new(Vec::new()),
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The first of our days.
    fn first_day(&self) -> String {
        day(
            SystemTime::UNIX_EPOCH + Duration::from_secs(FIRST_DAY),
            self.base as i64,
        )
    }

    /// The next create: its tag and its day.
    pub fn next(&self) -> (String, String) {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(FIRST_DAY);
        (
            format!("{}{n:05}", self.prefix),
            day(at, (self.base + n) as i64),
        )
    }

    /// A post to place in.
    pub fn post(&self, rng: &mut fastrand::Rng) -> Option<PostRef> {
        let posts = lock(&self.posts);
        (!posts.is_empty()).then(|| posts[rng.usize(0..posts.len())].clone())
    }

    /// A current placement nobody closed yet.
    pub fn to_close(&self, rng: &mut fastrand::Rng) -> Option<i64> {
        let mut current = lock(&self.current);
        (!current.is_empty()).then(|| {
            let i = rng.usize(0..current.len());
            current.swap_remove(i)
        })
    }

    pub fn acknowledged(&self, tag: String, id: i64) {
        lock(&self.entries).acknowledged.push((tag, id));
    }

    pub fn unacknowledged(&self, tag: String) {
        lock(&self.entries).unacknowledged.push(tag);
    }

    pub fn replayed_elsewhere(&self, what: String) {
        lock(&self.entries).replayed_elsewhere.push(what);
    }

    /// Reads the pools through the API (before the load).
    pub async fn prepare(
        &self,
        http: &reqwest::Client,
        entry: &str,
        token: &str,
    ) -> anyhow::Result<()> {
        let posts = get(
            http,
            &format!("{entry}/tcs/api/posts?size=200&sort=id,asc"),
            token,
        )
        .await
        .context("reading demo posts")?;
        let posts: Vec<PostRef> = posts
            .iter()
            .filter_map(|p| {
                Some(PostRef {
                    id: p["id"].as_i64()?,
                    site_id: p["primarySiteId"].as_i64()?,
                    site_code: p["primarySiteCode"].as_str()?.to_owned(),
                    grade_id: p["approvedGradeId"].as_i64()?,
                    grade_code: p["approvedGradeCode"].as_str()?.to_owned(),
                })
            })
            .collect();
        if posts.is_empty() {
            bail!("TCS has no posts with a site and a grade to place trainees in");
        }
        *lock(&self.posts) = posts;
        let now = SystemTime::now();
        let filter = serde_json::json!({
            "dateFrom": ["1990-01-01", day(now, -2)],
            "dateTo": [day(now, 1), "2199-12-31"],
        });
        let mut current = Vec::new();
        for page in 0..4 {
            let rows = get(
                http,
                &format!(
                    "{entry}/tcs/api/placements/filter?columnFilters={}&size=500&page={page}&sort=id,asc",
                    encode(&filter.to_string())
                ),
                token,
            )
            .await
            .context("reading current demo placements")?;
            if rows.is_empty() {
                break;
            }
            current.extend(rows.iter().filter_map(|r| r["id"].as_i64()));
        }
        *lock(&self.current) = current;
        Ok(())
    }

    /// Every placement of ours, read back through the API: lost and doubled ones go into
    /// `check`.
    pub async fn check(
        &self,
        http: &reqwest::Client,
        entry: &str,
        token: &str,
        check: &mut WriteCheck,
    ) -> anyhow::Result<()> {
        let (acknowledged, unacknowledged, replayed) = {
            let e = lock(&self.entries);
            (
                e.acknowledged.clone(),
                e.unacknowledged.clone(),
                e.replayed_elsewhere.clone(),
            )
        };
        let filter = serde_json::json!({ "dateFrom": [self.first_day(), "2199-12-31"] });
        let mut found: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for page in 0..1000 {
            let rows = get(
                http,
                &format!(
                    "{entry}/tcs/api/placements/filter?columnFilters={}&size=100&page={page}&sort=id,asc",
                    encode(&filter.to_string())
                ),
                token,
            )
            .await
            .context("reading back our placements")?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                if let (Some(tag), Some(id)) = (r["trainingDescription"].as_str(), r["id"].as_i64())
                    && tag.starts_with(&self.prefix)
                {
                    found.entry(tag.to_owned()).or_default().push(id);
                }
            }
        }
        check.acknowledged += acknowledged.len();
        check.placements += acknowledged.len();
        check.unacknowledged += unacknowledged.len();
        for (tag, id) in &acknowledged {
            match found.get(tag) {
                None => check.lost.push(format!("placement {tag} (id {id})")),
                Some(ids) if !ids.contains(id) => check.lost.push(format!(
                    "placement {tag} (acknowledged as id {id}, found as {ids:?})"
                )),
                Some(_) => {}
            }
        }
        check.unacknowledged_stored += unacknowledged
            .iter()
            .filter(|t| found.contains_key(*t))
            .count();
        check.duplicated.extend(
            found
                .iter()
                .filter(|(_, ids)| ids.len() > 1)
                .map(|(t, ids)| format!("placement {t} (ids {ids:?})")),
        );
        check.duplicated.extend(replayed);
        Ok(())
    }
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A JSON list, retried for a while (the system may still be settling after a fault).
pub(crate) async fn get(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res = http
            .get(url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => return Ok(r.json().await?),
            Ok(r) if attempt >= 10 => {
                bail!("{} {}", r.status(), r.text().await.unwrap_or_default())
            }
            Err(e) if attempt >= 10 => return Err(e.into()),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_create_has_a_tag_and_a_day_of_its_own_after_2060() {
        let p = Placements::new("CXABCD");
        let (t1, d1) = p.next();
        let (t2, d2) = p.next();
        assert_ne!(t1, t2);
        assert!(t1.starts_with("CXABCD-P"), "{t1}");
        assert_ne!(d1, d2);
        assert!(d1.as_str() >= "2060-01-01" && d1.len() == 10, "{d1}");
        assert!(p.first_day() < d1, "{} {d1}", p.first_day());
    }

    #[test]
    fn days_are_counted_both_ways() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(FIRST_DAY);
        assert_eq!(day(at, 0), "2060-01-01");
        assert_eq!(day(at, 31), "2060-02-01");
        assert_eq!(day(at, -1), "2059-12-31");
    }
}
