//! A portable SQL builder whose values are always bound parameters.
//!
//! Statements are written once, in SQL that both SQLite and PostgreSQL accept; the only
//! difference the builder hides is the placeholder (`?` for SQLite, `$n` for PostgreSQL).
//! Identifiers (table and column names) are pushed as text and must come from the code's own
//! allow-lists, never from input; everything that comes from a request is a [`Value`] passed
//! to [`Sql::bind`].
//!
//! # NULLs have types
//!
//! PostgreSQL types every parameter when a statement is prepared, from the type the client
//! declares for it. A NULL declared as `TEXT` is refused where a `BIGINT`, `DATE`, `BOOLEAN`,
//! `UUID` or `TIMESTAMPTZ` is expected ("column … is of type date but expression is of type
//! text"); and because prepared statements are cached by their text, whether a statement
//! works then depends on whether it happened to be prepared first with a value or with a
//! NULL. So a NULL carries its [`SqlType`] ([`Value::NullOf`]) and is bound as a NULL of that
//! type; `From<Option<T>>` picks the type of `T`, so `q.bind(user.gmc_id.as_deref())` and
//! `q.bind(registration.date_added)` are right whichever they hold. The untyped
//! [`Value::Null`] remains for callers that had it: it is a `TEXT` NULL, safe for text
//! columns (and anything on SQLite), nowhere else.

use tis_core::paging::Page;

use crate::db::Backend;

/// The type of a bound value, which a NULL must declare on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// `BOOLEAN`.
    Bool,
    /// `BIGINT` (also accepted by `INTEGER` and `SMALLINT` columns).
    Int,
    /// `DOUBLE PRECISION`.
    Float,
    /// `TEXT` (also `VARCHAR`).
    Text,
    /// `DATE`.
    Date,
    /// `TIMESTAMPTZ`.
    Timestamp,
    /// `UUID`.
    Uuid,
    /// `JSONB`.
    Json,
}

impl SqlType {
    /// Every type, for tests and tools that must cover them all.
    pub const ALL: [SqlType; 8] = [
        SqlType::Bool,
        SqlType::Int,
        SqlType::Float,
        SqlType::Text,
        SqlType::Date,
        SqlType::Timestamp,
        SqlType::Uuid,
        SqlType::Json,
    ];
}

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An untyped NULL: a `TEXT` NULL on PostgreSQL, so only for text columns. Prefer
    /// [`Value::NullOf`] (see the module documentation).
    Null,
    /// A NULL of a type: what `None` of any bindable type becomes.
    NullOf(SqlType),
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// A calendar date; stored as `DATE` on PostgreSQL and ISO text on SQLite.
    Date(time::Date),
    /// An instant; stored as `TIMESTAMPTZ` on PostgreSQL and RFC 3339 text on SQLite.
    Timestamp(time::OffsetDateTime),
    /// Stored as `UUID` on PostgreSQL and text on SQLite.
    Uuid(uuid::Uuid),
    /// Stored as `JSONB` on PostgreSQL and text on SQLite.
    Json(serde_json::Value),
}

impl Value {
    /// A NULL of `ty`.
    pub fn null(ty: SqlType) -> Value {
        Value::NullOf(ty)
    }

    /// Whether this is a NULL, typed or not.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::NullOf(_))
    }

    /// The type this value binds as (`Text` for the untyped NULL).
    pub fn sql_type(&self) -> SqlType {
        match self {
            Value::Null | Value::Text(_) => SqlType::Text,
            Value::NullOf(t) => *t,
            Value::Bool(_) => SqlType::Bool,
            Value::Int(_) => SqlType::Int,
            Value::Float(_) => SqlType::Float,
            Value::Date(_) => SqlType::Date,
            Value::Timestamp(_) => SqlType::Timestamp,
            Value::Uuid(_) => SqlType::Uuid,
            Value::Json(_) => SqlType::Json,
        }
    }
}

/// A Rust type that binds as one [`SqlType`], so that its `None` is a NULL of that type.
pub trait SqlTyped: Into<Value> {
    const SQL_TYPE: SqlType;
}

macro_rules! from_impl {
    ($t:ty, $ty:ident, $v:ident, $conv:expr) => {
        impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $conv
            }
        }
        impl SqlTyped for $t {
            const SQL_TYPE: SqlType = SqlType::$ty;
        }
    };
}
from_impl!(bool, Bool, v, Value::Bool(v));
from_impl!(i64, Int, v, Value::Int(v));
from_impl!(i32, Int, v, Value::Int(i64::from(v)));
from_impl!(u32, Int, v, Value::Int(i64::from(v)));
from_impl!(f64, Float, v, Value::Float(v));
from_impl!(String, Text, v, Value::Text(v));
from_impl!(&str, Text, v, Value::Text(v.to_owned()));
from_impl!(&String, Text, v, Value::Text(v.clone()));
from_impl!(time::Date, Date, v, Value::Date(v));
from_impl!(time::OffsetDateTime, Timestamp, v, Value::Timestamp(v));
from_impl!(uuid::Uuid, Uuid, v, Value::Uuid(v));
from_impl!(serde_json::Value, Json, v, Value::Json(v));

impl<T: SqlTyped> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::NullOf(T::SQL_TYPE), Into::into)
    }
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Param,
}

/// A statement under construction: text and bound values, in order.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    parts: Vec<Part>,
    values: Vec<Value>,
}

impl Sql {
    /// Starts a statement with trusted text (no input may reach it).
    pub fn new(text: &str) -> Self {
        let mut sql = Sql::default();
        sql.push(text);
        sql
    }

    /// Appends trusted text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        match self.parts.last_mut() {
            Some(Part::Text(t)) => t.push_str(text),
            _ => self.parts.push(Part::Text(text.to_owned())),
        }
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.parts.push(Part::Param);
        self.values.push(value.into());
        self
    }

    /// Appends `(p1, p2, …)` bound to `values`; `(NULL)` when empty, which matches nothing
    /// in `IN` and keeps the statement valid.
    pub fn bind_list<I, V>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        self.push("(");
        let mut any = false;
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
            any = true;
        }
        if !any {
            self.push("NULL");
        }
        self.push(")")
    }

    /// Appends ` LIMIT size OFFSET number × size` for `page`, both bound (values beyond
    /// `i64::MAX` saturate; parsed pages never reach it).
    pub fn push_page(&mut self, page: Page) -> &mut Self {
        let size = i64::try_from(page.size).unwrap_or(i64::MAX);
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        self.push(" LIMIT ")
            .bind(size)
            .push(" OFFSET ")
            .bind(offset)
    }

    /// Appends another statement fragment, text and values.
    pub fn append(&mut self, other: Sql) -> &mut Self {
        for part in other.parts {
            match part {
                Part::Text(t) => {
                    self.push(&t);
                }
                Part::Param => self.parts.push(Part::Param),
            }
        }
        self.values.extend(other.values);
        self
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub(crate) fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The statement text for `backend`.
    pub fn render(&self, backend: Backend) -> String {
        let mut out = String::new();
        let mut n = 0;
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Param => {
                    n += 1;
                    match backend {
                        Backend::Sqlite => out.push('?'),
                        Backend::Postgres => {
                            out.push('$');
                            out.push_str(&n.to_string());
                        }
                    }
                }
            }
        }
        out
    }
}

/// Escapes `%`, `_` and `\` for use in `LIKE … ESCAPE '\'`, so that user text matches
/// literally.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let mut q = Sql::new("SELECT * FROM grade WHERE code = ");
        q.bind("F1").push(" AND id IN ").bind_list([1i64, 2]);
        assert_eq!(
            q.render(Backend::Sqlite),
            "SELECT * FROM grade WHERE code = ? AND id IN (?, ?)"
        );
        assert_eq!(
            q.render(Backend::Postgres),
            "SELECT * FROM grade WHERE code = $1 AND id IN ($2, $3)"
        );
        assert_eq!(q.values().len(), 3);
    }

    #[test]
    fn an_empty_list_matches_nothing_but_stays_valid() {
        let mut q = Sql::new("id IN ");
        q.bind_list(Vec::<i64>::new());
        assert_eq!(q.render(Backend::Postgres), "id IN (NULL)");
    }

    #[test]
    fn none_is_a_null_of_the_type_it_would_have_held() {
        assert_eq!(Value::from(None::<i64>), Value::NullOf(SqlType::Int));
        assert_eq!(Value::from(None::<&str>), Value::NullOf(SqlType::Text));
        assert_eq!(Value::from(None::<bool>), Value::NullOf(SqlType::Bool));
        assert_eq!(Value::from(None::<f64>), Value::NullOf(SqlType::Float));
        assert_eq!(
            Value::from(None::<time::Date>),
            Value::NullOf(SqlType::Date)
        );
        assert_eq!(
            Value::from(None::<time::OffsetDateTime>),
            Value::NullOf(SqlType::Timestamp)
        );
        assert_eq!(
            Value::from(None::<uuid::Uuid>),
            Value::NullOf(SqlType::Uuid)
        );
        assert_eq!(
            Value::from(None::<serde_json::Value>),
            Value::NullOf(SqlType::Json)
        );
        assert_eq!(Value::from(Some(7i32)), Value::Int(7));
        for ty in SqlType::ALL {
            let null = Value::null(ty);
            assert!(null.is_null());
            assert_eq!(null.sql_type(), ty);
        }
        assert!(Value::Null.is_null() && !Value::Int(0).is_null());
    }

    #[test]
    fn a_page_is_a_bound_limit_and_offset() {
        let mut q = Sql::new("SELECT 1");
        q.push_page(Page {
            number: 3,
            size: 20,
        });
        assert_eq!(q.render(Backend::Postgres), "SELECT 1 LIMIT $1 OFFSET $2");
        assert_eq!(q.values(), [Value::Int(20), Value::Int(60)]);
    }

    #[test]
    fn like_wildcards_in_input_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
