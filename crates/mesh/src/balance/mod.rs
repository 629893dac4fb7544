//! The balancer: power-of-two-choices over peak-EWMA latency, among *ready* endpoints only.
//!
//! # Why P2C over peak-EWMA
//!
//! Round-robin sends a slow endpoint its full share; "least loaded" needs a global view and
//! makes every client stampede to the same quiet endpoint at once. Power-of-two-choices picks
//! two ready endpoints at random and sends to the one with the lower *cost*; this is nearly
//! as good as knowing the best, and random enough that clients never act in step
//! (Mitzenmacher, "The Power of Two Choices"). The cost is peak-EWMA latency times requests in
//! flight (the `ewma` module has the arithmetic): an endpoint that answers one request slowly is
//! avoided at once, and slowly forgiven. This is `tower::balance::p2c::Balance` over
//! `tower::load::PeakEwma`, as in linkerd2-proxy.
//!
//! # Ready endpoints only, and failing fast
//!
//! The balancer only picks among endpoints whose `poll_ready` says ready. Each endpoint's
//! breaker ([`crate::breaker`]) says *not ready* while it is ejected, so ejected endpoints are
//! never chosen. When *no* endpoint is ready, tower's balancer would simply wait; here the
//! [`Balancer`] handle looks at the *board* (the shared endpoint states) instead — if no endpoint could take a
//! request now, the call fails at once with [`NoHealthyEndpoints`], in microseconds rather
//! than after a timeout. A request also gives up when its deadline passes while it waits.
//!
//! # One balancer per thread
//!
//! Tower's balancer is a single `&mut` service. Each thread that sends requests gets its own
//! (made on first use, fed the same endpoint services by the discovery driver through
//! `Endpoints`); on the thread, the handle shares it behind an async mutex: a caller takes
//! the lock, waits for readiness, dispatches, and releases the lock *before* awaiting the
//! response — so the lock is held for microseconds, requests run concurrently, and only
//! permit holders of the concurrency limit above ever queue for it. One balancer shared by
//! the gateway's worker threads made their requests queue for each other's lock, and every
//! hand-over woke the other thread's runtime through the kernel (about one in four requests
//! under load): the same reason the connection pools are per thread ([`crate::connect`]).
//! What must be shared is shared: the endpoints' breaker states, probes and health are on the
//! `Board`; only the peak-EWMA estimates are per thread (each thread learns latency from
//! its own requests, as separate proxies would).
//!
//! Holding the lock also makes "avoid the endpoint that just failed" exact: while a retry
//! polls the balancer, that endpoint's breaker reports not-ready to it (and only to it: the
//! mark names the thread).

pub(crate) mod board;
pub(crate) mod ewma;

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::future::BoxFuture;
use http::Response;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::time::Instant;
use tower::Service;
use tower::balance::p2c::Balance;
use tower::discover::Change;
use tower::load::{CompleteOnResponse, PeakEwmaDiscover};

use self::board::Board;
use crate::config::BalancerConfig;
use crate::error::{BoxError, DeadlineExceeded, NoHealthyEndpoints};
use crate::outbound::MeshRequest;

/// Endpoint services, as the discovery driver inserts and removes them.
pub(crate) struct EndpointStream<S> {
    rx: mpsc::UnboundedReceiver<Change<SocketAddr, S>>,
}

impl<S> Stream for EndpointStream<S> {
    type Item = Result<Change<SocketAddr, S>, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|c| c.map(Ok))
    }
}

type P2c<S> = Balance<PeakEwmaDiscover<EndpointStream<S>>, MeshRequest>;

/// The endpoint services of one service, as the discovery driver inserts and removes them,
/// handed to every thread's balancer: the current set to a new balancer, each change to all.
pub(crate) struct Endpoints<S> {
    inner: std::sync::Mutex<EndpointsInner<S>>,
}

struct EndpointsInner<S> {
    current: BTreeMap<SocketAddr, S>,
    balancers: Vec<mpsc::UnboundedSender<Change<SocketAddr, S>>>,
}

impl<S: Clone> Endpoints<S> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Endpoints {
            inner: std::sync::Mutex::new(EndpointsInner {
                current: BTreeMap::new(),
                balancers: Vec::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EndpointsInner<S>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn insert(&self, addr: SocketAddr, service: S) {
        let mut inner = self.lock();
        // A balancer whose thread has gone no longer listens: forget it.
        inner
            .balancers
            .retain(|tx| tx.send(Change::Insert(addr, service.clone())).is_ok());
        inner.current.insert(addr, service);
    }

    pub(crate) fn remove(&self, addr: SocketAddr) {
        let mut inner = self.lock();
        inner
            .balancers
            .retain(|tx| tx.send(Change::Remove(addr)).is_ok());
        inner.current.remove(&addr);
    }

    /// A stream for a new balancer: every current endpoint, then every change.
    fn subscribe(&self) -> EndpointStream<S> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        for (addr, service) in &inner.current {
            let _ = tx.send(Change::Insert(*addr, service.clone()));
        }
        inner.balancers.push(tx);
        EndpointStream { rx }
    }
}

/// A balancer or its [`Endpoints`], type-erased: one thread-local list serves every kind of
/// endpoint service.
type Erased = dyn Any + Send + Sync;

thread_local! {
    /// This thread's balancer of each live [`Endpoints`].
    static LOCAL: RefCell<Vec<(Weak<Erased>, Arc<Erased>)>> = const { RefCell::new(Vec::new()) };
}

/// A handle on one service's balancers, one per thread (see the module documentation).
pub struct Balancer<S> {
    endpoints: Arc<Endpoints<S>>,
    board: Arc<Board>,
    default_rtt: Duration,
    decay: Duration,
    /// How long a request without a deadline waits for an endpoint that the board says is
    /// available but the balancer does not have ready yet.
    give_up: Duration,
}

impl<S> Clone for Balancer<S> {
    fn clone(&self) -> Self {
        Balancer {
            endpoints: self.endpoints.clone(),
            board: self.board.clone(),
            default_rtt: self.default_rtt,
            decay: self.decay,
            give_up: self.give_up,
        }
    }
}

impl<S, B> Balancer<S>
where
    S: Service<MeshRequest, Response = Response<B>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    /// Balancers over the endpoints of `endpoints`, whose states are on `board`.
    pub(crate) fn new(
        endpoints: Arc<Endpoints<S>>,
        board: Arc<Board>,
        cfg: &BalancerConfig,
        give_up: Duration,
    ) -> Self {
        Balancer {
            endpoints,
            board,
            default_rtt: cfg.default_rtt,
            decay: cfg.decay,
            give_up,
        }
    }

    /// This thread's balancer, made on first use.
    fn local(&self) -> Arc<Mutex<P2c<S>>> {
        let key = Arc::as_ptr(&self.endpoints).cast::<()>();
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            let found = local
                .iter()
                .find(|(w, _)| std::ptr::eq(w.as_ptr().cast::<()>(), key) && w.strong_count() > 0)
                .and_then(|(_, b)| b.clone().downcast::<Mutex<P2c<S>>>().ok());
            if let Some(found) = found {
                return found;
            }
            // Forget the balancers of dropped services.
            local.retain(|(w, _)| w.strong_count() > 0);
            let discover = PeakEwmaDiscover::new::<MeshRequest>(
                self.endpoints.subscribe(),
                self.default_rtt,
                self.decay,
                CompleteOnResponse::default(),
            );
            let balancer = Arc::new(Mutex::new(Balance::new(discover)));
            let erased: Arc<Erased> = self.endpoints.clone();
            local.push((Arc::downgrade(&erased), balancer.clone()));
            balancer
        })
    }
}

enum Wait {
    Failed(BoxError),
    NoHealthy,
    GaveUp,
}

/// Polls the balancer until it is ready, nothing on the board could become ready, or `until`.
/// While a retry polls, `avoid`'s breaker stands aside (marked for the polling thread at each
/// poll: the task may resume on another thread).
async fn wait_ready<S, B>(
    bal: &mut P2c<S>,
    board: &Board,
    changes: &mut watch::Receiver<u64>,
    until: Instant,
    avoid: Option<SocketAddr>,
) -> Result<(), Wait>
where
    S: Service<MeshRequest, Response = Response<B>, Error = BoxError>,
{
    let ctx = &board.ctx;
    let mut poll_ready = |cx: &mut Context<'_>| {
        if avoid.is_some() {
            ctx.set_avoid(avoid);
        }
        bal.poll_ready(cx)
    };
    loop {
        // Mark what we have seen before looking, so a change made meanwhile wakes us.
        changes.borrow_and_update();
        let polled = futures::poll!(futures::future::poll_fn(&mut poll_ready));
        if let Poll::Ready(r) = polled {
            return r.map_err(Wait::Failed);
        }
        if board.available(Instant::now(), None) == 0 {
            return Err(Wait::NoHealthy);
        }
        tokio::select! {
            r = futures::future::poll_fn(&mut poll_ready) => return r.map_err(Wait::Failed),
            _ = changes.changed() => {}
            _ = tokio::time::sleep_until(until) => return Err(Wait::GaveUp),
        }
    }
}

impl<S, B> Service<MeshRequest> for Balancer<S>
where
    S: Service<MeshRequest, Response = Response<B>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is awaited per call, under the lock (see the module documentation).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: MeshRequest) -> Self::Future {
        let (inner, board, give_up) = (self.local(), self.board.clone(), self.give_up);
        Box::pin(async move {
            let out = req.body().outbound();
            let avoid = out.and_then(|o| o.avoid);
            let deadline = out.and_then(|o| o.deadline);
            let fallback = Instant::now() + give_up;
            let (until, by_deadline) = match deadline {
                Some(d) if d < fallback => (d, true),
                _ => (fallback, false),
            };
            let ctx = board.ctx.clone();
            let mut changes = ctx.subscribe();
            // Uncontended, the lock is taken without arming a timer.
            let mut bal = match inner.clone().try_lock_owned() {
                Ok(bal) => bal,
                Err(_) => match tokio::time::timeout_at(until, inner.lock_owned()).await {
                    Ok(bal) => bal,
                    Err(_) => return Err(gave_up(&board, by_deadline)),
                },
            };
            let avoid = avoid.filter(|a| board.available(Instant::now(), Some(*a)) > 0);
            let ready = wait_ready(&mut bal, &board, &mut changes, until, avoid).await;
            if avoid.is_some() {
                ctx.set_avoid(None);
            }
            match ready {
                Ok(()) => {}
                Err(Wait::Failed(e)) => return Err(e),
                Err(Wait::NoHealthy) => return Err(no_healthy(&board)),
                Err(Wait::GaveUp) => return Err(gave_up(&board, by_deadline)),
            }
            let fut = bal.call(req);
            drop(bal);
            fut.await
        })
    }
}

fn no_healthy(board: &Board) -> BoxError {
    let ctx = &board.ctx;
    ctx.metrics.no_healthy.increment(1);
    ctx.stats
        .no_healthy
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Box::new(NoHealthyEndpoints {
        service: ctx.name.clone(),
    })
}

fn gave_up(board: &Board, by_deadline: bool) -> BoxError {
    if by_deadline {
        Box::new(DeadlineExceeded {
            service: board.ctx.name.clone(),
        })
    } else {
        no_healthy(board)
    }
}

#[cfg(test)]
mod tests;
