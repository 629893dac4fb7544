//! `GET /admin/status`: the full detail, for operators (admin listener only).
//!
//! ```json
//! {
//!   "status": { …the public view… },
//!   "gateway": { "uptimeSeconds": 12, "inFlight": 3, "maxConcurrency": 1024, "shedTotal": 0 },
//!   "routeTable": { "generation": 2, "source": "/etc/tis/routes.toml", "loadedAt": "…",
//!                   "lastError": null, "routes": [ {"prefix": "/reference", "service": "reference", …} ] },
//!   "idp": { …tis-auth KeyStatus: state, keys, keyAgeSeconds, graceRemainingSeconds, lastError… },
//!   "services": [ { "service": "reference", "title": "Reference",
//!                   "pools": [ { "pool": "blue", "weight": 90,
//!                                "client": { …tis-mesh ServiceSnapshot: endpoints (state, ewmaLatencyMs,
//!                                            successRate, …), ready, ejected, probation, retryBudget… } } ] } ],
//!   "registry": { "reference": { "reference-1": "127.0.0.1:40001" } }
//! }
//! ```
//!
//! `GET /admin/status/history?since=<ms>` is the history's raw form, which peers pull.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;
use tis_auth::KeyStatus;
use tis_mesh::ServiceSnapshot;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tis_core::extract::Query;

use super::history::recorder::lock;
use super::{PublicStatus, Sources};
use crate::config::RouteConfig;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminStatus {
    pub status: PublicStatus,
    pub gateway: GatewayState,
    pub route_table: RouteTableState,
    pub idp: KeyStatus,
    pub services: Vec<ServiceState>,
    pub registry: BTreeMap<String, BTreeMap<String, SocketAddr>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayState {
    pub uptime_seconds: u64,
    pub in_flight: usize,
    pub max_concurrency: usize,
    pub shed_total: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTableState {
    pub generation: u64,
    pub source: String,
    pub loaded_at: String,
    pub last_error: Option<String>,
    pub routes: Vec<RouteConfig>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    pub service: String,
    pub title: String,
    pub pools: Vec<PoolState>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolState {
    pub pool: String,
    pub weight: u32,
    pub client: ServiceSnapshot,
}

impl Sources {
    pub fn admin(&self) -> AdminStatus {
        let table = self.table.load();
        AdminStatus {
            status: self.public(),
            gateway: GatewayState {
                uptime_seconds: self.started.elapsed().as_secs(),
                in_flight: self.admission.in_flight(),
                max_concurrency: self.admission.limit(),
                shed_total: self.admission.shed_total(),
            },
            route_table: RouteTableState {
                generation: table.generation,
                source: table.source.clone(),
                loaded_at: humantime::format_rfc3339_seconds(table.loaded_at).to_string(),
                last_error: self.reloader.last_error(),
                routes: table.config.clone(),
            },
            idp: self.keys.status(),
            services: table
                .services
                .values()
                .map(|s| ServiceState {
                    service: s.name.to_string(),
                    title: s.title.clone(),
                    pools: s
                        .pools
                        .iter()
                        .map(|p| PoolState {
                            pool: p.name.to_string(),
                            weight: p.weight,
                            client: p.client.snapshot(),
                        })
                        .collect(),
                })
                .collect(),
            registry: self.instances.list(),
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct Since {
    /// ms since the epoch; 0 (the default) for everything.
    #[serde(default)]
    since: u64,
}

/// `GET /admin/status/history?since=<ms>`: this gateway's history from `since` (every
/// gateway's cells and incidents it holds), what its peers pull (see
/// [`super::history`]).
pub async fn history(State(sources): State<Sources>, Query(q): Query<Since>) -> Response {
    let export = lock(&sources.history).export(q.since);
    Json(export).into_response()
}
