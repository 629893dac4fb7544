//! Integration tests of the client stack against real HTTP upstreams (axum on `127.0.0.1:0`,
//! spawned in each test) and a real, tiny DNS server. Time is real here; every wait polls with
//! a deadline.

mod deadlines;
mod dns;
mod failover;
mod limits;
mod observe;
mod registry;
mod retries;
mod support;
