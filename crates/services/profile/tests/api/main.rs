//! The Profile API test suite: the real app on 127.0.0.1:0 with a fake identity provider,
//! most tests on SQLite and on PostgreSQL (a fresh database each; PostgreSQL tests fail when it
//! cannot be started), some with a real Reference instance (in-process, demo data).

mod authz;
mod bad_input;
mod bootstrap;
mod client;
mod directory;
mod helpers;
mod idempotency;
mod reference;
mod replicas;
mod roles;
mod schema;
mod seed;
mod trainees;
mod userinfo;
mod users;
