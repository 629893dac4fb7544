//! The local registry API that `tis up` announces instances through (admin listener only).
//!
//! ```text
//! PUT    /admin/registry/{service}/{instance}   {"addr":"127.0.0.1:40001"}   201 new, 200 replaced
//! DELETE /admin/registry/{service}/{instance}                                204, 404 unknown
//! GET    /admin/registry                        {"reference":{"reference-1":"127.0.0.1:40001"}}
//! ```
//!
//! tis-mesh's [`Registry`] knows a service's *addresses*; people and supervisors know
//! *instances* (`reference-1`), which restart on new ports. [`Instances`] keeps
//! instance → address and publishes each service's whole address set to the registry on
//! every change, so a restarted instance replaces its old address in one step and every
//! client following the registry (a pool with `discovery = { kind = "registry" }`) sees it
//! at once. For a named pool the registry service is `<service>-<pool>` by default
//! (`reference-green`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use http::StatusCode;
use serde::Deserialize;
use tis_core::HttpError;
use tis_core::extract::{Json, Path};
use tis_mesh::Registry;

/// Instance names over tis-mesh's registry.
#[derive(Debug)]
pub struct Instances {
    registry: Arc<Registry>,
    known: Mutex<BTreeMap<String, BTreeMap<String, SocketAddr>>>,
}

impl Instances {
    pub fn new(registry: Arc<Registry>) -> Self {
        Instances {
            registry,
            known: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Registers (or moves) an instance. Returns whether it is new.
    pub fn register(&self, service: &str, instance: &str, addr: SocketAddr) -> bool {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let instances = known.entry(service.to_owned()).or_default();
        let new = instances.insert(instance.to_owned(), addr).is_none();
        self.registry.set(service, instances.values().copied());
        tracing::info!(tis.service = service, tis.instance.id = instance, tis.instance.address = %addr, "instance registered");
        new
    }

    /// Removes an instance. Returns whether it was known.
    pub fn deregister(&self, service: &str, instance: &str) -> bool {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let Some(instances) = known.get_mut(service) else {
            return false;
        };
        let removed = instances.remove(instance).is_some();
        self.registry.set(service, instances.values().copied());
        if removed {
            tracing::info!(
                tis.service = service,
                tis.instance.id = instance,
                "instance deregistered"
            );
        }
        removed
    }

    pub fn list(&self) -> BTreeMap<String, BTreeMap<String, SocketAddr>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Announce {
    addr: SocketAddr,
}

/// The registry routes.
pub fn router(instances: Arc<Instances>) -> Router {
    Router::new()
        .route("/admin/registry", get(list))
        .route(
            "/admin/registry/{service}/{instance}",
            put(register).delete(deregister),
        )
        .with_state(instances)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

async fn list(State(instances): State<Arc<Instances>>) -> Response {
    axum::Json(instances.list()).into_response()
}

async fn register(
    State(instances): State<Arc<Instances>>,
    Path((service, instance)): Path<(String, String)>,
    Json(body): Json<Announce>,
) -> Result<Response, HttpError> {
    if !valid_name(&service) || !valid_name(&instance) {
        return Err(HttpError::bad_request(
            tis_core::error::code::INVALID_NAME,
            "service and instance names are letters, digits, '-', '_' and '.'",
        ));
    }
    let new = instances.register(&service, &instance, body.addr);
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(
            serde_json::json!({"service": service, "instance": instance, "addr": body.addr}),
        ),
    )
        .into_response())
}

async fn deregister(
    State(instances): State<Arc<Instances>>,
    Path((service, instance)): Path<(String, String)>,
) -> Result<StatusCode, HttpError> {
    if instances.deregister(&service, &instance) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::not_found(format!(
            "no instance {instance:?} of {service:?} is registered"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_restarted_instance_replaces_its_old_address() {
        let registry = Registry::new();
        let instances = Instances::new(registry.clone());
        let a: SocketAddr = "127.0.0.1:1001".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:1002".parse().expect("addr");
        let c: SocketAddr = "127.0.0.1:1003".parse().expect("addr");
        assert!(instances.register("reference", "reference-1", a));
        assert!(instances.register("reference", "reference-2", b));
        assert!(!instances.register("reference", "reference-1", c));
        assert_eq!(registry.list("reference"), vec![b, c]);
        assert!(instances.deregister("reference", "reference-2"));
        assert!(!instances.deregister("reference", "reference-2"));
        assert_eq!(registry.list("reference"), vec![c]);
        assert_eq!(instances.list()["reference"]["reference-1"], c);
    }
}
