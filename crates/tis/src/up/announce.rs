//! Tells the gateway where each service instance is, through its admin registry API:
//! `PUT /admin/registry/{service}/{instance}` when an instance is ready, `DELETE` when it is
//! down, and every ready instance again whenever the gateway (re)starts, since its registry
//! lives in memory.
//!
//! Each call carries the gateway's admin token (`keys/admin.token` in the data folder, which
//! `prepare` writes and the gateway is started with): the admin listener refuses writes
//! without it.
//!
//! Calls are made in the background with a few quick retries: the supervisor's event loop
//! never waits on the gateway, and a gateway that is restarting gets the whole list again
//! once it is ready anyway.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

/// Sends registry changes to one gateway admin listener.
#[derive(Debug, Clone)]
pub struct Announcer {
    client: reqwest::Client,
    token: String,
}

impl Announcer {
    /// An announcer sending the admin token kept in `token_file`.
    pub fn new(token_file: &Path) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Ok(Announcer {
            client,
            token: read_admin_token(token_file)?,
        })
    }

    /// Registers `instance` of `service` at `addr`.
    pub fn register(&self, admin: SocketAddr, service: &str, instance: &str, addr: SocketAddr) {
        let url = format!("http://{admin}/admin/registry/{service}/{instance}");
        let body = serde_json::json!({ "addr": addr.to_string() });
        let request = self.client.put(url).bearer_auth(&self.token).json(&body);
        spawn_with_retries(request, format!("register {instance}"));
    }

    /// Removes `instance` of `service`.
    pub fn deregister(&self, admin: SocketAddr, service: &str, instance: &str) {
        let url = format!("http://{admin}/admin/registry/{service}/{instance}");
        let request = self.client.delete(url).bearer_auth(&self.token);
        spawn_with_retries(request, format!("deregister {instance}"));
    }
}

/// The gateway's admin token, from the file `tis up` keeps it in (`tis ctl` reads it too).
pub fn read_admin_token(file: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the gateway's admin token {}", file.display()))?;
    Ok(text.trim().to_owned())
}

fn spawn_with_retries(request: reqwest::RequestBuilder, what: String) {
    tokio::spawn(async move {
        for attempt in 1..=3u32 {
            let Some(req) = request.try_clone() else {
                return;
            };
            match req.send().await {
                // 404 on a delete: the gateway no longer knows it, which is what we wanted.
                Ok(res)
                    if res.status().is_success()
                        || res.status() == reqwest::StatusCode::NOT_FOUND =>
                {
                    tracing::debug!(action = %what, "gateway registry updated");
                    return;
                }
                Ok(res) => {
                    tracing::warn!(action = %what, status = res.status().as_u16(), attempt, "gateway refused a registry change")
                }
                Err(e) => {
                    tracing::warn!(action = %what, error.message = %e, attempt, "gateway registry unreachable")
                }
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
    });
}
