//! What a list asks for (filters, free text, order, page) and the SQL it becomes.
//!
//! Every column name here comes from a [`Field`] of a descriptor, found by the route layer's
//! allow-list; every value from a request is bound. The statement is portable: `LOWER(…)
//! LIKE … ESCAPE '\'`, `NULLS LAST`, `LIMIT … OFFSET …` and quoted aliases mean the same on
//! SQLite and PostgreSQL.

use tis_store::Sql;
use tis_store::Value;
use tis_store::sql::escape_like;

use crate::entity::{Descriptor, Field, Kind};

/// `field IN (values)`; with `lower`, compared case-insensitively (values must be lower case).
#[derive(Debug, Clone)]
pub struct Filter {
    pub field: &'static Field,
    pub values: Vec<Value>,
    pub lower: bool,
}

impl Filter {
    pub fn new(field: &'static Field, values: Vec<Value>) -> Self {
        Filter {
            field,
            values,
            lower: false,
        }
    }

    /// `field` equal to one of `values` ignoring case, as the original's MySQL collation
    /// compared text (a look-up by code or name). Only for text fields; the values are
    /// lowered here.
    pub fn ignoring_case(field: &'static Field, values: impl IntoIterator<Item = String>) -> Self {
        Filter {
            field,
            values: values
                .into_iter()
                .map(|v| Value::Text(v.to_lowercase()))
                .collect(),
            lower: true,
        }
    }
}

/// One `ORDER BY` term: a sortable field of the descriptor, found by its JSON name.
pub type Sort = tis_core::paging::Sort<&'static Field>;

pub use tis_core::paging::Page;

/// The rows a request asks for. Filters are AND'ed; the search term matches when any
/// searchable column contains it (case-insensitively): the descriptor's searchable text
/// fields, or `search_in` when it names some.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filters: Vec<Filter>,
    pub search: Option<String>,
    pub sort: Vec<Sort>,
    /// The text fields `search` looks in, when not the descriptor's searchable ones.
    pub search_in: Vec<&'static Field>,
}

impl ListQuery {
    pub fn filtered(filters: Vec<Filter>) -> Self {
        ListQuery {
            filters,
            ..ListQuery::default()
        }
    }

    /// How many rows `q` should find if it is a look-up by key: the number of distinct values
    /// of its narrowest filter on the id or the unique code; 0 when it is not a look-up by key.
    /// A replica that finds fewer is not believed: the primary is asked (see tis-store's
    /// `Reader::fetch_keyed`).
    pub fn keys(&self, desc: &'static Descriptor) -> usize {
        let code = desc.code_field();
        self.filters
            .iter()
            .filter(|f| {
                std::ptr::eq(f.field, desc.id_field())
                    || code.is_some_and(|c| std::ptr::eq(f.field, c))
            })
            .map(|f| {
                let mut values: Vec<String> = f.values.iter().map(|v| format!("{v:?}")).collect();
                values.sort_unstable();
                values.dedup();
                values.len()
            })
            .min()
            .unwrap_or(0)
    }
}

/// `col AS "json", …` for every column of `desc`, id first.
pub fn select_list(desc: &'static Descriptor) -> String {
    let mut cols = vec![String::from(r#"id AS "id""#)];
    for f in desc.fields {
        cols.push(format!(r#"{} AS "{}""#, f.column, f.json));
    }
    cols.join(", ")
}

/// ` WHERE …` (or nothing) for `q`.
pub fn where_clause(desc: &'static Descriptor, q: &ListQuery) -> Sql {
    let mut sql = Sql::default();
    let mut first = true;
    let mut and = |sql: &mut Sql| {
        sql.push(if first { " WHERE " } else { " AND " });
        first = false;
    };
    for f in &q.filters {
        and(&mut sql);
        if f.lower {
            sql.push("LOWER(").push(f.field.column).push(") IN ");
        } else {
            sql.push(f.field.column).push(" IN ");
        }
        sql.bind_list(f.values.iter().cloned());
    }
    if let Some(term) = q.search.as_deref().filter(|t| !t.is_empty()) {
        let searchable: Vec<&Field> = if q.search_in.is_empty() {
            desc.fields
                .iter()
                .filter(|f| f.search && matches!(f.kind, Kind::Text))
                .collect()
        } else {
            q.search_in
                .iter()
                .copied()
                .filter(|f| matches!(f.kind, Kind::Text))
                .collect()
        };
        and(&mut sql);
        if searchable.is_empty() {
            sql.push("1 = 0");
        } else {
            let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
            sql.push("(");
            for (i, f) in searchable.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("LOWER(")
                    .push(f.column)
                    .push(r") LIKE ")
                    .bind(pattern.clone())
                    .push(r" ESCAPE '\'");
            }
            sql.push(")");
        }
    }
    sql
}

/// ` ORDER BY …`, always ending with the id so that pages are stable.
pub fn order_by(q: &ListQuery) -> String {
    let mut terms: Vec<String> = q
        .sort
        .iter()
        .filter(|s| s.field.column != "id")
        .map(|s| {
            if s.descending {
                format!("{} DESC NULLS FIRST", s.field.column)
            } else {
                format!("{} ASC NULLS LAST", s.field.column)
            }
        })
        .collect();
    let id_desc = q
        .sort
        .iter()
        .find(|s| s.field.column == "id")
        .is_some_and(|s| s.descending);
    terms.push(if id_desc { "id DESC" } else { "id ASC" }.into());
    format!(" ORDER BY {}", terms.join(", "))
}

/// The page of rows of `q`.
pub fn select(desc: &'static Descriptor, q: &ListQuery, page: Option<Page>) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {} FROM {}", select_list(desc), desc.table));
    sql.append(where_clause(desc, q));
    sql.push(&order_by(q));
    if let Some(p) = page {
        sql.push_page(p);
    }
    sql
}

/// `SELECT COUNT(*) AS n` of `q`.
pub fn count(desc: &'static Descriptor, q: &ListQuery) -> Sql {
    let mut sql = Sql::new(&format!("SELECT COUNT(*) AS n FROM {}", desc.table));
    sql.append(where_clause(desc, q));
    sql
}

/// The values of one column over the rows of `q` (for `exists` and `matches`).
pub fn column_values(desc: &'static Descriptor, field: &'static Field, q: &ListQuery) -> Sql {
    let mut sql = Sql::new(&format!(
        r#"SELECT {} AS "v" FROM {}"#,
        field.column, desc.table
    ));
    sql.append(where_clause(desc, q));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::SITE;
    use tis_store::Backend;

    #[test]
    fn filters_and_search_are_bound_and_columns_come_from_the_descriptor() {
        let status = SITE.field("status").expect("status");
        let q = ListQuery {
            filters: vec![Filter::new(
                status,
                vec![
                    Value::Text("CURRENT".into()),
                    Value::Text("INACTIVE".into()),
                ],
            )],
            search: Some("St_Th%".into()),
            sort: vec![Sort {
                field: SITE.field("siteName").expect("siteName"),
                descending: true,
            }],
            search_in: Vec::new(),
        };
        let sql = select(
            &SITE,
            &q,
            Some(Page {
                number: 2,
                size: 10,
            }),
        );
        let text = sql.render(Backend::Postgres);
        assert!(
            text.contains("WHERE status IN ($1, $2) AND (LOWER(site_code) LIKE $3 ESCAPE '\\'"),
            "{text}"
        );
        assert!(
            text.ends_with("ORDER BY site_name DESC NULLS FIRST, id ASC LIMIT $10 OFFSET $11"),
            "{text}"
        );
        assert!(sql.values().contains(&Value::Text(r"%st\_th\%%".into())));
        assert_eq!(sql.values().last(), Some(&Value::Int(20)));
    }
}
