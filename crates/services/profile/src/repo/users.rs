//! Users: reads (one, a page, by roles, by exact designated bodies, the Responsible Officer)
//! and writes (create, create-or-replace, delete).

use std::collections::HashMap;

use serde::Deserialize;
use tis_core::paging::Sort;
use tis_store::sql::escape_like;
use tis_store::{Sql, StoreError, Tx, Value};

use super::{Page, Repo, chunks, count, texts};
use crate::domain::{HeeUser, RESPONSIBLE_OFFICER, UserProgramme, UserTrust};

const USER_COLUMNS: &str = r#"u.name AS "name", u.first_name AS "firstName", u.last_name AS "lastName", u.gmc_id AS "gmcId", u.phone_number AS "phoneNumber", u.email_address AS "emailAddress", u.active AS "active""#;

/// A list of users: free-text search and sort terms.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Case-insensitive "contains" over name, first name, last name and email address.
    pub search: Option<String>,
    /// Columns from [`UserQuery::SORTABLE`].
    pub sort: Vec<Sort<&'static str>>,
}

impl UserQuery {
    /// The JSON names users may be sorted by, and their columns: the sort allow-list.
    pub const SORTABLE: &[(&str, &str)] = &[
        ("name", "u.name"),
        ("firstName", "u.first_name"),
        ("lastName", "u.last_name"),
        ("emailAddress", "u.email_address"),
        ("gmcId", "u.gmc_id"),
        ("active", "u.active"),
    ];

    fn push_where(&self, sql: &mut Sql) {
        if let Some(search) = self.search.as_deref().filter(|s| !s.trim().is_empty()) {
            let pattern = format!("%{}%", escape_like(&search.trim().to_lowercase()));
            sql.push(" WHERE (");
            for (i, col) in ["u.name", "u.first_name", "u.last_name", "u.email_address"]
                .iter()
                .enumerate()
            {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push(&format!("lower({col}) LIKE "))
                    .bind(pattern.as_str())
                    .push(r" ESCAPE '\'");
            }
            sql.push(")");
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserRow {
    name: String,
    first_name: Option<String>,
    last_name: Option<String>,
    gmc_id: Option<String>,
    phone_number: Option<String>,
    email_address: Option<String>,
    active: bool,
}

impl From<UserRow> for HeeUser {
    fn from(r: UserRow) -> Self {
        HeeUser {
            first_name: r.first_name,
            last_name: r.last_name,
            gmc_id: r.gmc_id,
            phone_number: r.phone_number,
            email_address: r.email_address,
            active: r.active,
            ..HeeUser::named(&r.name)
        }
    }
}

#[derive(Debug, Deserialize)]
struct PairRow {
    user: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrustRow {
    user: String,
    trust_id: i64,
    trust_code: Option<String>,
    trust_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProgrammeRow {
    user: String,
    programme_id: i64,
    programme_name: Option<String>,
    programme_number: Option<String>,
}

fn select_users() -> Sql {
    Sql::new(&format!("SELECT {USER_COLUMNS} FROM hee_user u"))
}

impl Repo {
    /// The user named exactly `name`.
    pub async fn user(&self, name: &str) -> Result<Option<HeeUser>, StoreError> {
        let mut q = select_users();
        q.push(" WHERE u.name = ").bind(name);
        self.one(q).await
    }

    /// The user whose name equals `name` ignoring case (at most one: names are unique
    /// ignoring case).
    pub async fn user_ignoring_case(&self, name: &str) -> Result<Option<HeeUser>, StoreError> {
        let mut q = select_users();
        q.push(" WHERE lower(u.name) = lower(").bind(name).push(")");
        self.one(q).await
    }

    /// The one user `q` selects by key, complete. A replica's "none" is confirmed on the
    /// primary, and then the rest is read there too (a user created a moment ago).
    async fn one(&self, q: Sql) -> Result<Option<HeeUser>, StoreError> {
        let Some(row) = self.db.read().fetch_optional_as::<UserRow>(q).await? else {
            return Ok(None);
        };
        Ok(self.complete(vec![row]).await?.pop())
    }

    /// A page of users and how many match in all.
    pub async fn users_page(
        &self,
        query: &UserQuery,
        page: Page,
    ) -> Result<(Vec<HeeUser>, u64), StoreError> {
        let mut c = Sql::new("SELECT COUNT(*) AS n FROM hee_user u");
        query.push_where(&mut c);
        let total = count(&self.db, c).await?;
        if page.offset() >= total {
            return Ok((Vec::new(), total));
        }
        let mut q = select_users();
        query.push_where(&mut q);
        q.push(" ORDER BY ");
        for s in &query.sort {
            let direction = if s.descending { "DESC" } else { "ASC" };
            q.push(&format!("{} {direction}, ", s.field));
        }
        q.push("u.name ASC");
        q.push_page(page);
        let users = self.complete(self.db.read().fetch_all_as(q).await?).await?;
        Ok((users, total))
    }

    /// Users holding any of `roles`, by name.
    pub async fn users_with_roles(&self, roles: &[String]) -> Result<Vec<HeeUser>, StoreError> {
        let mut q = select_users();
        q.push(" WHERE u.name IN (SELECT ur.user_name FROM user_role ur WHERE ur.role_name IN ")
            .bind_list(texts(roles))
            .push(") ORDER BY u.name");
        self.complete(self.db.read().fetch_all_as(q).await?).await
    }

    /// Active users holding a role whose designated bodies are exactly `dbcs`, optionally
    /// only those holding one of `permissions` through a role; by first name (the original
    /// `findDistinctByExactDesignatedBodyCodes[AndPermissions]`).
    pub async fn users_with_exact_dbcs(
        &self,
        dbcs: &[String],
        permissions: &[String],
    ) -> Result<Vec<HeeUser>, StoreError> {
        let n = i64::try_from(dbcs.len()).unwrap_or(i64::MAX);
        let mut q = select_users();
        q.push(" WHERE u.active = ")
            .bind(true)
            .push(" AND EXISTS (SELECT 1 FROM user_role ur WHERE ur.user_name = u.name");
        if !permissions.is_empty() {
            q.push(" AND EXISTS (SELECT 1 FROM role_permission rp WHERE rp.role_name = ur.role_name AND rp.permission_name IN ")
                .bind_list(texts(permissions))
                .push(")");
        }
        q.push(") AND (SELECT COUNT(*) FROM user_designated_body d WHERE d.user_name = u.name) = ")
            .bind(n)
            .push(" AND (SELECT COUNT(*) FROM user_designated_body d WHERE d.user_name = u.name AND d.designated_body_code IN ")
            .bind_list(texts(dbcs))
            .push(") = ")
            .bind(n)
            .push(" ORDER BY u.first_name, u.name");
        self.complete(self.db.read().fetch_all_as(q).await?).await
    }

    /// The Responsible Officer of a designated body: a user holding `RVOfficer` there
    /// (an active one first).
    pub async fn responsible_officer(&self, dbc: &str) -> Result<Option<HeeUser>, StoreError> {
        let mut q = select_users();
        q.push(" WHERE EXISTS (SELECT 1 FROM user_role ur WHERE ur.user_name = u.name AND ur.role_name = ")
            .bind(RESPONSIBLE_OFFICER)
            .push(") AND EXISTS (SELECT 1 FROM user_designated_body d WHERE d.user_name = u.name AND d.designated_body_code = ")
            .bind(dbc)
            .push(") ORDER BY u.active DESC, u.name LIMIT 1");
        Ok(self
            .complete(self.db.read().fetch_all_as(q).await?)
            .await?
            .pop())
    }

    /// Creates a user; a user of the same name (ignoring case) is `Duplicate`.
    pub async fn create_user(&self, user: &HeeUser) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        tx.execute(insert_user(user)).await?;
        write_children(&mut tx, user).await?;
        tx.commit().await
    }

    /// Replaces the user of that name, or creates it; returns whether it was created.
    pub async fn save_user(&self, user: &HeeUser) -> Result<bool, StoreError> {
        let mut tx = self.db.begin().await?;
        let mut q = Sql::new("UPDATE hee_user SET first_name = ");
        q.bind(user.first_name.as_deref())
            .push(", last_name = ")
            .bind(user.last_name.as_deref())
            .push(", gmc_id = ")
            .bind(user.gmc_id.as_deref())
            .push(", phone_number = ")
            .bind(user.phone_number.as_deref())
            .push(", email_address = ")
            .bind(user.email_address.as_deref())
            .push(", active = ")
            .bind(user.active)
            .push(" WHERE name = ")
            .bind(user.name.as_str());
        let created = tx.execute(q).await? == 0;
        if created {
            tx.execute(insert_user(user)).await?;
        } else {
            for table in [
                "user_role",
                "user_designated_body",
                "user_trust",
                "user_programme",
            ] {
                let mut d = Sql::new(&format!("DELETE FROM {table} WHERE user_name = "));
                d.bind(user.name.as_str());
                tx.execute(d).await?;
            }
        }
        write_children(&mut tx, user).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Deletes a user and everything hanging off it; returns whether there was one.
    pub async fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        let mut q = Sql::new("DELETE FROM hee_user WHERE name = ");
        q.bind(name);
        Ok(self.db.write().execute(q).await? > 0)
    }

    /// Loads the roles, designated bodies, trusts and programmes of `rows`' users.
    async fn complete(&self, rows: Vec<UserRow>) -> Result<Vec<HeeUser>, StoreError> {
        let mut users: Vec<HeeUser> = rows.into_iter().map(HeeUser::from).collect();
        if users.is_empty() {
            return Ok(users);
        }
        let index: HashMap<String, usize> = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.name.clone(), i))
            .collect();
        let names: Vec<String> = users.iter().map(|u| u.name.clone()).collect();
        for part in chunks(&names) {
            let pairs = |sql: &str| {
                let mut q = Sql::new(sql);
                q.bind_list(texts(part));
                q
            };
            let roles: Vec<PairRow> = self
                .db
                .read()
                .fetch_all_as(pairs(r#"SELECT user_name AS "user", role_name AS "value" FROM user_role WHERE user_name IN "#))
                .await?;
            for r in roles {
                if let Some(&i) = index.get(&r.user) {
                    users[i].roles.insert(r.value);
                }
            }
            let dbcs: Vec<PairRow> = self
                .db
                .read()
                .fetch_all_as(pairs(r#"SELECT user_name AS "user", designated_body_code AS "value" FROM user_designated_body WHERE user_name IN "#))
                .await?;
            for r in dbcs {
                if let Some(&i) = index.get(&r.user) {
                    users[i].designated_body_codes.insert(r.value);
                }
            }
            let mut q = pairs(
                r#"SELECT user_name AS "user", trust_id AS "trustId", trust_code AS "trustCode", trust_name AS "trustName" FROM user_trust WHERE user_name IN "#,
            );
            q.push(" ORDER BY trust_id");
            for r in self.db.read().fetch_all_as::<TrustRow>(q).await? {
                if let Some(&i) = index.get(&r.user) {
                    users[i].trusts.push(UserTrust {
                        trust_id: r.trust_id,
                        trust_code: r.trust_code,
                        trust_name: r.trust_name,
                    });
                }
            }
            let mut q = pairs(
                r#"SELECT user_name AS "user", programme_id AS "programmeId", programme_name AS "programmeName", programme_number AS "programmeNumber" FROM user_programme WHERE user_name IN "#,
            );
            q.push(" ORDER BY programme_id");
            for r in self.db.read().fetch_all_as::<ProgrammeRow>(q).await? {
                if let Some(&i) = index.get(&r.user) {
                    users[i].programmes.push(UserProgramme {
                        programme_id: r.programme_id,
                        programme_name: r.programme_name,
                        programme_number: r.programme_number,
                    });
                }
            }
        }
        Ok(users)
    }
}

fn insert_user(user: &HeeUser) -> Sql {
    let mut q = Sql::new(
        "INSERT INTO hee_user (name, first_name, last_name, gmc_id, phone_number, email_address, active) VALUES (",
    );
    q.bind(user.name.as_str())
        .push(", ")
        .bind(user.first_name.as_deref())
        .push(", ")
        .bind(user.last_name.as_deref())
        .push(", ")
        .bind(user.gmc_id.as_deref())
        .push(", ")
        .bind(user.phone_number.as_deref())
        .push(", ")
        .bind(user.email_address.as_deref())
        .push(", ")
        .bind(user.active)
        .push(")");
    q
}

/// Inserts the roles, designated bodies, trusts and programmes of a user whose rows are gone
/// (or never were).
pub(super) async fn write_children(tx: &mut Tx, user: &HeeUser) -> Result<(), StoreError> {
    let name = Value::Text(user.name.clone());
    for role in &user.roles {
        let mut q = Sql::new("INSERT INTO user_role (user_name, role_name) VALUES (");
        q.bind(name.clone()).push(", ").bind(role).push(")");
        tx.execute(q).await?;
    }
    for dbc in &user.designated_body_codes {
        let mut q =
            Sql::new("INSERT INTO user_designated_body (user_name, designated_body_code) VALUES (");
        q.bind(name.clone()).push(", ").bind(dbc).push(")");
        tx.execute(q).await?;
    }
    for t in &user.trusts {
        let mut q = Sql::new(
            "INSERT INTO user_trust (user_name, trust_id, trust_code, trust_name) VALUES (",
        );
        q.bind(name.clone())
            .push(", ")
            .bind(t.trust_id)
            .push(", ")
            .bind(t.trust_code.as_deref())
            .push(", ")
            .bind(t.trust_name.as_deref())
            .push(")");
        tx.execute(q).await?;
    }
    for p in &user.programmes {
        let mut q = Sql::new(
            "INSERT INTO user_programme (user_name, programme_id, programme_name, programme_number) VALUES (",
        );
        q.bind(name.clone())
            .push(", ")
            .bind(p.programme_id)
            .push(", ")
            .bind(p.programme_name.as_deref())
            .push(", ")
            .bind(p.programme_number.as_deref())
            .push(")");
        tx.execute(q).await?;
    }
    Ok(())
}
