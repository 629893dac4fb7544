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
pub mod sets;
mod write;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use tis_store::{Db, Row, Sql, StoreError, Value};

pub use counts::Counts;
pub use query::{Filter, ListQuery, Page, Sort};
pub use sets::{Ids, Order, Sets};
pub use write::WriteError;

use crate::entity::validate::{enum_set_json, id_from_text};
use crate::entity::{Descriptor, Kind};

/// How many levels of references a read nests (a curriculum's specialty's group).
const NESTING: usize = 3;

/// A sorted page of at most this many rows of kept sets is read by id and sorted
/// ([`Repo::sorted_from_set`]).
const BY_IDS: u64 = 1000;

/// The repository. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Repo {
    db: Db,
    counts: Arc<Counts>,
    sets: Arc<Sets>,
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
            sets: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A page of `q` and the total count of its rows.
    ///
    /// For a type with a data version ([`crate::entity::Descriptor::data_version`]) the ids of
    /// each of `q`'s conditions are kept against it ([`Sets`]): the total is the size of
    /// their intersection and a page in id order its ids from the offset on, read by id;
    /// another order reads its page as below with that total.
    ///
    /// Otherwise the page is read first: when it is short (fewer rows than asked for, and
    /// the first page or not empty), it holds the last of the rows, so the total is the rows
    /// before it plus its own and the `COUNT(*)` (a pass over every matching row) is not run.
    pub async fn page(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
        page: Page,
    ) -> Result<(Vec<Row>, u64), StoreError> {
        // Boxed: its future inside a handler's would deepen the handler's future type past
        // the compiler's default recursion limit (a release build's layout query).
        Box::pin(self.page_of(desc, q, page)).await
    }

    /// [`Repo::page`], unboxed.
    async fn page_of(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
        page: Page,
    ) -> Result<(Vec<Row>, u64), StoreError> {
        let backend = self.db.backend();
        if let Some((matched, version)) = self.matching(desc, q).await? {
            let total = matched.len();
            if let Some(descending) = query::id_order(q) {
                let ids = matched.page(page.offset(), page.size, descending);
                let rows = self.by_ids(desc, q, ids, None).await?;
                return Ok((rows, total));
            }
            if let Some(rows) = self
                .sorted_from_set(desc, q, page, &matched, version)
                .await?
            {
                return Ok((rows, total));
            }
            if query::walkable(desc, q, backend) {
                return Box::pin(self.sorted_page(desc, q, page, total)).await;
            }
            let rows = self
                .fetch(desc, query::select(desc, q, Some(page), backend), 0)
                .await?;
            return Ok((rows, total));
        }
        if query::walkable(desc, q, backend) {
            let total = self.total(desc, q).await?;
            // Boxed: its future inside `page`'s would deepen every handler's future type past
            // the compiler's default recursion limit.
            return Box::pin(self.sorted_page(desc, q, page, total)).await;
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

    /// The ids matching `q` from the kept sets of its conditions ([`Sets`]) and the data
    /// version they are of, for a type with a data version; `None` otherwise (or when the
    /// sets cannot say, see [`Sets::matching`]).
    async fn matching(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
    ) -> Result<Option<(Ids, i64)>, StoreError> {
        if !desc.data_version {
            return Ok(None);
        }
        let table = crate::entity::ddl::data_version_table(desc.table);
        let Some(conditions) = query::id_sets(desc, q, self.db.backend(), &table) else {
            return Ok(None);
        };
        let Some(version) = Sets::version(&self.db, &table).await? else {
            return Ok(None);
        };
        let matched = self.sets.matching(&self.db, version, conditions).await?;
        Ok(matched.map(|ids| (ids, version)))
    }

    /// The rows with these `ids` in `q`'s order (`page` of them, or all).
    async fn by_ids(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
        ids: Vec<i64>,
        page: Option<Page>,
    ) -> Result<Vec<Row>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let by_id = ListQuery {
            filters: vec![Filter::new(
                desc.id_field(),
                ids.into_iter().map(Value::Int).collect(),
            )],
            sort: q.sort.clone(),
            ..ListQuery::default()
        };
        let sql = query::select(desc, &by_id, page, self.db.backend());
        self.fetch(desc, sql, 0).await
    }

    /// A page sorted by one indexed column of the rows in `matched` (the kept sets of `q`'s
    /// conditions at data `version`): up to [`BY_IDS`] rows are read by id and sorted in SQL;
    /// more are cut from the column's kept order ([`Sets::order`], [`Order::page`]) and read
    /// by id, on both backends: no statement sorts every match. `None`: read it as before (by
    /// the match, with the total), when `q` is not sorted by one indexed column or the
    /// order is not kept at this version (after a write, until it is read again).
    async fn sorted_from_set(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
        page: Page,
        matched: &Ids,
        version: i64,
    ) -> Result<Option<Vec<Row>>, StoreError> {
        let total = matched.len();
        if total <= BY_IDS {
            let ids = matched.page(0, total, false);
            return Ok(Some(self.by_ids(desc, q, ids, Some(page)).await?));
        }
        let Some((field, descending, id_desc)) = query::sorted_by(q) else {
            return Ok(None);
        };
        let table = crate::entity::ddl::data_version_table(desc.table);
        let statement = query::column_order(desc, field, self.db.backend(), &table);
        let order = match self.sets.order(&self.db, version, statement.clone()) {
            sets::OrderRead::Kept(order) => order,
            sets::OrderRead::First(read) => {
                // A read that panicked leaves nothing kept: the page is read otherwise.
                let _ = read.await;
                match self.sets.order(&self.db, version, statement) {
                    sets::OrderRead::Kept(order) => order,
                    _ => return Ok(None),
                }
            }
            sets::OrderRead::Unread => return Ok(None),
        };
        let ids = order.page(matched, page.offset(), page.size, descending, id_desc);
        Ok(Some(self.by_ids(desc, q, ids, None).await?))
    }

    /// A page of a search sorted by an indexed column on SQLite ([`query::walkable`]) whose
    /// `total` is known (counted, kept for a type with a data version), which tells how
    /// common the term is; when the page is expected within half of [`query::WALK_BUDGET`]
    /// index entries ([`query::expected_walk`]), the sort column's index is walked
    /// ([`query::walk`]), else (or when the walk did not fill the page) the match drives the
    /// read and sorts it ([`query::select`]). Counting first costs a count on a page that
    /// would have been short; that happens for rare terms, whose count is cheap.
    async fn sorted_page(
        &self,
        desc: &'static Descriptor,
        q: &ListQuery,
        page: Page,
        total: u64,
    ) -> Result<(Vec<Row>, u64), StoreError> {
        let backend = self.db.backend();
        if total >= page.offset() + page.size {
            let expected = self.expected_walk(desc, page, total).await?;
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
        let rows = self
            .fetch(desc, query::select(desc, q, Some(page), backend), 0)
            .await?;
        Ok((rows, total))
    }

    /// How many index entries a walk in a sort column's order is expected to read for `page`
    /// of `total` rows ([`query::expected_walk`] over the table's size).
    async fn expected_walk(
        &self,
        desc: &'static Descriptor,
        page: Page,
        total: u64,
    ) -> Result<u64, StoreError> {
        let rows = self
            .db
            .read()
            .fetch_one(query::table_rows(desc, self.db.backend()))
            .await?;
        let rows = rows.get("n").and_then(Json::as_u64).unwrap_or(0);
        Ok(query::expected_walk(page, total, rows))
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
