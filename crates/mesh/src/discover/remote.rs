//! A registry served over HTTP: how a process that is not the gateway follows the instances
//! `tis up` announced to the gateway (`GET /admin/registry` →
//! `{"reference":{"reference-1":"127.0.0.1:40001"}}`).
//!
//! Polled every `interval`. A failed poll keeps the last set (the registry's gateway may be
//! restarting; the instances have not moved because of that), so this source only ever makes
//! things better: at worst it is as stale as a static list.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Discovery, EndpointSet};

/// Endpoints from a remote registry, refreshed while this value lives.
#[derive(Debug)]
pub struct RemoteRegistryDiscovery {
    rx: watch::Receiver<EndpointSet>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RemoteRegistryDiscovery {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RemoteRegistryDiscovery {
    /// Polls `url` once, then every `interval`, for the endpoints of `service`.
    pub async fn start(url: String, service: String, interval: Duration) -> Self {
        let (tx, rx) = watch::channel(EndpointSet::default());
        let client = reqwest::Client::builder()
            .timeout(interval.max(Duration::from_millis(500)))
            .build()
            .unwrap_or_default();
        poll(&client, &url, &service, &tx).await;
        let task = tokio::spawn(async move {
            loop {
                let empty = tx.borrow().is_empty();
                tokio::time::sleep(next_poll(interval, empty)).await;
                poll(&client, &url, &service, &tx).await;
            }
        });
        RemoteRegistryDiscovery { rx, task }
    }
}

/// While no endpoint of the service is known, the registry is asked again soon (every
/// [`EMPTY_POLL`] at most): an instance started beside the ones it calls (`tis up` starts every
/// service at once) would otherwise answer "no healthy endpoint" for up to a whole `interval`
/// after they were announced (seen in CI: a TCS placement write in db-primary-kill's first
/// second). Once endpoints are known, `interval` as configured.
const EMPTY_POLL: Duration = Duration::from_millis(100);

fn next_poll(interval: Duration, empty: bool) -> Duration {
    if empty {
        interval.min(EMPTY_POLL)
    } else {
        interval
    }
}

async fn poll(client: &reqwest::Client, url: &str, service: &str, tx: &watch::Sender<EndpointSet>) {
    let result = async {
        let res = client.get(url).send().await?.error_for_status()?;
        res.json::<BTreeMap<String, BTreeMap<String, SocketAddr>>>()
            .await
    }
    .await;
    match result {
        Ok(mut services) => {
            let set: BTreeSet<SocketAddr> = services
                .remove(service)
                .map(|m| m.into_values().collect())
                .unwrap_or_default();
            tx.send_if_modified(|current| {
                if **current == set {
                    return false;
                }
                tracing::info!(
                    tis.service = service,
                    endpoints = set.len(),
                    "remote registry endpoints changed"
                );
                *current = Arc::new(set);
                true
            });
        }
        Err(e) => {
            tracing::warn!(url, error.message = %e, "remote registry poll failed; keeping the last endpoints")
        }
    }
}

impl Discovery for RemoteRegistryDiscovery {
    fn subscribe(&self) -> watch::Receiver<EndpointSet> {
        self.rx.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_set_is_asked_for_again_soon_and_a_known_one_every_interval() {
        let second = Duration::from_secs(1);
        assert_eq!(next_poll(second, true), Duration::from_millis(100));
        assert_eq!(next_poll(second, false), second);
        let fast = Duration::from_millis(20);
        assert_eq!(next_poll(fast, true), fast);
    }
    use axum::Json;
    use axum::routing::get;
    use std::sync::Mutex;

    #[tokio::test]
    async fn a_remote_registry_is_followed_and_its_outage_keeps_the_last_endpoints() {
        let state: Arc<Mutex<Option<serde_json::Value>>> =
            Arc::new(Mutex::new(Some(serde_json::json!({
                "reference": {"reference-1": "127.0.0.1:1001", "reference-2": "127.0.0.1:1002"},
                "profile": {"profile-1": "127.0.0.1:2001"}
            }))));
        let s2 = state.clone();
        let app = axum::Router::new().route(
            "/admin/registry",
            get(move || {
                let s = s2.clone();
                async move {
                    match s.lock().expect("lock").clone() {
                        Some(v) => Ok(Json(v)),
                        None => Err(http::StatusCode::SERVICE_UNAVAILABLE),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });

        let d = RemoteRegistryDiscovery::start(
            format!("http://{addr}/admin/registry"),
            "reference".into(),
            Duration::from_millis(20),
        )
        .await;
        let mut rx = d.subscribe();
        let first: Vec<String> = rx
            .borrow_and_update()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(first, vec!["127.0.0.1:1001", "127.0.0.1:1002"]);

        *state.lock().expect("lock") =
            Some(serde_json::json!({"reference": {"reference-1": "127.0.0.1:1003"}}));
        tokio::time::timeout(Duration::from_secs(5), rx.changed())
            .await
            .expect("change seen")
            .expect("open");
        let second: Vec<String> = rx.borrow().iter().map(ToString::to_string).collect();
        assert_eq!(second, vec!["127.0.0.1:1003"]);

        // The registry answering errors keeps the last set.
        *state.lock().expect("lock") = None;
        let waited = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
        assert!(waited.is_err(), "an outage must not change the endpoints");
        assert_eq!(rx.borrow().len(), 1);
    }
}
