//! What one request asks of the database, carried in a task-local so no handler threads it.
//!
//! [`crate::http::middleware`] opens a [`RequestScope`] for each request: the consistency the
//! caller asked for (`TIS-Consistency`), and whether the request has written. Reads through
//! [`Db::read`](crate::Db::read) take the stronger of what they ask and what the scope asks:
//! - the caller's token: a replica that has replayed it, else the primary;
//! - once the request has used the primary for writing, the primary: a handler that creates a
//!   record and then reads it back to answer must see it, and no replica can have it yet;
//! - once a read of the request was served by the primary (a replica's miss confirmed there,
//!   or no replica eligible), the primary: what follows must not be older than what it saw.
//!
//! Reads of one request also stay on the replica that served its first read, while that
//! replica may serve them: two replicas replay at different speeds, and a request that read a
//! user from one and the user's roles from the other could see the user without roles. One
//! replica's history only moves forward, so a request never sees a newer state, then an older.
//!
//! An idempotent request also parks its one transaction here (see [`crate::tx`]).
//! Outside a scope (background jobs, tests) reads ask only what they say.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::lsn::Consistency;
use crate::tx::SharedTx;

tokio::task_local! {
    static SCOPE: Arc<RequestScope>;
}

/// The database side of one request.
#[derive(Debug, Default)]
pub struct RequestScope {
    requested: Consistency,
    wrote: AtomicBool,
    /// A read was served by the primary: later reads go there too.
    primary_reads: AtomicBool,
    /// The node that served the request's reads, per database handle: `(db id, node)`.
    pinned: Mutex<Option<(usize, usize)>>,
    shared: Mutex<Option<Arc<SharedTx>>>,
}

impl RequestScope {
    pub fn new(requested: Consistency) -> Arc<RequestScope> {
        Arc::new(RequestScope {
            requested,
            ..RequestScope::default()
        })
    }

    /// The scope of the request this task serves, if any.
    pub fn current() -> Option<Arc<RequestScope>> {
        SCOPE.try_with(Clone::clone).ok()
    }

    /// Runs `fut` with `self` as the current scope.
    pub async fn run<F: Future>(self: Arc<Self>, fut: F) -> F::Output {
        SCOPE.scope(self, fut).await
    }

    /// What the caller asked for.
    pub fn requested(&self) -> Consistency {
        self.requested
    }

    /// Whether the request has used the primary for writing.
    pub fn wrote(&self) -> bool {
        self.wrote.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_wrote(&self) {
        self.wrote.store(true, Ordering::Relaxed);
    }

    /// Later reads of the request go to the primary.
    pub(crate) fn read_from_primary(&self) {
        self.primary_reads.store(true, Ordering::Relaxed);
    }

    /// The node that served this request's reads on database `db_id`, if any.
    pub(crate) fn pinned(&self, db_id: usize) -> Option<usize> {
        self.pinned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .filter(|(db, _)| *db == db_id)
            .map(|(_, node)| node)
    }

    /// Records the node that served a read: the first one of the request stays (a read the
    /// pinned replica cannot serve goes to the primary, never to another replica).
    pub(crate) fn pin(&self, db_id: usize, node: usize) {
        let mut pinned = self.pinned.lock().unwrap_or_else(|p| p.into_inner());
        if pinned.is_none() {
            *pinned = Some((db_id, node));
        }
    }

    /// What a read in this request must see, at least.
    pub(crate) fn read_consistency(&self) -> Consistency {
        if self.wrote() || self.primary_reads.load(Ordering::Relaxed) {
            Consistency::Primary
        } else {
            self.requested
        }
    }

    pub(crate) fn shared_for(&self, db_id: usize) -> Option<Arc<SharedTx>> {
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|s| s.db_id == db_id)
            .cloned()
    }

    pub(crate) fn set_shared(&self, tx: Option<Arc<SharedTx>>) {
        *self.shared.lock().unwrap_or_else(|p| p.into_inner()) = tx;
    }
}
