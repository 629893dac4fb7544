//! The status banner: `/api/status` from the gateway, reused for `web.status_cache`, told in
//! the words a page needs ("Reference data may be out of date", "Changes cannot be saved right
//! now — try again in a few minutes"), and whether forms may be submitted.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::api::Gateway;

/// What every page shows at its top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Banner {
    /// One sentence per thing that is not working, in plain words; empty when all is well.
    pub messages: Vec<String>,
    /// Whether changes can be saved; forms are disabled (with the reason) when not.
    pub writes_ok: bool,
}

pub const WRITES_DOWN: &str = "Changes cannot be saved right now — try again in a few minutes.";
pub const REFERENCE_STALE: &str = "Reference data may be out of date.";

impl Banner {
    /// The banner for a `/api/status` body.
    pub fn from_status(status: &serde_json::Value) -> Banner {
        let mut banner = Banner {
            messages: Vec::new(),
            writes_ok: true,
        };
        let caps = status["capabilities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for cap in caps {
            if cap["status"].as_str() == Some("ok") {
                continue;
            }
            let id = cap["id"].as_str().unwrap_or_default();
            let reason = cap["reason"].as_str().unwrap_or_default().to_owned();
            match id {
                "writes" => {
                    banner.writes_ok = false;
                    banner.messages.push(format!("{WRITES_DOWN} {reason}"));
                }
                "service:reference" => {
                    banner.messages.push(format!("{REFERENCE_STALE} {reason}"));
                }
                _ if !reason.is_empty() => banner.messages.push(reason),
                _ => {}
            }
        }
        banner
    }
}

/// The cached banner. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatusCache {
    gateway: Gateway,
    ttl: Duration,
    last: Arc<Mutex<Option<(Instant, Banner)>>>,
}

impl StatusCache {
    pub fn new(gateway: Gateway, ttl: Duration) -> StatusCache {
        StatusCache {
            gateway,
            ttl,
            last: Arc::default(),
        }
    }

    /// The banner, asking the gateway at most once per `ttl`.
    pub async fn banner(&self) -> Banner {
        let mut last = self.last.lock().await;
        if let Some((at, banner)) = &*last
            && at.elapsed() < self.ttl
        {
            return banner.clone();
        }
        let banner = match self.gateway.status().await {
            Ok(status) => Banner::from_status(&status),
            Err(_) => Banner {
                messages: vec![
                    "The system status cannot be checked right now: parts of TIS may not work."
                        .into(),
                ],
                writes_ok: true,
            },
        };
        *last = Some((Instant::now(), banner.clone()));
        banner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_reference_and_read_only_writes_are_said_in_plain_words() {
        let status = serde_json::json!({"capabilities": [
            {"id": "login", "status": "ok", "reason": "People can log in."},
            {"id": "service:reference", "status": "down", "reason": "Reference data is unavailable."},
            {"id": "writes", "status": "degraded", "reason": "Its database is read-only."},
        ]});
        let banner = Banner::from_status(&status);
        assert!(!banner.writes_ok);
        assert_eq!(banner.messages.len(), 2);
        assert!(banner.messages[0].starts_with(REFERENCE_STALE));
        assert!(banner.messages[1].starts_with(WRITES_DOWN));
        let fine =
            serde_json::json!({"capabilities": [{"id": "writes", "status": "ok", "reason": "x"}]});
        assert_eq!(
            Banner::from_status(&fine),
            Banner {
                messages: vec![],
                writes_ok: true
            }
        );
    }
}
