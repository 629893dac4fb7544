//! The principal step: attaches `TIS-Principal`, minted for the target service.
//!
//! The principal token is signed with the gateway's Ed25519 key (tis-auth's
//! `PrincipalSigner`), its audience is the service the route leads to, and it lives at most
//! 60 s. Signing costs tens of microseconds and a principal carries a whole profile, so a
//! minted token is reused for the same access token, service and degradation state while
//! it has at least half its lifetime left (and for no longer than `principal_reuse`): the
//! service still sees a token with time to spare, and a busy user costs one signature per
//! interval instead of one per request.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use metrics::Counter;
use moka::sync::Cache;
use tis_auth::{Principal, PrincipalSigner};
use tis_mesh::BoxError;

use super::auth::Verified;
use crate::error::MintFailed;
use crate::routes::Route;

/// The principal step.
pub struct MintPrincipal {
    signer: PrincipalSigner,
    cache: Cache<(u64, bool, u64), Arc<Minted>>,
    minted: Counter,
    reused: Counter,
}

struct Minted {
    principal: Arc<Principal>,
    /// The route's audiences, to tell two routes apart whose hashes collide.
    audiences: Arc<str>,
    header: HeaderValue,
}

impl MintPrincipal {
    /// `lifetime` is the principal's; tokens are reused for `min(reuse, lifetime / 2)`.
    pub fn new(signer: PrincipalSigner, lifetime: Duration, reuse: Duration) -> Self {
        crate::metrics::describe();
        let ttl = reuse.min(lifetime / 2).max(Duration::from_millis(1));
        MintPrincipal {
            signer,
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            minted: metrics::counter!(crate::metrics::PRINCIPAL_MINTS_TOTAL, "result" => "minted"),
            reused: metrics::counter!(crate::metrics::PRINCIPAL_MINTS_TOTAL, "result" => "reused"),
        }
    }

    /// The public key services must trust (PEM).
    pub fn public_pem(&self) -> String {
        self.signer.public_pem()
    }

    /// The `TIS-Principal` header for `principal` on `route`: reused while fresh, else minted.
    pub fn header_for(
        &self,
        verified: &Verified,
        principal: &Arc<Principal>,
        route: &Route,
    ) -> Result<HeaderValue, BoxError> {
        let key = (verified.key, verified.token.degraded, route.audience_hash);
        if let Some(hit) = self.cache.get(&key)
            && Arc::ptr_eq(&hit.principal, principal)
            && *hit.audiences == *route.audience_key
        {
            self.reused.increment(1);
            return Ok(hit.header.clone());
        }
        let token = self
            .signer
            .mint(principal, &audiences(route))
            .map_err(|e| MintFailed(e.to_string()))?;
        let header = HeaderValue::try_from(token).map_err(|e| MintFailed(e.to_string()))?;
        self.minted.increment(1);
        self.cache.insert(
            key,
            Arc::new(Minted {
                principal: principal.clone(),
                audiences: route.audience_key.clone(),
                header: header.clone(),
            }),
        );
        Ok(header)
    }
}

fn audiences(route: &Route) -> Vec<&str> {
    route.audiences.iter().map(|a| &**a).collect()
}
