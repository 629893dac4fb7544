//! `tis profile add-user`: the first administrator of a new deployment (see
//! [`tis_profile::bootstrap`]), or more roles and designated bodies for an existing user.

use anyhow::Context;
use tis_store::Db;

use crate::cli::{ProfileAction, ProfileArgs};
use crate::config::Config;

pub async fn run(args: ProfileArgs, config: Config) -> anyhow::Result<()> {
    let ProfileAction::AddUser(args) = args.action;
    let mut database = config.profile.database.clone();
    if let Some(url) = args.database_url {
        database.url = url;
    }
    let db = Db::connect(&database).context("configuring the database")?;
    let url = tis_store::db::redact(&database.url);
    db.migrate(tis_profile::migrations())
        .await
        .with_context(|| format!("migrating profile at {url}"))?;
    let grant = tis_profile::bootstrap::Grant {
        user: args.user,
        roles: args.roles,
        designated_bodies: args.designated_bodies,
        first_name: args.first_name,
        last_name: args.last_name,
        email_address: args.email,
    };
    let repo = tis_profile::repo::Repo::new(db.clone());
    let granted = tis_profile::bootstrap::add_user(&repo, grant).await;
    db.close().await;
    let granted = granted.with_context(|| format!("adding a Profile user at {url}"))?;
    let user = &granted.user;
    let roles: Vec<&str> = user.roles.iter().map(String::as_str).collect();
    let dbcs: Vec<&str> = user
        .designated_body_codes
        .iter()
        .map(String::as_str)
        .collect();
    tracing::info!(
        user.name = %user.name,
        user.roles = %roles.join(","),
        created = granted.created,
        "profile user saved"
    );
    eprintln!(
        "{} `{}`: roles {}; designated bodies {}",
        if granted.created {
            "created"
        } else {
            "updated"
        },
        user.name,
        roles.join(", "),
        if dbcs.is_empty() {
            "none".to_owned()
        } else {
            dbcs.join(", ")
        }
    );
    Ok(())
}
