//! What a service forwards when it calls another service on its caller's behalf (Profile
//! checking designated bodies with Reference, TCS validating codes): decided here, once.
//!
//! - A caller that came through the gateway is forwarded with the `TIS-Principal` it sent,
//!   as received: the gateway minted it for this service *and* the services it calls (the
//!   route's `principal_audiences`), so the callee verifies it like any principal.
//! - A caller that authenticated with an access token (a batch job calling the service
//!   directly) is forwarded with that token: the callee verifies it against the identity
//!   provider and resolves the profile itself.
//! - Anything else (no credential on the request) forwards nothing: the callee answers 401, as
//!   it should.

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

use crate::principal::{AuthenticatedBy, PRINCIPAL_HEADER, Principal};

/// The credential to forward on a caller's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The gateway's `TIS-Principal`, as received.
    Principal(Arc<str>),
    /// The caller's access token.
    Bearer(Arc<str>),
}

impl Credential {
    /// What to forward for `who`, who sent `headers` (see the module documentation).
    pub fn on_behalf_of(who: &Principal, headers: &HeaderMap) -> Option<Credential> {
        match (&who.by, &who.token) {
            (AuthenticatedBy::Gateway, Some(token)) => Some(Credential::Principal(token.clone())),
            _ => crate::headers::bearer_token(headers)
                .ok()
                .map(|t| Credential::Bearer(Arc::from(t))),
        }
    }

    /// Puts the credential on an outgoing request's headers.
    pub fn apply(&self, headers: &mut HeaderMap) -> Result<(), http::header::InvalidHeaderValue> {
        match self {
            Credential::Principal(token) => {
                headers.insert(PRINCIPAL_HEADER, HeaderValue::from_str(token)?);
            }
            Credential::Bearer(token) => {
                headers.insert(
                    AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {token}"))?,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserProfile;

    #[test]
    fn a_gateway_caller_forwards_its_principal_and_a_direct_caller_its_token() {
        let mut via_gateway = Principal::new(UserProfile::named("u"), AuthenticatedBy::Gateway);
        via_gateway.token = Some(Arc::from("signed.principal"));
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer access"));
        assert_eq!(
            Credential::on_behalf_of(&via_gateway, &headers),
            Some(Credential::Principal(Arc::from("signed.principal")))
        );
        let direct = Principal::new(UserProfile::named("u"), AuthenticatedBy::AccessToken);
        let forwarded = Credential::on_behalf_of(&direct, &headers).expect("the token");
        assert_eq!(forwarded, Credential::Bearer(Arc::from("access")));
        let mut out = HeaderMap::new();
        forwarded.apply(&mut out).expect("valid");
        assert_eq!(out[AUTHORIZATION], "Bearer access");
        assert_eq!(Credential::on_behalf_of(&direct, &HeaderMap::new()), None);
    }
}
