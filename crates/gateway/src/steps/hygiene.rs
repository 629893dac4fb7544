//! Header hygiene: what a client may not send in, and what must not pass through a proxy.
//!
//! **On the way in**, before anything reads them (this is the outermost step):
//! - `TIS-Principal`, `TIS-Degraded`, `TIS-Deadline` are removed. They are *ours*: the
//!   principal is minted here and must never be forwarded from a client (a service would
//!   trust it), the deadline is set here from `X-Request-Timeout` or the route, and
//!   degradations are reported by us, not told to us.
//! - Hop-by-hop headers (RFC 9110 §7.6.1) are removed: `Connection`, `Keep-Alive`,
//!   `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, and every header that
//!   `Connection` names. They describe the client's connection to us, not our connection to
//!   the service, and forwarding them enables request smuggling and connection hijacking.
//!
//! **On the way to the service**: `X-Forwarded-For` gets the peer address (replacing what the
//! client sent, unless `trust_forwarded_headers`), `X-Forwarded-Proto` our scheme; the
//! caller's IdP access token (`Authorization: Bearer`, `OIDC_access_token`) is removed. The
//! service authenticates the caller by the `TIS-Principal` minted for it alone; the bearer
//! token would let any service act as the user anywhere until it expires, and costs a
//! kilobyte on every hop.
//!
//! **On the way out**: the service's hop-by-hop headers are removed (and its `TIS-Degraded`
//! is merged into ours by the proxy step, never passed through as it is).

use http::header::{CONNECTION, HeaderName, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderValue};
use tis_auth::PRINCIPAL_HEADER;
use tis_core::context::{DEADLINE, DEGRADED};

const KEEP_ALIVE: &str = "keep-alive";
const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// Removes hop-by-hop headers, including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // The common case — a request with none of them — must cost a few lookups, nothing more.
    if headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
        headers.remove(CONNECTION);
    }
    for name in [TE, TRAILER, TRANSFER_ENCODING, UPGRADE] {
        if headers.contains_key(&name) {
            headers.remove(name);
        }
    }
    if headers.contains_key(KEEP_ALIVE) {
        headers.remove(KEEP_ALIVE);
    }
    if headers.keys().any(|k| k.as_str().starts_with("proxy-")) {
        let proxy: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("proxy-"))
            .cloned()
            .collect();
        for name in proxy {
            headers.remove(name);
        }
    }
}

/// Removes the headers only the gateway may set (see the module documentation).
pub fn strip_internal(headers: &mut HeaderMap) {
    for name in [PRINCIPAL_HEADER, DEGRADED, DEADLINE] {
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
}

/// Removes the caller's identity-provider token (see the module documentation). Other
/// `Authorization` schemes are kept: they are not ours to judge.
pub fn strip_credentials(headers: &mut HeaderMap) {
    let bearer = headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .any(|v| v.as_bytes().len() > 7 && v.as_bytes()[..7].eq_ignore_ascii_case(b"bearer "));
    if bearer {
        headers.remove(http::header::AUTHORIZATION);
    }
    if headers.contains_key(tis_auth::headers::LEGACY_TOKEN_HEADER) {
        headers.remove(tis_auth::headers::LEGACY_TOKEN_HEADER);
    }
}

/// The inbound hygiene of every request: the headers only the gateway may set, and
/// hop-by-hop headers.
pub fn strip_inbound(headers: &mut HeaderMap) {
    strip_internal(headers);
    strip_hop_by_hop(headers);
}

/// Sets `X-Forwarded-For` and `X-Forwarded-Proto` for the service.
/// `peer` is the client's IP address as a header value.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    peer: Option<&HeaderValue>,
    https: bool,
    trust: bool,
) {
    if let Some(ip) = peer {
        let appended = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(before) if trust && !before.trim().is_empty() => {
                HeaderValue::try_from(format!("{before}, {}", ip.to_str().unwrap_or(""))).ok()
            }
            _ => None,
        };
        headers.insert(X_FORWARDED_FOR, appended.unwrap_or_else(|| ip.clone()));
    } else if !trust {
        headers.remove(X_FORWARDED_FOR);
    }
    headers.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(if https { "https" } else { "http" }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn hop_by_hop_headers_and_those_named_in_connection_are_removed() {
        let mut h = headers(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("connection", "upgrade"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("te", "trailers"),
            ("trailer", "expires"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("accept", "application/json"),
            ("authorization", "Bearer t"),
        ]);
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, vec!["accept", "authorization"]);
    }

    #[test]
    fn a_client_cannot_send_a_principal_a_deadline_or_degradations() {
        let mut h = headers(&[
            ("tis-principal", "forged"),
            ("tis-deadline", "1"),
            ("tis-degraded", "idp"),
            ("x-request-id", "abc"),
        ]);
        strip_internal(&mut h);
        assert_eq!(h.len(), 1);
        assert_eq!(h["x-request-id"], "abc");
    }

    #[test]
    fn the_callers_bearer_token_is_not_forwarded_but_other_schemes_are() {
        let mut h = headers(&[
            ("authorization", "Bearer abc"),
            ("oidc_access_token", "abc"),
        ]);
        strip_credentials(&mut h);
        assert!(h.is_empty());
        let mut h = headers(&[("authorization", "Basic dXNlcg==")]);
        strip_credentials(&mut h);
        assert_eq!(h["authorization"], "Basic dXNlcg==");
    }

    #[test]
    fn forwarded_for_is_replaced_unless_trusted_and_proto_is_set() {
        let peer = HeaderValue::from_static("203.0.113.9");
        let mut h = headers(&[("x-forwarded-for", "10.0.0.1")]);
        set_forwarded(&mut h, Some(&peer), false, false);
        assert_eq!(h[X_FORWARDED_FOR], "203.0.113.9");
        assert_eq!(h[X_FORWARDED_PROTO], "http");

        let mut h = headers(&[("x-forwarded-for", "10.0.0.1")]);
        set_forwarded(&mut h, Some(&peer), true, true);
        assert_eq!(h[X_FORWARDED_FOR], "10.0.0.1, 203.0.113.9");
        assert_eq!(h[X_FORWARDED_PROTO], "https");
    }
}
