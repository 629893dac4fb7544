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

use http::header::{AUTHORIZATION, CONNECTION, HeaderName};
use http::{HeaderMap, HeaderValue};
use tis_auth::PRINCIPAL_HEADER;
use tis_core::context::{DEADLINE, DEGRADED};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const LEGACY_TOKEN: HeaderName = HeaderName::from_static(tis_auth::headers::LEGACY_TOKEN_HEADER);

/// Whether `name` is a hop-by-hop header (RFC 9110 §7.6.1; `Connection`'s own list aside).
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "te" | "trailer" | "transfer-encoding" | "upgrade"
    ) || name.starts_with("proxy-")
}

/// Whether `name` is one of the headers only the gateway may set.
fn is_internal(name: &str) -> bool {
    name == PRINCIPAL_HEADER || name == DEGRADED || name == DEADLINE
}

/// Removes every header `doomed` names, and with `connection` those `Connection` names.
/// One pass over the names: a message with none of them (nearly every request) costs no
/// lookup and no allocation (a `HeaderMap` lookup by a `&str` name parses and hashes it).
fn strip(headers: &mut HeaderMap, doomed: fn(&str) -> bool, connection: bool) {
    if !headers.keys().any(|k| doomed(k.as_str())) {
        return;
    }
    if connection && headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            // `keep-alive` (the usual value) goes below anyway; `close` names no header.
            .filter(|t| !t.eq_ignore_ascii_case("keep-alive") && !t.eq_ignore_ascii_case("close"))
            .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    loop {
        let Some(name) = headers.keys().find(|k| doomed(k.as_str())).cloned() else {
            break;
        };
        headers.remove(name);
    }
}

/// Removes hop-by-hop headers, including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    strip(headers, is_hop_by_hop, true);
}

/// Removes the headers only the gateway may set (see the module documentation).
pub fn strip_internal(headers: &mut HeaderMap) {
    strip(headers, is_internal, false);
}

/// Removes the caller's identity-provider token (see the module documentation). Other
/// `Authorization` schemes are kept: they are not ours to judge.
pub fn strip_credentials(headers: &mut HeaderMap) {
    let bearer = headers
        .get_all(AUTHORIZATION)
        .iter()
        .any(|v| v.as_bytes().len() > 7 && v.as_bytes()[..7].eq_ignore_ascii_case(b"bearer "));
    if bearer {
        headers.remove(AUTHORIZATION);
    }
    if headers.contains_key(&LEGACY_TOKEN) {
        headers.remove(LEGACY_TOKEN);
    }
}

/// The inbound hygiene of every request: the headers only the gateway may set, and
/// hop-by-hop headers.
pub fn strip_inbound(headers: &mut HeaderMap) {
    strip(headers, |n| is_internal(n) || is_hop_by_hop(n), true);
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
