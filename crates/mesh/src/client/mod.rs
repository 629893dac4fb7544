//! [`ServiceClient`]: how every caller reaches a service.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use tis_mesh::{MeshConfig, ServiceClient, StaticDiscovery};
//!
//! let discovery = StaticDiscovery::new(["127.0.0.1:8081".parse()?, "127.0.0.1:8082".parse()?]);
//! let reference = ServiceClient::new("reference", MeshConfig::default(), discovery)?;
//! let req = http::Request::get("/reference/api/grades").body(http_body_util::Empty::<bytes::Bytes>::new())?;
//! let res = reference.call(req).await?; // MeshError → tis_core::HttpError at the edge
//! println!("{}", res.status());
//! println!("{:?}", reference.snapshot());
//! # Ok(()) }
//! ```
//!
//! A call reads the caller's request context (deadline, trace, request id) when it starts;
//! see [`ServiceClient::call`] for what it does before the request enters the
//! [`stack`].

pub(crate) mod driver;
pub mod stack;
#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use tis_core::Degradation;
use tis_core::context::RequestContext;
use tokio::time::Instant;
use tower::ServiceExt;

use self::stack::{Endpoint, Stack};
use crate::balance::Balancer;
use crate::balance::board::Board;
use crate::body::{self, MeshBody};
use crate::config::{ConfigError, MeshConfig};
use crate::discover::Discovery;
use crate::error::{BoxError, DeadlineExceeded, MeshError, RequestBody};
use crate::limit::ConcurrencyLimit;
use crate::outbound::{self, Deadline, Outbound};
use crate::retry::budget::RetryBudget;
use crate::snapshot::{EndpointState, ServiceSnapshot};
use crate::task::AbortOnDrop;

/// A client of one downstream service. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct ServiceClient {
    inner: Arc<Inner>,
}

struct Inner {
    name: Arc<str>,
    cfg: MeshConfig,
    stack: Stack<Endpoint>,
    limit: ConcurrencyLimit<Balancer<Endpoint>>,
    budget: Arc<RetryBudget>,
    board: Arc<Board>,
    _driver: AbortOnDrop,
    _discovery: Box<dyn Discovery>,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceClient")
            .field("service", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl ServiceClient {
    /// Builds the client of service `name`, following `discovery`. Must be called inside a
    /// Tokio runtime: it starts the discovery driver and the health checks, which stop when
    /// the last clone of the client is dropped.
    pub fn new(
        name: impl Into<String>,
        config: MeshConfig,
        discovery: impl Discovery,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let name = name.into();
        let parts = stack::assemble(&name, &config, &discovery);
        Ok(ServiceClient {
            inner: Arc::new(Inner {
                name: Arc::from(name.as_str()),
                cfg: config,
                stack: parts.stack,
                limit: parts.limit,
                budget: parts.budget,
                board: parts.board,
                _driver: parts.driver,
                _discovery: Box::new(discovery),
            }),
        })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Sends `req` to one of the service's endpoints, with everything the stack does
    /// (see [`stack`]). The URI's path and query are kept; scheme and authority are the
    /// chosen endpoint's.
    ///
    /// The deadline is the request's [`Deadline`] extension if it has one, otherwise the
    /// current [`RequestContext`]'s. Before the request enters the stack: a request that may
    /// be retried has its body read into memory (up to `retry_body_limit`; a larger body is
    /// streamed and not retried); `traceparent` and `X-Request-Id` are set from the context.
    /// After it: a response that needed a retry marks the request degraded (`retried`).
    ///
    /// An upstream *answer* is returned whatever its status; only failures to get one are
    /// errors.
    pub async fn call<B>(&self, req: Request<B>) -> Result<Response<Incoming>, MeshError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.call_within(req, None).await
    }

    /// [`ServiceClient::call`] with an explicit deadline, whatever the context says.
    pub async fn call_with_deadline<B>(
        &self,
        req: Request<B>,
        deadline: Instant,
    ) -> Result<Response<Incoming>, MeshError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.call_within(req, Some(deadline)).await
    }

    /// [`ServiceClient::call`] within `deadline` if given (it wins over the [`Deadline`]
    /// extension and the context), as `call` otherwise. As an argument rather than an
    /// extension, the deadline costs the request no extensions map.
    pub async fn call_within<B>(
        &self,
        req: Request<B>,
        deadline: Option<Instant>,
    ) -> Result<Response<Incoming>, MeshError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let started = Instant::now();
        let result = self.send(req, deadline).await;
        let m = &self.inner.board.ctx.metrics;
        m.duration.record(started.elapsed().as_secs_f64());
        match &result {
            Ok(res) => m.answered(res.status()),
            Err(e) => m.failed(e.code()),
        }
        result
    }

    async fn send<B>(
        &self,
        req: Request<B>,
        explicit: Option<Instant>,
    ) -> Result<Response<Incoming>, MeshError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let inner = &*self.inner;
        let ctx = RequestContext::current();
        let (mut parts, body) = req.into_parts();
        // Taken out, not read: from here on the deadline travels in `Outbound` (with the
        // body), and every extension left would be copied again for each retryable try
        // (`outbound::try_clone`).
        let deadline = explicit
            .or_else(|| parts.extensions.remove::<Deadline>().map(|d| d.0))
            .or_else(|| ctx.as_ref().and_then(RequestContext::deadline));
        let too_late = || {
            MeshError::DeadlineExceeded(DeadlineExceeded {
                service: inner.name.clone(),
            })
        };
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return Err(too_late());
        }

        let retryable = outbound::is_retryable(&parts.method, &parts.headers);
        let mut body = if retryable {
            let buffering = body::buffer(body, inner.cfg.retry_body_limit);
            let buffered = match deadline {
                Some(d) => tokio::time::timeout_at(d, buffering)
                    .await
                    .map_err(|_| too_late())?,
                None => buffering.await,
            };
            buffered.map_err(|source| RequestBody { source })?
        } else {
            MeshBody::streaming(body)
        };

        outbound::stamp(&mut parts.headers, ctx.as_ref());
        let mut out = Outbound::new(deadline);
        out.retryable = retryable && body.is_replayable();
        let retries = out.retries.clone();
        body.set_outbound(out);
        let req = Request::from_parts(parts, body);

        inner.budget.deposit();
        let res = inner
            .stack
            .clone()
            .oneshot(req)
            .await
            .map_err(MeshError::from_box)?;

        let status = res.status().as_u16();
        if retries.load(Ordering::Relaxed) > 0
            && status < 500
            && let Some(ctx) = &ctx
        {
            ctx.mark_degraded(Degradation::Retried);
        }
        Ok(res)
    }

    /// A copy of the client's state for status pages: cheap, never waits on a request.
    pub fn snapshot(&self) -> ServiceSnapshot {
        let inner = &*self.inner;
        let endpoints = inner.board.snapshot(Instant::now());
        let count = |s: EndpointState| endpoints.iter().filter(|e| e.state == s).count();
        let stats = &inner.board.ctx.stats;
        ServiceSnapshot {
            service: inner.name.to_string(),
            ready: count(EndpointState::Ready),
            probation: count(EndpointState::Probation),
            ejected: count(EndpointState::Ejected),
            endpoints,
            in_flight: inner.limit.in_flight(),
            max_concurrency: inner.cfg.max_concurrency,
            shed_total: stats.shed.load(Ordering::Relaxed),
            no_healthy_endpoints_total: stats.no_healthy.load(Ordering::Relaxed),
            retries_total: stats.retries.load(Ordering::Relaxed),
            retry_budget: inner.budget.snapshot(),
        }
    }
}
