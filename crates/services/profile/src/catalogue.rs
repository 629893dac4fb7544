//! The role catalogue as a migration: every permission with its policy, every role with its
//! permissions, from tis-auth's [`RoleCatalogue::tis`] (one source of truth).
//!
//! Roles and permissions are not demo data: a Profile without them authorises nobody, and a
//! production deployment (where demo data is refused) had none, so no user could be given a
//! role. The original shipped them in its database migrations (Liquibase); so do we:
//! `migrations/*/0003_catalogue.sql` is [`migration_sql`]'s text, checked by a test (and
//! rewritten by it with `TIS_BLESS=1` while unreleased). A later change to the catalogue is a
//! new migration, as in the original.
//!
//! Like the demo seed before it, it never overwrites: a permission or role that exists is
//! left as it is, and a role's permissions are written only for a role that has none (an
//! administrator's edits survive).

use std::fmt::Write;

use tis_auth::RoleCatalogue;

use crate::demo::RESTRICTED_ROLES;
use crate::domain::effect_name;

/// The migration's SQL (the same on SQLite and PostgreSQL).
pub fn migration_sql() -> String {
    let catalogue = RoleCatalogue::tis();
    let mut sql = String::from(
        "-- The role catalogue: permissions, roles and their permissions, from tis-auth's\n\
         -- RoleCatalogue::tis. Written by tis_profile::catalogue; do not edit by hand.\n\n",
    );
    let permissions: Vec<String> = catalogue
        .permissions()
        .map(|p| {
            format!(
                "    ({}, {}, NULL, {}, {}, {}, {})",
                quote(&p.name),
                quote(&p.kind),
                quote(&p.policy.principal),
                quote(&p.policy.resource),
                quote(&p.policy.actions.join(",")),
                quote(effect_name(p.policy.effect)),
            )
        })
        .collect();
    let _ = write!(
        sql,
        "INSERT INTO permission (name, permission_type, description, principal, resource, actions, effect) VALUES\n{}\nON CONFLICT DO NOTHING;\n\n",
        permissions.join(",\n")
    );
    let roles: Vec<String> = catalogue
        .role_names()
        .map(|r| {
            let restricted = if RESTRICTED_ROLES.contains(&r) {
                "TRUE"
            } else {
                "FALSE"
            };
            format!("    ({}, {restricted})", quote(r))
        })
        .collect();
    let _ = write!(
        sql,
        "INSERT INTO role (name, restricted) VALUES\n{}\nON CONFLICT DO NOTHING;\n\n",
        roles.join(",\n")
    );
    let grants: Vec<String> = catalogue
        .role_names()
        .flat_map(|r| {
            catalogue
                .role(r)
                .into_iter()
                .flatten()
                .map(move |p| format!("    ({}, {})", quote(r), quote(p)))
        })
        .collect();
    let _ = write!(
        sql,
        "-- Only for roles without any permission yet (a role an administrator edited keeps its own).\n\
         WITH grants (role_name, permission_name) AS (VALUES\n{}\n)\n\
         INSERT INTO role_permission (role_name, permission_name)\n\
         SELECT g.role_name, g.permission_name FROM grants g\n\
         WHERE NOT EXISTS (SELECT 1 FROM role_permission rp WHERE rp.role_name = g.role_name);\n",
        grants.join(",\n")
    );
    sql
}

/// An SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_migration_is_the_role_catalogue_on_both_backends() {
        let want = migration_sql();
        for file in [
            "migrations/sqlite/0003_catalogue.sql",
            "migrations/postgres/0003_catalogue.sql",
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            if have != want {
                assert!(
                    std::env::var_os("TIS_BLESS").is_some(),
                    "{file} is not the role catalogue; run with TIS_BLESS=1 to rewrite it \
                     (only before it was released: afterwards add a new migration)"
                );
                std::fs::write(&path, &want).expect("write the migration");
            }
        }
    }

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(quote("St Mary's"), "'St Mary''s'");
    }
}
