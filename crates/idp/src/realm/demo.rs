//! The demo realm `lin` for `tis up` in local mode.
//!
//! `lin` is the realm name of the old TIS Keycloak. The users cover the four kinds of
//! people the services scope data for: a national admin, one who may also see sensitive
//! fields, a trust admin and a programme observer, plus `profile.admin`, who administers
//! users, roles and permissions in Profile. Every password and the `etl` and `tis-web` secrets are
//! [`DEMO_PASSWORD`]; only their argon2 hashes are written.
//!
//! This is only ever produced when asked for (`tis up` in local mode); the provider itself
//! never invents users.

use std::collections::BTreeMap;
use std::path::Path;

use super::file::{ClientEntry, GrantType, RealmEntry, RealmFile, UserEntry};
use crate::password::{self, HashFailed, Secret};

/// The demo realm's name, Keycloak's realm in the old TIS.
pub const DEMO_REALM: &str = "lin";
/// The password of every demo user, and the secret of the `etl` client.
pub const DEMO_PASSWORD: &str = "tis";
/// The web application's client: confidential (secret [`DEMO_PASSWORD`]), authorization code
/// + refresh token, called back at `<origin>/auth/callback`, sent to `<origin>/` after logout.
pub const DEMO_WEB_CLIENT: &str = "tis-web";
/// The origins the web application is served from locally (`tis up`).
pub const DEMO_WEB_ORIGINS: &[&str] = &["http://127.0.0.1:8080", "http://localhost:8080"];
/// The audience of the demo realm's access tokens.
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
    #[error("cannot write the demo realm file {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot render the demo realm: {0}")]
    Render(#[from] toml::ser::Error),
}

/// The demo realm file: realm `lin` with users `admin`, `sensitive`, `trust.admin`,
/// `observer` and clients `tis-ui` (public, password), `tis-web` (confidential,
/// authorization code) and `etl` (client_credentials).
///
/// Blocking: it hashes seven secrets with the production argon2 parameters (about a tenth of a
/// second each); call it from `spawn_blocking` in async code.
pub fn demo_realm_file() -> Result<RealmFile, HashFailed> {
    let user = |username: &str, first: &str, last: &str, role: &str, dbcs: &[&str]| {
        Ok::<_, HashFailed>(UserEntry {
            username: username.into(),
            id: None,
            password_hash: password::hash(&Secret::new(DEMO_PASSWORD))?,
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            email: Some(format!("{username}@tis.localhost")),
            email_verified: true,
            enabled: true,
            roles: vec![role.into()],
            client_roles: BTreeMap::from([(
                "account".to_owned(),
                vec!["manage-account".to_owned(), "view-profile".to_owned()],
            )]),
            attributes: BTreeMap::from([(
                "dbc".to_owned(),
                dbcs.iter().map(|d| (*d).to_owned()).collect(),
            )]),
        })
    };
    let users = vec![
        user("admin", "Demo", "Admin", "HEE Admin", ALL_DBCS)?,
        user(
            "sensitive",
            "Demo",
            "Sensitive",
            "HEE Admin Sensitive",
            ALL_DBCS,
        )?,
        user(
            "trust.admin",
            "Demo",
            "Trust Admin",
            "HEE Trust Admin",
            &[TRUST_ADMIN_DBC],
        )?,
        user(
            "observer",
            "Demo",
            "Observer",
            "HEE Programme Observer",
            &[OBSERVER_DBC],
        )?,
        // Administers users, roles and permissions in the Profile service.
        user(
            "profile.admin",
            "Demo",
            "Profile Admin",
            "ProfileAdmin",
            ALL_DBCS,
        )?,
    ];
    let clients = vec![
        ClientEntry {
            client_id: "tis-ui".into(),
            secret_hash: None,
            public: true,
            enabled: true,
            grants: vec![GrantType::Password, GrantType::RefreshToken],
            roles: Vec::new(),
            client_roles: BTreeMap::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
        },
        // The web application: a confidential client signing people in with the
        // authorization code flow (and PKCE), on either spelling of the loopback host.
        ClientEntry {
            client_id: DEMO_WEB_CLIENT.into(),
            secret_hash: Some(password::hash(&Secret::new(DEMO_PASSWORD))?),
            public: false,
            enabled: true,
            grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            roles: Vec::new(),
            client_roles: BTreeMap::new(),
            redirect_uris: DEMO_WEB_ORIGINS
                .iter()
                .map(|o| format!("{o}/auth/callback"))
                .collect(),
            post_logout_redirect_uris: DEMO_WEB_ORIGINS.iter().map(|o| format!("{o}/")).collect(),
        },
        ClientEntry {
            client_id: "etl".into(),
            secret_hash: Some(password::hash(&Secret::new(DEMO_PASSWORD))?),
            public: false,
            enabled: true,
            grants: vec![GrantType::ClientCredentials],
            roles: vec!["ETL".into()],
            client_roles: BTreeMap::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
        },
    ];
    Ok(RealmFile {
        realms: vec![RealmEntry {
            name: DEMO_REALM.into(),
            audience: DEMO_AUDIENCE.into(),
            default_roles: vec!["offline_access".into(), "uma_authorization".into()],
            users,
            clients,
        }],
    })
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
