//! What one request asks of the database, carried in a task-local so no handler threads it.
//!
//! [`crate::http::middleware`] opens a [`RequestScope`] for each request: the consistency the
//! caller asked for (`TIS-Consistency`), and whether the request has written. Reads through
//! [`Db::read`](crate::Db::read) take the stronger of what they ask and what the scope asks:
//! - the caller's token: a replica that has replayed it, else the primary;
//! - once the request has used the primary for writing, the primary: a handler that creates a
//!   record and then reads it back to answer must see it, and no replica can have it yet.
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

    /// What a read in this request must see, at least.
    pub(crate) fn read_consistency(&self) -> Consistency {
        if self.wrote() {
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
