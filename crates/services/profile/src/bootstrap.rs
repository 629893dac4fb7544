//! The first administrator of a new deployment (`tis profile add-user`).
//!
//! Users are administered through Profile's API by a user who holds `profile:*` permissions;
//! on a new production deployment nobody does (demo users are refused there), so the API
//! cannot create the first one. An operator runs `tis profile add-user` once, with the
//! database access the Profile pods have (`kubectl exec deploy/profile -- tis profile add-user
//! …`). It creates the user, or adds roles and designated bodies to an existing one; it never
//! takes anything away.

use crate::domain::HeeUser;
use crate::domain::names::UserName;
use crate::repo::{Page, Repo};

/// What to grant.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    pub user: String,
    pub roles: Vec<String>,
    pub designated_bodies: Vec<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_address: Option<String>,
}

/// What [`add_user`] did.
#[derive(Debug, Clone)]
pub struct Granted {
    pub created: bool,
    pub user: HeeUser,
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("user name `{name}` {problem}")]
    BadName { name: String, problem: String },
    #[error("no role named {unknown}; the roles are: {known}")]
    UnknownRoles { unknown: String, known: String },
    #[error("a designated body code must not be blank")]
    BlankDesignatedBody,
    #[error(transparent)]
    Store(#[from] tis_store::StoreError),
}

/// Creates `grant.user` with its roles and designated bodies, or adds them to the existing
/// user (reactivating it); names, e-mail address are set only where given.
pub async fn add_user(repo: &Repo, grant: Grant) -> Result<Granted, GrantError> {
    let name = UserName::parse(&grant.user).map_err(|e| GrantError::BadName {
        name: grant.user.clone(),
        problem: e.to_string(),
    })?;
    let found = repo.existing_roles(&grant.roles).await?;
    let unknown: Vec<&str> = grant
        .roles
        .iter()
        .filter(|r| !found.contains(*r))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let page = Page {
            number: 0,
            size: 1000,
        };
        let known: Vec<String> = repo
            .roles_page(page, false)
            .await?
            .0
            .into_iter()
            .map(|r| r.name)
            .collect();
        return Err(GrantError::UnknownRoles {
            unknown: unknown
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", "),
            known: known.join(", "),
        });
    }
    if grant.designated_bodies.iter().any(|d| d.trim().is_empty()) {
        return Err(GrantError::BlankDesignatedBody);
    }
    let existing = repo.user(name.as_str()).await?;
    let created = existing.is_none();
    let mut user = existing.unwrap_or_else(|| HeeUser::named(name.as_str()));
    user.active = true;
    user.roles.extend(grant.roles);
    user.designated_body_codes.extend(
        grant
            .designated_bodies
            .into_iter()
            .map(|d| d.trim().to_owned()),
    );
    for (field, value) in [
        (&mut user.first_name, grant.first_name),
        (&mut user.last_name, grant.last_name),
        (&mut user.email_address, grant.email_address),
    ] {
        if value.is_some() {
            *field = value;
        }
    }
    repo.save_user(&user).await?;
    Ok(Granted { created, user })
}
