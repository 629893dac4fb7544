//! tis-testkit: what tests need to exercise the real thing.
//!
//! It owns throwaway PostgreSQL servers and clusters (primary + streaming replicas, one
//! optionally synchronous) and Patroni clusters (etcd + Patroni members + HAProxy) in
//! temporary folders on free ports, and small helpers for polling with a deadline. It is a
//! dev-dependency only: nothing in a production path may use it.
//!
//! # Layout
//! - [`pg`]: PostgreSQL nodes and clusters, fresh databases per test.
//! - [`patroni`]: etcd, Patroni members and HAProxy, for automatic-failover tests.
//! - [`wait`]: polling a condition until a deadline, instead of sleeping.
//! - [`ports`]: free loopback ports for servers we do not bind ourselves (PostgreSQL).
//! - [`up`]: a real `tis up` in a temporary folder: its state file, holds and kills.

pub mod patroni;
pub mod pg;
pub mod ports;
pub mod up;
pub mod wait;
