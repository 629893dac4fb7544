//! Keycloak's realm-export JSON (`kc.sh export`, the files `--import-realm` reads), read into
//! a [`RealmFile`], so that the development provider and production's Keycloak load one
//! description of a realm (`deploy/kubernetes/overlays/production/lin-realm.json`).
//!
//! What is read, as Keycloak reads it at import:
//!
//! - `realm`; `roles.realm` (every role a user or service account names must be there, or be
//!   one of Keycloak's own: `offline_access`, `uma_authorization`, `default-roles-<realm>`);
//!   the default roles (`defaultRoles`, or the newer `defaultRole` composite);
//! - clients: `clientId`, `enabled`, `publicClient`, `secret`, the flows
//!   (`standardFlowEnabled` → authorization code, `directAccessGrantsEnabled` → password,
//!   both with refresh tokens unless `use.refresh.tokens` is `"false"`;
//!   `serviceAccountsEnabled` → client credentials), `redirectUris`, the attribute
//!   `post.logout.redirect.uris` (`##`-separated, `+` = the redirect URIs); the service
//!   account's roles from the user with `serviceAccountClientId`; the realm's audience from
//!   the clients' `oidc-audience-mapper`s (one audience for the realm, as the gateway checks
//!   one). Keycloak's built-in clients (account console, admin console, `broker`,
//!   `realm-management`), bearer-only and non-OIDC clients are not served and are left out;
//! - users: `username`, `id`, `enabled`, names, e-mail, `realmRoles`, `clientRoles`,
//!   `attributes`, and a `password` credential: a clear-text `value` (import only) is
//!   argon2-hashed at load, an exported credential (`secretData`/`credentialData`) hashed
//!   with `argon2` or Keycloak's PBKDF2 (`pbkdf2`, `pbkdf2-sha256`, `pbkdf2-sha512`, its
//!   default) is used as it is and checked as Keycloak checks it
//!   ([`crate::password`]). A user without a password credential cannot sign in here and is
//!   left out; a password hashed otherwise is refused at start, naming the user and the
//!   algorithm;
//! - token lifetimes: `accessTokenLifespan`, `ssoSessionIdleTimeout` (refresh token),
//!   `ssoSessionMaxLifespan`, `accessCodeLifespan`, `accessCodeLifespanLogin`
//!   ([`ExportLifetimes`]; they win over the `[idp]` keys).
//!
//! Placeholders `${NAME}` and `${NAME:default}` (also `${env.NAME}`) are replaced from the
//! environment before parsing, as Keycloak does at import; one that is not set and has no
//! default is an error naming it. Everything else in the export (themes, flows, policies) is
//! ignored: it does not change the tokens a verifier sees.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use uuid::Uuid;

use super::file::{ClientEntry, GrantType, RealmEntry, RealmFile, UserEntry};
use super::{RealmFileError, invalid};

fn export_error(message: String) -> RealmFileError {
    RealmFileError::Export(message)
}
use crate::password::{HashFailed, Secret};

/// Keycloak's own clients, created with every realm; `tis idp` does not serve their consoles.
const BUILT_IN_CLIENTS: &[&str] = &[
    "account",
    "account-console",
    "admin-cli",
    "broker",
    "realm-management",
    "security-admin-console",
];

/// Realm roles Keycloak creates with every realm.
const BUILT_IN_ROLES: &[&str] = &["offline_access", "uma_authorization"];

/// The token lifetimes a realm export sets (absent: the `[idp]` key's value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportLifetimes {
    pub access: Option<Duration>,
    pub refresh: Option<Duration>,
    pub session_max: Option<Duration>,
    pub code: Option<Duration>,
    pub login: Option<Duration>,
}

impl ExportLifetimes {
    /// Writes the lifetimes the export sets into `config`.
    pub fn apply(&self, config: &mut crate::IdpConfig) {
        let set = |slot: &mut Duration, value: Option<Duration>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut config.access_token_lifetime, self.access);
        set(&mut config.refresh_token_lifetime, self.refresh);
        set(&mut config.session_max_lifetime, self.session_max);
        set(&mut config.authorization_code_lifetime, self.code);
        set(&mut config.login_timeout, self.login);
    }
}

/// A realm export read into the provider's own form.
#[derive(Debug, Clone)]
pub struct Export {
    pub file: RealmFile,
    /// `None` when no realm of the export sets a lifetime.
    pub lifetimes: Option<ExportLifetimes>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Box<KcRealm>),
    Many(Vec<KcRealm>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KcRealm {
    realm: String,
    access_token_lifespan: Option<u64>,
    sso_session_idle_timeout: Option<u64>,
    sso_session_max_lifespan: Option<u64>,
    access_code_lifespan: Option<u64>,
    access_code_lifespan_login: Option<u64>,
    #[serde(default)]
    roles: KcRoles,
    #[serde(default)]
    default_roles: Vec<String>,
    default_role: Option<KcRole>,
    #[serde(default)]
    users: Vec<KcUser>,
    #[serde(default)]
    clients: Vec<KcClient>,
}

#[derive(Deserialize, Default)]
struct KcRoles {
    #[serde(default)]
    realm: Vec<KcRole>,
}

#[derive(Deserialize)]
struct KcRole {
    name: String,
    #[serde(default)]
    composites: KcComposites,
}

#[derive(Deserialize, Default)]
struct KcComposites {
    #[serde(default)]
    realm: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KcUser {
    username: String,
    id: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    email_verified: bool,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    credentials: Vec<KcCredential>,
    #[serde(default)]
    realm_roles: Vec<String>,
    #[serde(default)]
    client_roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    attributes: BTreeMap<String, Vec<String>>,
    service_account_client_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KcCredential {
    #[serde(rename = "type")]
    kind: String,
    value: Option<String>,
    secret_data: Option<String>,
    credential_data: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KcClient {
    client_id: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    public_client: bool,
    #[serde(default)]
    bearer_only: bool,
    protocol: Option<String>,
    client_authenticator_type: Option<String>,
    secret: Option<String>,
    #[serde(default = "yes")]
    standard_flow_enabled: bool,
    #[serde(default)]
    direct_access_grants_enabled: bool,
    #[serde(default)]
    service_accounts_enabled: bool,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    protocol_mappers: Vec<KcMapper>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KcMapper {
    protocol_mapper: String,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

/// Replaces `${NAME}`, `${NAME:default}` and `${env.NAME}` in `text` with `env(NAME)`,
/// JSON-escaped (placeholders stand inside JSON strings).
pub fn substitute(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, RealmFileError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(':') {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let name = name.strip_prefix("env.").unwrap_or(name);
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !valid {
            // Not a placeholder: keep it as written.
            out.push_str("${");
            rest = after;
            continue;
        }
        let value = env(name)
            .or_else(|| default.map(str::to_owned))
            .ok_or_else(|| {
                export_error(format!(
                    "it names `${{{name}}}`, which is not set in the environment (Keycloak \
                     substitutes it at import; so does tis idp)"
                ))
            })?;
        let quoted = serde_json::to_string(&value).unwrap_or_default();
        out.push_str(&quoted[1..quoted.len() - 1]);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads a Keycloak realm export (one realm object, or an array of them): placeholders from
/// `env`, clear-text secrets hashed with `hash`. Blocking when `hash` is (argon2).
pub fn from_export(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    hash: &dyn Fn(&Secret) -> Result<String, HashFailed>,
) -> Result<Export, RealmFileError> {
    let text = substitute(text, env)?;
    let parsed: OneOrMany = serde_json::from_str::<serde_json::Value>(&text)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            export_error(format!(
                "not a Keycloak realm export (a realm object with `realm`, or a list of them): {e}"
            ))
        })?;
    let realms = match parsed {
        OneOrMany::One(r) => vec![*r],
        OneOrMany::Many(v) => v,
    };
    let mut lifetimes: Option<ExportLifetimes> = None;
    let mut entries = Vec::new();
    for kc in realms {
        let these = ExportLifetimes {
            access: kc.access_token_lifespan.map(Duration::from_secs),
            refresh: kc.sso_session_idle_timeout.map(Duration::from_secs),
            session_max: kc.sso_session_max_lifespan.map(Duration::from_secs),
            code: kc.access_code_lifespan.map(Duration::from_secs),
            login: kc.access_code_lifespan_login.map(Duration::from_secs),
        };
        if these != ExportLifetimes::default() {
            match lifetimes {
                Some(seen) if seen != these => {
                    return Err(invalid(
                        &kc.realm,
                        "its token lifetimes differ from another realm's; tis idp has one set for every realm",
                    ));
                }
                _ => lifetimes = Some(these),
            }
        }
        entries.push(realm_entry(kc, hash)?);
    }
    Ok(Export {
        file: RealmFile { realms: entries },
        lifetimes,
    })
}

fn realm_entry(
    kc: KcRealm,
    hash: &dyn Fn(&Secret) -> Result<String, HashFailed>,
) -> Result<RealmEntry, RealmFileError> {
    let name = kc.realm;
    let default_role_name = format!("default-roles-{name}");
    let mut known: BTreeSet<String> = kc.roles.realm.iter().map(|r| r.name.clone()).collect();
    known.extend(BUILT_IN_ROLES.iter().map(|r| (*r).to_owned()));
    known.insert(default_role_name.clone());
    let check_roles = |whose: &str, roles: &[String]| {
        // An export without `roles` (a users-only file) does not say which roles exist.
        match roles
            .iter()
            .find(|r| !kc.roles.realm.is_empty() && !known.contains(*r))
        {
            Some(r) => Err(invalid(
                &name,
                format!("{whose} has realm role `{r}`, which `roles.realm` does not define"),
            )),
            None => Ok(()),
        }
    };
    // The default roles: the old list, or the composite role `default-roles-<realm>`.
    let mut default_roles = kc.default_roles.clone();
    let composite = kc
        .default_role
        .as_ref()
        .map_or(default_role_name.as_str(), |r| r.name.as_str());
    if let Some(role) = kc.roles.realm.iter().find(|r| r.name == composite) {
        default_roles.extend(role.composites.realm.iter().cloned());
    }
    check_roles("`defaultRoles`", &default_roles)?;

    let mut service_accounts: BTreeMap<String, &KcUser> = BTreeMap::new();
    let mut users = Vec::new();
    for u in &kc.users {
        if let Some(client) = &u.service_account_client_id {
            service_accounts.insert(client.clone(), u);
            continue;
        }
        let whose = format!("user `{}`", u.username);
        check_roles(&whose, &u.realm_roles)?;
        let Some(password_hash) = user_password(&name, u, hash)? else {
            continue;
        };
        let id =
            match &u.id {
                Some(id) => Some(Uuid::parse_str(id).map_err(|e| {
                    invalid(&name, format!("{whose}: `id` {id:?} is not a UUID: {e}"))
                })?),
                None => None,
            };
        users.push(UserEntry {
            username: u.username.clone(),
            id,
            password_hash,
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            enabled: u.enabled,
            roles: u.realm_roles.clone(),
            client_roles: u.client_roles.clone(),
            attributes: u.attributes.clone(),
        });
    }

    let mut audiences = BTreeSet::new();
    let mut clients = Vec::new();
    for c in &kc.clients {
        let served = !BUILT_IN_CLIENTS.contains(&c.client_id.as_str())
            && !c.bearer_only
            && c.protocol.as_deref().is_none_or(|p| p == "openid-connect");
        if !served {
            continue;
        }
        let mut grants = Vec::new();
        if c.standard_flow_enabled {
            grants.push(GrantType::AuthorizationCode);
        }
        if c.direct_access_grants_enabled {
            grants.push(GrantType::Password);
        }
        if !grants.is_empty()
            && c.attributes.get("use.refresh.tokens").map(String::as_str) != Some("false")
        {
            grants.push(GrantType::RefreshToken);
        }
        if c.service_accounts_enabled {
            grants.push(GrantType::ClientCredentials);
        }
        if grants.is_empty() {
            continue;
        }
        for m in &c.protocol_mappers {
            if m.protocol_mapper == "oidc-audience-mapper"
                && m.config.get("access.token.claim").map(String::as_str) != Some("false")
            {
                let aud = m
                    .config
                    .get("included.custom.audience")
                    .or_else(|| m.config.get("included.client.audience"))
                    .filter(|a| !a.is_empty());
                audiences.extend(aud.cloned());
            }
        }
        let secret_hash = if c.public_client {
            None
        } else {
            if let Some(kind) = c
                .client_authenticator_type
                .as_deref()
                .filter(|k| *k != "client-secret")
            {
                return Err(invalid(
                    &name,
                    format!(
                        "client `{}` authenticates with `{kind}`; tis idp knows client secrets only",
                        c.client_id
                    ),
                ));
            }
            let secret = c.secret.as_deref().ok_or_else(|| {
                invalid(
                    &name,
                    format!(
                        "client `{}` is confidential and has no `secret`",
                        c.client_id
                    ),
                )
            })?;
            Some(hash(&Secret::new(secret))?)
        };
        let account = service_accounts.get(&c.client_id);
        let roles = account.map(|u| u.realm_roles.clone()).unwrap_or_default();
        check_roles(&format!("the service account of `{}`", c.client_id), &roles)?;
        let post_logout = c
            .attributes
            .get("post.logout.redirect.uris")
            .map(|v| {
                v.split("##")
                    .filter(|u| !u.is_empty())
                    .flat_map(|u| match u {
                        "+" => c.redirect_uris.clone(),
                        u => vec![u.to_owned()],
                    })
                    .collect()
            })
            .unwrap_or_default();
        clients.push(ClientEntry {
            client_id: c.client_id.clone(),
            secret_hash,
            public: c.public_client,
            enabled: c.enabled,
            grants,
            roles,
            client_roles: account.map(|u| u.client_roles.clone()).unwrap_or_default(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: post_logout,
        });
    }
    let audience = match audiences.len() {
        1 => audiences.pop_first().unwrap_or_default(),
        0 => {
            return Err(invalid(
                &name,
                "no client adds an audience (an `oidc-audience-mapper`): Keycloak's tokens \
                 would not carry the `aud` the gateway checks",
            ));
        }
        _ => {
            return Err(invalid(
                &name,
                format!(
                    "its clients add different audiences ({}); tis idp gives a realm one",
                    audiences.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    };
    Ok(RealmEntry {
        name,
        audience,
        default_roles,
        users,
        clients,
    })
}

/// The argon2 PHC string of a user's password credential; `None` when there is none.
fn user_password(
    realm: &str,
    u: &KcUser,
    hash: &dyn Fn(&Secret) -> Result<String, HashFailed>,
) -> Result<Option<String>, RealmFileError> {
    let Some(cred) = u.credentials.iter().find(|c| c.kind == "password") else {
        return Ok(None);
    };
    if let Some(value) = &cred.value {
        return Ok(Some(hash(&Secret::new(value.as_str()))?));
    }
    let bad = |problem: String| invalid(realm, format!("user `{}`: {problem}", u.username));
    let (Some(secret), Some(data)) = (&cred.secret_data, &cred.credential_data) else {
        return Err(bad(
            "its password credential has neither a `value` nor `secretData` and `credentialData`"
                .into(),
        ));
    };
    keycloak_hash(secret, data).map(Some).map_err(bad)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialData {
    algorithm: String,
    hash_iterations: u32,
    #[serde(default)]
    additional_parameters: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct SecretData {
    value: String,
    salt: String,
}

/// Keycloak's exported argon2 or PBKDF2 credential as a PHC string.
fn keycloak_hash(secret: &str, data: &str) -> Result<String, String> {
    let data: CredentialData =
        serde_json::from_str(data).map_err(|e| format!("`credentialData`: {e}"))?;
    let secret: SecretData =
        serde_json::from_str(secret).map_err(|e| format!("`secretData`: {e}"))?;
    let std = base64::engine::general_purpose::STANDARD;
    let salt = std
        .decode(&secret.salt)
        .map_err(|e| format!("`secretData.salt`: {e}"))?;
    let value = std
        .decode(&secret.value)
        .map_err(|e| format!("`secretData.value`: {e}"))?;
    if crate::password::PBKDF2_ALGORITHMS.contains(&data.algorithm.as_str()) {
        // The derived key's length is the stored value's, as Keycloak's verification takes it.
        return crate::password::pbkdf2_phc(&data.algorithm, data.hash_iterations, &salt, &value)
            .map_err(|e| e.to_string());
    }
    if data.algorithm != "argon2" {
        return Err(format!(
            "its password is hashed with `{}`, which tis idp cannot check (argon2, {}); give \
             the credential a clear-text `value` instead",
            data.algorithm,
            crate::password::PBKDF2_ALGORITHMS.join(", ")
        ));
    }
    let param = |key: &str, default: &str| {
        data.additional_parameters
            .get(key)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    let variant = match param("type", "id").as_str() {
        "id" => "argon2id",
        "i" => "argon2i",
        "d" => "argon2d",
        other => return Err(format!("unknown argon2 type `{other}`")),
    };
    let version = match param("version", "1.3").as_str() {
        "1.3" => 19,
        "1.0" => 16,
        other => return Err(format!("unknown argon2 version `{other}`")),
    };
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let phc = format!(
        "${variant}$v={version}$m={},t={},p={}${}${}",
        param("memory", "7168"),
        data.hash_iterations,
        param("parallelism", "1"),
        b64.encode(salt),
        b64.encode(value)
    );
    crate::password::check_phc(&phc).map_err(|e| e.to_string())?;
    Ok(phc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{Verifier, cheap_params, hash_with};
    use crate::realm::Realms;
    use crate::realm::demo::PRODUCTION_REALM_EXPORT;

    fn cheap(secret: &Secret) -> Result<String, HashFailed> {
        hash_with(secret, cheap_params())
    }

    fn secrets(name: &str) -> Option<String> {
        Some(format!("secret-of-{name}"))
    }

    fn read(text: &str) -> Result<Export, RealmFileError> {
        from_export(text, &secrets, &cheap)
    }

    fn problem(text: &str) -> String {
        match read(text).and_then(|e| Realms::from_file(e.file).map(|_| ())) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("expected {text} to be refused"),
        }
    }

    /// A realm with one client adding audience `tis`, plus `extra` merged in.
    fn realm_with(extra: serde_json::Value) -> String {
        let mut realm = serde_json::json!({
            "realm": "r",
            "roles": {"realm": [{"name": "HEE Admin"}]},
            "clients": [{
                "clientId": "ui", "publicClient": true, "standardFlowEnabled": false,
                "directAccessGrantsEnabled": true,
                "protocolMappers": [{"protocolMapper": "oidc-audience-mapper",
                                      "config": {"included.custom.audience": "tis"}}]
            }]
        });
        for (k, v) in extra.as_object().unwrap() {
            realm[k] = v.clone();
        }
        realm.to_string()
    }

    #[test]
    fn the_production_export_gives_its_clients_roles_audience_and_lifetimes() {
        let export = read(PRODUCTION_REALM_EXPORT).unwrap();
        let lifetimes = export.lifetimes.unwrap();
        assert_eq!(lifetimes.access, Some(Duration::from_secs(300)));
        assert_eq!(lifetimes.refresh, Some(Duration::from_secs(1800)));
        assert_eq!(lifetimes.session_max, Some(Duration::from_secs(36000)));
        assert_eq!(lifetimes.code, Some(Duration::from_secs(60)));
        assert_eq!(lifetimes.login, Some(Duration::from_secs(1800)));
        let lin = &export.file.realms[0];
        assert_eq!(lin.name, "lin");
        assert_eq!(lin.audience, crate::realm::demo::DEMO_AUDIENCE);
        assert_eq!(lin.default_roles, ["offline_access", "uma_authorization"]);
        assert!(lin.users.is_empty(), "no demo users in production");
        let client = |id: &str| lin.clients.iter().find(|c| c.client_id == id).unwrap();
        assert_eq!(
            client("tis-web").grants,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(
            client("tis-web").post_logout_redirect_uris,
            ["https://tis.example.org/"]
        );
        assert!(client("tis-ui").public);
        assert_eq!(
            client("tis-ui").grants,
            [GrantType::Password, GrantType::RefreshToken]
        );
        assert_eq!(client("etl").grants, [GrantType::ClientCredentials]);
        assert_eq!(client("etl").roles, ["ETL"]);
        Realms::from_file(export.file).unwrap();
    }

    #[test]
    fn a_placeholder_not_set_is_refused_by_name_and_defaults_and_escapes_apply() {
        let err = from_export(PRODUCTION_REALM_EXPORT, &|_| None, &cheap).unwrap_err();
        assert!(err.to_string().contains("TIS_WEB_CLIENT_SECRET"), "{err}");
        let env = |n: &str| (n == "Q").then(|| "a\"b".to_owned());
        assert_eq!(
            substitute(
                r#"["${Q}", "${env.Q}", "${MISSING:dflt}", "$x", "${ not one}"]"#,
                &env
            )
            .unwrap(),
            r#"["a\"b", "a\"b", "dflt", "$x", "${ not one}"]"#
        );
    }

    #[test]
    fn roles_must_be_defined_and_keycloaks_own_clients_are_left_out() {
        let undefined = realm_with(serde_json::json!({"users": [{
            "username": "u", "realmRoles": ["HEE Admn"],
            "credentials": [{"type": "password", "value": "pw"}]}]}));
        assert!(problem(&undefined).contains("`HEE Admn`"), "{undefined}");
        let built_in = realm_with(serde_json::json!({"clients": [
            {"clientId": "account-console", "publicClient": true,
             "redirectUris": ["/realms/r/account/*"]},
            {"clientId": "broker", "bearerOnly": true},
            {"clientId": "ui", "publicClient": true, "standardFlowEnabled": false,
             "directAccessGrantsEnabled": true,
             "protocolMappers": [{"protocolMapper": "oidc-audience-mapper",
                                   "config": {"included.custom.audience": "tis"}}]}]}));
        let file = read(&built_in).unwrap().file;
        let ids: Vec<_> = file.realms[0]
            .clients
            .iter()
            .map(|c| &c.client_id)
            .collect();
        assert_eq!(ids, ["ui"]);
        Realms::from_file(file).unwrap();
    }

    #[test]
    fn a_realm_needs_exactly_one_audience() {
        let none = realm_with(serde_json::json!({"clients": [{"clientId": "ui",
            "publicClient": true, "directAccessGrantsEnabled": true}]}));
        assert!(problem(&none).contains("oidc-audience-mapper"));
        let mapper = |aud: &str| {
            serde_json::json!([{"protocolMapper": "oidc-audience-mapper",
                                "config": {"included.custom.audience": aud}}])
        };
        let two = realm_with(serde_json::json!({"clients": [
            {"clientId": "a", "publicClient": true, "directAccessGrantsEnabled": true,
             "protocolMappers": mapper("tis")},
            {"clientId": "b", "publicClient": true, "directAccessGrantsEnabled": true,
             "protocolMappers": mapper("other")}]}));
        assert!(problem(&two).contains("other, tis"), "{}", problem(&two));
    }

    /// Keycloak's exported argon2 credential is the PHC string's parts in JSON: taken apart
    /// and put back, it must verify the same password.
    #[tokio::test]
    async fn an_exported_argon2_credential_verifies_and_an_unknown_algorithm_is_refused_by_name() {
        use argon2::password_hash::phc::PasswordHash;
        let phc = hash_with(&Secret::new("pw"), cheap_params()).unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        let std = base64::engine::general_purpose::STANDARD;
        let salt = parsed.salt.unwrap();
        let hash = parsed.hash.unwrap();
        let secret_data = serde_json::json!({
            "value": std.encode(hash.as_bytes()), "salt": std.encode(salt.as_ref()),
            "additionalParameters": {}})
        .to_string();
        let credential_data = serde_json::json!({
            "hashIterations": 1, "algorithm": "argon2",
            "additionalParameters": {"hashLength": ["32"], "memory": ["8"], "type": ["id"],
                                     "version": ["1.3"], "parallelism": ["1"]}})
        .to_string();
        let text = realm_with(serde_json::json!({"users": [{"username": "u",
            "realmRoles": ["HEE Admin"], "credentials": [{"type": "password",
            "secretData": secret_data, "credentialData": credential_data}]}]}));
        let file = read(&text).unwrap().file;
        let stored = file.realms[0].users[0].password_hash.clone();
        let v = Verifier::new(1);
        assert!(
            v.verify(Secret::new("pw"), stored.clone()).await,
            "{stored}"
        );
        assert!(!v.verify(Secret::new("pW"), stored).await);

        let bcrypt = text.replace("\\\"argon2\\\"", "\\\"bcrypt\\\"");
        assert_ne!(bcrypt, text);
        let err = problem(&bcrypt);
        assert!(
            err.contains("user `u`") && err.contains("`bcrypt`") && err.contains("pbkdf2-sha512"),
            "{err}"
        );
        // No password credential: the user cannot sign in here and is left out.
        let none = realm_with(serde_json::json!({"users": [{"username": "fed"}]}));
        assert!(read(&none).unwrap().file.realms[0].users.is_empty());
    }

    /// A credential as Keycloak exports it: `secretData` and `credentialData` as JSON text.
    fn kc_credential(
        algorithm: &str,
        iterations: u32,
        salt: &[u8],
        key: &[u8],
    ) -> serde_json::Value {
        let std = base64::engine::general_purpose::STANDARD;
        serde_json::json!({"id": "3b800dbd-bcfb-4734-925f-85a9f75f1cef", "type": "password",
            "userLabel": "My password", "createdDate": 1_699_281_486_748_u64,
            "secretData": serde_json::json!({"value": std.encode(key), "salt": std.encode(salt),
                                             "additionalParameters": {}}).to_string(),
            "credentialData": serde_json::json!({"hashIterations": iterations,
                "algorithm": algorithm, "additionalParameters": {}}).to_string()})
    }

    /// Keycloak's PBKDF2 credentials: each algorithm by the name Keycloak writes, hashed here
    /// with known parameters (Keycloak's 16-byte salt and 512-bit key), and one credential
    /// exported by Keycloak 25 itself (`user1` / `password`, pbkdf2-sha256, 27,500 iterations,
    /// a 256-bit key: the length is the stored value's) from a published workshop realm.
    #[tokio::test]
    async fn exported_pbkdf2_credentials_verify_as_keycloak_checks_them() {
        use aws_lc_rs::pbkdf2;
        let salt = *b"sixteen byte sal";
        let derive = |alg, iterations, password: &str| {
            let mut key = [0u8; 64];
            let n = std::num::NonZeroU32::new(iterations).unwrap();
            pbkdf2::derive(alg, n, &salt, password.as_bytes(), &mut key);
            key
        };
        let cases = [
            (
                "sha1",
                "pbkdf2",
                pbkdf2::PBKDF2_HMAC_SHA1,
                20_000,
                "correct horse",
            ),
            (
                "sha256",
                "pbkdf2-sha256",
                pbkdf2::PBKDF2_HMAC_SHA256,
                27_500,
                "battery staple ünïcode",
            ),
            (
                "sha512",
                "pbkdf2-sha512",
                pbkdf2::PBKDF2_HMAC_SHA512,
                30_000,
                "x",
            ),
        ];
        let mut users: Vec<_> = cases
            .iter()
            .map(|(user, name, alg, n, password)| {
                serde_json::json!({"username": user, "realmRoles": ["HEE Admin"],
                    "credentials": [kc_credential(name, *n, &salt, &derive(*alg, *n, password))]})
            })
            .collect();
        users.push(serde_json::json!({"username": "user1", "realmRoles": ["HEE Admin"],
            "credentials": [{"type": "password",
                "secretData": "{\"value\":\"JsfNbCOIdZUbyBJ+BT+VoGI91Ec2rWLOvkLPDaX8e9k=\",\"salt\":\"P5rtFkGtPfoaryJ6PizUJw==\",\"additionalParameters\":{}}",
                "credentialData": "{\"hashIterations\":27500,\"algorithm\":\"pbkdf2-sha256\",\"additionalParameters\":{}}"}]}));
        let file = read(&realm_with(serde_json::json!({ "users": users })))
            .unwrap()
            .file;
        let stored = |name: &str| {
            file.realms[0]
                .users
                .iter()
                .find(|u| u.username == name)
                .unwrap()
                .password_hash
                .clone()
        };
        let v = Verifier::new(1);
        for (user, name, _, n, password) in cases {
            let phc = stored(user);
            assert!(phc.starts_with(&format!("${name}$i={n}$")), "{phc}");
            assert!(v.verify(Secret::new(password), phc.clone()).await, "{user}");
            assert!(
                !v.verify(Secret::new(format!("{password} ")), phc.clone())
                    .await,
                "{user}"
            );
            assert!(!v.verify(Secret::new(""), phc).await, "{user}");
        }
        assert!(v.verify(Secret::new("password"), stored("user1")).await);
        assert!(!v.verify(Secret::new("Password"), stored("user1")).await);
        Realms::from_file(file).unwrap();

        // An algorithm Keycloak does not ship under that name: refused at start, by user.
        let odd = realm_with(serde_json::json!({"users": [{"username": "odd",
            "credentials": [kc_credential("pbkdf2-sha384", 1, &salt, &[1; 48])]}]}));
        let err = problem(&odd);
        assert!(
            err.contains("user `odd`") && err.contains("`pbkdf2-sha384`"),
            "{err}"
        );
        // Zero iterations or an empty key: refused, not a login that anything matches.
        for (n, key) in [(0, &[1u8; 64][..]), (1, &[][..])] {
            let bad = realm_with(serde_json::json!({"users": [{"username": "bad",
                "credentials": [kc_credential("pbkdf2-sha256", n, &salt, key)]}]}));
            assert!(problem(&bad).contains("user `bad`"), "{}", problem(&bad));
        }
    }
}
