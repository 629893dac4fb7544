//! The realm file: what an operator writes (TOML), exactly as serde reads it.
//!
//! ```toml
//! [[realms]]
//! name = "lin"
//! audience = "tis"
//! default_roles = ["offline_access", "uma_authorization"]
//!
//! [[realms.users]]
//! username = "admin"
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$…"
//! first_name = "Demo"
//! last_name = "Admin"
//! email = "admin@tis.localhost"
//! email_verified = true
//! roles = ["HEE Admin"]
//! client_roles = { account = ["manage-account", "view-profile"] }
//! attributes = { dbc = ["1-AIIDWA", "1-AIIDVS"] }
//!
//! [[realms.clients]]
//! client_id = "tis-ui"
//! public = true
//! grants = ["password", "refresh_token"]
//!
//! [[realms.clients]]
//! client_id = "tis-web"
//! secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$…"
//! grants = ["authorization_code", "refresh_token"]
//! redirect_uris = ["http://127.0.0.1:8080/auth/callback"]
//! post_logout_redirect_uris = ["http://127.0.0.1:8080/"]
//!
//! [[realms.clients]]
//! client_id = "etl"
//! secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$…"
//! grants = ["client_credentials"]
//! roles = ["ETL"]
//! ```
//!
//! There is deliberately no clear-text `password` key: `deny_unknown_fields` turns one into
//! an error that names it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An OAuth2 grant type this provider implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// The browser sign-in: `/auth`, the login page, then the code at the token endpoint.
    AuthorizationCode,
    Password,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::Password,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// The whole file: one or more realms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmFile {
    #[serde(default)]
    pub realms: Vec<RealmEntry>,
}

fn default_audience() -> String {
    "tis".into()
}

fn yes() -> bool {
    true
}

/// One realm (`/realms/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmEntry {
    pub name: String,
    /// The `aud` every access token of this realm carries (the gateway checks it).
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Realm roles every user and service account gets (Keycloak's `default-roles-…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_roles: Vec<String>,
    #[serde(default)]
    pub users: Vec<UserEntry>,
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
}

/// A person who can log in with the password grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// The login name, also `preferred_username`; compared case-insensitively, as Keycloak does.
    pub username: String,
    /// The `sub` claim. When absent, a stable id is derived from the realm and username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// An argon2 PHC string (`tis idp hash-password` makes one), or a Keycloak PBKDF2 hash in
    /// the same shape (`$pbkdf2-sha256$i=27500$<salt>$<key>`, `tis_idp::password`).
    pub password_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    /// A disabled user is refused with `invalid_grant` "Account disabled".
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Realm roles (`realm_access.roles`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Client roles (`resource_access.{client}.roles`); each client named here is also added
    /// to `aud`, as Keycloak's audience resolution does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_roles: BTreeMap<String, Vec<String>>,
    /// Multi-valued attributes, each mapped to a claim of the same name holding a list (as a
    /// Keycloak "User Attribute" mapper with "multivalued" on). `dbc` carries designated-body
    /// codes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// An OAuth2 client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    pub client_id: String,
    /// The argon2 PHC string of the client secret; absent for a public client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    /// A public client has no secret and may not use `client_credentials`; with
    /// `authorization_code` it must send a PKCE `code_challenge` (S256).
    #[serde(default)]
    pub public: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The grants this client may use. `refresh_token` also decides whether a password grant
    /// returns a refresh token.
    pub grants: Vec<GrantType>,
    /// Realm roles of the client's service account (client_credentials).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Client roles of the service account.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_roles: BTreeMap<String, Vec<String>>,
    /// Where the authorization endpoint may send the browser back (`authorization_code`),
    /// compared exactly: no wildcards, no prefix matching. Absolute `http`/`https` URLs
    /// without a fragment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// Where the logout endpoint may send the browser after signing out
    /// (`post_logout_redirect_uri`), compared exactly like `redirect_uris`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("file.rs");
        let start = doc.find("//! ```toml").unwrap();
        let end = doc[start + 10..].find("//! ```").unwrap() + start + 10;
        let toml_text: String = doc[start..end]
            .lines()
            .skip(1)
            .map(|l| l.trim_start_matches("//!").trim_start_matches(' '))
            .collect::<Vec<_>>()
            .join("\n");
        let file: RealmFile = toml::from_str(&toml_text).unwrap();
        let lin = &file.realms[0];
        assert_eq!(lin.name, "lin");
        assert_eq!(lin.users[0].attributes["dbc"].len(), 2);
        assert_eq!(lin.users[0].client_roles["account"].len(), 2);
        assert!(lin.users[0].enabled);
        assert_eq!(lin.clients[2].grants, vec![GrantType::ClientCredentials]);
        assert_eq!(lin.clients[1].redirect_uris.len(), 1);
    }

    #[test]
    fn a_clear_text_password_key_is_refused_by_name() {
        let text =
            "[[realms]]\nname = \"lin\"\n[[realms.users]]\nusername = \"a\"\npassword = \"tis\"\n";
        let err = toml::from_str::<RealmFile>(text).unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
    }

    #[test]
    fn grant_types_use_their_oauth_names() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
        }
        assert_eq!(GrantType::parse("implicit"), None);
    }
}
