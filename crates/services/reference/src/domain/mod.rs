//! What Reference knows about its entities beyond the kit's descriptors: its own `Status`
//! (the original's `reference-api` enumeration: `CURRENT`, `INACTIVE`). The descriptors,
//! validation and DDL are the service kit's ([`tis_service_kit::entity`](mod@tis_service_kit::entity)); the entities
//! themselves are declared with their DTOs in [`crate::routes::dto`].

pub mod enums;

pub use enums::{STATUS, Status};
pub use tis_service_kit::entity::{Descriptor, Entity, Field, IdKind, Kind};
