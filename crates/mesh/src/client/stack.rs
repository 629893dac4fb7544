//! The one place where a service client's stack is assembled.
//!
//! Outermost first, as in ARCHITECTURE.md §3 step 7:
//!
//! ```text
//! ServiceClient::call      buffer a retryable body; traceparent, X-Request-Id; the deadline
//!   │
//!   ├ Retry                budgeted (20 % + 10/s); idempotent or Idempotency-Key only;
//!   │                      connect errors, timeouts, broken connections, 502/503/504;
//!   │                      on a different endpoint
//!   ├ Deadline             TIS-Deadline: <ms left> on each try; DeadlineExceeded unsent
//!   ├ ConcurrencyLimit     max_concurrency tries in flight; Overloaded at once beyond
//!   ├ Balancer             P2C over peak-EWMA, ready endpoints only, one per thread;
//!   │                      NoHealthyEndpoints at once when every endpoint is ejected
//!   │   ─ ─ ─ ─ ─ ─ ─ ─ ─  per endpoint, from discovery (driver)  ─ ─ ─ ─ ─ ─ ─ ─ ─ ─
//!   ├ PeakEwma             (tower) latency × in-flight: the balancer's load metric
//!   ├ Breaker              not ready while ejected; one probe in half-open   ◄── health checks
//!   ├ PerTryTimeout        per_try_timeout, or the deadline if sooner; cut early at
//!   │                      max(100 ms, 3 × the service's p99) when a retry elsewhere
//!   │                      could follow (crate::latency)
//!   └ HttpEndpoint         the service's pooled hyper client (HTTP/1.1 or h2c)
//! ```
//!
//! Why this order:
//! - **Retry outermost**, so that each try goes through everything below it again: a new
//!   deadline header, a new permit, a new balancer choice (avoiding the endpoint that failed).
//! - **Deadline above the limit and balancer**, so that a try with nothing left is refused
//!   before it takes a permit or an endpoint.
//! - **Limit above the balancer**, so that waiting for an endpoint holds a permit: the queue
//!   for the balancer is bounded by the limit, and excess is shed, not queued.
//! - **Breaker below the balancer**, so that an ejected endpoint is just "not ready" and the
//!   balancer routes around it without failing anything (linkerd2-proxy's placement).
//! - **Timeout below the breaker**, so that an endpoint that stops answering is charged with
//!   the timeout and ejected.

use std::sync::Arc;

use tower::ServiceBuilder;
use tower::retry::{Retry, RetryLayer};

use super::driver::{Driver, MakeEndpoint};
use crate::balance::board::{Board, EndpointShared, ServiceCtx};
use crate::balance::{Balancer, Endpoints};
use crate::breaker::{Breaker, BreakerLayer};
use crate::config::MeshConfig;
use crate::connect::{HttpClient, HttpEndpoint, Pools};
use crate::deadline::{Deadline, DeadlineLayer};
use crate::discover::{Changes, Discovery};
use crate::limit::ConcurrencyLimit;
use crate::retry::RetryPolicy;
use crate::retry::budget::RetryBudget;
use crate::task::AbortOnDrop;
use crate::timeout::PerTryTimeout;

/// One endpoint's stack, below the balancer.
pub(crate) type Endpoint = Breaker<PerTryTimeout<HttpEndpoint>>;

/// A service's stack above the endpoints.
pub(crate) type Stack<S> = Retry<RetryPolicy, Deadline<ConcurrencyLimit<Balancer<S>>>>;

/// The assembled stack and the handles the client reads its state through.
pub(crate) struct Assembled<S> {
    pub stack: Stack<S>,
    pub limit: ConcurrencyLimit<Balancer<S>>,
    pub budget: Arc<RetryBudget>,
    pub board: Arc<Board>,
    pub driver: AbortOnDrop,
}

/// The real stack: endpoints are pooled HTTP clients.
pub(crate) fn assemble(
    name: &str,
    cfg: &MeshConfig,
    discovery: &dyn Discovery,
) -> Assembled<Endpoint> {
    let pools = Pools::new(cfg);
    let make = {
        let (pools, cfg) = (pools.clone(), cfg.clone());
        let service: Arc<str> = Arc::from(name);
        Box::new(move |shared: Arc<EndpointShared>| {
            let addr = shared.addr;
            ServiceBuilder::new()
                .layer(BreakerLayer::new(shared.clone()))
                .service(PerTryTimeout::new(
                    HttpEndpoint::new(pools.clone(), service.clone(), addr, cfg.h2c),
                    cfg.per_try_timeout,
                    shared,
                ))
        }) as MakeEndpoint<Endpoint>
    };
    let checks = cfg.health_check.enabled.then(|| pools.shared());
    assemble_with(name, cfg, discovery, make, checks)
}

/// The stack over any endpoint services `make` builds (tests use mocks).
pub(crate) fn assemble_with<S, B>(
    name: &str,
    cfg: &MeshConfig,
    discovery: &dyn Discovery,
    make: MakeEndpoint<S>,
    checks: Option<HttpClient>,
) -> Assembled<S>
where
    S: tower::Service<
            crate::outbound::MeshRequest,
            Response = http::Response<B>,
            Error = crate::BoxError,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    let ctx = ServiceCtx::new(name, cfg);
    let board = Board::new(ctx.clone());
    let endpoints = Endpoints::new();
    let driver = Driver {
        board: board.clone(),
        cfg: cfg.clone(),
        endpoints: endpoints.clone(),
        make,
        checks,
    }
    .start(Changes::new(discovery.subscribe()));

    let balancer = Balancer::new(endpoints, board.clone(), &cfg.balancer, cfg.per_try_timeout);
    let limit = ConcurrencyLimit::new(balancer, cfg.max_concurrency, ctx.clone());
    let budget = ctx.budget.clone();
    let stack = ServiceBuilder::new()
        .layer(RetryLayer::new(RetryPolicy::new(
            budget.clone(),
            cfg.retry.clone(),
            board.clone(),
        )))
        .layer(DeadlineLayer::new(ctx.name.clone()))
        .service(limit.clone());
    Assembled {
        stack,
        limit,
        budget,
        board,
        driver,
    }
}
