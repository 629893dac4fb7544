//! Steps 6 and 7: the route's service, one of its pools, and that pool's tis-mesh client.
//!
//! The request goes out with the client's path and query unchanged, its headers after
//! hygiene (see [`crate::steps::hygiene`]) plus `X-Forwarded-For`/`-Proto` and the minted
//! `TIS-Principal`, and only one extension: its [`tis_mesh::Deadline`]. tis-mesh adds
//! `traceparent`, `X-Request-Id` and `TIS-Deadline`, balances, retries within its budget
//! (marking the request `retried`) and fails fast when nothing is healthy.
//!
//! A pool with no healthy endpoint is not the end when the service has another pool with
//! weight: a request without a body is sent there instead (a blue/green split must not fail
//! its 10 % because green is down). A request with a body is not: its body is gone.
//!
//! The answer comes back with the service's hop-by-hop headers removed and its own
//! `TIS-Degraded` merged into this request's degradations (the request context,
//! `tis_core::context::within`, writes the merged header), so the client sees everything
//! that was degraded on the way.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Request};
use http_body::Body as _;
use hyper::body::Incoming;
use tis_core::Degradation;
use tis_core::context;

/// `TIS-Degraded`, parsed once (a lookup by `&str` parses and hashes the name each time).
const DEGRADED: http::HeaderName = http::HeaderName::from_static(context::DEGRADED);
use tis_mesh::{BoxError, MeshError};
use tokio::time::Instant;

use crate::error::NoRoute;
use crate::routes::Route;
use crate::status::Sightings;
use crate::steps::Req;
use crate::steps::hygiene;

/// The client at the other end of a connection: made once per connection by
/// [`crate::server`], passed by reference to every request on it.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// Its IP address, ready to be an `X-Forwarded-For` value (formatted once).
    pub ip: Option<HeaderValue>,
}

impl Peer {
    pub fn new(addr: SocketAddr) -> Self {
        Peer {
            addr,
            ip: HeaderValue::try_from(addr.ip().to_string()).ok(),
        }
    }
}

/// The last step of the routed path.
pub struct Proxy {
    https: bool,
    trust_forwarded: bool,
    sightings: Arc<Sightings>,
}

impl Proxy {
    pub fn new(https: bool, trust_forwarded: bool, sightings: Arc<Sightings>) -> Self {
        Proxy {
            https,
            trust_forwarded,
            sightings,
        }
    }

    /// Sends `req` on `route` (404 without one), within `deadline`, for the client `peer`.
    pub async fn forward(
        &self,
        req: Req,
        route: Option<&Arc<Route>>,
        deadline: Option<Instant>,
        peer: &Peer,
    ) -> Result<http::Response<Incoming>, BoxError> {
        let (mut parts, body) = req.into_parts();
        let Some(route) = route else {
            return Err(NoRoute {
                path: parts.uri.path().chars().take(200).collect(),
            }
            .into());
        };
        hygiene::set_forwarded(
            &mut parts.headers,
            peer.ip.as_ref(),
            self.https,
            self.trust_forwarded,
        );
        if !route.forward_access_token {
            hygiene::strip_credentials(&mut parts.headers);
        }
        // No extension travels on: each would be copied for each try. The deadline goes to
        // tis-mesh as an argument (in an extension it cost a map and a box per request).
        parts.extensions = http::Extensions::new();

        let service = &route.service;
        let pool = service.choose();
        // Keep a copy only when a second pool could take a bodiless request.
        let spare = (service.pools.len() > 1 && body.is_end_stream()).then(|| {
            let mut copy = Request::new(());
            *copy.method_mut() = parts.method.clone();
            *copy.uri_mut() = parts.uri.clone();
            *copy.version_mut() = parts.version;
            *copy.headers_mut() = parts.headers.clone();
            copy
        });
        let result = pool
            .client
            .call_within(Request::from_parts(parts, body), deadline)
            .await;
        let result = match (result, spare) {
            (Err(MeshError::NoHealthyEndpoints(e)), Some(copy)) => match service.fallback(pool) {
                Some(other) => {
                    tracing::debug!(tis.service = %service.name, from = %pool.name, to = %other.name, "pool has no healthy endpoint; trying another");
                    other
                        .client
                        .call_within(copy.map(|()| Body::empty()), deadline)
                        .await
                }
                None => Err(MeshError::NoHealthyEndpoints(e)),
            },
            (result, _) => result,
        };
        let mut res = result.map_err(BoxError::from)?;
        // A service marks every answer `db-read-only` while its database has no primary: a
        // successful one without the mark says the outage is over (not only its memory).
        if res.status().is_success() && !says_read_only(res.headers()) {
            self.sightings
                .forget(&service.name, Degradation::DbReadOnly);
        }
        merge_degraded(res.headers_mut(), &service.name, &self.sightings);
        hygiene::strip_hop_by_hop(res.headers_mut());
        // The body as it came: the admission step boxes it once, with its permit.
        Ok(res)
    }
}

/// Moves the service's `TIS-Degraded` names into the request's degradations (all of them,
/// known to this build or not), and remembers the known ones for the status page.
fn merge_degraded(headers: &mut HeaderMap, service: &str, sightings: &Sightings) {
    if !headers.contains_key(&DEGRADED) {
        return;
    }
    for value in headers.get_all(&DEGRADED) {
        let Ok(text) = value.to_str() else { continue };
        for name in tis_core::context::degradation_names(text) {
            tis_core::context::relay_degraded(name);
            if let Ok(known) = name.parse::<Degradation>() {
                sightings.record(service, known);
            }
        }
    }
    headers.remove(DEGRADED);
}

/// Whether the service's `TIS-Degraded` names `db-read-only`.
fn says_read_only(headers: &HeaderMap) -> bool {
    headers
        .get_all(DEGRADED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|n| n.trim() == Degradation::DbReadOnly.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use tis_core::context::RequestContext;
    use tis_core::trace_context::TraceContext;

    #[tokio::test]
    async fn the_services_degradations_join_the_gateways_and_junk_is_dropped() {
        let ctx = RequestContext::new("r".into(), TraceContext::new_root(), None);
        let sightings = Sightings::default();
        let mut headers = HeaderMap::new();
        headers.append(DEGRADED, HeaderValue::from_static("db-read-only, retried"));
        headers.append(DEGRADED, HeaderValue::from_static("<script>, idp"));
        ctx.clone()
            .scope(async {
                tis_core::context::mark_degraded(Degradation::Idp);
                merge_degraded(&mut headers, "reference", &sightings);
            })
            .await;
        assert_eq!(ctx.degraded(), vec!["idp", "db-read-only", "retried"]);
        assert!(
            !headers.contains_key(&DEGRADED),
            "the header is rewritten, not passed on"
        );
        assert!(sightings.seen_recently(
            "reference",
            Degradation::DbReadOnly,
            std::time::Duration::from_secs(5)
        ));
    }
}
