//! Cross-origin requests (CORS), and the headers every answer of the public listener carries
//! (`X-Content-Type-Options: nosniff`; `Cache-Control: no-store` unless the answer has one).
//!
//! CORS is off unless `gateway.cors.allowed_origins` lists origins: then, and only for an
//! `Origin` in that list (compared exactly: scheme, host and port), the gateway answers the
//! browser's preflight itself (204, before authentication: a preflight carries no token) and
//! adds `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers` to the answer.
//! Otherwise no `Access-Control-*` header leaves the gateway (a service's are dropped), and a
//! preflight is routed like any request (a 401: the browser refuses the call). Credentials are
//! bearer tokens in `Authorization`, never cookies, so `Access-Control-Allow-Credentials` is
//! never sent and `*` is not accepted.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::steps::Res;

/// The `[gateway.cors]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Origins whose pages may call the API from a browser, exactly as the browser sends
    /// them (`https://tis.example.org`, no path, no trailing slash). Empty: CORS is off.
    pub allowed_origins: Vec<String>,
    /// How long a browser may reuse a preflight answer (`Access-Control-Max-Age`).
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allowed_origins: Vec::new(),
            max_age: Duration::from_secs(600),
        }
    }
}

impl CorsConfig {
    /// What is wrong with `allowed_origins`: every entry that is not `scheme://host[:port]`.
    pub fn problem(&self) -> Option<String> {
        let bad: Vec<String> = self
            .allowed_origins
            .iter()
            .filter(|o| !is_origin(o))
            .map(|o| format!("`{o}`"))
            .collect();
        (!bad.is_empty()).then(|| {
            format!(
                "has {} that {} not an origin (scheme://host[:port], no path, no `*`)",
                bad.join(", "),
                if bad.len() == 1 { "is" } else { "are" }
            )
        })
    }
}

fn is_origin(o: &str) -> bool {
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '*', '@', ' '])
        && HeaderValue::from_str(o).is_ok()
}

/// Methods a cross-origin page may use.
const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";
/// Request headers a cross-origin page may send.
const ALLOW_HEADERS: &str = "Authorization, Content-Type, Accept, Idempotency-Key, If-Match, If-None-Match, X-Request-Id, X-Request-Timeout, TIS-Consistency, traceparent, tracestate";
/// Answer headers a cross-origin page may read (besides the CORS-safelisted ones).
const EXPOSE_HEADERS: &str =
    "X-Request-Id, X-Total-Count, Link, Location, ETag, Retry-After, TIS-Degraded, TIS-Consistency";

/// Marks the gateway's own answer to a preflight (its `Access-Control-*` headers stay).
#[derive(Debug, Clone, Copy)]
struct Preflight;

/// The CORS policy in force.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Vec<HeaderValue>,
    max_age: HeaderValue,
}

impl Default for Cors {
    /// Off.
    fn default() -> Self {
        Cors::new(&CorsConfig::default())
    }
}

impl Cors {
    pub fn new(config: &CorsConfig) -> Self {
        Cors {
            origins: config
                .allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect(),
            max_age: HeaderValue::from(config.max_age.as_secs()),
        }
    }

    fn on(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The request's `Origin`, when it is allowed.
    pub fn allowed(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        self.origins.iter().find(|o| *o == origin).cloned()
    }

    /// The answer to a preflight from an allowed origin; `None` for any other request.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Res> {
        if method != Method::OPTIONS || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let origin = self.allowed(headers)?;
        let mut res = Res::new(axum::body::Body::empty());
        *res.status_mut() = StatusCode::NO_CONTENT;
        res.extensions_mut().insert(Preflight);
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        h.insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        Some(res)
    }

    /// The headers of every answer: `nosniff`, `Cache-Control: no-store` unless the answer
    /// has its own (the services' answers do), and the CORS ones for an allowed origin (none
    /// otherwise, whatever the service sent).
    pub fn finish(&self, allowed: Option<HeaderValue>, res: &mut Res) {
        let preflight = res.extensions().get::<Preflight>().is_some();
        let headers = res.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if preflight {
            return;
        }
        strip_cors(headers);
        if self.on() {
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        if let Some(origin) = allowed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE_HEADERS),
            );
        }
    }
}

/// Drops every `Access-Control-*` header (a service's; the gateway decides).
fn strip_cors(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for ok in ["https://tis.example.org", "http://localhost:3000"] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "*",
            "https://*.example.org",
            "tis.example.org",
            "https://tis.example.org/",
            "https://tis.example.org/app",
            "ftp://x",
            "https://",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
