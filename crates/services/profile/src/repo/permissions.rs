//! Permissions: pages, one by name, existence, the permissions behind roles and the
//! per-user ones; writes, and deletes that refuse while a role grants them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use tis_store::sql::escape_like;
use tis_store::{Sql, StoreError};

use super::{Page, Removed, Repo, chunks, count, distinct, texts};
use crate::domain::assemble::is_personal;
use crate::domain::{Permission, effect_name, parse_effect};

const PERMISSION_COLUMNS: &str = r#"p.name AS "name", p.permission_type AS "kind", p.description AS "description", p.principal AS "principal", p.resource AS "resource", p.actions AS "actions", p.effect AS "effect""#;

#[derive(Debug, Deserialize)]
struct PermissionRow {
    name: String,
    kind: String,
    description: Option<String>,
    principal: String,
    resource: String,
    actions: String,
    effect: String,
}

impl TryFrom<PermissionRow> for Permission {
    type Error = StoreError;

    fn try_from(r: PermissionRow) -> Result<Self, StoreError> {
        let effect = parse_effect(&r.effect).ok_or_else(|| {
            StoreError::Decode(format!("permission {}: effect {:?}", r.name, r.effect))
        })?;
        Ok(Permission {
            actions: r
                .actions
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            name: r.name,
            kind: r.kind,
            description: r.description,
            principal: r.principal,
            resource: r.resource,
            effect,
        })
    }
}

impl Repo {
    /// The permissions `q` selects. `expected`: how many a look-up by name should find (0 for
    /// other queries); fewer from a replica are confirmed on the primary.
    async fn permissions_where(
        &self,
        mut q: Sql,
        expected: usize,
    ) -> Result<Vec<Permission>, StoreError> {
        q.push(" ORDER BY p.name");
        let rows: Vec<PermissionRow> = self.db.read().fetch_keyed_as(q, expected).await?;
        rows.into_iter().map(Permission::try_from).collect()
    }

    fn select_permissions() -> Sql {
        Sql::new(&format!("SELECT {PERMISSION_COLUMNS} FROM permission p"))
    }

    /// A page of permissions by name, and how many there are.
    pub async fn permissions_page(&self, page: Page) -> Result<(Vec<Permission>, u64), StoreError> {
        let total = count(&self.db, Sql::new("SELECT COUNT(*) AS n FROM permission")).await?;
        let mut q = Self::select_permissions();
        q.push(" ORDER BY p.name");
        q.push_page(page);
        let rows: Vec<PermissionRow> = self.db.read().fetch_all_as(q).await?;
        Ok((
            rows.into_iter()
                .map(Permission::try_from)
                .collect::<Result<_, _>>()?,
            total,
        ))
    }

    pub async fn permission(&self, name: &str) -> Result<Option<Permission>, StoreError> {
        let mut q = Self::select_permissions();
        q.push(" WHERE p.name = ").bind(name);
        Ok(self.permissions_where(q, 1).await?.pop())
    }

    /// The permission of that name, or else the first whose name equals it ignoring case (the
    /// original's MySQL collation compared names so).
    pub async fn permission_ignoring_case(
        &self,
        name: &str,
    ) -> Result<Option<Permission>, StoreError> {
        if let Some(p) = self.permission(name).await? {
            return Ok(Some(p));
        }
        let mut q = Self::select_permissions();
        q.push(" WHERE lower(p.name) = lower(").bind(name).push(")");
        Ok(self.permissions_where(q, 1).await?.into_iter().next())
    }

    /// The permissions named, in name order (unknown names are left out).
    pub async fn permissions_named(&self, names: &[String]) -> Result<Vec<Permission>, StoreError> {
        let names = distinct(names.iter().cloned());
        let mut out = Vec::new();
        for part in chunks(&names) {
            let mut q = Self::select_permissions();
            q.push(" WHERE p.name IN ").bind_list(texts(part));
            out.extend(self.permissions_where(q, part.len()).await?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Every permission granted by any of `roles`, once each, by name. One query per 500
    /// roles (a sub-select, not the names first and the permissions after): it is on the
    /// path of every `/userinfo`.
    pub async fn permissions_of_roles(
        &self,
        roles: &BTreeSet<String>,
    ) -> Result<Vec<Permission>, StoreError> {
        let roles: Vec<String> = roles.iter().cloned().collect();
        let mut found: BTreeMap<String, Permission> = BTreeMap::new();
        for part in chunks(&roles) {
            let mut q = Self::select_permissions();
            q.push(" WHERE p.name IN (SELECT rp.permission_name FROM role_permission rp WHERE rp.role_name IN ")
                .bind_list(texts(part))
                .push(")");
            for p in self.permissions_where(q, 0).await? {
                found.entry(p.name.clone()).or_insert(p);
            }
        }
        Ok(found.into_values().collect())
    }

    /// Permissions whose principal names `user` alone (`…:<user>`).
    pub async fn personal_permissions(&self, user: &str) -> Result<Vec<Permission>, StoreError> {
        let mut q = Self::select_permissions();
        q.push(" WHERE p.principal LIKE ")
            .bind(format!("%:{}", escape_like(user)))
            .push(r" ESCAPE '\'");
        let found = self.permissions_where(q, 0).await?;
        // LIKE may ignore case (SQLite); the principal must name exactly this user.
        Ok(found
            .into_iter()
            .filter(|p| is_personal(&p.principal, user))
            .collect())
    }

    /// Which of `names` are permissions.
    pub async fn existing_permissions(
        &self,
        names: &[String],
    ) -> Result<BTreeSet<String>, StoreError> {
        self.existing("permission", names).await
    }

    /// Creates a permission; one of the same name is `Duplicate`.
    pub async fn create_permission(&self, p: &Permission) -> Result<(), StoreError> {
        self.db
            .write()
            .execute(insert_permission(p))
            .await
            .map(drop)
    }

    /// Replaces the permission of that name, or creates it; returns whether it was created.
    pub async fn save_permission(&self, p: &Permission) -> Result<bool, StoreError> {
        let mut tx = self.db.begin().await?;
        let mut q = Sql::new("UPDATE permission SET permission_type = ");
        q.bind(p.kind.as_str())
            .push(", description = ")
            .bind(p.description.as_deref())
            .push(", principal = ")
            .bind(p.principal.as_str())
            .push(", resource = ")
            .bind(p.resource.as_str())
            .push(", actions = ")
            .bind(p.actions.join(","))
            .push(", effect = ")
            .bind(effect_name(p.effect))
            .push(" WHERE name = ")
            .bind(p.name.as_str());
        let created = tx.execute(q).await? == 0;
        if created {
            tx.execute(insert_permission(p)).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Deletes a permission no role grants.
    pub async fn delete_permission(&self, name: &str) -> Result<Removed, StoreError> {
        let mut tx = self.db.begin().await?;
        let mut c = Sql::new("SELECT COUNT(*) AS n FROM role_permission WHERE permission_name = ");
        c.bind(name);
        let used = tx
            .fetch_one(c)
            .await?
            .get("n")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if used > 0 {
            return Ok(Removed::InUse(used));
        }
        let mut q = Sql::new("DELETE FROM permission WHERE name = ");
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

pub(super) fn insert_permission(p: &Permission) -> Sql {
    let mut q = Sql::new(
        "INSERT INTO permission (name, permission_type, description, principal, resource, actions, effect) VALUES (",
    );
    q.bind(p.name.as_str())
        .push(", ")
        .bind(p.kind.as_str())
        .push(", ")
        .bind(p.description.as_deref())
        .push(", ")
        .bind(p.principal.as_str())
        .push(", ")
        .bind(p.resource.as_str())
        .push(", ")
        .bind(p.actions.join(","))
        .push(", ")
        .bind(effect_name(p.effect))
        .push(")");
    q
}
