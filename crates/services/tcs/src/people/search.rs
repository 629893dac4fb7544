//! The people list's SQL (see [`super::view`] for what it answers): `person_view` within the
//! caller's scope, the column filters, the search term through the engine's trigram
//! structure, the sort, and one row more than the page.
//!
//! The owners a page may show are the `currentOwner` filter's values that the caller's scope
//! allows (an HEE user's scope is a set of owners too), bound once. When the page is a list
//! by owner (no search term, other filters only on `status` or `programmeMembershipStatus`)
//! and several owners are allowed (the `admin` user's scope has 14), the statement is a
//! `UNION ALL` of one branch per owner, each `current_owner = ?` in the page's order and
//! limited to the rows up to the page's end, merged in that order: each branch walks an
//! index in the page's order (`(current_owner, id)` or `(current_owner, surname, id)`,
//! migrations 0003) and stops, where `current_owner IN (…)` made both engines read every
//! row of those owners and sort them (SQLite's planner also picked an index that was not in
//! the page's order). Otherwise (a search term, a narrow filter) several owners are one
//! `IN`, kept off SQLite's index choice. docs/benchmarks.md "TCS people (issue 12)" has
//! the plans.

use std::collections::BTreeSet;

use tis_service_kit::repo::ListQuery;
use tis_service_kit::repo::query::{order_by, select_list, where_clause};
use tis_store::sql::escape_like;
use tis_store::{Backend, Sql, Value};

use super::view::PERSON_VIEW;
use crate::domain::scope::Scope;

/// The shortest term the trigram structures index; shorter terms scan `search_text`.
const TRIGRAM: usize = 3;

/// The most owners a list by owner is split into (one branch each); more are one `IN`.
const MAX_BRANCHES: usize = 24;

/// The columns a list by owner may also filter on (few values each, so the owner's index
/// in the page's order stays the best way in).
const BROAD: &[&str] = &["status", "programme_membership_status"];

/// The owners the rows of a page may have: `None` for any (no owner filter, unrestricted
/// scope), else the filters' values the scope allows (possibly none).
fn owners(q: &ListQuery, scope: &Scope) -> Option<Vec<String>> {
    let mut allowed: Option<BTreeSet<String>> = match scope {
        Scope::Owners(set) => Some(set.iter().map(|o| (*o).to_owned()).collect()),
        _ => None,
    };
    for f in q
        .filters
        .iter()
        .filter(|f| f.field.column == "current_owner")
    {
        let values: BTreeSet<String> = f
            .values
            .iter()
            .filter_map(|v| match v {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        allowed = Some(match allowed {
            Some(a) => a.intersection(&values).cloned().collect(),
            None => values,
        });
    }
    allowed.map(|a| a.into_iter().collect())
}

/// The page of people `q` asks for, within `scope`: `size + 1` rows from `offset`.
pub fn page(q: &ListQuery, scope: &Scope, backend: Backend, offset: u64, size: u64) -> Sql {
    let term = q.search.as_deref().filter(|t| !t.is_empty());
    // An assigned scope (trusts, programmes) is its own clause; owners are bound here.
    let owners = match scope {
        Scope::Assigned { .. } => None,
        _ => owners(q, scope),
    };
    let rest = ListQuery {
        filters: q
            .filters
            .iter()
            .filter(|f| owners.is_none() || f.field.column != "current_owner")
            .cloned()
            .collect(),
        search: None,
        sort: q.sort.clone(),
        ..ListQuery::default()
    };
    let limit = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let by_owner = term.is_none() && rest.filters.iter().all(|f| BROAD.contains(&f.field.column));
    match owners {
        Some(list) if by_owner && (2..=MAX_BRANCHES).contains(&list.len()) => {
            let mut sql = Sql::default();
            for (i, owner) in list.into_iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push("SELECT * FROM (");
                sql.append(rows(&rest, scope, backend, Some(&[owner]), None));
                sql.push(&order_by(&rest))
                    .push(" LIMIT ")
                    .bind(limit(offset.saturating_add(size).saturating_add(1)))
                    .push(&format!(") AS b{i}"));
            }
            sql.push(&order_by_aliases(&rest));
            sql.push(" LIMIT ")
                .bind(limit(size.saturating_add(1)))
                .push(" OFFSET ")
                .bind(limit(offset));
            sql
        }
        owners => {
            let mut sql = rows(&rest, scope, backend, owners.as_deref(), term);
            sql.push(&order_by(&rest));
            sql.push(" LIMIT ")
                .bind(limit(size.saturating_add(1)))
                .push(" OFFSET ")
                .bind(limit(offset));
            sql
        }
    }
}

/// `SELECT … FROM person_view p WHERE …`: `rest`'s filters, the owners (`None`: any), an
/// assigned scope's clause, the search term.
fn rows(
    rest: &ListQuery,
    scope: &Scope,
    backend: Backend,
    owners: Option<&[String]>,
    term: Option<&str>,
) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM person_view p",
        select_list(&PERSON_VIEW)
    ));
    let filters = where_clause(&PERSON_VIEW, rest);
    let has_where = !filters.render(backend).is_empty();
    sql.append(filters);
    if !has_where {
        sql.push(" WHERE 1 = 1");
    }
    match owners {
        None => {}
        Some([]) => {
            sql.push(" AND 1 = 0");
        }
        Some([one]) => {
            sql.push(" AND p.current_owner = ").bind(one.clone());
        }
        Some(many) => {
            // Here the search term or a narrow filter finds the rows (or the rows are read in
            // id order); on SQLite the unary `+` keeps the planner off the owners' indexes,
            // which for the admin user's 14 owners it took and then sorted every person
            // (a 2-letter term: 500 ms, against 0.3 ms reading by id). PostgreSQL weighs
            // the owners by its statistics (and has no `+` for text).
            let column = match backend {
                Backend::Sqlite => " AND +p.current_owner IN ",
                Backend::Postgres => " AND p.current_owner IN ",
            };
            sql.push(column).bind_list(many.iter().cloned());
        }
    }
    if let Scope::Assigned { .. } = scope {
        scope.restrict_people(&mut sql, "p");
    }
    if let Some(term) = term {
        restrict_to_term(&mut sql, backend, term);
    }
    sql
}

/// ` ORDER BY …` of `q` over the columns' JSON names (the branches' output), then the id.
fn order_by_aliases(q: &ListQuery) -> String {
    let mut terms: Vec<String> = q
        .sort
        .iter()
        .filter(|s| s.field.column != "id")
        .map(|s| {
            if s.descending {
                format!(r#""{}" DESC NULLS FIRST"#, s.field.json)
            } else {
                format!(r#""{}" ASC NULLS LAST"#, s.field.json)
            }
        })
        .collect();
    let id_desc = q
        .sort
        .iter()
        .find(|s| s.field.column == "id")
        .is_some_and(|s| s.descending);
    terms.push(
        if id_desc {
            r#""id" DESC"#
        } else {
            r#""id" ASC"#
        }
        .into(),
    );
    format!(" ORDER BY {}", terms.join(", "))
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
    use tis_service_kit::repo::query::{Filter, Sort};

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

    fn field(column: &str) -> &'static tis_service_kit::entity::Field {
        PERSON_VIEW
            .fields
            .iter()
            .find(|f| f.column == column)
            .expect("a column of person_view")
    }

    fn strs(values: &[&str]) -> Vec<Value> {
        values.iter().map(|v| Value::Text((*v).into())).collect()
    }

    #[test]
    fn a_list_by_owner_is_one_branch_per_owner_in_the_pages_order() {
        let scope = Scope::Owners(["Wessex", "South West", "Thames Valley"].into());
        let q = ListQuery {
            filters: vec![
                Filter::new(
                    field("current_owner"),
                    strs(&["Wessex", "North East", "South West"]),
                ),
                Filter::new(field("status"), strs(&["CURRENT"])),
            ],
            sort: vec![Sort {
                field: field("surname"),
                descending: false,
            }],
            ..ListQuery::default()
        };
        // The filter's owners the scope allows: South West and Wessex, a branch each.
        let sql = page(&q, &scope, Backend::Postgres, 40, 20);
        let text = sql.render(Backend::Postgres);
        assert_eq!(text.matches("UNION ALL").count(), 1, "{text}");
        assert_eq!(text.matches("p.current_owner = ").count(), 2, "{text}");
        assert!(!text.contains("current_owner IN"), "{text}");
        assert!(
            text.contains("ORDER BY surname ASC NULLS LAST, id ASC LIMIT $3) AS b0"),
            "each branch up to the page's end: {text}"
        );
        assert!(
            text.ends_with(
                r#") AS b1 ORDER BY "surname" ASC NULLS LAST, "id" ASC LIMIT $7 OFFSET $8"#
            ),
            "{text}"
        );
        assert_eq!(
            sql.values(),
            [
                Value::Text("CURRENT".into()),
                Value::Text("South West".into()),
                Value::Int(61),
                Value::Text("CURRENT".into()),
                Value::Text("Wessex".into()),
                Value::Int(61),
                Value::Int(21),
                Value::Int(40),
            ]
        );

        // A search term, or a filter that finds few people, keeps one statement: the owners
        // are one IN.
        let searched = ListQuery {
            search: Some("smith".into()),
            ..q.clone()
        };
        let text = page(&searched, &scope, Backend::Sqlite, 0, 20).render(Backend::Sqlite);
        assert!(!text.contains("UNION"), "{text}");
        assert!(text.contains(" AND +p.current_owner IN (?, ?)"), "{text}");
        let text = page(&searched, &scope, Backend::Postgres, 0, 20).render(Backend::Postgres);
        assert!(text.contains(" AND p.current_owner IN ($"), "{text}");
        let mut programme = q.clone();
        programme
            .filters
            .push(Filter::new(field("programme_name"), strs(&["GP Wessex"])));
        let text = page(&programme, &scope, Backend::Sqlite, 0, 20).render(Backend::Sqlite);
        assert!(!text.contains("UNION"), "{text}");

        // One owner is an equality; none allowed is no row; no filter, the scope's owners.
        let one = ListQuery {
            filters: vec![Filter::new(field("current_owner"), strs(&["Wessex"]))],
            ..ListQuery::default()
        };
        let text = page(&one, &scope, Backend::Sqlite, 0, 20).render(Backend::Sqlite);
        assert!(text.contains("p.current_owner = ?"), "{text}");
        let none = ListQuery {
            filters: vec![Filter::new(field("current_owner"), strs(&["North East"]))],
            ..ListQuery::default()
        };
        let text = page(&none, &scope, Backend::Sqlite, 0, 20).render(Backend::Sqlite);
        assert!(text.contains("AND 1 = 0"), "{text}");
        let all = page(&ListQuery::default(), &scope, Backend::Sqlite, 0, 20);
        assert_eq!(all.render(Backend::Sqlite).matches("UNION ALL").count(), 2);

        // Unrestricted and unfiltered: no owner clause at all.
        let text = page(
            &ListQuery::default(),
            &Scope::Everything,
            Backend::Sqlite,
            0,
            20,
        )
        .render(Backend::Sqlite);
        assert!(!text.contains("current_owner ="), "{text}");
        assert!(!text.contains("current_owner IN"), "{text}");
    }
}
