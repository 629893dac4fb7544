//! The claims of the three tokens, shaped like Keycloak's.
//!
//! An access token from realm `lin` for `admin` through `tis-ui` looks like:
//!
//! ```json
//! {"exp":…,"iat":…,"nbf":…,"jti":"…","iss":"http://127.0.0.1:8180/realms/lin",
//!  "aud":["tis","account"],"sub":"…","typ":"Bearer","azp":"tis-ui","sid":"…",
//!  "session_state":"…","acr":"1","scope":"profile email",
//!  "realm_access":{"roles":["offline_access","uma_authorization","HEE Admin"]},
//!  "resource_access":{"account":{"roles":["manage-account","view-profile"]}},
//!  "email_verified":true,"name":"Demo Admin","preferred_username":"admin",
//!  "given_name":"Demo","family_name":"Admin","email":"admin@tis.localhost",
//!  "dbc":["1-AIIDWA","…"]}
//! ```
//!
//! `aud` is a string when it has one value and a list otherwise, as Keycloak writes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

use crate::realm::{Client, Realm, User};

/// Roles under `realm_access` or one `resource_access` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    pub roles: Vec<String>,
}

fn one_or_many<S: Serializer>(aud: &[String], s: S) -> Result<S::Ok, S::Error> {
    match aud {
        [one] => s.serialize_str(one),
        many => many.serialize(s),
    }
}

/// Who a token is about: a person, or a client acting for itself.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    User(&'a User),
    ServiceAccount(&'a Client),
}

/// The claims describing the subject, shared by access and ID tokens and userinfo.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Profile {
    pub sub: String,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub preferred_username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// User attributes, each a claim of its own holding a list (`dbc`).
    #[serde(flatten)]
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl Subject<'_> {
    pub fn id(&self) -> String {
        match self {
            Subject::User(u) => u.id.to_string(),
            Subject::ServiceAccount(c) => c.service_account_id.to_string(),
        }
    }

    pub fn profile(&self) -> Profile {
        match self {
            Subject::User(u) => {
                let e = &u.entry;
                let name = match (&e.first_name, &e.last_name) {
                    (Some(f), Some(l)) => Some(format!("{f} {l}")),
                    (Some(one), None) | (None, Some(one)) => Some(one.clone()),
                    (None, None) => None,
                };
                Profile {
                    sub: self.id(),
                    email_verified: e.email_verified,
                    name,
                    preferred_username: e.username.to_lowercase(),
                    given_name: e.first_name.clone(),
                    family_name: e.last_name.clone(),
                    email: e.email.clone(),
                    attributes: e.attributes.clone(),
                }
            }
            Subject::ServiceAccount(c) => Profile {
                sub: self.id(),
                preferred_username: c.service_account_name(),
                ..Profile::default()
            },
        }
    }

    /// The realm's default roles, then the subject's own, without repeats.
    pub fn realm_roles(&self, realm: &Realm) -> Vec<String> {
        let own = match self {
            Subject::User(u) => &u.entry.roles,
            Subject::ServiceAccount(c) => &c.entry.roles,
        };
        let mut roles: Vec<String> = Vec::new();
        for r in realm.default_roles.iter().chain(own) {
            if !roles.contains(r) {
                roles.push(r.clone());
            }
        }
        roles
    }

    pub fn client_roles(&self) -> BTreeMap<String, Roles> {
        let map = match self {
            Subject::User(u) => &u.entry.client_roles,
            Subject::ServiceAccount(c) => &c.entry.client_roles,
        };
        map.iter()
            .filter(|(_, roles)| !roles.is_empty())
            .map(|(client, roles)| {
                (
                    client.clone(),
                    Roles {
                        roles: roles.clone(),
                    },
                )
            })
            .collect()
    }
}

/// An access token (`typ: Bearer`).
#[derive(Debug, Clone, Serialize)]
pub struct AccessClaims {
    pub exp: u64,
    pub iat: u64,
    pub nbf: u64,
    pub jti: String,
    pub iss: String,
    #[serde(serialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub typ: &'static str,
    pub azp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    pub acr: &'static str,
    pub scope: String,
    pub realm_access: Roles,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_access: BTreeMap<String, Roles>,
    /// The client, on service-account tokens (Keycloak's `client_id` mapper).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(flatten)]
    pub profile: Profile,
}

/// A refresh token (`typ: Refresh`): bound to the client (`azp`), the user (`sub`) and the
/// login session (`sid`), and single-use (see the ledger).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub typ: String,
    pub azp: String,
    pub sid: String,
    pub session_state: String,
    pub scope: String,
    /// When the user logged in; a session cannot be refreshed past `session_max_lifetime`.
    pub auth_time: u64,
    /// Issued to an SSO session of the browser sign-in (absent otherwise): refreshing needs
    /// that session to be live in this provider.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub browser: bool,
}

/// An ID token (`typ: ID`), issued when the `openid` scope is asked for.
#[derive(Debug, Clone, Serialize)]
pub struct IdClaims {
    pub exp: u64,
    pub iat: u64,
    pub auth_time: u64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    pub typ: &'static str,
    pub azp: String,
    pub sid: String,
    pub session_state: String,
    pub acr: &'static str,
    /// The `nonce` of the authorization request (code flow), echoed for replay protection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The left half of the access token's hash (OIDC Core §3.1.3.6), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(flatten)]
    pub profile: Profile,
}

/// What the provider reads back from an ID token it issued (`id_token_hint` at logout).
#[derive(Debug, Clone, Deserialize)]
pub struct PresentedId {
    pub exp: u64,
    pub iss: String,
    pub typ: String,
    pub azp: String,
    pub sid: String,
}

/// What the provider reads back from an access token it issued (userinfo).
#[derive(Debug, Clone, Deserialize)]
pub struct PresentedAccess {
    pub exp: u64,
    pub iss: String,
    pub sub: String,
    pub typ: String,
    pub azp: String,
}
