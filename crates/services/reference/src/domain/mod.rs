//! What Reference knows about its entities beyond the kit's descriptors: its own enumeration
//! (`DbcType`). The descriptors, validation and DDL are the service kit's
//! ([`tis_service_kit::entity`]); the entities themselves are declared with their DTOs in
//! [`crate::routes::dto`].

pub mod enums;

pub use enums::{DBC_TYPE, DbcType};
pub use tis_service_kit::entity::{Descriptor, Entity, Field, IdKind, Kind, STATUS, Status};
