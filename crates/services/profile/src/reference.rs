//! Checking designated-body codes against Reference, through tis-mesh.
//!
//! A user's designated bodies must exist in Reference (the original `HeeUserValidator`
//! called `GET /api/dbcs/code/{code}` once per code). We ask once per write with the batched
//! `POST /reference/api/dbcs/exists/` (codes in, `{code: bool}` out), forwarding the caller's
//! own credential: the `TIS-Principal` as received (the gateway mints principals for Profile
//! with the audiences `["profile", "reference"]`, so Reference accepts the same token), or the
//! caller's bearer token when it came with an access token. No new trust is created: Profile
//! can ask Reference only what its caller could.
//!
//! Codes Reference confirmed are remembered for `known_codes_for` (10 minutes by default).
//! A write naming only remembered codes needs no call, so while Reference is down such writes
//! still go through; a write naming any other code gets 503 `dependency_unavailable` naming
//! Reference: never a 500, and never accepted unchecked. Codes Reference denied are not
//! remembered (a code created a moment later must work).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use moka::future::Cache;
use tis_auth::Credential;
use tis_mesh::{Discovery, ServiceClient};

use crate::config::ReferenceClientConfig;

/// Reference's batched existence check for designated bodies.
pub const DBCS_EXISTS: &str = "/reference/api/dbcs/exists/";
/// The largest answer read from Reference.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Reference could not confirm the codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Reference could not check designated body codes: {0}")]
pub struct ReferenceUnavailable(pub String);

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct ReferenceClient {
    client: ServiceClient,
    known: Cache<String, ()>,
}

impl std::fmt::Debug for ReferenceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceClient")
            .field("known_codes", &self.known.entry_count())
            .finish_non_exhaustive()
    }
}

impl ReferenceClient {
    pub fn new(
        config: &ReferenceClientConfig,
        discovery: impl Discovery,
    ) -> Result<Self, tis_mesh::ConfigError> {
        let client = ServiceClient::new("reference", config.mesh.clone(), discovery)?;
        let known = Cache::builder()
            .max_capacity(config.known_codes_capacity)
            .time_to_live(config.known_codes_for.max(Duration::from_millis(1)))
            .build();
        Ok(ReferenceClient { client, known })
    }

    /// The mesh client (endpoints, breakers), for status and tests.
    pub fn service(&self) -> &ServiceClient {
        &self.client
    }

    /// The codes of `codes` that Reference says do not exist (empty: all exist).
    pub async fn missing(
        &self,
        codes: &BTreeSet<String>,
        credential: Option<&Credential>,
    ) -> Result<Vec<String>, ReferenceUnavailable> {
        let mut unknown = Vec::new();
        for code in codes {
            if !self.known.contains_key(code) {
                unknown.push(code.clone());
            }
        }
        if unknown.is_empty() {
            metrics::counter!("profile_dbc_checks_total", "outcome" => "remembered").increment(1);
            return Ok(Vec::new());
        }
        let answer = match self.ask(&unknown, credential).await {
            Ok(answer) => answer,
            Err(e) => {
                metrics::counter!("profile_dbc_checks_total", "outcome" => "unavailable")
                    .increment(1);
                tracing::warn!(error.message = %e, "designated body codes could not be checked");
                return Err(e);
            }
        };
        metrics::counter!("profile_dbc_checks_total", "outcome" => "asked").increment(1);
        let mut missing = Vec::new();
        for code in unknown {
            if answer.get(&code).copied().unwrap_or(false) {
                self.known.insert(code, ()).await;
            } else {
                missing.push(code);
            }
        }
        Ok(missing)
    }

    async fn ask(
        &self,
        codes: &[String],
        credential: Option<&Credential>,
    ) -> Result<BTreeMap<String, bool>, ReferenceUnavailable> {
        let fail = |what: String| ReferenceUnavailable(what);
        let body = serde_json::to_vec(codes).map_err(|e| fail(e.to_string()))?;
        let mut req = Request::post(DBCS_EXISTS)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| fail(e.to_string()))?;
        if let Some(c) = credential {
            c.apply(req.headers_mut())
                .map_err(|_| fail("a credential that is not a header value".into()))?;
        }
        let res = self
            .client
            .call(req)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = res.status();
        let bytes = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| fail(format!("reading the answer: {e}")))?
            .to_bytes();
        match status {
            StatusCode::OK => serde_json::from_slice(&bytes)
                .map_err(|e| fail(format!("an unreadable answer: {e}"))),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let code = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let hint = match credential {
                    Some(Credential::Principal(_)) => {
                        "principals for profile must carry the `reference` audience"
                    }
                    Some(Credential::Bearer(_)) => {
                        "Reference must accept access tokens (`reference.access_tokens`)"
                    }
                    None => "the caller sent no credential to forward",
                };
                Err(fail(format!(
                    "Reference refused the forwarded credential ({} {code}); {hint}",
                    status.as_u16()
                )))
            }
            other => Err(fail(format!("Reference answered {}", other.as_u16()))),
        }
    }
}
