//! A test harness: the real stack above the endpoints, with `tower_test` mocks under each
//! endpoint's breaker and per-try timeout, answered by small scripted responders. Used by the unit tests of the
//! balancer, the breaker and the retry policy, on a paused clock.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Response, StatusCode};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt;
use tower_test::mock;

use super::driver::MakeEndpoint;
use super::stack::{Stack, assemble_with};
use crate::balance::board::EndpointShared;
use crate::body::MeshBody;
use crate::breaker::{Breaker, BreakerLayer};
use crate::config::MeshConfig;
use crate::discover::StaticDiscovery;
use crate::error::BoxError;
use crate::outbound::{self, MeshRequest, Outbound, Served};
use crate::retry::budget::RetryBudget;
use crate::task::AbortOnDrop;
use crate::timeout::PerTryTimeout;

pub(crate) type MockEndpoint = mock::Mock<MeshRequest, Response<()>>;
pub(crate) type MockHandle = mock::Handle<MeshRequest, Response<()>>;
pub(crate) type MockStack = Breaker<PerTryTimeout<MockEndpoint>>;

pub(crate) fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A request as `ServiceClient::call` would send it into the stack.
pub(crate) fn request(method: Method, key: bool, deadline: Option<Instant>) -> MeshRequest {
    let mut req = http::Request::new(MeshBody::full("x"));
    *req.method_mut() = method;
    if key {
        req.headers_mut().insert(
            outbound::IDEMPOTENCY_KEY,
            http::HeaderValue::from_static("k"),
        );
    }
    let mut out = Outbound::new(deadline);
    out.retryable = outbound::is_retryable(req.method(), req.headers());
    req.body_mut().set_outbound(out);
    req
}

pub(crate) fn get() -> MeshRequest {
    request(Method::GET, false, None)
}

/// What a scripted endpoint does with each request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Script {
    /// Answer with this status after this delay.
    Answer(StatusCode, Duration),
    /// Fail as a refused connection would.
    Refuse,
    /// Never answer, as a frozen (SIGSTOPped) or partitioned instance.
    Hang,
}

pub(crate) struct Harness {
    pub stack: Stack<MockStack>,
    pub budget: Arc<RetryBudget>,
    handles: Arc<Mutex<BTreeMap<SocketAddr, MockHandle>>>,
    shared: Arc<Mutex<BTreeMap<SocketAddr, Arc<EndpointShared>>>>,
    scripts: Arc<Mutex<BTreeMap<SocketAddr, Script>>>,
    /// Requests each endpoint received.
    pub received: Arc<Mutex<BTreeMap<SocketAddr, Vec<MeshRequest>>>>,
    responders: Vec<JoinHandle<()>>,
    _driver: AbortOnDrop,
    _discovery: StaticDiscovery,
}

impl Harness {
    /// The stack over endpoints on `ports`, each answering 200 at once until scripted
    /// otherwise. Active health checks are off.
    pub(crate) fn new(ports: &[u16], mut cfg: MeshConfig) -> Self {
        cfg.health_check.enabled = false;
        let handles = Arc::new(Mutex::new(BTreeMap::new()));
        let shared = Arc::new(Mutex::new(BTreeMap::new()));
        let make: MakeEndpoint<MockStack> = {
            let (handles, shared_map) = (handles.clone(), shared.clone());
            let per_try = cfg.per_try_timeout;
            Box::new(move |shared: Arc<EndpointShared>| {
                let (mock, handle) = mock::pair();
                handles.lock().expect("lock").insert(shared.addr, handle);
                shared_map
                    .lock()
                    .expect("lock")
                    .insert(shared.addr, shared.clone());
                let timeout = PerTryTimeout::new(mock, per_try, shared.clone());
                tower::Layer::layer(&BreakerLayer::new(shared), timeout)
            })
        };
        let discovery = StaticDiscovery::new(ports.iter().map(|p| addr(*p)));
        let parts = assemble_with("test", &cfg, &discovery, make, None);
        let mut harness = Harness {
            stack: parts.stack,
            budget: parts.budget,
            handles,
            shared,
            scripts: Arc::new(Mutex::new(BTreeMap::new())),
            received: Arc::new(Mutex::new(BTreeMap::new())),
            responders: Vec::new(),
            _driver: parts.driver,
            _discovery: discovery,
        };
        for port in ports {
            harness.respond(*port);
        }
        harness
    }

    fn respond(&mut self, port: u16) {
        let a = addr(port);
        let Some(mut handle) = self.handles.lock().expect("lock").remove(&a) else {
            return;
        };
        let (scripts, received) = (self.scripts.clone(), self.received.clone());
        self.responders.push(tokio::spawn(async move {
            while let Some((req, send)) = handle.next_request().await {
                let script = scripts
                    .lock()
                    .expect("lock")
                    .get(&a)
                    .copied()
                    .unwrap_or(Script::Answer(StatusCode::OK, Duration::ZERO));
                received
                    .lock()
                    .expect("lock")
                    .entry(a)
                    .or_default()
                    .push(req);
                tokio::spawn(async move {
                    match script {
                        Script::Answer(status, delay) => {
                            tokio::time::sleep(delay).await;
                            let mut res = Response::new(());
                            *res.status_mut() = status;
                            send.send_response(res);
                        }
                        Script::Refuse => send.send_error(crate::error::Connect {
                            service: "test".into(),
                            endpoint: a,
                            source: "connection refused".into(),
                        }),
                        Script::Hang => {
                            std::future::pending::<()>().await;
                            drop(send);
                        }
                    }
                });
            }
        }));
    }

    pub(crate) fn script(&self, port: u16, script: Script) {
        self.scripts
            .lock()
            .expect("lock")
            .insert(addr(port), script);
    }

    pub(crate) fn endpoint(&self, port: u16) -> Arc<EndpointShared> {
        self.shared
            .lock()
            .expect("lock")
            .get(&addr(port))
            .cloned()
            .expect("endpoint exists")
    }

    /// How many requests the endpoint on `port` received.
    pub(crate) fn count(&self, port: u16) -> usize {
        self.received
            .lock()
            .expect("lock")
            .get(&addr(port))
            .map_or(0, Vec::len)
    }

    pub(crate) fn total(&self) -> usize {
        self.received
            .lock()
            .expect("lock")
            .values()
            .map(Vec::len)
            .sum()
    }

    pub(crate) async fn call(&self, req: MeshRequest) -> Result<Response<()>, BoxError> {
        self.budget.deposit();
        self.stack.clone().oneshot(req).await
    }

    /// Which port served a response.
    pub(crate) fn served_by(res: &Response<()>) -> Option<u16> {
        res.extensions().get::<Served>().map(|s| s.endpoint.port())
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for r in &self.responders {
            r.abort();
        }
    }
}
