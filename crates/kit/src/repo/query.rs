//! What a list asks for (filters, free text, order, page) and the SQL it becomes.
//!
//! Every column name here comes from a [`Field`] of a descriptor, found by the route layer's
//! allow-list; every value from a request is bound. The statement is portable: `LOWER(…)
//! LIKE … ESCAPE '\'`, `NULLS LAST`, `LIMIT … OFFSET …` and quoted aliases mean the same on
//! SQLite and PostgreSQL. One exception, [`where_clause_on`]: the search term of a type with
//! a search structure ([`Descriptor::search_index`]) is an FTS5 `MATCH` on SQLite.

use tis_store::Value;
use tis_store::sql::escape_like;
use tis_store::{Backend, Sql};

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

/// The shortest term the trigram search structures index; shorter terms scan.
pub const TRIGRAM: usize = 3;

/// ` WHERE …` (or nothing) for `q`, the same on both backends.
pub fn where_clause(desc: &'static Descriptor, q: &ListQuery) -> Sql {
    where_inner(desc, q, None, true)
}

/// ` WHERE …` (or nothing) for `q` on `backend`: as [`where_clause`], except that on SQLite
/// a search term of [`TRIGRAM`] characters or more over a type with a search structure
/// ([`Descriptor::search_index`], see [`crate::entity::ddl::search`]) becomes
/// `id IN (SELECT rowid FROM search_… WHERE search_… MATCH '{columns} : "term"')`: the
/// trigram tokenizer matches the phrase as a substring of any of those columns, ignoring
/// case, which is what `LOWER(column) LIKE '%term%'` asks, without reading every row.
/// (Its case folding is Unicode's, where SQLite's `LOWER` folds ASCII only: `é` finds
/// `É` as on PostgreSQL.) PostgreSQL's trigram indexes serve the portable form as it is.
pub fn where_clause_on(desc: &'static Descriptor, q: &ListQuery, backend: Backend) -> Sql {
    where_inner(desc, q, Some(backend), true)
}

/// The search structure and FTS5 query of `q`'s search term when it goes through SQLite's
/// search structure (see [`where_clause_on`]), else `None`.
fn sqlite_match(
    desc: &'static Descriptor,
    q: &ListQuery,
    backend: Option<Backend>,
) -> Option<(String, String)> {
    let term = q.search.as_deref().filter(|t| !t.is_empty())?;
    let searchable = searchable(desc, q);
    let lower = term.to_lowercase();
    let indexed = backend == Some(Backend::Sqlite)
        && lower.chars().count() >= TRIGRAM
        && !searchable.is_empty()
        && searchable.iter().all(|f| f.search);
    let table = desc.search_table().filter(|_| indexed)?;
    let columns: Vec<&str> = searchable.iter().map(|f| f.column).collect();
    let phrase = format!(
        "{{{}}} : \"{}\"",
        columns.join(" "),
        lower.replace('"', "\"\"")
    );
    Some((table, phrase))
}

/// The text fields `q`'s search term looks in.
fn searchable(desc: &'static Descriptor, q: &ListQuery) -> Vec<&'static Field> {
    if q.search_in.is_empty() {
        desc.searchable().collect()
    } else {
        q.search_in
            .iter()
            .copied()
            .filter(|f| matches!(f.kind, Kind::Text))
            .collect()
    }
}

/// As [`where_clause_on`] (`backend` `None`: the portable form); without the search term
/// unless `search`.
fn where_inner(
    desc: &'static Descriptor,
    q: &ListQuery,
    backend: Option<Backend>,
    search: bool,
) -> Sql {
    let mut sql = Sql::default();
    let mut first = true;
    let mut and = |sql: &mut Sql| {
        sql.push(if first { " WHERE " } else { " AND " });
        first = false;
    };
    for f in &q.filters {
        and(&mut sql);
        if f.field.set {
            // The set (comma-separated names) holds any of the values.
            sql.push("(");
            for (i, v) in f.values.iter().enumerate() {
                let Value::Text(name) = v else { continue };
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("',' || ")
                    .push(f.field.column)
                    .push(" || ',' LIKE ")
                    .bind(format!("%,{},%", escape_like(name)))
                    .push(r" ESCAPE '\'");
            }
            sql.push(if f.values.is_empty() { "1 = 0)" } else { ")" });
            continue;
        }
        if f.lower {
            sql.push("LOWER(").push(f.field.column).push(") IN ");
        } else {
            sql.push(f.field.column).push(" IN ");
        }
        sql.bind_list(f.values.iter().cloned());
    }
    let term = q.search.as_deref().filter(|t| search && !t.is_empty());
    if let Some(term) = term {
        let searchable = searchable(desc, q);
        and(&mut sql);
        let lower = term.to_lowercase();
        if let Some((table, phrase)) = sqlite_match(desc, q, backend) {
            sql.push("id IN (SELECT rowid FROM ")
                .push(&table)
                .push(" WHERE ")
                .push(&table)
                .push(" MATCH ")
                .bind(phrase)
                .push(")");
        } else if searchable.is_empty() {
            sql.push("1 = 0");
        } else {
            let pattern = format!("%{}%", escape_like(&lower));
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
    order_by_with(q, "id")
}

/// [`order_by`] with the id as `id` (an expression equal to it).
fn order_by_with(q: &ListQuery, id: &str) -> String {
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
    terms.push(format!("{id} {}", if id_desc { "DESC" } else { "ASC" }));
    format!(" ORDER BY {}", terms.join(", "))
}

/// The page of rows of `q` on `backend`.
///
/// When the search term goes through SQLite's search structure, the FTS5 match drives the
/// read: `FROM (SELECT rowid AS search_rowid FROM search_… WHERE search_… MATCH ?) CROSS
/// JOIN {table} ON {table}.id = search_rowid`, the filters on the table's row, and the id
/// order as `search_rowid`. FTS5 yields its matches in rowid order, so a page in id order
/// (the default) stops after its rows instead of collecting every match first and probing
/// each (`id IN (…)`: a common term's page over 50,000 sites took 30–55 ms, this 1–16 ms);
/// a page sorted by a column still sorts every match. The same rows, in the same order.
pub fn select(
    desc: &'static Descriptor,
    q: &ListQuery,
    page: Option<Page>,
    backend: Backend,
) -> Sql {
    let mut sql;
    if let Some((table, phrase)) = sqlite_match(desc, q, Some(backend)) {
        sql = Sql::new(&format!(
            "SELECT {} FROM (SELECT rowid AS search_rowid FROM {table} WHERE {table} MATCH ",
            select_list(desc)
        ));
        sql.bind(phrase);
        sql.push(&format!(
            ") CROSS JOIN {t} ON {t}.id = search_rowid",
            t = desc.table
        ));
        sql.append(where_inner(desc, q, Some(backend), false));
        sql.push(&order_by_with(q, "search_rowid"));
    } else {
        sql = Sql::new(&format!("SELECT {} FROM {}", select_list(desc), desc.table));
        sql.append(where_clause_on(desc, q, backend));
        sql.push(&order_by(q));
    }
    if let Some(p) = page {
        sql.push_page(p);
    }
    sql
}

/// The most index entries a sorted walk ([`walk`]) reads before it gives up.
pub const WALK_BUDGET: u64 = 4000;

/// Whether `q`'s page may be read by [`walk`] on `backend`: a search term through SQLite's
/// search structure, in ASCII (see [`walk`]), and an order by one column other than the id
/// that has its own index (every [`Field::sort`] field does: [`crate::entity::ddl`]).
pub fn walkable(desc: &'static Descriptor, q: &ListQuery, backend: Backend) -> bool {
    walk_column(desc, q, backend).is_some()
}

/// The sort field of a [`walkable`] query.
fn walk_column(
    desc: &'static Descriptor,
    q: &ListQuery,
    backend: Backend,
) -> Option<&'static Field> {
    sqlite_match(desc, q, Some(backend))?;
    if !q.search.as_deref().is_some_and(|t| t.is_ascii()) {
        return None;
    }
    sort_column(q)
}

/// The one column other than the id that `q` is sorted by, when it has its own index (every
/// [`Field::sort`] field does: [`crate::entity::ddl`]).
fn sort_column(q: &ListQuery) -> Option<&'static Field> {
    let mut columns = q.sort.iter().filter(|s| s.field.column != "id");
    let sort = columns.next()?;
    (columns.next().is_none() && sort.field.sort).then_some(sort.field)
}

/// `(descending on the column, descending on the id)` of a sort by one column.
fn directions(q: &ListQuery, col: &str) -> (bool, bool) {
    let descending = |c: &str| {
        q.sort
            .iter()
            .find(|s| s.field.column == c)
            .is_some_and(|s| s.descending)
    };
    (descending(col), descending("id"))
}

/// `(sort field, descending on it, descending on the id)` of `q` when it is sorted by one
/// column other than the id that the table keeps an index on: a page of kept id sets in that
/// order is cut from the column's kept order ([`crate::repo::Order`], read by [`column_order`]).
pub fn sorted_by(q: &ListQuery) -> Option<(&'static Field, bool, bool)> {
    let field = sort_column(q)?;
    let (descending, id_desc) = directions(q, field.column);
    Some((field, descending, id_desc))
}

/// For [`crate::repo::Sets::order`]: the data version kept in `version_table` as `v`, and
/// every row of `desc`'s table as `id:rank` in `ids` (comma-separated, in no order), the rank
/// being the row's place in `field`'s ascending order with NULLs last, equal for rows that
/// order does not tell apart (`DENSE_RANK()`: the database's own collation, as the page's
/// `ORDER BY` ([`order_by`]) compares them). One statement, one snapshot.
pub fn column_order(
    desc: &'static Descriptor,
    field: &'static Field,
    backend: Backend,
    version_table: &str,
) -> Sql {
    let col = field.column;
    let pairs = match backend {
        Backend::Sqlite => "group_concat(id || ':' || r)",
        Backend::Postgres => "string_agg(id::text || ':' || r::text, ',')",
    };
    Sql::new(&format!(
        r#"SELECT (SELECT version FROM {version_table}) AS "v", {pairs} AS "ids" FROM (SELECT id, DENSE_RANK() OVER (ORDER BY {col} IS NULL, {col}) AS r FROM {table}) AS ranked"#,
        table = desc.table
    ))
}

/// `SELECT (version) AS "v", (ids as text) AS "ids" FROM {from}`, see [`id_sets`].
fn id_set_head(from: &str, backend: Backend, version_table: &str) -> Sql {
    let ids = match backend {
        Backend::Sqlite => "group_concat(id)",
        Backend::Postgres => "string_agg(id::text, ',')",
    };
    Sql::new(&format!(
        r#"SELECT (SELECT version FROM {version_table}) AS "v", {ids} AS "ids" FROM {from}"#
    ))
}

/// How many index entries [`walk`] is expected to read for `page`: the page's end over the
/// share of the table's `rows` that the query's `total` matches (uniform spread assumed).
pub fn expected_walk(page: Page, total: u64, rows: u64) -> u64 {
    let end = page.offset() + page.size;
    if total == 0 {
        return u64::MAX;
    }
    end.saturating_mul(rows.max(total)) / total
}

/// `SELECT MAX(rowid) AS n` of `desc`'s table (`MAX(id)` on PostgreSQL, for sequence ids):
/// the table's size, near enough.
pub fn table_rows(desc: &'static Descriptor, backend: Backend) -> Sql {
    let id = match backend {
        Backend::Sqlite => "rowid",
        Backend::Postgres => "id",
    };
    Sql::new(&format!("SELECT MAX({id}) AS n FROM {}", desc.table))
}

/// The page of a [`walkable`] query read in the order of its sort column's index, for a term
/// that matches many rows, where the match-driven [`select`] reads and sorts every match
/// (40–110 ms for `south` or `health centre` over 50,000 sites).
///
/// The first `budget` non-NULL entries of `ix_{table}_{column}` are read in the page's order
/// (a co-routine, stopping there), and the filters and the term are checked on each row: the
/// term as `column LIKE '%term%'` over the searchable columns, which for an ASCII term
/// finds exactly what the FTS5 trigram match finds: its Unicode case folding maps to ASCII
/// only ASCII letters and two others, the Kelvin sign (U+212A, to `k`) and the long s
/// (U+017F, to `s`), which are replaced first when the term holds `k` or `s` (found by
/// matching every code point against every ASCII character with SQLite 3.51's FTS5). On a
/// descending order NULLs come first, so the page is empty (and the caller falls back) when
/// any matching row has no value in the column. The answer is the page only when it is full
/// (`page.size` rows): fewer means the walk ran out of budget, reached the NULLs of an
/// ascending order, or the list's end, and the caller reads the page with [`select`].
pub fn walk(desc: &'static Descriptor, q: &ListQuery, page: Page, budget: u64) -> Option<Sql> {
    let field = walk_column(desc, q, Backend::Sqlite)?;
    let term = q.search.as_deref()?.to_lowercase();
    let col = field.column;
    let table = desc.table;
    let (descending, id_desc) = directions(q, col);
    let dir = |d: bool| if d { "DESC" } else { "ASC" };
    // The walk's order: the page's on rows with a value. The outer statement repeats it
    // unchanged, so that SQLite (3.46+) reads the co-routine in that order instead of
    // collecting and sorting every row the walk found (`NULLS LAST` there would make it sort).
    let order = format!(" ORDER BY {col} {}, id {}", dir(descending), dir(id_desc));
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM (SELECT * FROM {table} INDEXED BY ix_{table}_{col} WHERE {col} IS NOT \
         NULL{order} LIMIT {budget}) AS {table}",
        select_list(desc),
    ));
    let searched = searchable(desc, q);
    let conditions = || {
        let mut sql = where_inner(desc, q, None, false);
        sql.push(if q.filters.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        sql.append(like_any(&searched, &term));
        sql
    };
    sql.append(conditions());
    if descending {
        sql.push(&format!(
            " AND NOT EXISTS (SELECT 1 FROM (SELECT * FROM {table} INDEXED BY ix_{table}_{col} \
             WHERE {col} IS NULL) AS {table}"
        ));
        sql.append(conditions());
        sql.push(")");
    }
    sql.push(&order);
    sql.push_page(page);
    Some(sql)
}

/// `(c1 LIKE ? ESCAPE '\' OR …)` over `columns` for the lower-case ASCII `term`: SQLite's
/// `LIKE` ignores the case of ASCII letters (the kit never sets `case_sensitive_like`), so no
/// `LOWER` (a copy of every value: it made a walk's rows 60 % dearer); the two non-ASCII
/// letters that FTS5's case folding maps to `k` and `s` are replaced first when the term
/// holds those letters (see [`walk`]).
fn like_any(columns: &[&'static Field], term: &str) -> Sql {
    let pattern = format!("%{}%", escape_like(term));
    let mut sql = Sql::new("(");
    for (i, f) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        let mut expr = f.column.to_owned();
        if term.contains('k') {
            expr = format!("REPLACE({expr}, char(8490), 'k')");
        }
        if term.contains('s') {
            expr = format!("REPLACE({expr}, char(383), 's')");
        }
        sql.push(&format!("{expr} LIKE "))
            .bind(pattern.clone())
            .push(r" ESCAPE '\'");
    }
    sql.push(")");
    sql
}

/// One statement per condition of `q` (each filter, the search term), selecting the data
/// version kept in `version_table` as `v` and the ids the condition matches as
/// comma-separated text `ids`, in one statement (one snapshot), for [`crate::repo::Sets`].
/// The rows of `q` are the ids in every set. A search term that goes through SQLite's search
/// structure ([`where_clause_on`]) reads the FTS5 table's rowids alone (the table's ids), not
/// a probe of the table per match. `None` for a type whose ids are not sequence numbers, and
/// for a query without conditions (its count is one pass over the table, cheap enough).
pub fn id_sets(
    desc: &'static Descriptor,
    q: &ListQuery,
    backend: Backend,
    version_table: &str,
) -> Option<Vec<Sql>> {
    if desc.id != crate::entity::IdKind::Long {
        return None;
    }
    let head = |from: &str| id_set_head(from, backend, version_table);
    let mut sets = Vec::new();
    for f in &q.filters {
        let mut sql = head(desc.table);
        sql.append(where_clause_on(
            desc,
            &ListQuery::filtered(vec![f.clone()]),
            backend,
        ));
        sets.push(sql);
    }
    if q.search.as_deref().is_some_and(|t| !t.is_empty()) {
        if let Some((table, phrase)) = sqlite_match(desc, q, Some(backend)) {
            let mut sql = head(&format!(
                "(SELECT rowid AS id FROM {table} WHERE {table} MATCH "
            ));
            sql.bind(phrase).push(")");
            sets.push(sql);
        } else {
            let term = ListQuery {
                search: q.search.clone(),
                search_in: q.search_in.clone(),
                ..ListQuery::default()
            };
            let mut sql = head(desc.table);
            sql.append(where_clause_on(desc, &term, backend));
            sets.push(sql);
        }
    }
    (!sets.is_empty()).then_some(sets)
}

/// `Some(descending)` when `q`'s rows are ordered by id alone (no sort, or only by id).
pub fn id_order(q: &ListQuery) -> Option<bool> {
    q.sort
        .iter()
        .all(|s| s.field.column == "id")
        .then(|| q.sort.iter().any(|s| s.descending))
}

/// `SELECT COUNT(*) AS n` of `q` on `backend`.
pub fn count(desc: &'static Descriptor, q: &ListQuery, backend: Backend) -> Sql {
    let mut sql = Sql::new(&format!("SELECT COUNT(*) AS n FROM {}", desc.table));
    sql.append(where_clause_on(desc, q, backend));
    sql
}

/// The values of one column over the rows of `q` (for `exists` and `matches`) on `backend`.
pub fn column_values(
    desc: &'static Descriptor,
    field: &'static Field,
    q: &ListQuery,
    backend: Backend,
) -> Sql {
    let mut sql = Sql::new(&format!(
        r#"SELECT {} AS "v" FROM {}"#,
        field.column, desc.table
    ));
    sql.append(where_clause_on(desc, q, backend));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::SITE;

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
            Backend::Postgres,
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

    #[test]
    fn a_term_goes_through_the_search_structure_on_sqlite_only_when_it_can() {
        let q = |term: &str| ListQuery {
            search: Some(term.into()),
            ..ListQuery::default()
        };
        let fts = where_clause_on(&SITE, &q(r#"St "Th"#), Backend::Sqlite);
        assert_eq!(
            fts.render(Backend::Sqlite),
            " WHERE id IN (SELECT rowid FROM search_site WHERE search_site MATCH ?)"
        );
        assert_eq!(
            fts.values(),
            [Value::Text(
                r#"{site_code site_name site_known_as address post_code local_office trust_code} : "st ""th""#
                    .into()
            )]
        );
        for (term, backend) in [("St Th", Backend::Postgres), ("st", Backend::Sqlite)] {
            let text = where_clause_on(&SITE, &q(term), backend).render(backend);
            assert!(
                text.contains("LOWER(site_code) LIKE"),
                "{term} {backend:?}: {text}"
            );
        }
        let mut only_number = q("123");
        only_number.search_in = vec![SITE.field("siteNumber").expect("siteNumber")];
        let text = where_clause_on(&SITE, &only_number, Backend::Sqlite).render(Backend::Sqlite);
        assert_eq!(
            text, r" WHERE (LOWER(site_number) LIKE ? ESCAPE '\')",
            "a column outside the search structure is scanned"
        );
        let mut page = q("guy");
        page.filters = vec![Filter::new(
            SITE.field("status").expect("status"),
            vec![Value::Text("CURRENT".into())],
        )];
        let sql = select(
            &SITE,
            &page,
            Some(Page {
                number: 0,
                size: 20,
            }),
            Backend::Sqlite,
        );
        assert!(
            sql.render(Backend::Sqlite).ends_with(
                " FROM (SELECT rowid AS search_rowid FROM search_site WHERE search_site MATCH ?) \
                 CROSS JOIN site ON site.id = search_rowid WHERE status IN (?) \
                 ORDER BY search_rowid ASC LIMIT ? OFFSET ?"
            ),
            "the match drives a page in id order: {}",
            sql.render(Backend::Sqlite)
        );
        let mut name = q("guy");
        name.search_in = vec![SITE.field("siteName").expect("siteName")];
        assert_eq!(
            where_clause_on(&SITE, &name, Backend::Sqlite).values(),
            [Value::Text(r#"{site_name} : "guy""#.into())]
        );
    }

    #[test]
    fn a_common_term_sorted_by_an_indexed_column_can_walk_its_index() {
        let mut q = ListQuery {
            search: Some("Kings".into()),
            sort: vec![Sort {
                field: SITE.field("siteName").expect("siteName"),
                descending: true,
            }],
            ..ListQuery::default()
        };
        q.filters = vec![Filter::new(
            SITE.field("status").expect("status"),
            vec![Value::Text("CURRENT".into())],
        )];
        assert!(walkable(&SITE, &q, Backend::Sqlite));
        assert!(
            !walkable(&SITE, &q, Backend::Postgres),
            "PostgreSQL keeps its plan"
        );
        let page = Page {
            number: 1,
            size: 20,
        };
        let sql = walk(&SITE, &q, page, 400).expect("walk");
        let text = sql.render(Backend::Sqlite);
        assert!(
            text.contains(
                "FROM (SELECT * FROM site INDEXED BY ix_site_site_name WHERE site_name IS NOT NULL \
                 ORDER BY site_name DESC, id ASC LIMIT 400) AS site WHERE status IN (?) AND \
                 (REPLACE(REPLACE(site_code, char(8490), 'k'), char(383), 's') LIKE ? ESCAPE '\\'"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(" ORDER BY site_name DESC, id ASC LIMIT ? OFFSET ?"),
            "the walk's own order, so SQLite does not sort: {text}"
        );
        assert!(text.contains("AND NOT EXISTS (SELECT 1 FROM (SELECT * FROM site INDEXED BY ix_site_site_name WHERE site_name IS NULL) AS site WHERE status IN (?)"), "{text}");
        assert!(sql.values().contains(&Value::Text("%kings%".into())));
        for (term, sort) in [("caf\u{e9}", "siteName"), ("kings", "siteNumber")] {
            let mut other = q.clone();
            other.search = Some(term.into());
            other.sort[0].field = SITE.field(sort).expect("field");
            let walks = walkable(&SITE, &other, Backend::Sqlite);
            assert_eq!(
                walks,
                term.is_ascii(),
                "{term} by {sort}: an ASCII term only"
            );
        }
        q.sort.push(Sort {
            field: SITE.field("postCode").expect("postCode"),
            descending: false,
        });
        assert!(!walkable(&SITE, &q, Backend::Sqlite), "one column only");
        assert_eq!(expected_walk(page, 1000, 50_000), 2000);
        assert_eq!(expected_walk(page, 0, 50_000), u64::MAX);
    }
}
