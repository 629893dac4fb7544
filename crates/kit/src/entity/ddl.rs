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
            Kind::Enum(names) => {
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
    let want = schema(descs, backend);
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
}
