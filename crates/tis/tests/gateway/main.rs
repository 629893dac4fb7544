//! System tests of `tis gateway`: real `tis` processes on ephemeral ports, killed for real
//! (`kill -9`, SIGSTOP, SIGTERM), under a steady load from this process.
//!
//! The failover tests run two `tis serve reference` instances (one SQLite database, the
//! gateway's principal key trusted) behind a `tis gateway` process, announced through the
//! gateway's registry API as `tis up` does, under a steady GET load of
//! `/reference/api/grades` from this process. Tests that need an upstream to misbehave on
//! purpose (slow, failing, counting retries) use small axum servers in this process, still
//! behind a real gateway process; the IdP test uses `tis idp` processes as its upstream.

mod budgets;
mod failover;
mod idp;
mod support;
