//! The Reference API test suite: the real app on 127.0.0.1:0, every test on SQLite and on
//! PostgreSQL (a fresh database each; PostgreSQL tests fail when it cannot be started).

mod authz;
mod contract;
mod crud;
mod durability;
mod helpers;
mod idempotency;
mod lookups;
mod openapi;
mod original;
mod outage;
mod paging;
mod patroni;
mod replicas;
mod schema;
mod sorted_search;
