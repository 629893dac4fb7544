//! A portable SQL builder whose values are always bound parameters.
//!
//! Statements are written once, in SQL that both SQLite and PostgreSQL accept; the only
//! difference the builder hides is the placeholder (`?` for SQLite, `$n` for PostgreSQL).
//! Identifiers (table and column names) are pushed as text and must come from the code's own
//! allow-lists, never from input; everything that comes from a request is a [`Value`] passed
//! to [`Sql::bind`].

use crate::db::Backend;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
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

macro_rules! from_impl {
    ($t:ty, $v:ident, $conv:expr) => {
        impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $conv
            }
        }
    };
}
from_impl!(bool, v, Value::Bool(v));
from_impl!(i64, v, Value::Int(v));
from_impl!(i32, v, Value::Int(i64::from(v)));
from_impl!(u32, v, Value::Int(i64::from(v)));
from_impl!(f64, v, Value::Float(v));
from_impl!(String, v, Value::Text(v));
from_impl!(&str, v, Value::Text(v.to_owned()));
from_impl!(&String, v, Value::Text(v.clone()));
from_impl!(time::Date, v, Value::Date(v));
from_impl!(time::OffsetDateTime, v, Value::Timestamp(v));
from_impl!(uuid::Uuid, v, Value::Uuid(v));
from_impl!(serde_json::Value, v, Value::Json(v));

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
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
    fn like_wildcards_in_input_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
