//! Entity descriptors: what the generic repository and handlers know about each plain type.
//!
//! Reference has forty-odd entity types that differ only in their columns, and TCS many more.
//! Instead of a repository and a set of handlers per type, each type is declared once (with
//! [`entity!`](crate::entity!) or [`lookup!`](crate::lookup!)), which produces both its wire
//! DTO (serde + utoipa) and a static [`Descriptor`]: the table, and for every field its JSON
//! name, its SQL column, its kind and whether it may be searched, sorted or filtered on. The
//! descriptor is the allow-list: a column name reaches SQL only by being found in it, and
//! every value is bound.
//!
//! A service that declares entities depends on `serde` and `utoipa` itself (the DTOs derive
//! their traits).
//!
//! Beyond flat columns, a field may be:
//! - a reference ([`Kind::Ref`]): stored as the referenced id, answered as the referenced
//!   record with *its* references nested too, up to three levels (a curriculum's specialty
//!   with the specialty's group); a write naming a missing record is a field error;
//! - a set of enum names ([`Field::set`] on a [`Kind::Enum`] field, e.g. TCS's
//!   `specialtyTypes`): a JSON array on the wire, comma-separated in one text column, a
//!   `columnFilters` value matching the records whose set holds it;
//! - defaulted ([`Field::default`]): the value stored when a created record has none (a
//!   specialty's `status` is `CURRENT`); a required defaulted field must be named on update.
//!
//! Enum fields (sets or not) refuse names outside their list with a field error, whatever
//! the DTO's Rust type (a `String` field included).
//!
//! - [`validate`]: a record against its descriptor; values from text.
//! - [`ddl`]: the tables the descriptors imply, for both backends, and the test helper that
//!   keeps a service's migration files equal to them.
//! - [`status`]: the original's `Status` enumeration, shared by Reference and TCS.

pub mod ddl;
pub mod status;
pub mod validate;

pub use status::{STATUS, Status};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tis_store::SqlType;
use utoipa::ToSchema;

/// How an entity's primary key is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A database sequence (`BIGSERIAL` / `INTEGER PRIMARY KEY`).
    Long,
    /// A random UUID made by the service (the original's newer types use these).
    Uuid,
}

impl IdKind {
    /// The type an id of this kind binds as.
    pub fn sql_type(self) -> SqlType {
        match self {
            IdKind::Long => SqlType::Int,
            IdKind::Uuid => SqlType::Uuid,
        }
    }
}

/// What a field holds, which decides its SQL type, how input is parsed and how filters and
/// searches may use it.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Text,
    Long,
    Bool,
    /// A UUID (text on SQLite, `UUID` on PostgreSQL).
    Uuid,
    /// A calendar date, `YYYY-MM-DD` on the wire.
    Date,
    /// An instant, RFC 3339 on the wire (`2019-03-04T10:11:12Z`), stored in UTC.
    Timestamp,
    /// One of a fixed set of names (`Status`, `DbcType`).
    Enum(&'static [&'static str]),
    /// A reference to another entity by id: a nested object on the wire, a foreign key in SQL.
    /// Nested records have their own references nested too (a curriculum's specialty, with
    /// the specialty's group), a few levels deep.
    Ref(&'static Descriptor),
}

impl Kind {
    pub fn is_text(self) -> bool {
        matches!(self, Kind::Text | Kind::Enum(_))
    }

    /// The type a value (and a NULL) of this kind binds as, and its column's type.
    pub fn sql_type(self) -> SqlType {
        match self {
            Kind::Text | Kind::Enum(_) => SqlType::Text,
            Kind::Long => SqlType::Int,
            Kind::Bool => SqlType::Bool,
            Kind::Uuid => SqlType::Uuid,
            Kind::Date => SqlType::Date,
            Kind::Timestamp => SqlType::Timestamp,
            Kind::Ref(target) => target.id.sql_type(),
        }
    }
}

/// One field of an entity.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The JSON name of the original DTO (camelCase).
    pub json: &'static str,
    /// The SQL column.
    pub column: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// The longest text accepted, in characters.
    pub max_len: usize,
    /// Part of the free-text `searchQuery`.
    pub search: bool,
    /// Accepted in `sort`.
    pub sort: bool,
    /// Accepted in `columnFilters`.
    pub filter: bool,
    /// Made by the service when a new record has none (a random UUID), and kept as stored
    /// when an update leaves it out: the original's `uuid` columns.
    pub generated: bool,
    /// A boolean that is `false` when absent, as a Java primitive `boolean` was: never a
    /// validation error, never NULL.
    pub defaults_false: bool,
    /// Looked up by value, case-insensitively as the original's MySQL collation compared it
    /// (`/dbcs/abbr/{abbr}`): the table gets an index on `LOWER(column)`.
    pub lookup: bool,
    /// The value stored when a record has none: the original's service defaults, e.g. a
    /// specialty's `status` that `save` set to `CURRENT`. Never a validation error on create;
    /// when the field is also `required`, an update without it is one (the original's
    /// `@NotNull(groups = Update.class)`).
    pub default: Option<&'static str>,
    /// On a [`Kind::Enum`] field: a *set* of the names (the original's `Set<SpecialtyType>`),
    /// a JSON array on the wire, the names comma-separated in one text column (in the list's
    /// order, each once; an empty set is the empty text). A `columnFilters` value matches the
    /// records whose set holds it; such a field is neither searched nor sorted.
    pub set: bool,
}

impl Field {
    pub const fn new(json: &'static str, column: &'static str, kind: Kind) -> Field {
        Field {
            json,
            column,
            kind,
            required: false,
            max_len: 255,
            search: false,
            sort: false,
            filter: false,
            generated: false,
            defaults_false: false,
            lookup: false,
            default: None,
            set: false,
        }
    }

    pub const fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub const fn max(mut self, len: usize) -> Field {
        self.max_len = len;
        self
    }

    pub const fn search(mut self) -> Field {
        self.search = true;
        self
    }

    pub const fn sort(mut self) -> Field {
        self.sort = true;
        self
    }

    pub const fn filter(mut self) -> Field {
        self.filter = true;
        self
    }

    /// Made by the service when absent (see [`Field::generated`]).
    pub const fn generated(mut self) -> Field {
        self.generated = true;
        self
    }

    /// `false` when absent (see [`Field::defaults_false`]).
    pub const fn defaults_false(mut self) -> Field {
        self.defaults_false = true;
        self
    }

    /// Looked up case-insensitively by value (see [`Field::lookup`]).
    pub const fn lookup(mut self) -> Field {
        self.lookup = true;
        self
    }

    /// Stored as `value` when absent (see [`Field::default`]).
    pub const fn default(mut self, value: &'static str) -> Field {
        self.default = Some(value);
        self
    }

    /// A set of the enum's names (see [`Field::set`]).
    pub const fn set(mut self) -> Field {
        self.set = true;
        self
    }

    /// Searchable, sortable and filterable: the usual set for a name or a code.
    pub const fn all(self) -> Field {
        self.search().sort().filter()
    }
}

/// The `id` pseudo-field every entity has; sortable and filterable. Statics, not consts: code
/// recognises the id field by address ([`ListQuery::keys`](crate::repo::ListQuery::keys)), and
/// every use of a const may be a copy of its own (in release builds, `&ID_LONG` inlined into
/// two codegen units gave two addresses, and a replica's miss by id was not re-asked).
pub static ID_LONG: Field = Field::new("id", "id", Kind::Long).sort().filter();
pub static ID_UUID: Field = Field::new("id", "id", Kind::Uuid).sort().filter();

/// Everything the generic code knows about one entity type.
#[derive(Debug)]
pub struct Descriptor {
    /// The type's name, for messages and the OpenAPI tags (`Site`).
    pub name: &'static str,
    /// The URL plural (`sites`, `marital-statuses`).
    pub plural: &'static str,
    pub table: &'static str,
    pub id: IdKind,
    pub fields: &'static [Field],
    /// The JSON name of the unique business key (`code`, `siteCode`, `abbreviation`), which
    /// the `exists` and `in/{codes}` look-ups use. It is unique ignoring case (MySQL's
    /// default collation made the original's keys so), and looked up ignoring case.
    pub code: Option<&'static str>,
    /// Whether `searchQuery` over this entity goes through an engine-specific search
    /// structure ([`ddl::search`]: an FTS5 trigram table on SQLite, trigram GIN indexes on
    /// PostgreSQL) instead of scanning every row: for tables that grow large (sites).
    pub search_index: bool,
    /// Whether the table has a data version ([`ddl::data_version`]) that its full pages'
    /// `COUNT(*)`s are kept against ([`crate::repo::Counts`]): for large tables read far
    /// more often than written (sites).
    pub data_version: bool,
}

impl Descriptor {
    /// The field with this JSON name, `id` included.
    pub fn field(&'static self, json: &str) -> Option<&'static Field> {
        if json == "id" {
            return Some(self.id_field());
        }
        self.fields.iter().find(|f| f.json == json)
    }

    pub fn id_field(&'static self) -> &'static Field {
        match self.id {
            IdKind::Long => &ID_LONG,
            IdKind::Uuid => &ID_UUID,
        }
    }

    /// The unique business key, if the type has one.
    pub fn code_field(&'static self) -> Option<&'static Field> {
        self.code.and_then(|c| self.field(c))
    }

    /// The text fields `searchQuery` looks in by default.
    pub fn searchable(&'static self) -> impl Iterator<Item = &'static Field> {
        self.fields
            .iter()
            .filter(|f| f.search && matches!(f.kind, Kind::Text))
    }

    /// The engine-specific search structure's name (`search_{table}`), when the type has one
    /// ([`Descriptor::search_index`]).
    pub fn search_table(&'static self) -> Option<String> {
        self.search_index.then(|| format!("search_{}", self.table))
    }

    /// Whether the type has a `status` (and so a `/current/{plural}` list).
    pub fn has_status(&'static self) -> bool {
        self.field("status").is_some()
    }
}

/// A wire DTO with its descriptor. Implemented by [`entity!`](crate::entity!).
pub trait Entity: Serialize + DeserializeOwned + ToSchema + Send + Sync + 'static {
    fn desc() -> &'static Descriptor;
}

/// Declares an entity: its DTO struct (every field optional on the wire, so that missing
/// values become field errors rather than parse errors) and its [`Descriptor`]. After `code`,
/// `search_index: true` gives the type a search structure ([`Descriptor::search_index`]), then
/// `data_version: true` a data version its counts are kept against ([`Descriptor::data_version`]).
///
/// ```ignore
/// tis_service_kit::entity! {
///     /// A designated body.
///     DbcDto / DBC { name: "DBC", plural: "dbcs", table: "dbc", id: i64 = Long, code: Some("dbc") }
///     dbc "dbc": String => "dbc" (Kind::Text) .required() .all() .max(20);
///     internal "internal": bool => "internal" (Kind::Bool) .filter() .sort();
/// }
/// ```
#[macro_export]
macro_rules! entity {
    (
        $(#[$meta:meta])*
        $dto:ident / $desc:ident {
            name: $name:literal,
            plural: $plural:literal,
            table: $table:literal,
            id: $idty:ty = $idkind:ident,
            code: $code:expr
            $(, search_index: $search_index:literal)?
            $(, data_version: $data_version:literal)? $(,)?
        }
        $(
            $(#[$fmeta:meta])*
            // `$json` is a `tt`, not a `literal`: a `literal` fragment reaches utoipa's derive
            // wrapped in an invisible group, so its `#[serde(rename = $json)]` was ignored and
            // the OpenAPI document named fields in snake_case (serde itself renamed them).
            $field:ident $json:tt : $ty:ty => $col:literal ($kind:expr) $(. $m:ident ( $($a:expr),* ))* ;
        )*
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $dto {
            /// Made by the service: absent when creating, required when updating.
            pub id: Option<$idty>,
            $(
                $(#[$fmeta])*
                #[serde(rename = $json)]
                pub $field: Option<$ty>,
            )*
        }

        pub static $desc: $crate::entity::Descriptor = $crate::entity::Descriptor {
            name: $name,
            plural: $plural,
            table: $table,
            id: $crate::entity::IdKind::$idkind,
            code: $code,
            search_index: false $(|| $search_index)?,
            data_version: false $(|| $data_version)?,
            fields: &[
                $( $crate::entity::Field::new($json, $col, $kind) $(. $m ( $($a),* ))* , )*
            ],
        };

        impl $crate::entity::Entity for $dto {
            fn desc() -> &'static $crate::entity::Descriptor {
                &$desc
            }
        }
    };
}

/// Declares a plain code/label lookup (`{id, code, label, status}`), the shape of most of
/// Reference and of TCS's small lists.
#[macro_export]
macro_rules! lookup {
    ($(#[$meta:meta])* $dto:ident / $desc:ident, $name:literal, $plural:literal, $table:literal) => {
        $crate::entity! {
            $(#[$meta])*
            $dto / $desc { name: $name, plural: $plural, table: $table, id: i64 = Long, code: Some("code") }
            code "code": String => "code" ($crate::entity::Kind::Text) .required() .all() .max(100);
            label "label": String => "label" ($crate::entity::Kind::Text) .required() .all() .max(255);
            status "status": $crate::entity::Status => "status" ($crate::entity::Kind::Enum($crate::entity::STATUS)) .sort() .filter();
        }
    };
}
