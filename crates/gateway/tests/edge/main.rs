//! API tests of the gateway: the real `App` on `127.0.0.1:0`, a fake identity provider over
//! real HTTP, and small axum upstreams in the test process.

mod admin;
mod auth;
mod headers;
mod parser;
mod resilience;
mod routing;
mod security;
mod support;
mod tls;
