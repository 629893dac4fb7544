//! The discovery driver: follows a service's [`Changes`] for as long as the client lives, and
//! for each new endpoint puts its state on the board, starts its health checks and hands its
//! stack to the balancer; for each endpoint gone, the reverse.
//!
//! It runs in its own task so that the board (and the status page) follow discovery even when
//! no request is flowing; each thread's balancer picks the endpoint services up on its next
//! use.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use tower::discover::Change;

use crate::balance::Endpoints;
use crate::balance::board::{Board, EndpointShared};
use crate::config::MeshConfig;
use crate::connect::HttpClient;
use crate::discover::Changes;
use crate::health;
use crate::task::AbortOnDrop;

pub(crate) type MakeEndpoint<S> = Box<dyn Fn(Arc<EndpointShared>) -> S + Send + Sync>;

pub(crate) struct Driver<S> {
    pub board: Arc<Board>,
    pub cfg: MeshConfig,
    /// Hands the endpoint services to every thread's balancer.
    pub endpoints: Arc<Endpoints<S>>,
    pub make: MakeEndpoint<S>,
    /// The client for active health checks; `None` when they are off.
    pub checks: Option<HttpClient>,
}

impl<S: Clone + Send + 'static> Driver<S> {
    fn apply(&self, change: Change<SocketAddr, ()>) {
        match change {
            Change::Insert(addr, ()) => {
                let shared = EndpointShared::new(addr, self.board.ctx.clone(), &self.cfg);
                let checks = self.checks.as_ref().and_then(|client| {
                    health::spawn(
                        shared.clone(),
                        client.clone(),
                        &self.cfg.health_check,
                        self.cfg.h2c,
                    )
                });
                self.board.insert(shared.clone(), checks);
                self.endpoints.insert(addr, (self.make)(shared));
                tracing::info!(tis.service = &*self.board.ctx.name, endpoint = %addr, "endpoint discovered");
            }
            Change::Remove(addr) => {
                self.board.remove(addr);
                self.endpoints.remove(addr);
                tracing::info!(tis.service = &*self.board.ctx.name, endpoint = %addr, "endpoint removed");
            }
        }
    }

    /// Applies the changes that are already known now (so the first request finds the
    /// endpoints), then follows the rest in a task.
    pub(crate) fn start(self, mut changes: Changes) -> AbortOnDrop {
        while let Some(Some(Ok(change))) = changes.next().now_or_never() {
            self.apply(change);
        }
        AbortOnDrop(tokio::spawn(async move {
            while let Some(Ok(change)) = changes.next().await {
                self.apply(change);
            }
        }))
    }
}
