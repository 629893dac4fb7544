//! Schema parity: a service's SQLite and PostgreSQL migrations must make the same schema.
//!
//! Each service keeps one migration folder per backend (their DDL differs: `BIGSERIAL` and
//! `INTEGER PRIMARY KEY`, `UUID` and `TEXT`…), so nothing but a test stops them drifting.
//! [`assert_migrations_agree`] migrates a fresh database of each backend and compares what
//! the databases themselves report: every table, every column with its type class and
//! whether it may be NULL, and every index other than the primary key's (its table, whether
//! it is unique, and its columns or expressions). Type classes are what both engines can
//! hold the same way: PostgreSQL's `UUID`, `JSONB` and `TIMESTAMPTZ` are SQLite `TEXT`, so
//! they compare as `text`. CHECK constraints and defaults are not compared (their text
//! differs between engines more than their meaning does).
//!
//! Engine-specific search structures are left out, by name: tables and indexes named
//! `search_…` (TCS's FTS5 trigram table on SQLite and its shadow tables; the trigram GIN
//! index on PostgreSQL). They make the same query fast on each engine; what they hold is the
//! compared tables' data.

use std::collections::BTreeMap;

use sqlx::{Connection, Row};
use tis_store::{Db, DbConfig, Migrations};

/// One column: its type class and nullability.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub class: &'static str,
    pub not_null: bool,
}

/// One index: unique or not, and its normalised key (columns or expressions).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    pub unique: bool,
    pub key: String,
}

/// A database's schema, as compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// table → column → column.
    pub tables: BTreeMap<String, BTreeMap<String, Column>>,
    /// table → its indexes, sorted.
    pub indexes: BTreeMap<String, Vec<Index>>,
}

/// The class of a column type, as both engines can hold it.
fn class(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") || t == "bigserial" || t == "serial" {
        "int"
    } else if t.contains("bool") {
        "bool"
    } else if t == "date" {
        "date"
    } else if t.contains("real")
        || t.contains("double")
        || t.contains("float")
        || t.contains("numeric")
    {
        "float"
    } else {
        // text, character varying, uuid, jsonb, timestamp with time zone, and SQLite's TEXT
        "text"
    }
}

/// An index key as both engines write it: lower case, no spaces, quotes, parentheses,
/// casts or schema names.
fn normalise_key(raw: &str) -> String {
    raw.to_ascii_lowercase()
        .replace("public.", "")
        .replace("::text", "")
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"'))
        .collect()
}

/// The part of `CREATE [UNIQUE] INDEX name ON table [USING btree] (key) [WHERE …]` after the
/// table (and the access method).
fn key_of_definition(sql: &str) -> String {
    let lower = sql.to_ascii_lowercase();
    let after_on = lower.find(" on ").map_or(sql, |i| &sql[i + 4..]);
    let after_table = after_on.find('(').map_or(after_on, |i| &after_on[i..]);
    normalise_key(after_table)
}

/// Migrates a fresh database of each backend with `migrations` and fails, listing every
/// difference, unless their schemas are the same. Needs PostgreSQL (see
/// `tis_testkit::pg::fresh_database`).
pub async fn assert_migrations_agree(migrations: &'static Migrations) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite_url = format!("sqlite://{}", dir.path().join("parity.db").display());
    let pg_url = tis_testkit::pg::fresh_database()
        .await
        .expect("PostgreSQL is required for the schema parity test");
    for url in [&sqlite_url, &pg_url] {
        let db = Db::connect(&DbConfig {
            url: url.clone(),
            ..DbConfig::default()
        })
        .expect("connect");
        db.migrate(migrations).await.expect("migrations apply");
        db.close().await;
    }
    let sqlite = sqlite_schema(&sqlite_url).await;
    let postgres = postgres_schema(&pg_url).await;
    let differences = compare(&sqlite, &postgres);
    assert!(
        differences.is_empty(),
        "the SQLite and PostgreSQL migrations disagree:\n  {}",
        differences.join("\n  ")
    );
    assert!(!sqlite.tables.is_empty(), "no tables were made");
}

/// Every difference between `a` (SQLite) and `b` (PostgreSQL), as sentences.
pub fn compare(a: &Schema, b: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let tables: std::collections::BTreeSet<&String> =
        a.tables.keys().chain(b.tables.keys()).collect();
    for t in tables {
        let (Some(ca), Some(cb)) = (a.tables.get(t), b.tables.get(t)) else {
            let only = if a.tables.contains_key(t) {
                "SQLite"
            } else {
                "PostgreSQL"
            };
            out.push(format!("table {t} exists only on {only}"));
            continue;
        };
        let columns: std::collections::BTreeSet<&String> = ca.keys().chain(cb.keys()).collect();
        for c in columns {
            match (ca.get(c), cb.get(c)) {
                (Some(x), Some(y)) if x != y => {
                    out.push(format!("{t}.{c}: SQLite {x:?}, PostgreSQL {y:?}"));
                }
                (Some(_), None) => out.push(format!("{t}.{c} exists only on SQLite")),
                (None, Some(_)) => out.push(format!("{t}.{c} exists only on PostgreSQL")),
                _ => {}
            }
        }
        let (ia, ib) = (
            a.indexes.get(t).cloned().unwrap_or_default(),
            b.indexes.get(t).cloned().unwrap_or_default(),
        );
        for i in ia.iter().filter(|i| !ib.contains(i)) {
            out.push(format!("{t}: index {i:?} only on SQLite"));
        }
        for i in ib.iter().filter(|i| !ia.contains(i)) {
            out.push(format!("{t}: index {i:?} only on PostgreSQL"));
        }
    }
    out
}

/// Tables that record migrations, not the service's data, and engine-specific search
/// structures (see the module documentation).
fn bookkeeping(table: &str) -> bool {
    table.starts_with("_sqlx")
        || table.starts_with("_tis_store")
        || table.starts_with("sqlite_")
        || table.starts_with(SEARCH)
}

/// The name prefix of engine-specific search structures.
const SEARCH: &str = "search_";

async fn sqlite_schema(url: &str) -> Schema {
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
    let mut schema = Schema::default();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .expect("tables");
    for t in tables.into_iter().filter(|t| !bookkeeping(t)) {
        let rows = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
            .bind(&t)
            .fetch_all(&mut conn)
            .await
            .expect("columns");
        let mut columns = BTreeMap::new();
        for r in rows {
            let name: String = r.get("name");
            let declared: String = r.get("type");
            let not_null: i64 = r.get("notnull");
            let pk: i64 = r.get("pk");
            columns.insert(
                name,
                Column {
                    class: class(&declared),
                    not_null: not_null == 1 || pk > 0,
                },
            );
        }
        let list = sqlx::query("SELECT name, \"unique\", origin FROM pragma_index_list(?)")
            .bind(&t)
            .fetch_all(&mut conn)
            .await
            .expect("indexes");
        let mut indexes = Vec::new();
        for r in list {
            let name: String = r.get("name");
            let unique: i64 = r.get("unique");
            let origin: String = r.get("origin");
            if origin == "pk" || name.starts_with(SEARCH) {
                continue;
            }
            let sql: Option<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
            )
            .bind(&name)
            .fetch_optional(&mut conn)
            .await
            .expect("index sql")
            .flatten();
            let key = match sql {
                Some(sql) => key_of_definition(&sql),
                None => {
                    let cols: Vec<String> =
                        sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                            .bind(&name)
                            .fetch_all(&mut conn)
                            .await
                            .expect("index columns");
                    normalise_key(&cols.join(","))
                }
            };
            indexes.push(Index {
                unique: unique == 1,
                key,
            });
        }
        indexes.sort();
        schema.indexes.insert(t.clone(), indexes);
        schema.tables.insert(t, columns);
    }
    conn.close().await.ok();
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
    let mut schema = Schema::default();
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
         is_nullable::text AS nullable FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await
    .expect("columns");
    for r in rows {
        let t: String = r.get("t");
        if bookkeeping(&t) {
            continue;
        }
        let declared: String = r.get("ty");
        let nullable: String = r.get("nullable");
        schema.tables.entry(t).or_default().insert(
            r.get("c"),
            Column {
                class: class(&declared),
                not_null: nullable == "NO",
            },
        );
    }
    let rows = sqlx::query(
        "SELECT c.relname::text AS t, i.indisunique AS u, pg_get_indexdef(i.indexrelid) AS def \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_class x ON x.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND NOT i.indisprimary AND x.relname NOT LIKE 'search\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("indexes");
    for r in rows {
        let t: String = r.get("t");
        if bookkeeping(&t) {
            continue;
        }
        let def: String = r.get("def");
        let index = Index {
            unique: r.get("u"),
            key: key_of_definition(def.split(" USING ").nth(1).unwrap_or(&def)),
        };
        schema.indexes.entry(t).or_default().push(index);
    }
    for list in schema.indexes.values_mut() {
        list.sort();
    }
    for t in schema.tables.keys() {
        schema.indexes.entry(t.clone()).or_default();
    }
    conn.close().await.ok();
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_normalise_across_engines() {
        assert_eq!(
            key_of_definition("CREATE UNIQUE INDEX ux ON hee_user (lower(name))"),
            "lowername"
        );
        assert_eq!(
            key_of_definition("btree (lower((name)::text))"),
            "lowername"
        );
        assert_eq!(class("BIGINT"), class("INTEGER"));
        assert_eq!(class("uuid"), class("TEXT"));
        assert_eq!(class("timestamp with time zone"), "text");
        assert_eq!(class("double precision"), class("REAL"));
    }

    #[test]
    fn every_kind_of_drift_is_named() {
        let col = |class, not_null| Column { class, not_null };
        let mut a = Schema::default();
        a.tables.insert(
            "person".into(),
            BTreeMap::from([
                ("id".into(), col("int", true)),
                ("gmc".into(), col("text", false)),
                ("dob".into(), col("date", false)),
            ]),
        );
        a.tables.insert("only_here".into(), BTreeMap::new());
        a.indexes.insert(
            "person".into(),
            vec![Index {
                unique: true,
                key: "gmc".into(),
            }],
        );
        let mut b = a.clone();
        b.tables.remove("only_here");
        let person = b.tables.get_mut("person").expect("person");
        person.insert("gmc".into(), col("text", true));
        person.remove("dob");
        b.indexes.insert(
            "person".into(),
            vec![Index {
                unique: false,
                key: "gmc".into(),
            }],
        );
        let found = compare(&a, &b);
        assert_eq!(found.len(), 5, "{found:#?}");
        for want in [
            "table only_here exists only on SQLite",
            "person.gmc: SQLite",
            "person.dob exists only on SQLite",
            "only on SQLite",
            "only on PostgreSQL",
        ] {
            assert!(found.iter().any(|f| f.contains(want)), "{want}: {found:#?}");
        }
        assert!(compare(&a, &a).is_empty());
    }
}
