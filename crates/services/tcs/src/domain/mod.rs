//! What TCS knows apart from HTTP and SQL: who owns what ([`owners`]) and who may see it
//! ([`scope`]).

pub mod owners;
pub mod scope;
