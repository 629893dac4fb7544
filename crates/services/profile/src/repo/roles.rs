//! Roles: pages, one by name, the restricted roles, existence; writes, and deletes that
//! refuse while a user holds the role.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use tis_store::{Sql, StoreError};

use super::{Page, Removed, Repo, chunks, count, distinct, texts};
use crate::domain::Role;

#[derive(Debug, Deserialize)]
struct RoleRow {
    name: String,
    restricted: bool,
}

#[derive(Debug, Deserialize)]
struct GrantRow {
    role: String,
    permission: String,
}

impl Repo {
    /// Which of `names` are roles.
    pub async fn existing_roles(&self, names: &[String]) -> Result<BTreeSet<String>, StoreError> {
        self.existing("role", names).await
    }

    /// A page of roles by name (optionally without the restricted ones), and how many.
    pub async fn roles_page(
        &self,
        page: Page,
        exclude_restricted: bool,
    ) -> Result<(Vec<Role>, u64), StoreError> {
        let filter = |q: &mut Sql| {
            if exclude_restricted {
                q.push(" WHERE r.restricted = ").bind(false);
            }
        };
        let mut c = Sql::new("SELECT COUNT(*) AS n FROM role r");
        filter(&mut c);
        let total = count(&self.db, c).await?;
        let mut q =
            Sql::new(r#"SELECT r.name AS "name", r.restricted AS "restricted" FROM role r"#);
        filter(&mut q);
        q.push(" ORDER BY r.name");
        q.push_page(page);
        Ok((self.complete_roles(q, 0).await?, total))
    }

    /// Every restricted role, by name.
    pub async fn restricted_roles(&self) -> Result<Vec<Role>, StoreError> {
        let mut q = Sql::new(
            r#"SELECT r.name AS "name", r.restricted AS "restricted" FROM role r WHERE r.restricted = "#,
        );
        q.bind(true).push(" ORDER BY r.name");
        self.complete_roles(q, 0).await
    }

    pub async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        let mut q = Sql::new(
            r#"SELECT r.name AS "name", r.restricted AS "restricted" FROM role r WHERE r.name = "#,
        );
        q.bind(name);
        Ok(self.complete_roles(q, 1).await?.pop())
    }

    /// The role of that name, or else the first whose name equals it ignoring case (the
    /// original's MySQL collation compared names so).
    pub async fn role_ignoring_case(&self, name: &str) -> Result<Option<Role>, StoreError> {
        if let Some(role) = self.role(name).await? {
            return Ok(Some(role));
        }
        let mut q = Sql::new(
            r#"SELECT r.name AS "name", r.restricted AS "restricted" FROM role r WHERE lower(r.name) = lower("#,
        );
        q.bind(name).push(") ORDER BY r.name LIMIT 1");
        Ok(self.complete_roles(q, 1).await?.pop())
    }

    /// The roles named, with their permissions (unknown names are left out).
    pub async fn roles_named(&self, names: &[String]) -> Result<Vec<Role>, StoreError> {
        let names = distinct(names.iter().cloned());
        let mut out = Vec::new();
        for part in chunks(&names) {
            let mut q = Sql::new(
                r#"SELECT r.name AS "name", r.restricted AS "restricted" FROM role r WHERE r.name IN "#,
            );
            q.bind_list(texts(part)).push(" ORDER BY r.name");
            out.extend(self.complete_roles(q, part.len()).await?);
        }
        Ok(out)
    }

    /// The roles `q` selects, with their permissions. `expected`: how many a look-up by name
    /// should find (0 for other queries); fewer from a replica are confirmed on the primary.
    async fn complete_roles(&self, q: Sql, expected: usize) -> Result<Vec<Role>, StoreError> {
        let rows: Vec<RoleRow> = self.db.read().fetch_keyed_as(q, expected).await?;
        let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for part in chunks(&names) {
            let mut g = Sql::new(
                r#"SELECT role_name AS "role", permission_name AS "permission" FROM role_permission WHERE role_name IN "#,
            );
            g.bind_list(texts(part));
            for r in self.db.read().fetch_all_as::<GrantRow>(g).await? {
                grants.entry(r.role).or_default().insert(r.permission);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| Role {
                permissions: grants.remove(&r.name).unwrap_or_default(),
                name: r.name,
                restricted: r.restricted,
            })
            .collect())
    }

    /// Creates a role with its permissions; one of the same name is `Duplicate`.
    pub async fn create_role(&self, role: &Role) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        let mut q = Sql::new("INSERT INTO role (name, restricted) VALUES (");
        q.bind(role.name.as_str())
            .push(", ")
            .bind(role.restricted)
            .push(")");
        tx.execute(q).await?;
        grant(&mut tx, role).await?;
        tx.commit().await
    }

    /// Replaces the role of that name (its permissions too), or creates it; returns whether
    /// it was created.
    pub async fn save_role(&self, role: &Role) -> Result<bool, StoreError> {
        let mut tx = self.db.begin().await?;
        let mut q = Sql::new("UPDATE role SET restricted = ");
        q.bind(role.restricted)
            .push(" WHERE name = ")
            .bind(role.name.as_str());
        let created = tx.execute(q).await? == 0;
        if created {
            let mut q = Sql::new("INSERT INTO role (name, restricted) VALUES (");
            q.bind(role.name.as_str())
                .push(", ")
                .bind(role.restricted)
                .push(")");
            tx.execute(q).await?;
        } else {
            let mut d = Sql::new("DELETE FROM role_permission WHERE role_name = ");
            d.bind(role.name.as_str());
            tx.execute(d).await?;
        }
        grant(&mut tx, role).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Deletes a role nobody holds (the original's `validateBeforeDelete`).
    pub async fn delete_role(&self, name: &str) -> Result<Removed, StoreError> {
        let mut tx = self.db.begin().await?;
        let mut c = Sql::new("SELECT COUNT(*) AS n FROM user_role WHERE role_name = ");
        c.bind(name);
        let held = tx
            .fetch_one(c)
            .await?
            .get("n")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if held > 0 {
            return Ok(Removed::InUse(held));
        }
        let mut q = Sql::new("DELETE FROM role WHERE name = ");
        q.bind(name);
        let n = tx.execute(q).await?;
        tx.commit().await?;
        Ok(if n > 0 {
            Removed::Done
        } else {
            Removed::Missing
        })
    }
}

async fn grant(tx: &mut tis_store::Tx, role: &Role) -> Result<(), StoreError> {
    for p in &role.permissions {
        let mut q = Sql::new("INSERT INTO role_permission (role_name, permission_name) VALUES (");
        q.bind(role.name.as_str()).push(", ").bind(p).push(")");
        tx.execute(q).await?;
    }
    Ok(())
}
