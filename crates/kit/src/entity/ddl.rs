//! The tables the descriptors imply, as DDL for each backend.
//!
//! A service's migration files under `migrations/{sqlite,postgres}/` are static (sqlx embeds
//! them at compile time), but they are written from this renderer: the service's unit test
//! calls [`check_migration`], which fails when a file no longer matches what the descriptors
//! say, and `TIS_BLESS=1 cargo test -p <service> migrations_match` rewrites it. A descriptor
//! and its table therefore cannot drift apart.
//!
//! What each table gets: the id (a sequence, or a UUID), one column per field with its SQL
//! type, `NOT NULL` for required fields, a `CHECK` for enumerations, a foreign key for
//! references, a unique index on the business key ignoring case (`LOWER(code)`: the original's
//! MySQL collation made its keys unique and its look-ups match ignoring case), an index on
//! `LOWER(column)` for every other field looked up by value ([`super::Field::lookup`]), and an
//! index on every column that may be filtered or sorted on.

use std::fmt::Write as _;

use tis_store::{Backend, SqlType};

use super::{Descriptor, IdKind, Kind};

/// The column type of values bound as `ty` (the kinds' types are [`Kind::sql_type`]).
fn column_type(ty: SqlType, backend: Backend) -> &'static str {
    match (ty, backend) {
        (SqlType::Int, Backend::Postgres) => "BIGINT",
        (SqlType::Int, Backend::Sqlite) => "INTEGER",
        (SqlType::Uuid, Backend::Postgres) => "UUID",
        (SqlType::Bool, _) => "BOOLEAN",
        (SqlType::Date, _) => "DATE",
        (SqlType::Float, Backend::Postgres) => "DOUBLE PRECISION",
        (SqlType::Float, Backend::Sqlite) => "REAL",
        (SqlType::Timestamp, Backend::Postgres) => "TIMESTAMPTZ",
        (SqlType::Json, Backend::Postgres) => "JSONB",
        (SqlType::Text, _)
        | (SqlType::Uuid | SqlType::Timestamp | SqlType::Json, Backend::Sqlite) => "TEXT",
    }
}

/// The DDL of one table and its indexes.
pub fn table(desc: &'static Descriptor, backend: Backend) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "CREATE TABLE {} (", desc.table);
    let id = match (desc.id, backend) {
        (IdKind::Long, Backend::Postgres) => "BIGSERIAL PRIMARY KEY",
        (IdKind::Long, Backend::Sqlite) => "INTEGER PRIMARY KEY AUTOINCREMENT",
        (IdKind::Uuid, Backend::Postgres) => "UUID PRIMARY KEY",
        (IdKind::Uuid, Backend::Sqlite) => "TEXT PRIMARY KEY",
    };
    let mut lines = vec![format!("    id {id}")];
    for f in desc.fields {
        let mut line = format!(
            "    {} {}",
            f.column,
            column_type(f.kind.sql_type(), backend)
        );
        if f.required {
            line.push_str(" NOT NULL");
        }
        match f.kind {
            Kind::Enum(names) if !f.set => {
                let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                let _ = write!(line, " CHECK ({} IN ({}))", f.column, list.join(", "));
            }
            Kind::Ref(target) => {
                let _ = write!(line, " REFERENCES {} (id)", target.table);
            }
            _ => {}
        }
        lines.push(line);
    }
    let code = desc.code_field();
    let _ = writeln!(out, "{}", lines.join(",\n"));
    let _ = writeln!(out, ");");
    if let Some(code) = code {
        let key = if code.kind.is_text() {
            format!("LOWER({})", code.column)
        } else {
            code.column.to_owned()
        };
        let _ = writeln!(
            out,
            "CREATE UNIQUE INDEX ux_{}_{} ON {} ({key});",
            desc.table, code.column, desc.table
        );
    }
    for f in desc.fields {
        let is_code = code.is_some_and(|c| std::ptr::eq(c, f));
        if f.filter || f.sort {
            let _ = writeln!(
                out,
                "CREATE INDEX ix_{}_{} ON {} ({});",
                desc.table, f.column, desc.table, f.column
            );
        }
        if f.lookup && !is_code && f.kind.is_text() {
            let _ = writeln!(
                out,
                "CREATE INDEX ix_{}_{}_ci ON {} (LOWER({}));",
                desc.table, f.column, desc.table, f.column
            );
        }
    }
    out
}

/// The whole schema, tables in the given (dependency) order.
pub fn schema(descs: &[&'static Descriptor], backend: Backend) -> String {
    let mut out = format!(
        "-- Tables of entity descriptors ({}), written by tis_service_kit::entity::ddl;\n\
         -- do not edit by hand (see that module).\n",
        backend.as_str()
    );
    for d in descs {
        out.push('\n');
        out.push_str(&table(d, backend));
    }
    out
}

/// The engine-specific search structure of the descriptors that have one
/// ([`Descriptor::search_index`]), so that `searchQuery` (a case-insensitive "contains" over
/// the searchable text columns) finds rows without reading every row:
///
/// - SQLite: an FTS5 table with the trigram tokenizer over those columns (external content:
///   it stores only the index), kept in step by triggers and filled from the rows already
///   there; a term of three characters or more is matched as an FTS5 phrase, which the
///   trigram tokenizer matches as a substring of a column, ignoring case
///   ([`crate::repo::query::where_clause_on`]);
/// - PostgreSQL: a trigram GIN index (pg_trgm, shipped with PostgreSQL) on `LOWER(column)`
///   for each of them, which the planner uses for the same `LOWER(column) LIKE '%term%'` the
///   kit writes for every backend (three characters or more).
///
/// Every object is named `search_…`: the schema parity test leaves them out (they differ
/// by engine; what they hold is the compared tables' data). Shorter terms scan, as before.
pub fn search(desc: &'static Descriptor, backend: Backend) -> String {
    let Some(name) = desc.search_table() else {
        return String::new();
    };
    let cols: Vec<&str> = desc.searchable().map(|f| f.column).collect();
    let mut out = String::new();
    match backend {
        Backend::Sqlite => {
            let list = cols.join(", ");
            let new: Vec<String> = cols.iter().map(|c| format!("new.{c}")).collect();
            let old: Vec<String> = cols.iter().map(|c| format!("old.{c}")).collect();
            let (new, old) = (new.join(", "), old.join(", "));
            let table = desc.table;
            let _ = writeln!(
                out,
                "CREATE VIRTUAL TABLE {name} USING fts5(\n    {},\n    content = '{table}',\n    \
                 content_rowid = 'id',\n    tokenize = 'trigram'\n);",
                cols.join(",\n    ")
            );
            let _ = writeln!(
                out,
                "CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN\n    \
                 INSERT INTO {name} (rowid, {list}) VALUES (new.id, {new});\nEND;"
            );
            let _ = writeln!(
                out,
                "CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN\n    \
                 INSERT INTO {name} ({name}, rowid, {list}) VALUES ('delete', old.id, {old});\nEND;"
            );
            let _ = writeln!(
                out,
                "CREATE TRIGGER {name}_update AFTER UPDATE OF {list} ON {table} BEGIN\n    \
                 INSERT INTO {name} ({name}, rowid, {list}) VALUES ('delete', old.id, {old});\n    \
                 INSERT INTO {name} (rowid, {list}) VALUES (new.id, {new});\nEND;"
            );
            let _ = writeln!(out, "INSERT INTO {name} ({name}) VALUES ('rebuild');");
        }
        Backend::Postgres => {
            for c in cols {
                let _ = writeln!(
                    out,
                    "CREATE INDEX {name}_{c} ON {} USING gin (LOWER({c}) gin_trgm_ops);",
                    desc.table
                );
            }
        }
    }
    out
}

/// The search structures of `descs` ([`search`]), as one migration.
pub fn search_schema(descs: &[&'static Descriptor], backend: Backend) -> String {
    let mut out = format!(
        "-- Search structures of entity descriptors ({}), written by\n\
         -- tis_service_kit::entity::ddl::search; do not edit by hand (see that function).\n",
        backend.as_str()
    );
    if backend == Backend::Postgres {
        out.push_str(
            "-- pg_trgm ships with PostgreSQL (contrib); PostgreSQL 13+ lets a database owner\n\
             -- create it (an operator may create it beforehand instead).\n\
             \nCREATE EXTENSION IF NOT EXISTS pg_trgm;\n",
        );
    }
    for d in descs.iter().filter(|d| d.search_index) {
        out.push('\n');
        out.push_str(&search(d, backend));
    }
    out
}

/// The name of `table`'s data version ([`data_version`]): `search_{table}_version`.
pub fn data_version_table(table: &str) -> String {
    format!("search_{table}_version")
}

/// A data version of `table`: a one-row table `search_{table}_version` whose `version` every
/// insert, update and delete of `table` bumps by a trigger, inside the writing transaction, so
/// that a reader on any instance sees a new version as soon as it can see the write. The
/// repository keeps exact `COUNT(*)`s of the table's lists against it
/// ([`crate::repo::Counts`]): a count is reused while the version it was read with is
/// still the table's. On PostgreSQL the trigger runs once per statement (a bulk insert bumps
/// once); writers of `table` then queue on that row until they commit, which suits tables
/// written far less often than read (reference data, people). Named `search_…` like the
/// search structures, which the schema parity test leaves out.
pub fn data_version(table: &str, backend: Backend) -> String {
    let name = data_version_table(table);
    let mut out = String::new();
    let ty = column_type(SqlType::Int, backend);
    let _ = writeln!(out, "CREATE TABLE {name} (version {ty} NOT NULL);");
    let _ = writeln!(out, "INSERT INTO {name} (version) VALUES (0);");
    match backend {
        Backend::Sqlite => {
            for (what, when) in [
                ("insert", "INSERT"),
                ("update", "UPDATE"),
                ("delete", "DELETE"),
            ] {
                let _ = writeln!(
                    out,
                    "CREATE TRIGGER {name}_{what} AFTER {when} ON {table} BEGIN\n    \
                     UPDATE {name} SET version = version + 1;\nEND;"
                );
            }
        }
        Backend::Postgres => {
            let _ = writeln!(
                out,
                "CREATE FUNCTION {name}_bump() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    \
                 UPDATE {name} SET version = version + 1;\n    RETURN NULL;\nEND\n$$;"
            );
            let _ = writeln!(
                out,
                "CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}\n    \
                 FOR EACH STATEMENT EXECUTE FUNCTION {name}_bump();"
            );
        }
    }
    out
}

/// The data versions ([`data_version`]) of the `descs` that have one
/// ([`Descriptor::data_version`]), as one migration.
pub fn data_version_schema(descs: &[&'static Descriptor], backend: Backend) -> String {
    let mut out = format!(
        "-- Data versions of entity tables ({}), written by\n\
         -- tis_service_kit::entity::ddl::data_version; do not edit by hand (see that function).\n",
        backend.as_str()
    );
    for d in descs.iter().filter(|d| d.data_version) {
        out.push('\n');
        out.push_str(&data_version(d.table, backend));
    }
    out
}

/// [`check_migration`] for the migration of the data versions ([`data_version_schema`]).
pub fn check_data_version_migration(
    descs: &[&'static Descriptor],
    backend: Backend,
    manifest_dir: &str,
    file: &str,
) {
    check_file(data_version_schema(descs, backend), manifest_dir, file);
}

/// Fails unless the migration file `file` (under the calling crate's `manifest_dir`) holds
/// exactly the DDL of `descs` on `backend` (its leading comment aside: a released file keeps
/// the header it was written with); with `TIS_BLESS` set, rewrites it instead. For a
/// service's unit tests (only before a migration is released: afterwards add a new version).
pub fn check_migration(
    descs: &[&'static Descriptor],
    backend: Backend,
    manifest_dir: &str,
    file: &str,
) {
    check_file(schema(descs, backend), manifest_dir, file);
}

/// [`check_migration`] for the migration of the search structures ([`search_schema`]).
pub fn check_search_migration(
    descs: &[&'static Descriptor],
    backend: Backend,
    manifest_dir: &str,
    file: &str,
) {
    check_file(search_schema(descs, backend), manifest_dir, file);
}

fn check_file(want: String, manifest_dir: &str, file: &str) {
    let path = std::path::Path::new(manifest_dir).join(file);
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if without_header(&have) != without_header(&want) {
        if std::env::var_os("TIS_BLESS").is_some() {
            std::fs::write(&path, &want).expect("write migration");
        } else {
            panic!(
                "{file} does not match the descriptors; run with TIS_BLESS=1 to rewrite it \
                 (only before the migration was released: afterwards add a new version)"
            );
        }
    }
}

/// `sql` without its leading `--` comment lines.
fn without_header(sql: &str) -> &str {
    let mut rest = sql;
    while rest.starts_with("--") {
        rest = rest.split_once('\n').map_or("", |(_, tail)| tail);
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures as dto;

    #[test]
    fn a_table_has_its_key_constraint_and_indexes() {
        let ddl = table(&dto::SITE, Backend::Postgres);
        assert!(ddl.contains("id BIGSERIAL PRIMARY KEY"), "{ddl}");
        assert!(ddl.contains("site_code TEXT NOT NULL"), "{ddl}");
        assert!(
            ddl.contains("CREATE UNIQUE INDEX ux_site_site_code ON site (LOWER(site_code));"),
            "the business key is unique ignoring case: {ddl}"
        );
        assert!(
            ddl.contains("CREATE INDEX ix_site_status ON site (status);"),
            "{ddl}"
        );
        assert!(
            ddl.contains("CREATE INDEX ix_site_site_code ON site (site_code);"),
            "exact filters and sorts on the key keep an index: {ddl}"
        );
        let contact = table(&dto::LOCAL_OFFICE_CONTACT, Backend::Sqlite);
        assert!(
            contact.contains("local_office_id INTEGER NOT NULL REFERENCES local_office (id)"),
            "{contact}"
        );
    }

    #[test]
    fn the_search_structure_is_fts5_on_sqlite_and_trigram_indexes_on_postgres() {
        let sqlite = search(&dto::SITE, Backend::Sqlite);
        assert!(
            sqlite.starts_with(
                "CREATE VIRTUAL TABLE search_site USING fts5(\n    site_code,\n    site_name,"
            ),
            "{sqlite}"
        );
        assert!(sqlite.contains("content = 'site'"), "{sqlite}");
        assert!(
            sqlite.contains(
                "CREATE TRIGGER search_site_update AFTER UPDATE OF site_code, site_name, \
                 site_known_as, address, post_code, local_office, trust_code ON site BEGIN"
            ),
            "{sqlite}"
        );
        assert!(sqlite.contains("VALUES ('rebuild');"), "{sqlite}");
        let pg = search(&dto::SITE, Backend::Postgres);
        assert!(
            pg.contains(
                "CREATE INDEX search_site_address ON site USING gin (LOWER(address) gin_trgm_ops);"
            ),
            "{pg}"
        );
        assert_eq!(
            pg.lines().count(),
            7,
            "one per searchable text column: {pg}"
        );
        assert!(search(&dto::GRADE, Backend::Sqlite).is_empty());
        assert!(
            search_schema(&[&dto::GRADE, &dto::SITE], Backend::Postgres)
                .contains("CREATE EXTENSION IF NOT EXISTS pg_trgm;")
        );
    }
}
