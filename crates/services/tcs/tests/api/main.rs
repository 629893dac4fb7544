//! The TCS API test suite: the real app on 127.0.0.1:0, every test on SQLite and on
//! PostgreSQL (a fresh database each; PostgreSQL tests fail when it cannot be started).

mod catalogue;
mod conditions_of_joining;
mod curricula;
mod day;
mod etl;
mod fundings_esr;
mod helpers;
mod memberships;
mod people_basic;
mod people_list;
mod people_record;
mod person_schema;
mod placements;
mod placements_rules;
mod placements_scope;
mod posts;
mod posts_scope;
mod posts_search;
mod posts_totals;
mod programmes;
mod qualifications;
mod replicas;
mod rotations;
mod schema;
mod specialties;
mod timeline;
