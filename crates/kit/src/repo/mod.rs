//! The one repository: reads and writes any entity through its descriptor.
//!
//! Rows come back from tis-store as JSON maps keyed by the DTOs' JSON names (the select list
//! aliases every column), so the same code serves SQLite and PostgreSQL and every entity. A
//! reference field (`localOffice` of a contact) is stored as the referenced id and returned
//! as the referenced record, fetched in one batched query per field and page.
//!
//! Reads go through `db.read()`: on PostgreSQL a replica within the lag bound serves them,
//! unless the request carries a `TIS-Consistency` token the replica has not reached, or has
//! written (then the primary, so a create answers with what it stored). A look-up by id or
//! code that a replica answers with fewer rows than keys is asked again on the primary
//! ([`ListQuery::keys`]), so a record created a moment ago is never "not found". Writes run in one
//! transaction per request on the primary: a bulk request is all or nothing.

mod counts;
pub mod query;
mod write;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use tis_store::{Db, Row, Sql, StoreError, Value};

pub use counts::Counts;
pub use query::{Filter, ListQuery, Page, Sort};
pub use write::WriteError;

use crate::entity::validate::{enum_set_json, id_from_text};
use crate::entity::{Descriptor, Kind};

/// How many levels of references a read nests (a curriculum's specialty's group).
const NESTING: usize = 3;

/// The repository. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Repo {
    db: Db,
    counts: Arc<Counts>,
}

/// A stable text key for an id value (a number or a UUID string).
pub fn id_key(id: &Json) -> String {
    match id {
        Json::String(s) => s.to_lowercase(),
        other => other.to_string(),
    }
}

impl Repo {
    pub fn new(db: Db) -> Self {
        Repo {
            db,
            counts: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A page of `q` and the total count of its rows. The page is read first: when it is
    /// short (fewer rows than asked for, and the first page or not empty), it holds the last
    /// of the rows, so the total is the rows before it plus its own and the `COUNT(*)` (a
    /// pass over every matching row) is not run. For a type with a data version
    /// ([`crate::entity::Descriptor::data_version`]) the count is kept against the table's data version ([`Repo::count_versioned`]).
    pub async fn page(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
        page: Page,
    ) -> Result<(Vec<Row>, u64), StoreError> {
        let backend = self.db.backend();
        if query::walkable(desc, q, backend) {
            // Boxed: its future inside `page`'s would deepen every handler's future type past
            // the compiler's default recursion limit.
            return Box::pin(self.sorted_page(desc, q, page)).await;
        }
        let rows = self
            .fetch(desc, query::select(desc, q, Some(page), backend), 0)
            .await?;
        let got = rows.len() as u64;
        if got < page.size && (got > 0 || page.offset() == 0) {
            return Ok((rows, page.offset() + got));
        }
        let total = self.total(desc, q).await?;
        Ok((rows, total))
    }

    /// A page of a search sorted by an indexed column on SQLite ([`query::walkable`]): the
    /// total first (kept for a type with a data version), which tells how common the term
    /// is; when the page is expected within half of [`query::WALK_BUDGET`] index
    /// entries ([`query::expected_walk`]), the sort column's index is walked
    /// ([`query::walk`]), else (or when the walk did not fill the page) the match drives the
    /// read and sorts it ([`query::select`]). Counting first costs a count on a page that
    /// would have been short; that happens for rare terms, whose count is cheap.
    async fn sorted_page(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
        page: Page,
    ) -> Result<(Vec<Row>, u64), StoreError> {
        let total = self.total(desc, q).await?;
        if total >= page.offset() + page.size {
            let rows = self.db.read().fetch_one(query::table_rows(desc)).await?;
            let rows = rows.get("n").and_then(Json::as_u64).unwrap_or(0);
            let expected = query::expected_walk(page, total, rows);
            if expected.saturating_mul(2) <= query::WALK_BUDGET {
                let budget = expected
                    .saturating_mul(4)
                    .max(page.offset() + page.size)
                    .min(query::WALK_BUDGET);
                if let Some(walk) = query::walk(desc, q, page, budget) {
                    let found = self.fetch(desc, walk, 0).await?;
                    if found.len() as u64 == page.size {
                        return Ok((found, total));
                    }
                }
            }
        }
        let backend = self.db.backend();
        let rows = self
            .fetch(desc, query::select(desc, q, Some(page), backend), 0)
            .await?;
        Ok((rows, total))
    }

    /// `COUNT(*)` of `q`, kept against the table's data version when it has one.
    async fn total(&self, desc: &'static Descriptor, q: &ListQuery) -> Result<u64, StoreError> {
        let count = query::count(desc, q, self.db.backend());
        if desc.data_version {
            let version = crate::entity::ddl::data_version_table(desc.table);
            self.count_versioned(&version, count).await
        } else {
            let row = self.db.read().fetch_one(count).await?;
            Ok(row.get("n").and_then(Json::as_u64).unwrap_or(0))
        }
    }

    /// The value of `count` (a statement selecting one row with the number in column `n`)
    /// over one table whose data version is kept in `version_table`
    /// ([`crate::entity::ddl::data_version`]): read once per data version of the table and
    /// query, then answered from memory while no write changed the table ([`Counts`]).
    pub async fn count_versioned(
        &self,
        version_table: &str,
        count: Sql,
    ) -> Result<u64, StoreError> {
        self.counts.count(&self.db, version_table, count).await
    }

    /// Every row of `q` (callers bound `q` by its filters).
    pub async fn list(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
    ) -> Result<Vec<Row>, StoreError> {
        let sql = query::select(desc, q, None, self.db.backend());
        self.fetch(desc, sql, q.keys(desc)).await
    }

    /// The row with this id, if any.
    pub async fn get(
        &self,
        desc: &'static Descriptor,
        id: Value,
    ) -> Result<Option<Row>, StoreError> {
        let q = ListQuery::filtered(vec![Filter::new(desc.id_field(), vec![id])]);
        Ok(self.list(desc, &q).await?.into_iter().next())
    }

    /// The rows with these ids, in the order of `ids` (missing ones left out).
    pub async fn get_many(
        &self,
        desc: &'static Descriptor,
        ids: &[Json],
    ) -> Result<Vec<Row>, StoreError> {
        let values: Vec<Value> = ids
            .iter()
            .filter_map(|id| id_from_text(desc.id, &id_key(id)))
            .collect();
        let q = ListQuery::filtered(vec![Filter::new(desc.id_field(), values)]);
        let mut by_id: HashMap<String, Row> = self
            .list(desc, &q)
            .await?
            .into_iter()
            .map(|r| (id_key(r.get("id").unwrap_or(&Json::Null)), r))
            .collect();
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(&id_key(id)))
            .collect())
    }

    /// The values a column takes over the rows of `q`, as text.
    pub async fn column_values(
        &self,
        desc: &'static Descriptor,
        field: &'static crate::entity::Field,
        q: &ListQuery,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self
            .db
            .read()
            .fetch_keyed(
                query::column_values(desc, field, q, self.db.backend()),
                q.keys(desc),
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| match r.remove("v") {
                Some(Json::String(s)) => Some(s),
                Some(Json::Null) | None => None,
                Some(other) => Some(other.to_string()),
            })
            .collect())
    }

    /// Deletes the row; `false` when there was none.
    pub async fn delete(&self, desc: &'static Descriptor, id: Value) -> Result<bool, StoreError> {
        let mut sql = Sql::new(&format!("DELETE FROM {} WHERE id = ", desc.table));
        sql.bind(id);
        Ok(self.db.write().execute(sql).await? > 0)
    }

    /// Runs a service's own select of `desc`'s columns ([`query::select_list`] over any
    /// `FROM`, e.g. a scoped sub-select) and shapes its rows as the repository's own reads
    /// are (sets as arrays, references nested), ready for [`crate::http::crud::decode`].
    pub async fn select(
        &self,
        desc: &'static Descriptor,
        sql: Sql,
    ) -> Result<Vec<Row>, StoreError> {
        self.fetch(desc, sql, 0).await
    }

    /// Runs a select of `desc`'s columns (expected to find `keys` rows when it is a look-up
    /// by key, see [`ListQuery::keys`]) and nests referenced records.
    async fn fetch(
        &self,
        desc: &'static Descriptor,
        sql: Sql,
        keys: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let mut rows = self.db.read().fetch_keyed(sql, keys).await?;
        self.shape(desc, &mut rows, NESTING).await?;
        Ok(rows)
    }

    /// Turns stored rows into their wire shape: sets of names into arrays, and each reference
    /// id into the referenced record, itself shaped, `depth` levels deep (then the id alone).
    fn shape<'a>(
        &'a self,
        desc: &'static Descriptor,
        rows: &'a mut [Row],
        depth: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>
    {
        Box::pin(async move {
            for f in desc.fields {
                if f.set {
                    for row in rows.iter_mut() {
                        if let Some(v) = row.get_mut(f.json) {
                            *v = enum_set_json(v);
                        }
                    }
                }
            }
            if depth > 0 {
                self.nest_references(desc, rows, depth - 1).await?;
            }
            Ok(())
        })
    }

    /// Replaces each reference id by the referenced record, shaped `depth` levels deeper.
    async fn nest_references(
        &self,
        desc: &'static Descriptor,
        rows: &mut [Row],
        depth: usize,
    ) -> Result<(), StoreError> {
        for f in desc.fields {
            let Kind::Ref(target) = f.kind else { continue };
            let mut ids: Vec<Json> = rows
                .iter()
                .filter_map(|r| r.get(f.json).filter(|v| !v.is_null()).cloned())
                .collect();
            ids.sort_by_key(id_key);
            ids.dedup_by_key(|v| id_key(v));
            if ids.is_empty() {
                continue;
            }
            let values: Vec<Value> = ids
                .iter()
                .filter_map(|id| id_from_text(target.id, &id_key(id)))
                .collect();
            let q = ListQuery::filtered(vec![Filter::new(target.id_field(), values)]);
            let mut targets = self
                .db
                .read()
                .fetch_keyed(
                    query::select(target, &q, None, self.db.backend()),
                    q.keys(target),
                )
                .await?;
            self.shape(target, &mut targets, depth).await?;
            let found: HashMap<String, Row> = targets
                .into_iter()
                .map(|r| (id_key(r.get("id").unwrap_or(&Json::Null)), r))
                .collect();
            for row in rows.iter_mut() {
                if let Some(id) = row.get(f.json).filter(|v| !v.is_null()).cloned() {
                    let nested = found.get(&id_key(&id)).cloned().unwrap_or_else(|| {
                        let mut m = Map::new();
                        m.insert("id".into(), id);
                        m
                    });
                    row.insert(f.json.to_owned(), Json::Object(nested));
                }
            }
        }
        Ok(())
    }
}
