//! Liveness, readiness and draining.
//!
//! `/health/live` answers 200 while the process can answer at all. `/health/ready` answers 200
//! when the process can serve now: it is not draining and no registered check is `Down`.
//! A `Degraded` check (for example "writes unavailable, reads fine") keeps the instance ready
//! and is shown in the detail, so balancers keep sending reads while operators see the cause.
//!
//! Checks are set by whoever knows their state (the database monitor, the key cache…); the
//! endpoint only reads them, so a probe never waits on a slow dependency.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::degradation::Degradation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Up,
    Degraded,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub status: CheckStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The `TIS-Degraded` name this state puts on every answer (`db-read-only`): the
    /// readiness response carries it too, so that balancers' health checks learn it without
    /// waiting for traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marks: Option<String>,
}

/// The readiness report, as `/health/ready` renders it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Readiness {
    /// `ready`, `degraded` (ready, with something degraded), `not_ready` or `draining`.
    pub status: String,
    pub service: String,
    pub checks: BTreeMap<String, Check>,
}

/// The health of one process. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Health(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    service: String,
    draining: AtomicBool,
    checks: RwLock<BTreeMap<String, Check>>,
}

impl Health {
    pub fn new(service: impl Into<String>) -> Self {
        Health(Arc::new(Inner {
            service: service.into(),
            draining: AtomicBool::new(false),
            checks: RwLock::new(BTreeMap::new()),
        }))
    }

    pub fn service(&self) -> &str {
        &self.0.service
    }

    /// Sets the state of the named check, registering it on first use.
    pub fn set(&self, name: &str, status: CheckStatus, detail: Option<String>) {
        self.set_marked(name, status, detail, None);
    }

    /// [`Health::set`], naming the degradation (`TIS-Degraded`) that this state means for
    /// every answer; `/health/ready` then sends that header as well.
    pub fn set_marked(
        &self,
        name: &str,
        status: CheckStatus,
        detail: Option<String>,
        marks: Option<Degradation>,
    ) {
        let mut checks = self.0.checks.write().unwrap_or_else(|p| p.into_inner());
        let new = Check {
            status,
            detail,
            marks: marks.map(|d| d.as_str().to_owned()),
        };
        if checks.get(name) != Some(&new) {
            tracing::info!(health.check = name, health.status = ?status, health.detail = new.detail.as_deref().unwrap_or(""), "health check changed");
            checks.insert(name.to_owned(), new);
        }
    }

    pub fn check(&self, name: &str) -> Option<Check> {
        self.0
            .checks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Stops reporting ready, for ever: the process is shutting down.
    pub fn set_draining(&self) {
        if !self.0.draining.swap(true, Ordering::SeqCst) {
            tracing::info!("draining: readiness now reports not ready");
        }
    }

    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }

    pub fn is_ready(&self) -> bool {
        !self.is_draining() && self.readiness().status != "not_ready"
    }

    pub fn readiness(&self) -> Readiness {
        let checks = self
            .0
            .checks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let status = if self.is_draining() {
            "draining"
        } else if checks.values().any(|c| c.status == CheckStatus::Down) {
            "not_ready"
        } else if checks.values().any(|c| c.status == CheckStatus::Degraded) {
            "degraded"
        } else {
            "ready"
        };
        Readiness {
            status: status.into(),
            service: self.0.service.clone(),
            checks,
        }
    }

    /// `/health/live` and `/health/ready`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/health/live", get(live))
            .route("/health/ready", get(ready))
            .with_state(self.clone())
    }
}

async fn live() -> Response {
    Json(serde_json::json!({"status": "live"})).into_response()
}

async fn ready(State(health): State<Health>) -> Response {
    let report = health.readiness();
    let code = match report.status.as_str() {
        "ready" | "degraded" => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let marks: Vec<&str> = report
        .checks
        .values()
        .filter_map(|c| c.marks.as_deref())
        .collect();
    let mut res = (code, Json(&report)).into_response();
    if !marks.is_empty()
        && let Ok(v) = http::HeaderValue::from_str(&marks.join(", "))
    {
        res.headers_mut().insert(crate::context::DEGRADED, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_checks_and_draining() {
        let h = Health::new("reference");
        assert!(h.is_ready());
        h.set(
            "database",
            CheckStatus::Down,
            Some("connection refused".into()),
        );
        assert!(!h.is_ready());
        assert_eq!(h.readiness().status, "not_ready");
        h.set(
            "database",
            CheckStatus::Degraded,
            Some("writes unavailable".into()),
        );
        assert!(h.is_ready());
        assert_eq!(h.readiness().status, "degraded");
        h.set("database", CheckStatus::Up, None);
        assert_eq!(h.readiness().status, "ready");
        h.set_draining();
        assert!(!h.is_ready());
        assert_eq!(h.readiness().status, "draining");
    }

    #[tokio::test]
    async fn readiness_sends_the_degradation_a_check_names() {
        use tower::ServiceExt;
        let h = Health::new("reference");
        let ask = || async {
            let req = http::Request::get("/health/ready")
                .body(axum::body::Body::empty())
                .expect("request");
            h.router::<()>().oneshot(req).await.expect("infallible")
        };
        let res = ask().await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().get(crate::context::DEGRADED).is_none());

        h.set_marked(
            "database",
            CheckStatus::Degraded,
            Some("writes unavailable".into()),
            Some(Degradation::DbReadOnly),
        );
        let res = ask().await;
        assert_eq!(res.status(), 200, "still ready: reads are served");
        assert_eq!(res.headers()[crate::context::DEGRADED], "db-read-only");

        h.set("database", CheckStatus::Up, None);
        assert!(
            ask()
                .await
                .headers()
                .get(crate::context::DEGRADED)
                .is_none()
        );
    }
}
