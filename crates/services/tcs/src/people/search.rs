//! The people list's SQL (see [`super::view`] for what it answers): `person_view` within the
//! caller's scope, the column filters, the search term through the engine's trigram
//! structure, the sort, and one row more than the page.

use tis_service_kit::repo::ListQuery;
use tis_service_kit::repo::query::{order_by, select_list, where_clause};
use tis_store::sql::escape_like;
use tis_store::{Backend, Sql};

use super::view::PERSON_VIEW;
use crate::domain::scope::Scope;

/// The shortest term the trigram structures index; shorter terms scan `search_text`.
const TRIGRAM: usize = 3;

/// The page of people `q` asks for, within `scope`: `size + 1` rows from `offset`.
pub fn page(q: &ListQuery, scope: &Scope, backend: Backend, offset: u64, size: u64) -> Sql {
    let filters_only = ListQuery {
        filters: q.filters.clone(),
        search: None,
        sort: q.sort.clone(),
        ..ListQuery::default()
    };
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM person_view p",
        select_list(&PERSON_VIEW)
    ));
    let filters = where_clause(&PERSON_VIEW, &filters_only);
    let has_where = !filters.render(backend).is_empty();
    sql.append(filters);
    if !has_where {
        sql.push(" WHERE 1 = 1");
    }
    scope.restrict_people(&mut sql, "p");
    if let Some(term) = q.search.as_deref() {
        restrict_to_term(&mut sql, backend, term);
    }
    sql.push(&order_by(&filters_only));
    sql.push(" LIMIT ")
        .bind(i64::try_from(size.saturating_add(1)).unwrap_or(i64::MAX))
        .push(" OFFSET ")
        .bind(i64::try_from(offset).unwrap_or(i64::MAX));
    sql
}

/// ` AND (…)`: `search_text` contains `term` (case-insensitive), or, for a term of digits
/// and commas, the person's id is one of them.
fn restrict_to_term(sql: &mut Sql, backend: Backend, term: &str) {
    let lower = term.to_lowercase();
    sql.push(" AND (");
    if backend == Backend::Sqlite && lower.chars().count() >= TRIGRAM {
        // An FTS5 phrase: the trigram tokenizer matches it as a substring.
        let phrase = format!("\"{}\"", lower.replace('"', "\"\""));
        sql.push("p.id IN (SELECT rowid FROM search_person WHERE search_person MATCH ")
            .bind(phrase)
            .push(")");
    } else {
        sql.push("p.search_text LIKE ")
            .bind(format!("%{}%", escape_like(&lower)))
            .push(r" ESCAPE '\'");
    }
    let ids: Vec<i64> = term
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_while(|s| s.parse().ok())
        .collect();
    if !ids.is_empty() && ids.len() == term.split(',').filter(|s| !s.trim().is_empty()).count() {
        sql.push(" OR p.id IN ").bind_list(ids);
    }
    sql.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_store::Value;

    #[test]
    fn a_term_uses_the_engines_trigram_structure_and_digits_also_match_ids() {
        let q = ListQuery {
            search: Some("Smi".into()),
            ..ListQuery::default()
        };
        let sql = page(&q, &Scope::Everything, Backend::Sqlite, 40, 20);
        let text = sql.render(Backend::Sqlite);
        assert!(text.contains("search_person MATCH ?"), "{text}");
        assert!(text.ends_with("ORDER BY id ASC LIMIT ? OFFSET ?"), "{text}");
        assert!(sql.values().contains(&Value::Text("\"smi\"".into())));
        assert!(sql.values().contains(&Value::Int(21)), "one row more");

        let sql = page(&q, &Scope::Everything, Backend::Postgres, 0, 20);
        let text = sql.render(Backend::Postgres);
        assert!(text.contains("p.search_text LIKE $1 ESCAPE"), "{text}");

        let digits = ListQuery {
            search: Some("12,13".into()),
            ..ListQuery::default()
        };
        let sql = page(&digits, &Scope::Everything, Backend::Postgres, 0, 20);
        assert!(
            sql.render(Backend::Postgres)
                .contains("OR p.id IN ($2, $3)")
        );

        let short = ListQuery {
            search: Some("a_".into()),
            ..ListQuery::default()
        };
        let sql = page(&short, &Scope::Everything, Backend::Sqlite, 0, 20);
        assert!(sql.render(Backend::Sqlite).contains("p.search_text LIKE ?"));
        assert!(sql.values().contains(&Value::Text(r"%a\_%".into())));
    }
}
