//! Realms, users and clients: the file format ([`file`](mod@file)), its validated in-memory form
//! ([`Realms`]), and the demo realm for `tis up` ([`demo`]).
//!
//! Loading checks everything a login would otherwise trip over later: unique names, PHC
//! strings that parse, public clients without secrets, attribute names that would overwrite
//! a standard claim. Usernames are compared case-insensitively, as Keycloak does.
//! The provider never invents a user: what is not in the file does not exist.

pub mod demo;
pub mod file;
pub mod keycloak;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::digest;
use uuid::Uuid;

use crate::password;
pub use file::{ClientEntry, GrantType, RealmEntry, RealmFile, UserEntry};

/// Claims that attributes may not overwrite.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "typ",
    "azp",
    "sid",
    "session_state",
    "scope",
    "acr",
    "auth_time",
    "nonce",
    "at_hash",
    "client_id",
    "preferred_username",
    "given_name",
    "family_name",
    "name",
    "email",
    "email_verified",
    "realm_access",
    "resource_access",
];

/// A realm file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RealmFileError {
    #[error("cannot read the realm file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the realm file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    /// A Keycloak realm export that cannot be read (a placeholder not set, not an export).
    #[error("{0}")]
    Export(String),
    #[error("realm `{realm}`: {problem}")]
    Invalid { realm: String, problem: String },
    #[error("could not prepare the realm: {0}")]
    Hash(#[from] password::HashFailed),
}

fn invalid(realm: &str, problem: impl Into<String>) -> RealmFileError {
    RealmFileError::Invalid {
        realm: realm.to_owned(),
        problem: problem.into(),
    }
}

/// Every realm of the file, by name.
#[derive(Debug, Default)]
pub struct Realms {
    by_name: HashMap<String, Arc<Realm>>,
    /// The token lifetimes a Keycloak realm export sets.
    lifetimes: Option<keycloak::ExportLifetimes>,
}

/// One realm, validated.
#[derive(Debug)]
pub struct Realm {
    pub name: String,
    pub audience: String,
    pub default_roles: Vec<String>,
    users: HashMap<String, Arc<User>>,
    users_by_id: HashMap<Uuid, Arc<User>>,
    clients: HashMap<String, Arc<Client>>,
    /// Checked when the username is unknown, so that both failures cost the same.
    pub(crate) decoy_hash: String,
}

/// A user with its `sub`.
#[derive(Debug)]
pub struct User {
    pub id: Uuid,
    pub entry: UserEntry,
}

/// A client with the id of its service account.
#[derive(Debug)]
pub struct Client {
    pub service_account_id: Uuid,
    pub entry: ClientEntry,
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.entry.grants.contains(&grant)
    }

    /// `service-account-<client id>`, Keycloak's name for a client's own user.
    pub fn service_account_name(&self) -> String {
        format!("service-account-{}", self.entry.client_id)
    }
}

impl Realms {
    /// Reads, parses and validates `path`: a Keycloak realm export when it ends in `.json`
    /// ([`keycloak`], placeholders from the environment), else the TOML realm file
    /// ([`file`](mod@file)). Blocking (file IO and argon2 hashes).
    pub fn load(path: &Path) -> Result<Realms, RealmFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| RealmFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let parse_error = |message: String| RealmFileError::Parse {
            path: path.to_path_buf(),
            message,
        };
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            let export =
                keycloak::from_export(&text, &|name| std::env::var(name).ok(), &password::hash)
                    .map_err(|e| match e {
                        RealmFileError::Export(message) => parse_error(message),
                        other => other,
                    })?;
            let mut realms = Realms::from_file(export.file)?;
            realms.lifetimes = export.lifetimes;
            return Ok(realms);
        }
        let file: RealmFile = toml::from_str(&text).map_err(|e| parse_error(e.to_string()))?;
        Realms::from_file(file)
    }

    /// The token lifetimes the Keycloak realm export set, if it was one and set any.
    pub fn lifetimes(&self) -> Option<keycloak::ExportLifetimes> {
        self.lifetimes
    }

    /// Validates an in-memory realm file. Blocking (one argon2 hash per realm).
    pub fn from_file(file: RealmFile) -> Result<Realms, RealmFileError> {
        if file.realms.is_empty() {
            return Err(invalid("", "the file defines no realm"));
        }
        let mut by_name = HashMap::new();
        for entry in file.realms {
            let name = entry.name.clone();
            let realm = Realm::from_entry(entry)?;
            if by_name.insert(name.clone(), Arc::new(realm)).is_some() {
                return Err(invalid(&name, "is defined twice"));
            }
        }
        Ok(Realms {
            by_name,
            lifetimes: None,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Realm>> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
}

impl Realm {
    fn from_entry(entry: RealmEntry) -> Result<Realm, RealmFileError> {
        let name = entry.name;
        if !valid_name(&name) || name.contains('@') {
            return Err(invalid(
                &name,
                "the name must be letters, digits, `-`, `_` or `.`",
            ));
        }
        if entry.audience.trim().is_empty() {
            return Err(invalid(&name, "`audience` must not be empty"));
        }
        let mut users = HashMap::new();
        let mut users_by_id = HashMap::new();
        for user in entry.users {
            let key = user.username.to_lowercase();
            if !valid_name(&key) {
                return Err(invalid(
                    &name,
                    format!(
                        "username `{}` must be letters, digits, `-`, `_`, `.` or `@`",
                        user.username
                    ),
                ));
            }
            password::check_phc(&user.password_hash).map_err(|e| {
                invalid(
                    &name,
                    format!("user `{}`: password_hash: {e}", user.username),
                )
            })?;
            if let Some(attr) = user
                .attributes
                .keys()
                .find(|a| a.is_empty() || RESERVED_CLAIMS.contains(&a.as_str()))
            {
                return Err(invalid(
                    &name,
                    format!(
                        "user `{}`: attribute `{attr}` would overwrite a standard claim",
                        user.username
                    ),
                ));
            }
            let id = user.id.unwrap_or_else(|| stable_id(&name, "user", &key));
            let user = Arc::new(User { id, entry: user });
            if users.insert(key.clone(), user.clone()).is_some() {
                return Err(invalid(&name, format!("user `{key}` is defined twice")));
            }
            if users_by_id.insert(id, user).is_some() {
                return Err(invalid(&name, format!("user id {id} is used twice")));
            }
        }
        let mut clients = HashMap::new();
        for client in entry.clients {
            let id = client.client_id.clone();
            check_client(&name, &client)?;
            let service_account_id = stable_id(&name, "service-account", &id);
            let client = Arc::new(Client {
                service_account_id,
                entry: client,
            });
            if users.contains_key(&client.service_account_name()) {
                return Err(invalid(
                    &name,
                    format!(
                        "user `{}` clashes with a service account",
                        client.service_account_name()
                    ),
                ));
            }
            if clients.insert(id.clone(), client).is_some() {
                return Err(invalid(&name, format!("client `{id}` is defined twice")));
            }
        }
        let decoy_hash = password::decoy_like(
            users
                .values()
                .next()
                .map(|u| u.entry.password_hash.as_str()),
        )?;
        Ok(Realm {
            name,
            audience: entry.audience,
            default_roles: entry.default_roles,
            users,
            users_by_id,
            clients,
            decoy_hash,
        })
    }

    /// The user called `username`, ignoring case.
    pub fn user(&self, username: &str) -> Option<&Arc<User>> {
        self.users.get(&username.to_lowercase())
    }

    pub fn user_by_id(&self, id: &Uuid) -> Option<&Arc<User>> {
        self.users_by_id.get(id)
    }

    pub fn client(&self, client_id: &str) -> Option<&Arc<Client>> {
        self.clients.get(client_id)
    }

    /// The client whose service account has this id.
    pub fn service_account(&self, id: &Uuid) -> Option<&Arc<Client>> {
        self.clients.values().find(|c| &c.service_account_id == id)
    }
}

fn check_client(realm: &str, c: &ClientEntry) -> Result<(), RealmFileError> {
    let id = &c.client_id;
    if !valid_name(id) {
        return Err(invalid(
            realm,
            format!("client id `{id}` must be letters, digits, `-`, `_`, `.` or `@`"),
        ));
    }
    if c.grants.is_empty() {
        return Err(invalid(realm, format!("client `{id}` allows no grant")));
    }
    for uri in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris) {
        check_redirect_uri(uri)
            .map_err(|p| invalid(realm, format!("client `{id}`: redirect URI `{uri}` {p}")))?;
    }
    if c.grants.contains(&GrantType::AuthorizationCode) && c.redirect_uris.is_empty() {
        return Err(invalid(
            realm,
            format!("client `{id}` uses authorization_code and needs `redirect_uris`"),
        ));
    }
    match (&c.secret_hash, c.public) {
        (Some(_), true) => Err(invalid(
            realm,
            format!("client `{id}` is public and must not have a secret_hash"),
        )),
        (None, false) => Err(invalid(
            realm,
            format!("client `{id}` needs a secret_hash, or `public = true`"),
        )),
        (None, true) if c.grants.contains(&GrantType::ClientCredentials) => Err(invalid(
            realm,
            format!("client `{id}` is public and cannot use client_credentials"),
        )),
        (Some(phc), false) => password::check_phc(phc)
            .map_err(|e| invalid(realm, format!("client `{id}`: secret_hash: {e}"))),
        (None, true) => Ok(()),
    }
}

/// A registered redirect URI: an absolute `http`/`https` URL with a host and no fragment,
/// printable ASCII only (it goes into a `Location` header and a CSP `form-action`).
fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() || uri.len() > 2048 || !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces");
    }
    if uri.contains('#') || uri.contains('*') {
        return Err("must not have a fragment or a wildcard");
    }
    let parsed: http::Uri = uri.parse().map_err(|_| "is not a URL")?;
    match parsed.scheme_str() {
        Some("http" | "https") if parsed.authority().is_some() => Ok(()),
        _ => Err("must be an absolute http:// or https:// URL"),
    }
}

/// A stable id for a user or service account that the file gives none: the first 16 bytes
/// of SHA-256 over the realm, kind and name, as a version 8 (custom) UUID. The same name in
/// the same realm always gets the same `sub`, across restarts and machines.
fn stable_id(realm: &str, kind: &str, name: &str) -> Uuid {
    let d = digest::digest(
        &digest::SHA256,
        format!("tis-idp\0{realm}\0{kind}\0{name}").as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&d.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests;
