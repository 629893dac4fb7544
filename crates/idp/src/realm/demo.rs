//! The demo realm `lin` for `tis up` in local mode.
//!
//! `lin` is the realm name of the old TIS Keycloak. The users cover the four kinds of
//! people the services scope data for: a national admin, one who may also see sensitive
//! fields, a trust admin and a programme observer, plus `profile.admin`, who administers
//! users, roles and permissions in Profile. Every password and the `etl` and `tis-web` secrets are
//! [`DEMO_PASSWORD`]; only their argon2 hashes are written.
//!
//! The realm itself (roles, clients, token lifetimes) is production's Keycloak realm export,
//! read as `tis idp` reads any export ([`keycloak`]): development and production share one
//! description of the realm, and the demo adds only its users and local callback URLs.
//!
//! This is only ever produced when asked for (`tis up` in local mode); the provider itself
//! never invents users.

use std::path::Path;

use super::RealmFileError;
use super::file::RealmFile;
use super::keycloak;
use crate::password::{self, HashFailed};

/// The demo realm's name, Keycloak's realm in the old TIS.
pub const DEMO_REALM: &str = "lin";
/// The password of every demo user, and the secret of the `etl` client.
pub const DEMO_PASSWORD: &str = "tis";
/// The web application's client: confidential (secret [`DEMO_PASSWORD`]), authorization code
/// + refresh token, called back at `<origin>/auth/callback`, sent to `<origin>/` after logout.
pub const DEMO_WEB_CLIENT: &str = "tis-web";
/// The origins the web application is served from locally (`tis up`).
pub const DEMO_WEB_ORIGINS: &[&str] = &["http://127.0.0.1:8080", "http://localhost:8080"];
/// The audience of the realm's access tokens (the production export's audience mappers').
pub const DEMO_AUDIENCE: &str = "tis";

/// Every designated body code the admin users get.
///
/// The list from issue 3, plus `1-AIIDH1` (Thames Valley) and `1-AIIDNQ` (North West), which
/// the original's local-office mapper (TIS-REFERENCE `DbcToLocalOfficeMapper`) also lists:
/// "every designated body" should not leave two out. London: `1-AIIDWA` (North West London),
/// `1-AIIDVS` (North Central and East London), `1-AIIDWI` (South London), `1-AIIDR8` (Kent,
/// Surrey and Sussex); Wessex `1-AIIDHJ`; NIMDTA `1-25U-830` (DOMAIN.md §1.1, §2.6).
pub const ALL_DBCS: &[&str] = &[
    // The designated bodies of the local offices in the Reference service's demo data
    // (codes from the original's DbcToLocalOfficeMapper), so that a demo user's scope and
    // the reference data agree.
    "1-AIIDWA",  // North West London
    "1-AIIDVS",  // North Central and East London
    "1-AIIDWI",  // South London
    "1-AIIDR8",  // Kent, Surrey and Sussex (1-AIIDSA is East Midlands)
    "1-AIIDHJ",  // Wessex
    "1-1RSSPZ7", // East Midlands
    "1-1RSSQ05", // East of England
    "1-1RSSQ1B", // North East
    "1-1RSSQ6R", // Thames Valley
    "1-1RSG4X0", // Yorkshire and the Humber
    "1-1RUZUYF", // West Midlands
    "1-1RUZUVB", // South West
    "1-1RSSQ2H", // North West
    "1-25U-830", // Northern Ireland (NIMDTA)
];

/// The trust admin's single designated body: North West London.
pub const TRUST_ADMIN_DBC: &str = "1-AIIDWA";
/// The programme observer's single designated body: East Midlands.
pub const OBSERVER_DBC: &str = "1-1RSSPZ7";

/// A demo realm file that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Hash(#[from] HashFailed),
    #[error(transparent)]
    Realm(#[from] RealmFileError),
    #[error("cannot write the demo realm file {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot render the demo realm: {0}")]
    Render(#[from] toml::ser::Error),
}

/// The production realm export, which Keycloak imports
/// (`deploy/kubernetes/overlays/production/lin-realm.json`): the realm's roles, its clients
/// and token lifetimes, no users. The demo realm is this file plus [`demo_users`].
pub const PRODUCTION_REALM_EXPORT: &str =
    include_str!("../../../../deploy/kubernetes/overlays/production/lin-realm.json");

/// The demo users in Keycloak's user representation (as in a realm export's `users`), with
/// clear-text import credentials ([`DEMO_PASSWORD`]): `admin`, `sensitive`, `trust.admin`,
/// `observer` and `profile.admin`.
pub fn demo_users() -> Vec<serde_json::Value> {
    let user = |username: &str, first: &str, last: &str, role: &str, dbcs: &[&str]| {
        serde_json::json!({
            "username": username,
            "enabled": true,
            "emailVerified": true,
            "firstName": first,
            "lastName": last,
            "email": format!("{username}@tis.localhost"),
            "credentials": [{"type": "password", "value": DEMO_PASSWORD, "temporary": false}],
            "realmRoles": [role],
            "clientRoles": {"account": ["manage-account", "view-profile"]},
            "attributes": {"dbc": dbcs},
        })
    };
    vec![
        user("admin", "Demo", "Admin", "HEE Admin", ALL_DBCS),
        user(
            "sensitive",
            "Demo",
            "Sensitive",
            "HEE Admin Sensitive",
            ALL_DBCS,
        ),
        user(
            "trust.admin",
            "Demo",
            "Trust Admin",
            "HEE Trust Admin",
            &[TRUST_ADMIN_DBC],
        ),
        user(
            "observer",
            "Demo",
            "Observer",
            "HEE Programme Observer",
            &[OBSERVER_DBC],
        ),
        // Administers users, roles and permissions in the Profile service.
        user(
            "profile.admin",
            "Demo",
            "Profile Admin",
            "ProfileAdmin",
            ALL_DBCS,
        ),
    ]
}

/// The demo realm as a Keycloak realm export: [`PRODUCTION_REALM_EXPORT`] with the
/// [`demo_users`] added and `tis-web` called back at the local origins
/// ([`DEMO_WEB_ORIGINS`]). Its client secrets are still the production file's placeholders
/// (`${TIS_WEB_CLIENT_SECRET}`, `${TIS_ETL_CLIENT_SECRET}`); [`demo_realm_file`] gives them
/// [`DEMO_PASSWORD`]. Keycloak can import it as it is.
pub fn demo_realm_export() -> Result<serde_json::Value, RealmFileError> {
    let mut realm: serde_json::Value = serde_json::from_str(PRODUCTION_REALM_EXPORT)
        .map_err(|e| RealmFileError::Export(format!("the production realm export: {e}")))?;
    let callbacks: Vec<String> = DEMO_WEB_ORIGINS
        .iter()
        .map(|o| format!("{o}/auth/callback"))
        .collect();
    let homes: Vec<String> = DEMO_WEB_ORIGINS.iter().map(|o| format!("{o}/")).collect();
    let clients = realm["clients"].as_array_mut();
    let web = clients
        .and_then(|cs| cs.iter_mut().find(|c| c["clientId"] == DEMO_WEB_CLIENT))
        .ok_or_else(|| {
            RealmFileError::Export(format!(
                "the production realm export has no client `{DEMO_WEB_CLIENT}`"
            ))
        })?;
    web["redirectUris"] = serde_json::json!(callbacks);
    web["webOrigins"] = serde_json::json!(DEMO_WEB_ORIGINS);
    web["attributes"]["post.logout.redirect.uris"] = serde_json::json!(homes.join("##"));
    match realm["users"].as_array_mut() {
        Some(users) => users.extend(demo_users()),
        None => realm["users"] = serde_json::json!(demo_users()),
    }
    Ok(realm)
}

/// The demo realm file: [`demo_realm_export`] read as `tis idp` reads any Keycloak export,
/// with [`DEMO_PASSWORD`] for every client secret: realm `lin` with users `admin`,
/// `sensitive`, `trust.admin`, `observer`, `profile.admin` and clients `tis-web`
/// (confidential, authorization code), `tis-ui` (public, password) and `etl`
/// (client_credentials, role `ETL`).
///
/// Blocking: it hashes seven secrets with the production argon2 parameters (about a tenth of a
/// second each); call it from `spawn_blocking` in async code.
pub fn demo_realm_file() -> Result<RealmFile, RealmFileError> {
    let text = demo_realm_export()?.to_string();
    let secrets = |name: &str| {
        matches!(name, "TIS_WEB_CLIENT_SECRET" | "TIS_ETL_CLIENT_SECRET")
            .then(|| DEMO_PASSWORD.to_owned())
    };
    Ok(keycloak::from_export(&text, &secrets, &password::hash)?.file)
}

/// Renders a realm file as TOML, with a header saying what it is.
pub fn to_toml(file: &RealmFile) -> Result<String, toml::ser::Error> {
    let body = toml::to_string(file)?;
    Ok(format!(
        "# Realms of the development identity provider (tis idp).\n\
         # Passwords are argon2 PHC strings; `tis idp hash-password` makes new ones.\n\n{body}"
    ))
}

/// Writes the demo realm to `path` (creating its folder), replacing any file there.
/// Blocking, like [`demo_realm_file`].
pub fn write_demo_realm(path: &Path) -> Result<(), DemoError> {
    let text = to_toml(&demo_realm_file()?)?;
    let write = |source| DemoError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    std::fs::write(path, text).map_err(write)
}

/// Writes the demo realm to `path` unless a file is already there, so that a developer's
/// edits survive the next `tis up`. Returns whether it wrote.
pub fn ensure_demo_realm(path: &Path) -> Result<bool, DemoError> {
    if path.exists() {
        return Ok(false);
    }
    write_demo_realm(path).map(|()| true)
}
