//! What Reference knows about its entities, apart from HTTP and SQL: the descriptors (and
//! the macros that declare them with their DTOs), the enumerations, validation, and the DDL
//! the descriptors imply.

pub mod ddl;
pub mod descriptor;
pub mod enums;
pub mod validate;

pub use descriptor::{Descriptor, Entity, Field, IdKind, Kind};
pub(crate) use descriptor::{entity, lookup};
pub use enums::{DBC_TYPE, DbcType, STATUS, Status};
