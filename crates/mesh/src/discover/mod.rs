//! Discovery: where a service's endpoints are, behind one trait.
//!
//! Every source — a static list, the local [`Registry`](crate::Registry) fed by `tis up` (or
//! that registry followed over HTTP from another process), DNS (A/AAAA or SRV, for
//! Kubernetes headless Services) — publishes the *whole current set* of
//! endpoint addresses on a `tokio::sync::watch` channel; that is the [`Discovery`] trait.
//! [`Changes`] turns successive sets into the `Insert`/`Remove` stream that tower's
//! [`Discover`](tower::discover::Discover) expects, by diffing each set against the last.
//!
//! Why sets rather than events: a watch never lags or overflows (a slow reader just sees the
//! latest set), a new reader starts from the truth rather than from a replay, and a source
//! cannot get its reader out of step by losing an event. Each source only has to say what is
//! there now.

pub mod config;
pub mod dns;
pub mod remote;

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::BoxStream;
use tokio::sync::watch;
use tower::discover::Change;

/// A set of endpoint addresses, as published by a source.
pub type EndpointSet = Arc<BTreeSet<SocketAddr>>;

/// A source of endpoints for one service.
pub trait Discovery: Send + Sync + 'static {
    /// The current set, and every later one.
    fn subscribe(&self) -> watch::Receiver<EndpointSet>;
}

/// A fixed list of endpoints.
#[derive(Debug)]
pub struct StaticDiscovery {
    tx: watch::Sender<EndpointSet>,
}

impl StaticDiscovery {
    pub fn new(addrs: impl IntoIterator<Item = SocketAddr>) -> Self {
        StaticDiscovery {
            tx: watch::channel(Arc::new(addrs.into_iter().collect())).0,
        }
    }
}

impl Discovery for StaticDiscovery {
    fn subscribe(&self) -> watch::Receiver<EndpointSet> {
        self.tx.subscribe()
    }
}

impl<D: Discovery + ?Sized> Discovery for Arc<D> {
    fn subscribe(&self) -> watch::Receiver<EndpointSet> {
        (**self).subscribe()
    }
}

impl<D: Discovery + ?Sized> Discovery for Box<D> {
    fn subscribe(&self) -> watch::Receiver<EndpointSet> {
        (**self).subscribe()
    }
}

/// The changes between successive endpoint sets: a tower `Discover` of addresses.
///
/// It first inserts every endpoint of the current set, then follows the source. It ends when
/// the source is dropped (the endpoints then stay as they were).
pub struct Changes {
    inner: BoxStream<'static, Result<Change<SocketAddr, ()>, Infallible>>,
}

struct DiffState {
    rx: watch::Receiver<EndpointSet>,
    known: BTreeSet<SocketAddr>,
    pending: VecDeque<Change<SocketAddr, ()>>,
    started: bool,
}

impl Changes {
    pub fn new(rx: watch::Receiver<EndpointSet>) -> Self {
        let state = DiffState {
            rx,
            known: BTreeSet::new(),
            pending: VecDeque::new(),
            started: false,
        };
        let inner = futures::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(change) = st.pending.pop_front() {
                    return Some((Ok(change), st));
                }
                if st.started && st.rx.changed().await.is_err() {
                    return None;
                }
                st.started = true;
                let current = st.rx.borrow_and_update().clone();
                diff(&st.known, &current, &mut st.pending);
                st.known = (*current).clone();
            }
        });
        Changes {
            inner: Box::pin(inner),
        }
    }
}

/// Appends the removals, then the insertions, that turn `old` into `new`.
pub(crate) fn diff(
    old: &BTreeSet<SocketAddr>,
    new: &BTreeSet<SocketAddr>,
    out: &mut VecDeque<Change<SocketAddr, ()>>,
) {
    out.extend(old.difference(new).map(|a| Change::Remove(*a)));
    out.extend(new.difference(old).map(|a| Change::Insert(*a, ())));
}

impl Stream for Changes {
    type Item = Result<Change<SocketAddr, ()>, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn describe(c: Option<Result<Change<SocketAddr, ()>, Infallible>>) -> String {
        match c {
            Some(Ok(Change::Insert(a, ()))) => format!("+{}", a.port()),
            Some(Ok(Change::Remove(a))) => format!("-{}", a.port()),
            None => "end".into(),
        }
    }

    #[tokio::test]
    async fn successive_sets_become_removals_and_insertions() {
        let (tx, rx) = watch::channel::<EndpointSet>(Arc::new([addr(1), addr(2)].into()));
        let mut changes = Changes::new(rx);
        assert_eq!(describe(changes.next().await), "+1");
        assert_eq!(describe(changes.next().await), "+2");
        tx.send_replace(Arc::new([addr(2), addr(3)].into()));
        assert_eq!(describe(changes.next().await), "-1");
        assert_eq!(describe(changes.next().await), "+3");
        drop(tx);
        assert_eq!(describe(changes.next().await), "end");
    }

    #[tokio::test]
    async fn a_static_list_inserts_each_endpoint_once() {
        let source = StaticDiscovery::new([addr(5), addr(6), addr(5)]);
        let mut changes = Changes::new(source.subscribe());
        assert_eq!(describe(changes.next().await), "+5");
        assert_eq!(describe(changes.next().await), "+6");
        assert!(futures::poll!(changes.next()).is_pending());
    }
}
