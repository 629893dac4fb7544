//! Reloading the route table without a restart.
//!
//! The table lives in an `ArcSwap<RouteTable>`. A reload reads the routes file, builds a new
//! table (reusing every unchanged pool's client, see [`crate::routes::build`]) and swaps it
//! in; requests already running keep the table they started with (each holds its route's
//! `Arc`), new requests see the new one. A file that does not parse, or a table that fails
//! its checks, is refused with a warning in the log and on `/admin/status`
//! (`routeTable.lastError`), and the current table keeps serving: a typo never takes the
//! gateway down.
//!
//! What triggers a reload: `SIGHUP`; a change of the file's modification time, size or
//! content, checked every `routes_file_poll` (no inotify: polling works on every file
//! system, including Kubernetes ConfigMap volumes, whose files change by symlink swap); and
//! `POST /admin/routes/reload`. Reloads are serialised by a mutex, so two triggers at once
//! build one table after the other, never two tables from the same generation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use serde::Deserialize;
use tis_mesh::Registry;

use crate::config::{RouteConfig, ServiceConfig};
use crate::routes::{self, BuildError, RouteTable};

/// The routes file: `routes` and `services`, as in `[gateway]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutesFile {
    pub routes: Vec<RouteConfig>,
    pub services: BTreeMap<String, ServiceConfig>,
}

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("no routes file is configured")]
    NoFile,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid routes file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Owns the reload path of one gateway.
pub struct Reloader {
    table: Arc<ArcSwap<RouteTable>>,
    registry: Arc<Registry>,
    file: Option<PathBuf>,
    serial: tokio::sync::Mutex<()>,
    last_error: Mutex<Option<String>>,
}

impl Reloader {
    pub fn new(
        table: Arc<ArcSwap<RouteTable>>,
        registry: Arc<Registry>,
        file: Option<PathBuf>,
    ) -> Self {
        Reloader {
            table,
            registry,
            file,
            serial: tokio::sync::Mutex::new(()),
            last_error: Mutex::new(None),
        }
    }

    /// The error of the last refused reload, if the last attempt failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Builds a table from `routes` and `services` and swaps it in.
    pub async fn apply(
        &self,
        routes: &[RouteConfig],
        services: &BTreeMap<String, ServiceConfig>,
        source: &str,
    ) -> Result<u64, ReloadError> {
        let _one_at_a_time = self.serial.lock().await;
        let current = self.table.load_full();
        let previous = (current.generation > 0).then_some(&*current);
        let result = routes::build(routes, services, previous, &self.registry, source).await;
        self.finish(result.map_err(ReloadError::from))
    }

    /// Reads the routes file and applies it.
    pub async fn reload_file(&self) -> Result<u64, ReloadError> {
        let Some(path) = &self.file else {
            return Err(ReloadError::NoFile);
        };
        match read_routes_file(path).await {
            Ok(file) => {
                self.apply(&file.routes, &file.services, &path.display().to_string())
                    .await
            }
            Err(e) => {
                let _one_at_a_time = self.serial.lock().await;
                self.finish(Err(e))
            }
        }
    }

    fn finish(&self, result: Result<RouteTable, ReloadError>) -> Result<u64, ReloadError> {
        let mut last = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(table) => {
                let generation = table.generation;
                let routes = table.routes.len();
                let source = table.source.clone();
                self.table.store(Arc::new(table));
                *last = None;
                crate::metrics::reload(true, generation);
                tracing::info!(routes.generation = generation, routes.count = routes, routes.source = %source, "route table loaded");
                Ok(generation)
            }
            Err(e) => {
                let generation = self.table.load().generation;
                crate::metrics::reload(false, generation);
                tracing::warn!(error.message = %e, routes.generation = generation, "route table refused; the current one keeps serving");
                *last = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Reloads on SIGHUP and when the file changes, until the returned task is aborted.
    pub fn spawn_watchers(self: &Arc<Self>, poll: Duration) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::hangup()) {
                Ok(mut hup) => {
                    let this = self.clone();
                    tasks.push(tokio::spawn(async move {
                        while hup.recv().await.is_some() {
                            tracing::info!("SIGHUP received; reloading the route table");
                            let _ = this.reload_file().await;
                        }
                    }));
                }
                Err(e) => tracing::warn!(error.message = %e, "cannot listen for SIGHUP"),
            }
        }
        if let Some(path) = self.file.clone() {
            let this = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut seen = fingerprint(&path).await;
                let mut tick = tokio::time::interval(poll);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let now = fingerprint(&path).await;
                    if now != seen {
                        seen = now;
                        tracing::info!(path = %path.display(), "routes file changed; reloading");
                        let _ = this.reload_file().await;
                    }
                }
            }));
        }
        tasks
    }
}

/// Reads and parses a routes file.
pub async fn read_routes_file(path: &Path) -> Result<RoutesFile, ReloadError> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| ReloadError::Read {
            path: path.to_owned(),
            source,
        })?;
    toml::from_str(&text).map_err(|e| ReloadError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// What identifies a version of the file: modification time, size and a hash of the content
/// (a rewrite within one mtime tick still counts).
async fn fingerprint(path: &Path) -> Option<(SystemTime, u64, u64)> {
    use std::hash::{BuildHasher, BuildHasherDefault};
    let meta = tokio::fs::metadata(path).await.ok()?;
    let content = tokio::fs::read(path).await.ok()?;
    let hash = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(&content);
    Some((meta.modified().ok()?, meta.len(), hash))
}
