//! The repository: Profile's tables through tis-store, in SQL both SQLite and PostgreSQL
//! accept (quoted aliases, `LIMIT … OFFSET …`, `lower()`, `LIKE … ESCAPE`, `ON CONFLICT DO
//! NOTHING`, `RETURNING`).
//!
//! Rows come back as JSON maps keyed by their aliases and are decoded into small row structs,
//! then into the domain types. A user's roles, designated bodies, trusts and programmes are
//! loaded for a whole page of users at once (one query per kind), never one user at a time.
//!
//! Reads go through `db.read()`: on PostgreSQL a replica within the lag bound serves them,
//! unless the request carries a `TIS-Consistency` token the replica has not reached or has
//! written (then the primary, so a write answers with what it stored). That is what keeps
//! `/userinfo` (and every caller authenticated by access token, [`crate::LocalProfiles`])
//! answering while the primary is down. Each write runs in one transaction on the primary,
//! and so do the existence checks that decide a write ([`Repo::existing_roles`],
//! [`Repo::existing_permissions`]): a role created a moment ago may not have reached a
//! replica, and a write must not be refused for that.

mod permissions;
mod roles;
mod trainees;
mod users;

use std::collections::BTreeSet;

use tis_auth::UserProfile;
use tis_store::{Db, Sql, StoreError, Value};

pub use trainees::parse_date;
pub use users::UserQuery;

use crate::domain::{HeeUser, assemble};

pub use tis_core::paging::Page;

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    Done,
    Missing,
    /// Still referenced by this many rows (users holding a role, roles granting a permission).
    InUse(u64),
}

/// A row with one `name` column.
#[derive(Debug, serde::Deserialize)]
struct NameRow {
    name: String,
}

/// The profile behind a user name, as `/userinfo` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileLookup {
    Found(Box<UserProfile>),
    Inactive,
    Missing,
}

/// The repository. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Repo {
    db: Db,
}

/// Most bound values in one `IN (…)` list; longer lists are split.
const CHUNK: usize = 500;

impl Repo {
    pub fn new(db: Db) -> Self {
        Repo { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The assembled profile of the user named `name`, ignoring case (Keycloak lowercases
    /// `preferred_username`; the original's MySQL collation ignored case too).
    pub async fn user_profile(&self, name: &str) -> Result<ProfileLookup, StoreError> {
        let Some(user) = self.user_ignoring_case(name).await? else {
            return Ok(ProfileLookup::Missing);
        };
        if !user.active {
            return Ok(ProfileLookup::Inactive);
        }
        Ok(ProfileLookup::Found(Box::new(
            self.profile_of(&user).await?,
        )))
    }

    /// Which of `names` are in `table` (its `name` column), read on the primary.
    pub(super) async fn existing(
        &self,
        table: &str,
        names: &[String],
    ) -> Result<BTreeSet<String>, StoreError> {
        let names = distinct(names.iter().cloned());
        let mut found = BTreeSet::new();
        for part in chunks(&names) {
            let mut q = Sql::new(&format!(
                r#"SELECT name AS "name" FROM {table} WHERE name IN "#
            ));
            q.bind_list(texts(part));
            let rows: Vec<NameRow> = self.db.write().fetch_all_as(q).await?;
            found.extend(rows.into_iter().map(|r| r.name));
        }
        Ok(found)
    }

    /// The assembled profile of `user`, active or not.
    pub async fn profile_of(&self, user: &HeeUser) -> Result<UserProfile, StoreError> {
        let role_permissions = self.permissions_of_roles(&user.roles).await?;
        let personal = self.personal_permissions(&user.name).await?;
        Ok(assemble::user_profile(user, &role_permissions, &personal))
    }
}

/// Splits `items` into lists short enough to bind.
fn chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    items.chunks(CHUNK)
}

/// Text values to bind.
fn texts<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<Value> {
    items.into_iter().map(|s| Value::Text(s.clone())).collect()
}

/// Distinct, sorted.
fn distinct(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `COUNT(*)` of a query whose single column is aliased `n`.
async fn count(db: &Db, q: Sql) -> Result<u64, StoreError> {
    let row = db.read().fetch_one(q).await?;
    Ok(row
        .get("n")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0))
}
