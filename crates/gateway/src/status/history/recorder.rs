//! The history's background work, off the request path: sampling the live status, appending
//! to the file, and pulling the peers' history (see [`super`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::{Export, History, HistoryConfig, Journal, SLOT_MS, now_ms};
use crate::status::Sources;

/// The history, shared by the recorder and the status endpoints.
pub type Shared = Arc<Mutex<History>>;

/// Locks the history (a panic elsewhere leaves it usable: it holds counters).
pub fn lock(h: &Shared) -> MutexGuard<'_, History> {
    h.lock().unwrap_or_else(|p| p.into_inner())
}

/// What [`Recorder::spawn`] runs.
pub struct Recorder {
    pub sources: Sources,
    pub config: HistoryConfig,
    pub journal: Option<Journal>,
}

impl Recorder {
    /// Samples every `sample_interval`, appends every `flush_interval` (and once more when
    /// `stop` turns true), and pulls the peers every `exchange_interval`.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let Recorder {
            sources,
            config,
            mut journal,
        } = self;
        let history = sources.history.clone();
        let mut tasks = Vec::new();
        if !config.peers.is_empty() {
            tasks.push(tokio::spawn(exchange(
                history.clone(),
                config.peers.clone(),
                config.exchange_interval,
                stop.clone(),
            )));
        }
        tasks.push(tokio::spawn(async move {
            let every = |d: Duration| {
                let mut i = tokio::time::interval_at(Instant::now() + d, d);
                i.set_missed_tick_behavior(MissedTickBehavior::Delay);
                i
            };
            let mut sample = every(config.sample_interval);
            let mut flush = every(config.flush_interval);
            let max_step = 2 * config.sample_interval.as_millis() as u64;
            let mut last = now_ms();
            let stopped = stopped(stop);
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    _ = sample.tick() => {
                        let caps = sources.public().capabilities;
                        let now = now_ms();
                        let step = now.saturating_sub(last).min(max_step);
                        last = now;
                        let mut h = lock(&history);
                        h.record(now, &caps, step);
                    }
                    _ = flush.tick() => {
                        journal = write(journal, &history).await;
                    }
                    _ = &mut stopped => {
                        write(journal, &history).await;
                        return;
                    }
                }
            }
        }));
        tasks
    }
}

/// Appends the changes (or rewrites the file) on a blocking thread.
async fn write(journal: Option<Journal>, history: &Shared) -> Option<Journal> {
    let mut journal = journal?;
    let (changes, whole) = {
        let mut h = lock(history);
        h.prune(now_ms());
        let changes = h.changes();
        let whole = journal.wants_rewrite().then(|| h.snapshot());
        (changes, whole)
    };
    let done = tokio::task::spawn_blocking(move || {
        let r = journal.write(&changes, whole.as_ref());
        (journal, r)
    })
    .await;
    match done {
        Ok((journal, result)) => {
            if let Err(e) = result {
                tracing::warn!(error.message = %e, "the status history could not be written; it is kept in memory");
            }
            Some(journal)
        }
        Err(e) => {
            tracing::error!(error.message = %e, "the status history writer failed; the history is no longer written");
            None
        }
    }
}

/// Pulls every peer's history every `every`, from the time of the last good pull of it.
async fn exchange(
    history: Shared,
    peers: Vec<String>,
    every: Duration,
    stop: watch::Receiver<bool>,
) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut since: HashMap<SocketAddr, u64> = HashMap::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stopped = stopped(stop);
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stopped => return,
        }
        for peer in &peers {
            let addrs = match tokio::net::lookup_host(peer.as_str()).await {
                Ok(a) => a.collect::<Vec<_>>(),
                Err(e) => {
                    tracing::debug!(peer, error.message = %e, "status history: peer not resolved");
                    continue;
                }
            };
            for addr in addrs {
                let from = since.get(&addr).copied().unwrap_or(0);
                let asked = now_ms();
                match pull(&client, addr, from).await {
                    Ok(export) => {
                        let mut h = lock(&history);
                        if export.gateway != h.id() {
                            h.absorb(export);
                        }
                        // The slot in progress is asked again next time.
                        since.insert(
                            addr,
                            asked.saturating_sub(SLOT_MS.min(2 * every.as_millis() as u64)),
                        );
                    }
                    Err(e) => {
                        tracing::debug!(peer = %addr, error.message = %e, "status history: peer not reached");
                    }
                }
            }
        }
    }
}

async fn pull(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
    addr: SocketAddr,
    since: u64,
) -> anyhow::Result<Export> {
    let uri: http::Uri = format!("http://{addr}/admin/status/history?since={since}").parse()?;
    let res = tokio::time::timeout(Duration::from_secs(10), async {
        let res = client.get(uri).await?;
        anyhow::ensure!(res.status().is_success(), "status {}", res.status());
        let body = res.into_body().collect().await?.to_bytes();
        Ok(serde_json::from_slice::<Export>(&body)?)
    })
    .await??;
    Ok(res)
}

/// Pulls `addr`'s history once (tests, `tis ctl`).
pub async fn pull_once(addr: SocketAddr, since: u64) -> anyhow::Result<Export> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    pull(&client, addr, since).await
}

/// An `Arc<Mutex<History>>` around `h`.
pub fn shared(h: History) -> Shared {
    Arc::new(Mutex::new(h))
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
