//! Exact list totals without a pass over every matching row each time.
//!
//! A full page's `X-Total-Count` is a `COUNT(*)` of every row the list matches: for a search
//! term or filter matching thousands of rows, that pass costs more than the page itself.
//! [`Counts`] keeps each count with the table's data version it was read with
//! ([`crate::entity::ddl::data_version`]: a one-row table that every write of the table bumps
//! in its own transaction) and reuses it while the version is unchanged. A reuse costs one
//! read of that row; a write by any instance on the same database changes the version, so
//! the next count is read again. The count and the version it is stored with come from one
//! statement (one snapshot), so a count is never stored against a version it did not see.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value as Json;
use tis_store::{Db, Sql, StoreError};

/// At most this many counts are kept per repository (then they are all dropped).
const CAPACITY: usize = 4096;

/// Counts of lists, each with the data version it was read at. Shared by the clones of a
/// repository.
#[derive(Debug, Default)]
pub struct Counts {
    known: Mutex<HashMap<String, (i64, u64)>>,
}

impl Counts {
    /// The value of `count` (a statement selecting one row with the number in column `n`)
    /// over a table whose data version is in `version_table`: the kept one while the version
    /// is the one it was read at, else read again (with the version) and kept.
    pub async fn count(&self, db: &Db, version_table: &str, count: Sql) -> Result<u64, StoreError> {
        let key = key(&count, db);
        let kept = self.lock().get(&key).copied();
        if let Some((version, n)) = kept {
            let now = db
                .read()
                .fetch_one(Sql::new(&format!(
                    r#"SELECT version AS "v" FROM {version_table}"#
                )))
                .await?;
            if now.get("v").and_then(Json::as_i64) == Some(version) {
                return Ok(n);
            }
        }
        let mut sql = Sql::new(&format!(
            r#"SELECT (SELECT version FROM {version_table}) AS "v", ("#
        ));
        sql.append(count);
        sql.push(r#") AS "n""#);
        let row = db.read().fetch_one(sql).await?;
        let n = row.get("n").and_then(Json::as_u64).unwrap_or(0);
        if let Some(version) = row.get("v").and_then(Json::as_i64) {
            let mut known = self.lock();
            if known.len() >= CAPACITY {
                known.clear();
            }
            known.insert(key, (version, n));
        }
        Ok(n)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, u64)>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a kept value of `sql` is known by: its text and its values.
pub(super) fn key(sql: &Sql, db: &Db) -> String {
    format!("{}\u{0}{:?}", sql.render(db.backend()), sql.values())
}
