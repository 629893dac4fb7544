//! Exact totals and id-ordered pages of a list from kept id sets, one per condition.
//!
//! A search page's `X-Total-Count` is `COUNT(*)` of the rows that match the term *and* every
//! filter. On SQLite a common term's count is the FTS5 match of every document plus a probe
//! of the table per match (20–80 ms over 50,000 sites); the [`super::Counts`] kept per
//! (filters, term) pair help only when the same pair comes back, and a list screen's pairs are
//! many (a term × an office × a status). The conditions themselves are few and come back
//! often: `status = CURRENT`, one of 13 offices, one of a few hundred terms. [`Sets`] keeps,
//! per condition, the set of ids it matches (a bitmap over the ids), read with the table's
//! data version ([`crate::entity::ddl::data_version`]) in the same statement and reused while
//! the version stands, as the kept counts are. A list's rows are the AND of its conditions'
//! sets: the total is a population count and a page in id order is the set's bits from the
//! offset on (then its rows are read by id), both in microseconds, exact. A write by any
//! instance moves the version and the sets are read again.
//!
//! Bitmaps suit tables with sequence ids (an id is a bit: 50,000 ids are 6 KiB a set); ids
//! past [`MAX_ID`] or not integers leave the list to the SQL count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;
use tis_store::{Db, Sql, StoreError};
use tokio::sync::OnceCell;

/// Ids above this are not kept as bits (a set would be more than 512 KiB).
pub const MAX_ID: i64 = (1 << 22) - 1;

/// At most this many 64-bit words of sets are kept per repository (4 MiB; then all are
/// dropped).
const CAPACITY_WORDS: usize = 1 << 19;

/// A set of non-negative ids as a bitmap: bit `i` of word `i / 64` is id `i`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids {
    words: Vec<u64>,
}

impl Ids {
    /// The ids of a comma-separated list (`group_concat` / `string_agg` of ids); `None` when
    /// one is not an integer in `0..=MAX_ID`.
    pub fn parse(text: &str) -> Option<Ids> {
        let mut ids = Ids::default();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let id: i64 = part.trim().parse().ok()?;
            if !(0..=MAX_ID).contains(&id) {
                return None;
            }
            let (word, bit) = ((id / 64) as usize, id % 64);
            if ids.words.len() <= word {
                ids.words.resize(word + 1, 0);
            }
            ids.words[word] |= 1 << bit;
        }
        Some(ids)
    }

    /// The ids in both.
    pub fn and(&self, other: &Ids) -> Ids {
        Ids {
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(a, b)| a & b)
                .collect(),
        }
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: i64) -> bool {
        usize::try_from(id / 64)
            .ok()
            .and_then(|w| self.words.get(w))
            .is_some_and(|w| id >= 0 && w & (1 << (id % 64)) != 0)
    }

    /// How many ids.
    pub fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// `take` ids after the first `skip`, in ascending (or descending) order.
    pub fn page(&self, skip: u64, take: u64, descending: bool) -> Vec<i64> {
        let mut out = Vec::new();
        let mut skip = skip;
        let mut visit = |i: usize, w: u64| -> bool {
            let n = u64::from(w.count_ones());
            if skip >= n {
                skip -= n;
                return true;
            }
            let bits = (0..64usize).filter(|b| w & (1u64 << b) != 0);
            let ids: Vec<i64> = if descending {
                bits.rev().map(|b| (i * 64 + b) as i64).collect()
            } else {
                bits.map(|b| (i * 64 + b) as i64).collect()
            };
            for id in ids.into_iter().skip(skip as usize) {
                if out.len() as u64 == take {
                    return false;
                }
                out.push(id);
            }
            skip = 0;
            (out.len() as u64) < take
        };
        if descending {
            for (i, w) in self.words.iter().enumerate().rev() {
                if !visit(i, *w) {
                    break;
                }
            }
        } else {
            for (i, w) in self.words.iter().enumerate() {
                if !visit(i, *w) {
                    break;
                }
            }
        }
        out
    }
}

/// The rows of a table in the order of one column, as a sorted page asks for it: `ids` in
/// (column ascending with NULLs last, id ascending) order, and beside each its `ranks`, the
/// same for rows the column's order does not tell apart (equal values, or both NULL). A page
/// of a kept set ([`Ids`]) sorted by the column is then the set's ids met walking this order
/// ([`Order::page`]), in memory, instead of a statement that sorts every match (PostgreSQL's
/// plan for a common term: 20–30 ms under load). The order is the database's own (its
/// collation, read by `DENSE_RANK()`, see [`crate::repo::query::column_order`]), so the page
/// is the statement's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    ids: Vec<u32>,
    ranks: Vec<u32>,
}

impl Order {
    /// The order of comma-separated `id:rank` pairs (any order); `None` when one is not a
    /// pair of integers, or an id is past [`MAX_ID`].
    pub fn parse(text: &str) -> Option<Order> {
        let mut pairs = Vec::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (id, rank) = part.trim().split_once(':')?;
            let id: i64 = id.parse().ok()?;
            if !(0..=MAX_ID).contains(&id) {
                return None;
            }
            pairs.push((rank.parse::<u32>().ok()?, id as u32));
        }
        pairs.sort_unstable();
        Some(Order {
            ids: pairs.iter().map(|p| p.1).collect(),
            ranks: pairs.iter().map(|p| p.0).collect(),
        })
    }

    /// `take` ids of `matched` after the first `skip` of them, in this order (`descending`:
    /// the column's order reversed, rows it does not tell apart still by id; `id_descending`:
    /// those by id descending). Ascending, NULLs (the last rank) come last; descending, first:
    /// the kit's `NULLS LAST` / `NULLS FIRST` ([`crate::repo::query::order_by`]).
    pub fn page(
        &self,
        matched: &Ids,
        skip: u64,
        take: u64,
        descending: bool,
        id_descending: bool,
    ) -> Vec<i64> {
        let mut out = Vec::new();
        let mut skip = skip;
        let mut visit = |id: u32| -> bool {
            if matched.contains(i64::from(id)) {
                if skip > 0 {
                    skip -= 1;
                } else {
                    out.push(i64::from(id));
                }
            }
            (out.len() as u64) < take
        };
        let n = self.ids.len();
        let mut start = if descending { n } else { 0 };
        // One group of equal ranks at a time: [lo, hi).
        while if descending { start > 0 } else { start < n } {
            let (lo, hi) = if descending {
                let rank = self.ranks[start - 1];
                let lo = self.ranks[..start].partition_point(|r| *r < rank);
                (lo, start)
            } else {
                let rank = self.ranks[start];
                let hi = start + self.ranks[start..].partition_point(|r| *r == rank);
                (start, hi)
            };
            let group = &self.ids[lo..hi];
            let more = if id_descending {
                group.iter().rev().all(|id| visit(*id))
            } else {
                group.iter().all(|id| visit(*id))
            };
            if !more {
                break;
            }
            start = if descending { lo } else { hi };
        }
        out
    }

    /// About how many 64-bit words it holds.
    fn words(&self) -> usize {
        self.ids.len() / 8 + 1
    }
}

/// How often, at most, a column's order is read again after a write: not before this many
/// times the last read's duration has passed since that read started (an order of 50,000
/// rows takes 50-300 ms to read on PostgreSQL under load). Under steady writes the orders are
/// read with at most a tenth of a backend each; pages wait for none of it.
pub const ORDER_REREAD_GAP: u32 = 10;

/// A set kept at an older data version is read again only once the version has stood this
/// long; until then [`Sets::set`] says `None` and the list is read by its statements. Under
/// writes every write makes every instance's sets stale at once, and reading them all again
/// for each (a set of `status = CURRENT` is 40,000 ids, 15-60 ms) cost more than the
/// statements they replace: 5 creates a second took PostgreSQL's list p99 to 5 s
/// (docs/benchmarks.md, "PostgreSQL's sorted pages").
pub const STALE_REREAD_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// A column's kept order and its reading.
#[derive(Debug, Default)]
struct Ordering {
    /// The order and the data version it was read at.
    kept: Option<(i64, Arc<Order>)>,
    /// A read is in flight.
    reading: bool,
    /// When the last read started, and how long it took.
    last: Option<(tokio::time::Instant, std::time::Duration)>,
}

/// What [`Sets::order`] has for a page.
pub enum OrderRead {
    /// The order at the asked version.
    Kept(Arc<Order>),
    /// None kept yet for the column: its first read, to await, then ask again.
    First(tokio::task::JoinHandle<()>),
    /// Not at this version (being read again, or not yet due): read the page otherwise.
    Unread,
}

/// The kept sets of a repository, each with the data version it was read at. Shared by the
/// clones of a repository.
#[derive(Debug, Default)]
pub struct Sets {
    known: Mutex<Known>,
}

/// A condition's ids at one data version (`None`: they cannot be bits), read once: requests
/// that need the same set while it is read wait for that read instead of making their own
/// (after a write, every list request needs the common filters' sets again at once).
type Cell = Arc<OnceCell<Option<Arc<Ids>>>>;

#[derive(Debug, Default)]
struct Known {
    /// Each condition's set and the version it is (being) read at.
    sets: HashMap<String, (i64, Cell)>,
    /// Each sortable column's order, by its statement.
    orders: HashMap<String, Ordering>,
    /// The newest data version seen, and since when.
    current: Option<(i64, tokio::time::Instant)>,
    /// The 64-bit words of the sets read, as an approximate size.
    words: usize,
}

/// Why a set was not read.
enum Unread {
    Store(StoreError),
    /// The data version moved between the version check and the set's read.
    Moved,
}

impl Sets {
    /// The table's data version, kept in `version_table`.
    pub async fn version(db: &Db, version_table: &str) -> Result<Option<i64>, StoreError> {
        let now = db
            .read()
            .fetch_one(Sql::new(&format!(
                r#"SELECT version AS "v" FROM {version_table}"#
            )))
            .await?;
        Ok(now.get("v").and_then(Json::as_i64))
    }

    /// The ids matching every one of `conditions` (statements selecting the table's data
    /// version as `v` and the matching ids as comma-separated text `ids`, see
    /// [`crate::repo::query::id_sets`]) at data `version` ([`Sets::set`]). `None` when the
    /// version moved, or an id cannot be a bit ([`Ids::parse`]): the caller counts in SQL
    /// then.
    pub async fn matching(
        &self,
        db: &Db,
        version: i64,
        conditions: Vec<Sql>,
    ) -> Result<Option<Ids>, StoreError> {
        let mut all: Option<Ids> = None;
        for condition in conditions {
            let Some(ids) = self.set(db, version, condition).await? else {
                return Ok(None);
            };
            all = Some(match all {
                None => Ids::clone(&ids),
                Some(so_far) => so_far.and(&ids),
            });
        }
        Ok(all)
    }

    /// The ids matching `condition` (see [`Sets::matching`]) at data `version`: kept while
    /// the version is the one it was read at, else read again; `None` when the version moved
    /// or an id cannot be a bit.
    pub async fn set(
        &self,
        db: &Db,
        version: i64,
        condition: Sql,
    ) -> Result<Option<Arc<Ids>>, StoreError> {
        let Some(cell) = self.cell(super::counts::key(&condition, db), version) else {
            return Ok(None);
        };
        let read = cell
            .get_or_try_init(|| async {
                let (got, text) = Self::read(db, condition).await.map_err(Unread::Store)?;
                if got != Some(version) {
                    return Err(Unread::Moved);
                }
                let ids = Ids::parse(&text).map(Arc::new);
                self.lock().words += ids.as_ref().map_or(1, |i| i.words.len().max(1));
                Ok(ids)
            })
            .await;
        match read {
            Ok(ids) => Ok(ids.clone()),
            Err(Unread::Moved) => Ok(None),
            Err(Unread::Store(e)) => Err(e),
        }
    }

    /// The data version (`v`) and the `ids` text a kept set's or order's statement selects.
    async fn read(db: &Db, statement: Sql) -> Result<(Option<i64>, String), StoreError> {
        let row = db.read().fetch_one(statement).await?;
        let text = row
            .get("ids")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        Ok((row.get("v").and_then(Json::as_i64), text))
    }

    /// The table's rows in one column's order ([`Order`]) at data `version`, when it is
    /// kept at that version; else `None`, and the caller reads its page by a statement.
    /// `statement` selects the data version as `v` and `id:rank` pairs as `ids` (see
    /// [`crate::repo::query::column_order`]). An order is costly to read (every row sorted)
    /// and a write makes it stale, so a page never waits for it: the first time (no order
    /// kept) it is read at once, later ones in the background, one at a time per column and
    /// not sooner than [`ORDER_REREAD_GAP`] times the last read's duration after that read
    /// started, so that writes in a row do not make every instance sort the table for each.
    pub fn order(self: &Arc<Self>, db: &Db, version: i64, statement: Sql) -> OrderRead {
        let key = super::counts::key(&statement, db);
        let mut known = self.lock();
        let ordering = known.orders.entry(key.clone()).or_default();
        if let Some((v, order)) = &ordering.kept
            && *v == version
        {
            return OrderRead::Kept(Arc::clone(order));
        }
        let due = ordering.last.is_none_or(|(started, took)| {
            started.elapsed() >= took.saturating_mul(ORDER_REREAD_GAP)
        });
        if ordering.reading || !due {
            return OrderRead::Unread;
        }
        ordering.reading = true;
        let first = ordering.kept.is_none();
        drop(known);
        let (sets, db) = (Arc::clone(self), db.clone());
        let read = async move {
            let started = tokio::time::Instant::now();
            let read = Self::read(&db, statement).await;
            let mut known = sets.lock();
            let words = known.words;
            let ordering = known.orders.entry(key).or_default();
            ordering.reading = false;
            ordering.last = Some((started, started.elapsed()));
            let (Ok((Some(v), text)), true) = (read, words <= CAPACITY_WORDS) else {
                return;
            };
            if let Some(order) = Order::parse(&text) {
                let added = order.words();
                ordering.kept = Some((v, Arc::new(order)));
                known.words += added;
            }
        };
        // Spawned either way: a page that gives up waiting does not leave `reading` set.
        let reading = tokio::spawn(read);
        if first {
            OrderRead::First(reading)
        } else {
            OrderRead::Unread
        }
    }

    /// The cell of the set `key` at `version`: the kept one, or a new one in its place;
    /// `None` when the kept one is of an older version and `version` has not stood for
    /// [`STALE_REREAD_AFTER`] yet.
    fn cell(&self, key: String, version: i64) -> Option<Cell> {
        let mut known = self.lock();
        let now = tokio::time::Instant::now();
        let since = match known.current {
            Some((v, since)) if v >= version => since,
            _ => {
                known.current = Some((version, now));
                now
            }
        };
        match known.sets.get(&key) {
            Some((v, cell)) if *v == version => return Some(Arc::clone(cell)),
            Some((v, _)) if *v < version && now.duration_since(since) < STALE_REREAD_AFTER => {
                return None;
            }
            _ => {}
        }
        if known.words > CAPACITY_WORDS {
            known.sets.clear();
            known.orders.clear();
            known.words = 0;
        }
        let cell = Cell::default();
        known.sets.insert(key, (version, Arc::clone(&cell)));
        Some(cell)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(ids: &[i64], skip: usize, take: usize, descending: bool) -> Vec<i64> {
        let mut v = ids.to_vec();
        v.sort_unstable();
        v.dedup();
        if descending {
            v.reverse();
        }
        v.into_iter().skip(skip).take(take).collect()
    }

    #[test]
    fn a_set_counts_intersects_and_pages_as_a_sorted_list() {
        let a: Vec<i64> = (0..3000).filter(|i| i % 3 != 0 || i % 7 == 0).collect();
        let b: Vec<i64> = (0..2500)
            .filter(|i| i % 5 != 1)
            .chain([63, 64, 127])
            .collect();
        let text = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let (sa, sb) = (
            Ids::parse(&text(&a)).expect("a"),
            Ids::parse(&text(&b)).expect("b"),
        );
        let both: Vec<i64> = a.iter().copied().filter(|i| b.contains(i)).collect();
        let and = sa.and(&sb);
        assert_eq!(and.len(), both.len() as u64);
        assert_eq!(sa.len(), a.len() as u64);
        for id in [-1, 0, 3, 7, 63, 64, 127, 2999, 3000, 1 << 40] {
            assert_eq!(and.contains(id), both.contains(&id), "{id}");
        }
        for descending in [false, true] {
            for (skip, take) in [(0, 20), (1, 7), (63, 20), (64, 1), (1500, 20), (5000, 20)] {
                assert_eq!(
                    and.page(skip as u64, take as u64, descending),
                    naive(&both, skip, take, descending),
                    "skip {skip} take {take} descending {descending}"
                );
            }
        }
        assert_eq!(Ids::parse("").expect("empty").len(), 0);
        assert!(Ids::parse("").expect("empty").is_empty());
        assert_eq!(Ids::parse("1,x"), None, "not an id");
        assert_eq!(Ids::parse("-1"), None);
        assert_eq!(
            Ids::parse(&(MAX_ID + 1).to_string()),
            None,
            "too large a set"
        );
    }

    /// `Order::page` against sorting the rows by (rank, id) with the directions a page asks
    /// for: equal ranks (ties, NULLs as the last rank) kept by id either way.
    #[test]
    fn an_order_pages_a_set_as_the_sorted_rows() {
        let rows: Vec<(i64, u32)> = (0..700).map(|id| (id, ((id * 7919) % 37) as u32)).collect();
        let text = rows
            .iter()
            .rev()
            .map(|(id, r)| format!("{id}:{r}"))
            .collect::<Vec<_>>()
            .join(",");
        let order = Order::parse(&text).expect("order");
        let in_set = |id: i64| id % 3 != 0;
        let matched = Ids::parse(
            &(0..700)
                .filter(|i| in_set(*i))
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
        .expect("set");
        for descending in [false, true] {
            for id_descending in [false, true] {
                let mut want: Vec<(i64, u32)> =
                    rows.iter().copied().filter(|(id, _)| in_set(*id)).collect();
                want.sort_by(|a, b| {
                    let by_rank = if descending {
                        b.1.cmp(&a.1)
                    } else {
                        a.1.cmp(&b.1)
                    };
                    let by_id = if id_descending {
                        b.0.cmp(&a.0)
                    } else {
                        a.0.cmp(&b.0)
                    };
                    by_rank.then(by_id)
                });
                for (skip, take) in [(0, 20), (19, 7), (400, 20), (460, 20), (900, 5)] {
                    let naive: Vec<i64> = want.iter().skip(skip).take(take).map(|r| r.0).collect();
                    assert_eq!(
                        order.page(
                            &matched,
                            skip as u64,
                            take as u64,
                            descending,
                            id_descending
                        ),
                        naive,
                        "skip {skip} take {take} descending {descending}/{id_descending}"
                    );
                }
            }
        }
        assert_eq!(Order::parse("1:x"), None, "not a rank");
        assert_eq!(Order::parse("1"), None, "not a pair");
        assert_eq!(Order::parse(&format!("{}:1", MAX_ID + 1)), None);
    }

    /// A stale set is not read again until the new data version has stood for
    /// [`STALE_REREAD_AFTER`] (the list is read by its statements meanwhile); a set never
    /// kept, or kept at the current version, is there at once. Paused time.
    #[tokio::test(start_paused = true)]
    async fn a_stale_set_waits_for_the_version_to_stand() {
        let sets = Sets::default();
        let first = sets.cell("status".into(), 1).expect("never kept: read it");
        let again = sets.cell("status".into(), 1).expect("kept at this version");
        assert!(Arc::ptr_eq(&first, &again), "the same cell");
        assert!(
            sets.cell("status".into(), 2).is_none(),
            "stale, the version has just moved"
        );
        assert!(sets.cell("term".into(), 2).is_some(), "never kept: read it");
        tokio::time::advance(STALE_REREAD_AFTER - std::time::Duration::from_millis(1)).await;
        assert!(sets.cell("status".into(), 2).is_none(), "not yet");
        assert!(
            sets.cell("status".into(), 1).is_some(),
            "an older version's request keeps its own cell"
        );
        tokio::time::advance(std::time::Duration::from_millis(1)).await;
        let read = sets.cell("status".into(), 2).expect("the version stood");
        assert!(!Arc::ptr_eq(&first, &read), "a new read");
        assert!(sets.cell("status".into(), 3).is_none(), "another write");
    }
}
