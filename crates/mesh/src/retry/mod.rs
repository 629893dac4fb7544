//! Retries: the outermost layer of the stack, a `tower::retry::Retry` with our [`RetryPolicy`].
//!
//! A retry is a second chance for a request that failed for a reason another endpoint, or a
//! moment later, could fix — and a second load on a system that may be failing. So a retry is
//! sent only when every one of these holds:
//!
//! - **the request is safe to repeat**: GET, HEAD, OPTIONS, PUT, DELETE, or a POST/PATCH that
//!   carries an `Idempotency-Key` (the service then returns the first result instead of doing
//!   the work twice);
//! - **its body can be replayed**: it was small enough to be kept in memory
//!   ([`crate::body`]); a streamed body is never sent twice;
//! - **the failure is worth it**: a connect error (nothing was sent), a per-try timeout, a
//!   connection that broke before the answer (a pooled connection the endpoint had just
//!   closed, an instance killed mid-request), or a 502/503/504 answer. The last three may
//!   follow a request the endpoint did process — which is why only requests safe to repeat
//!   get here. A 500 (a bug) and a 4xx (the caller's mistake) are not retried: they would
//!   fail the same way again;
//! - **there is time**: the retry would start before the deadline (the deadline layer below
//!   refuses it otherwise), and the request has had fewer than `max_retries` retries;
//! - **the budget allows it** ([`budget`]): retries add at most 20 % to the traffic, plus 10/s.
//!
//! A retry goes to a **different endpoint** whenever another one is available: the failed
//! endpoint is named in the request's `Outbound` extension, and the balancer makes it report
//! not-ready for that one request. Only when no other endpoint is available does the retry wait
//! a short, jittered, doubling pause and go back to the same one.
//!
//! A request that succeeded after a retry is marked degraded (`retried`), so the response's
//! `TIS-Degraded` header tells the caller the system is limping.

pub mod budget;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::future::Either;
use http::Response;
use tokio::time::{Instant, Sleep};
use tower::retry::Policy;

use self::budget::RetryBudget;
use crate::balance::board::Board;
use crate::config::RetryConfig;
use crate::error::{
    BoxError, BreakerOpen, Connect, Failure, Timeout, Upstream, classify, shared_outage,
};
use crate::outbound::{self, MeshRequest, Outbound, Served};

/// Leave at least this much of the deadline for a retry to be worth starting.
const MIN_USEFUL: Duration = Duration::from_millis(2);

/// Decides, per failed try, whether and when to try again (see the module documentation).
#[derive(Clone)]
pub struct RetryPolicy {
    budget: Arc<RetryBudget>,
    cfg: Arc<RetryConfig>,
    board: Arc<Board>,
}

impl RetryPolicy {
    pub(crate) fn new(budget: Arc<RetryBudget>, cfg: RetryConfig, board: Arc<Board>) -> Self {
        RetryPolicy {
            budget,
            cfg: Arc::new(cfg),
            board,
        }
    }

    /// Whether the outcome of a try is worth another, and where it was served.
    fn judge<B>(
        &self,
        result: &Result<Response<B>, BoxError>,
    ) -> (bool, Option<std::net::SocketAddr>) {
        match result {
            Ok(res) => (
                // A read-only database answers the same from every endpoint: no retry.
                self.cfg.retry_statuses.contains(&res.status().as_u16()) && !shared_outage(res),
                res.extensions().get::<Served>().map(|s| s.endpoint),
            ),
            Err(e) => match classify(e) {
                Failure::NotSent | Failure::TimedOut | Failure::Broken => (true, endpoint_of(e)),
                Failure::Deadline | Failure::Other => (false, None),
            },
        }
    }

    fn backoff(&self, retries: u32) -> Duration {
        let base = self.cfg.backoff.as_secs_f64() * 2f64.powi(retries.min(10) as i32);
        Duration::from_secs_f64(base * (0.5 + fastrand::f64() / 2.0))
    }
}

fn endpoint_of(err: &BoxError) -> Option<std::net::SocketAddr> {
    if let Some(e) = err.downcast_ref::<Connect>() {
        Some(e.endpoint)
    } else if let Some(e) = err.downcast_ref::<Timeout>() {
        Some(e.endpoint)
    } else if let Some(e) = err.downcast_ref::<Upstream>() {
        Some(e.endpoint)
    } else {
        err.downcast_ref::<BreakerOpen>().map(|e| e.endpoint)
    }
}

impl<B> Policy<MeshRequest, Response<B>, BoxError> for RetryPolicy {
    type Future = Either<futures::future::Ready<()>, Sleep>;

    fn retry(
        &mut self,
        req: &mut MeshRequest,
        result: &mut Result<Response<B>, BoxError>,
    ) -> Option<Self::Future> {
        let (worth, failed_at) = self.judge(result);
        if !worth {
            return None;
        }
        let out = req.body().outbound()?.clone();
        let retries = out.retries.load(Ordering::Relaxed);
        if !out.retryable || retries >= self.cfg.max_retries {
            return None;
        }
        let now = Instant::now();
        if self.board.available(now, None) == 0 {
            // Nowhere to go: the caller is better served by the failure it has.
            return None;
        }
        let elsewhere = failed_at.is_some_and(|a| self.board.available(now, Some(a)) > 0);
        let wait = if elsewhere {
            Duration::ZERO
        } else {
            self.backoff(retries)
        };
        if out.deadline.is_some_and(|d| now + wait + MIN_USEFUL >= d) {
            return None;
        }
        let ctx = &self.board.ctx;
        if !self.budget.withdraw() {
            ctx.metrics.budget_exhausted.increment(1);
            ctx.stats.budget_exhausted.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        out.retries.fetch_add(1, Ordering::Relaxed);
        ctx.metrics.retries.increment(1);
        ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
        req.body_mut().set_outbound(Outbound {
            avoid: if elsewhere { failed_at } else { None },
            ..out
        });
        tracing::debug!(tis.service = &*ctx.name, retry = retries + 1, avoid = ?failed_at.filter(|_| elsewhere), "retrying");
        Some(if wait.is_zero() {
            Either::Left(futures::future::ready(()))
        } else {
            Either::Right(tokio::time::sleep(wait))
        })
    }

    fn clone_request(&mut self, req: &MeshRequest) -> Option<MeshRequest> {
        let out = req.body().outbound()?;
        if !out.retryable {
            return None;
        }
        outbound::try_clone(req)
    }
}

#[cfg(test)]
mod tests;
