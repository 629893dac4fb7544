//! Transactions: [`Tx`], always on the primary, and the request transaction that an
//! idempotent request runs in.
//!
//! A transaction is where reads and writes mix, so it always runs on the primary: a read
//! inside it must see the writes before it, and the writes must be checked against current
//! data. That is why there is no "read transaction on a replica" here.
//!
//! Inside an idempotent request (see [`crate::idempotency`]) the whole request is one
//! database transaction, so that the stored key and the write commit together. Every
//! statement of the request then runs on that transaction's connection, and [`Db::begin`]
//! opens a savepoint in it instead of a new transaction: the handler's `commit` releases the
//! savepoint, dropping it uncommitted rolls back to it (lazily, before the next statement,
//! since `Drop` cannot wait), and the request's own commit happens after the response is
//! stored.
//!
//! [`Db::begin`]: crate::Db::begin

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::{Postgres, Sqlite};

use crate::db::{Backend, Db, Row};
use crate::error::{StoreError, classify};
use crate::exec::{self, Kind, Outcome};
use crate::sql::{Sql, Value};

/// A driver transaction on either backend.
#[derive(Debug)]
pub(crate) enum RawTx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl RawTx {
    pub(crate) async fn run(
        &mut self,
        kind: Kind,
        text: String,
        values: Vec<crate::sql::Value>,
    ) -> Result<Outcome, StoreError> {
        match self {
            RawTx::Sqlite(tx) => exec::on_sqlite(tx, kind, text, values).await,
            RawTx::Postgres(tx) => exec::on_pg(tx, kind, text, values).await,
        }
    }

    async fn raw(&mut self, text: &str) -> Result<(), StoreError> {
        self.run(Kind::Execute, text.to_owned(), Vec::new())
            .await
            .map(drop)
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            RawTx::Sqlite(tx) => tx.commit().await.map_err(classify),
            RawTx::Postgres(tx) => tx.commit().await.map_err(classify),
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self {
            RawTx::Sqlite(tx) => tx.rollback().await.map_err(classify),
            RawTx::Postgres(tx) => tx.rollback().await.map_err(classify),
        }
    }
}

/// The one transaction of an idempotent request.
#[derive(Debug)]
pub(crate) struct SharedTx {
    /// The [`Db`] it belongs to (its identity), so another `Db` never joins it.
    pub db_id: usize,
    pub backend: Backend,
    raw: tokio::sync::Mutex<Option<RawTx>>,
    /// Savepoints whose `Tx` was dropped uncommitted: rolled back before the next statement.
    pending: Mutex<Vec<String>>,
    next: AtomicU32,
}

impl SharedTx {
    pub(crate) fn new(db_id: usize, backend: Backend, raw: RawTx) -> Arc<SharedTx> {
        Arc::new(SharedTx {
            db_id,
            backend,
            raw: tokio::sync::Mutex::new(Some(raw)),
            pending: Mutex::new(Vec::new()),
            next: AtomicU32::new(1),
        })
    }

    /// Runs one statement in the request transaction.
    pub(crate) async fn run(&self, kind: Kind, q: Sql) -> Result<Outcome, StoreError> {
        let text = q.render(self.backend);
        let values = q.into_values();
        let mut guard = self.raw.lock().await;
        let raw = guard
            .as_mut()
            .ok_or_else(|| StoreError::Other("the request transaction has ended".into()))?;
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for sp in pending {
            raw.raw(&format!("ROLLBACK TO SAVEPOINT {sp}")).await?;
        }
        raw.run(kind, text, values).await
    }

    async fn savepoint(self: &Arc<Self>) -> Result<Joined, StoreError> {
        let name = format!("tis_sp_{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.run(Kind::Execute, Sql::new(&format!("SAVEPOINT {name}")))
            .await?;
        Ok(Joined {
            shared: self.clone(),
            savepoint: name,
            done: false,
        })
    }

    /// Ends the request transaction (after its response is stored, or on failure).
    pub(crate) async fn finish(&self, commit: bool) -> Result<(), StoreError> {
        let Some(raw) = self.raw.lock().await.take() else {
            return Ok(());
        };
        if commit {
            raw.commit().await
        } else {
            raw.rollback().await
        }
    }
}

/// A savepoint in the request transaction.
#[derive(Debug)]
pub(crate) struct Joined {
    shared: Arc<SharedTx>,
    savepoint: String,
    done: bool,
}

impl Drop for Joined {
    fn drop(&mut self) {
        if !self.done {
            self.shared
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.savepoint.clone());
        }
    }
}

#[derive(Debug)]
enum TxInner {
    Own(RawTx),
    Joined(Joined),
}

/// A database transaction on the primary. Rolls back when dropped uncommitted.
#[derive(Debug)]
pub struct Tx {
    inner: TxInner,
    backend: Backend,
    db: Db,
}

impl Tx {
    pub(crate) fn own(raw: RawTx, db: Db) -> Tx {
        Tx {
            backend: db.backend(),
            inner: TxInner::Own(raw),
            db,
        }
    }

    pub(crate) async fn joined(shared: &Arc<SharedTx>, db: Db) -> Result<Tx, StoreError> {
        Ok(Tx {
            backend: db.backend(),
            inner: TxInner::Joined(shared.savepoint().await?),
            db,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn run(&mut self, kind: Kind, q: Sql) -> Result<Outcome, StoreError> {
        let result = match &mut self.inner {
            TxInner::Own(raw) => {
                let text = q.render(self.backend);
                raw.run(kind, text, q.into_values()).await
            }
            TxInner::Joined(j) => j.shared.run(kind, q).await,
        };
        result.map_err(|e| self.db.write_error(e))
    }

    pub async fn fetch_all(&mut self, q: Sql) -> Result<Vec<Row>, StoreError> {
        self.run(Kind::Fetch, q).await.map(Outcome::rows)
    }

    pub async fn fetch_optional(&mut self, q: Sql) -> Result<Option<Row>, StoreError> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    pub async fn fetch_one(&mut self, q: Sql) -> Result<Row, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::NotFound)
    }

    pub async fn execute(&mut self, q: Sql) -> Result<u64, StoreError> {
        self.run(Kind::Execute, q).await.map(Outcome::count)
    }

    /// Inserts `rows` into `target` (`table (column, …)`, the columns in the rows' order) in
    /// bulk: `COPY … FROM STDIN` on PostgreSQL, multi-row `INSERT`s of [`crate::copy::ROWS`]
    /// rows on SQLite and in an idempotent request's shared transaction. Returns the rows
    /// written. For loads of many rows (demo data), where a statement per few rows would
    /// spend its time in round trips.
    pub async fn insert_rows(
        &mut self,
        target: &str,
        rows: &[Vec<Value>],
    ) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        if let TxInner::Own(RawTx::Postgres(tx)) = &mut self.inner {
            let mut data = Vec::with_capacity(rows.len() * 64);
            crate::copy::encode(rows, &mut data);
            let statement = format!("COPY {target} FROM STDIN");
            let copied = async {
                let conn: &mut sqlx::PgConnection = tx;
                let mut copy = conn.copy_in_raw(&statement).await?;
                copy.send(data).await?;
                copy.finish().await
            }
            .await
            .map_err(classify);
            return copied.map_err(|e| self.db.write_error(e));
        }
        let mut written = 0;
        for chunk in rows.chunks(crate::copy::ROWS) {
            let mut q = Sql::new(&format!("INSERT INTO {target} VALUES "));
            for (i, row) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind_list(row.iter().cloned());
            }
            written += self.execute(q).await?;
        }
        Ok(written)
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        let db = self.db;
        let result = match self.inner {
            TxInner::Own(raw) => raw.commit().await,
            TxInner::Joined(mut j) => {
                let sp = format!("RELEASE SAVEPOINT {}", j.savepoint);
                let r = j.shared.run(Kind::Execute, Sql::new(&sp)).await.map(drop);
                j.done = r.is_ok();
                r
            }
        };
        result.map_err(|e| db.write_error(e))
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Own(raw) => raw.rollback().await,
            TxInner::Joined(mut j) => {
                let sp = format!("ROLLBACK TO SAVEPOINT {}", j.savepoint);
                let r = j.shared.run(Kind::Execute, Sql::new(&sp)).await.map(drop);
                j.done = r.is_ok();
                r
            }
        }
    }
}
