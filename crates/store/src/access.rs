//! The two doors: [`Reader`] can only fetch and may be served by a replica; [`Writer`] runs
//! on the primary. A repository says which it means at each statement, so a write can never
//! reach a replica by mistake (it would fail there with SQLSTATE 25006 anyway) and a read
//! never loads the primary without a reason.

use serde::de::DeserializeOwned;

use crate::db::{Db, Row, decode};
use crate::error::StoreError;
use crate::lsn::Consistency;
use crate::sql::Sql;
use crate::tx::Tx;

/// Reads, routed by consistency (see [`Db::read`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Reader {
    db: Db,
    consistency: Consistency,
}

impl Reader {
    pub(crate) fn new(db: Db, consistency: Consistency) -> Reader {
        Reader { db, consistency }
    }

    /// What this reader asks for (the current request may ask more).
    pub fn consistency(&self) -> Consistency {
        self.consistency
    }

    /// Runs a query and returns every row.
    pub async fn fetch_all(&self, q: Sql) -> Result<Vec<Row>, StoreError> {
        self.db.on_reader(self.consistency, q, 0).await
    }

    /// Runs a query by key, expected to return at most one row. When a replica finds none,
    /// the primary is asked before answering `None`: a row created a moment ago is never
    /// reported missing because a replica has not replayed it yet.
    pub async fn fetch_optional(&self, q: Sql) -> Result<Option<Row>, StoreError> {
        Ok(self
            .db
            .on_reader(self.consistency, q, 1)
            .await?
            .into_iter()
            .next())
    }

    /// Runs a query by key expected to return exactly one row; none (confirmed on the primary,
    /// as [`Reader::fetch_optional`]) is [`StoreError::NotFound`].
    pub async fn fetch_one(&self, q: Sql) -> Result<Row, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::NotFound)
    }

    /// Runs a query by several keys, expected to return `expected` rows (one per distinct
    /// key). When a replica returns fewer, the primary is asked, as [`Reader::fetch_optional`].
    pub async fn fetch_keyed(&self, q: Sql, expected: usize) -> Result<Vec<Row>, StoreError> {
        self.db.on_reader(self.consistency, q, expected).await
    }

    /// Runs a query and decodes every row into `T`.
    pub async fn fetch_all_as<T: DeserializeOwned>(&self, q: Sql) -> Result<Vec<T>, StoreError> {
        self.fetch_all(q).await?.into_iter().map(decode).collect()
    }

    /// [`Reader::fetch_keyed`], decoded into `T`.
    pub async fn fetch_keyed_as<T: DeserializeOwned>(
        &self,
        q: Sql,
        expected: usize,
    ) -> Result<Vec<T>, StoreError> {
        self.fetch_keyed(q, expected)
            .await?
            .into_iter()
            .map(decode)
            .collect()
    }

    /// [`Reader::fetch_optional`], decoded into `T`.
    pub async fn fetch_optional_as<T: DeserializeOwned>(
        &self,
        q: Sql,
    ) -> Result<Option<T>, StoreError> {
        self.fetch_optional(q).await?.map(decode).transpose()
    }
}

/// Statements on the primary (see [`Db::write`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    db: Db,
}

impl Writer {
    pub(crate) fn new(db: Db) -> Writer {
        Writer { db }
    }

    /// Runs a statement and returns the number of rows it affected.
    pub async fn execute(&self, q: Sql) -> Result<u64, StoreError> {
        self.db.execute(q).await
    }

    /// Runs a statement (`INSERT … RETURNING`, or a read that must see the primary) and
    /// returns every row.
    pub async fn fetch_all(&self, q: Sql) -> Result<Vec<Row>, StoreError> {
        self.db.fetch_all(q).await
    }

    pub async fn fetch_optional(&self, q: Sql) -> Result<Option<Row>, StoreError> {
        self.db.fetch_optional(q).await
    }

    pub async fn fetch_one(&self, q: Sql) -> Result<Row, StoreError> {
        self.db.fetch_one(q).await
    }

    pub async fn fetch_all_as<T: DeserializeOwned>(&self, q: Sql) -> Result<Vec<T>, StoreError> {
        self.db.fetch_all_as(q).await
    }

    /// Starts a transaction (see [`Db::begin`]).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        self.db.begin().await
    }
}
