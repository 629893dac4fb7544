//! Active health checks: `GET /health/ready` on every endpoint, every second.
//!
//! Passive signals (the breaker watching real responses) only speak when there is traffic, and
//! only after requests have failed. Active checks speak first: an instance that starts draining
//! answers 503 on `/health/ready` and is ejected before any request is sent to it; an ejected
//! instance that answers 200 again is let into probation at once rather than after its
//! back-off. The check *confirms both ways* (see [`crate::breaker::state`]): a failed check
//! trips a closed breaker and keeps an open one open; a passing check moves an open breaker to
//! half-open, and a half-open one to closed.
//!
//! Checks use the service's pooled client, but bypass the breaker, the balancer and the
//! limits: they must reach an ejected endpoint, and must not be shed.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Uri, Version};
use http_body_util::BodyExt;
use tokio::time::MissedTickBehavior;

use crate::balance::board::EndpointShared;
use crate::body::MeshBody;
use crate::config::HealthCheckConfig;
use crate::connect::HttpClient;
use crate::task::AbortOnDrop;

/// Starts checking `endpoint` until the returned guard is dropped.
pub(crate) fn spawn(
    endpoint: Arc<EndpointShared>,
    client: HttpClient,
    cfg: &HealthCheckConfig,
    h2c: bool,
) -> Option<AbortOnDrop> {
    let uri: Uri = match format!("http://{}{}", endpoint.addr, cfg.path).parse() {
        Ok(uri) => uri,
        Err(e) => {
            tracing::error!(path = %cfg.path, error.message = %e, "bad health check path; checks disabled");
            return None;
        }
    };
    let (every, timeout) = (cfg.interval, cfg.timeout);
    let version = if h2c {
        Version::HTTP_2
    } else {
        Version::HTTP_11
    };
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let sent = tokio::time::Instant::now();
            let (ok, detail, degraded) = check(&client, &uri, version, timeout).await;
            if ok {
                endpoint.metrics.check_pass.increment(1);
            } else {
                endpoint.metrics.check_fail.increment(1);
                tracing::debug!(endpoint = %endpoint.addr, detail, "health check failed");
            }
            endpoint.update(|st, now| st.on_check_reporting(now, sent, ok, detail, degraded));
        }
    });
    Some(AbortOnDrop(task))
}

/// One check: passes on any 2xx within `timeout`; also returns the degradations a passing
/// endpoint reported in `TIS-Degraded` (a ready instance whose database is read-only).
async fn check(
    client: &HttpClient,
    uri: &Uri,
    version: Version,
    timeout: Duration,
) -> (bool, String, Vec<String>) {
    let mut req = Request::new(MeshBody::empty());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = uri.clone();
    *req.version_mut() = version;
    let exchange = async {
        let res = client.request(req).await?;
        let status = res.status();
        let degraded: Vec<String> = res
            .headers()
            .get_all(tis_core::context::DEGRADED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(tis_core::context::degradation_names)
            .map(str::to_owned)
            .collect();
        // Read the (small) body so the connection can be reused.
        let _ = res.into_body().collect().await;
        Ok::<_, hyper_util::client::legacy::Error>((status, degraded))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok((status, degraded))) if status.is_success() => {
            (true, status.as_u16().to_string(), degraded)
        }
        Ok(Ok((status, _))) => (false, status.as_u16().to_string(), Vec::new()),
        Ok(Err(e)) => (false, crate::error::chain(&e), Vec::new()),
        Err(_) => (false, format!("no answer within {timeout:?}"), Vec::new()),
    }
}
