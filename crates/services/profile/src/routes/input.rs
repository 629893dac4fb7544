//! What the endpoints accept, parsed into domain values at the boundary. Every field is
//! optional in the wire type, so that missing, `null` and invalid values are all reported
//! together as field errors under their JSON path (`designatedBodyCodes[2]`); a value of the
//! wrong JSON kind is refused by the JSON extractor, also under its path. Unknown fields are
//! ignored, as Jackson did for the original (UMS sends `password`, `temporaryPassword`, ids…).
//!
//! Rules, from the original validators where it had them: a user name is a [`UserName`]; a
//! GMC id is at most 7 characters (`HeeUserValidator.validateGmcId`); roles and designated
//! bodies must exist (checked by the handlers: roles here, codes in Reference); a trust and a
//! programme need their id; a permission's `type` is one of the old `PermissionType`s and its
//! `effect` `Allow` or `Deny`.

use std::collections::BTreeSet;

use serde::Deserialize;
use tis_auth::principal::Effect;
use tis_core::FieldError;

use crate::domain::names::check_label;
use crate::domain::{
    ANY_USER, HeeUser, PERMISSION_TYPES, Permission, Role, UserName, UserProgramme, UserTrust,
    parse_effect,
};

/// The longest free-text field (names, phone, email, descriptions, codes).
pub const MAX_TEXT_CHARS: usize = 255;
/// The longest GMC id (`HeeUserValidator.validateGmcId`).
pub const MAX_GMC_ID_CHARS: usize = 7;

/// `{"name": …}`: how roles and permissions are named inside other records.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Named {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustInput {
    pub trust_id: Option<i64>,
    pub trust_code: Option<String>,
    pub trust_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgrammeInput {
    pub programme_id: Option<i64>,
    pub programme_name: Option<String>,
    pub programme_number: Option<String>,
}

/// `HeeUserDTO` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeeUserInput {
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub gmc_id: Option<String>,
    pub phone_number: Option<String>,
    pub email_address: Option<String>,
    pub active: Option<bool>,
    pub roles: Option<Vec<Named>>,
    pub designated_body_codes: Option<Vec<String>>,
    pub associated_trusts: Option<Vec<TrustInput>>,
    pub associated_programmes: Option<Vec<ProgrammeInput>>,
}

/// `RoleDTO` as sent (`permissions` name the permissions; their other fields are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoleInput {
    pub name: Option<String>,
    pub restricted: Option<bool>,
    pub permissions: Option<Vec<Named>>,
}

/// `PermissionDTO` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PermissionInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub principal: Option<String>,
    pub resource: Option<String>,
    pub actions: Option<Vec<String>>,
    pub effect: Option<String>,
}

/// Collects field errors while values are parsed.
#[derive(Debug, Default)]
pub struct Fields(pub Vec<FieldError>);

impl Fields {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// An optional text: trimmed, empty as absent, at most `max` characters.
    pub fn text(&mut self, field: &str, value: &Option<String>, max: usize) -> Option<String> {
        let v = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
        if v.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
        Some(v.to_owned())
    }

    pub fn list_len(&mut self, field: &str, len: usize, max_items: usize) {
        if len > max_items {
            self.add(field, format!("must have at most {max_items} items"));
        }
    }

    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

impl HeeUserInput {
    /// The user this body describes (roles and codes not yet checked for existence).
    pub fn parse(&self, max_items: usize) -> Result<HeeUser, Vec<FieldError>> {
        let mut f = Fields::default();
        let name = match self.name.as_deref().map(UserName::parse) {
            None => {
                f.add("name", "must not be null");
                String::new()
            }
            Some(Err(e)) => {
                f.add("name", e.to_string());
                String::new()
            }
            Some(Ok(n)) => n.into_string(),
        };
        let mut user = HeeUser::named(&name);
        user.first_name = f.text("firstName", &self.first_name, MAX_TEXT_CHARS);
        user.last_name = f.text("lastName", &self.last_name, MAX_TEXT_CHARS);
        user.gmc_id = f.text("gmcId", &self.gmc_id, MAX_GMC_ID_CHARS);
        user.phone_number = f.text("phoneNumber", &self.phone_number, MAX_TEXT_CHARS);
        user.email_address = f.text("emailAddress", &self.email_address, MAX_TEXT_CHARS);
        user.active = self.active.unwrap_or(true);
        let roles = self.roles.as_deref().unwrap_or_default();
        f.list_len("roles", roles.len(), max_items);
        for (i, r) in roles.iter().enumerate() {
            match r.name.as_deref().map(check_label) {
                Some(Ok(())) => {
                    user.roles.insert(r.name.clone().unwrap_or_default());
                }
                Some(Err(e)) => f.add(format!("roles[{i}].name"), e.to_string()),
                None => f.add(format!("roles[{i}].name"), "must not be null"),
            }
        }
        let dbcs = self.designated_body_codes.as_deref().unwrap_or_default();
        f.list_len("designatedBodyCodes", dbcs.len(), max_items);
        for (i, code) in dbcs.iter().enumerate() {
            let field = format!("designatedBodyCodes[{i}]");
            if let Some(code) = f.text(&field, &Some(code.clone()), MAX_TEXT_CHARS) {
                user.designated_body_codes.insert(code);
            } else {
                f.add(field, "must not be blank");
            }
        }
        let trusts = self.associated_trusts.as_deref().unwrap_or_default();
        f.list_len("associatedTrusts", trusts.len(), max_items);
        let mut trust_ids = BTreeSet::new();
        for (i, t) in trusts.iter().enumerate() {
            let Some(id) = t.trust_id else {
                f.add(format!("associatedTrusts[{i}].trustId"), "must not be null");
                continue;
            };
            let trust = UserTrust {
                trust_id: id,
                trust_code: f.text(
                    &format!("associatedTrusts[{i}].trustCode"),
                    &t.trust_code,
                    MAX_TEXT_CHARS,
                ),
                trust_name: f.text(
                    &format!("associatedTrusts[{i}].trustName"),
                    &t.trust_name,
                    MAX_TEXT_CHARS,
                ),
            };
            if trust_ids.insert(id) {
                user.trusts.push(trust);
            }
        }
        let programmes = self.associated_programmes.as_deref().unwrap_or_default();
        f.list_len("associatedProgrammes", programmes.len(), max_items);
        let mut programme_ids = BTreeSet::new();
        for (i, p) in programmes.iter().enumerate() {
            let Some(id) = p.programme_id else {
                f.add(
                    format!("associatedProgrammes[{i}].programmeId"),
                    "must not be null",
                );
                continue;
            };
            let programme = UserProgramme {
                programme_id: id,
                programme_name: f.text(
                    &format!("associatedProgrammes[{i}].programmeName"),
                    &p.programme_name,
                    MAX_TEXT_CHARS,
                ),
                programme_number: f.text(
                    &format!("associatedProgrammes[{i}].programmeNumber"),
                    &p.programme_number,
                    MAX_TEXT_CHARS,
                ),
            };
            if programme_ids.insert(id) {
                user.programmes.push(programme);
            }
        }
        user.trusts.sort_by_key(|t| t.trust_id);
        user.programmes.sort_by_key(|p| p.programme_id);
        f.finish(user)
    }
}

fn label(f: &mut Fields, field: &str, value: &Option<String>) -> String {
    match value.as_deref().map(check_label) {
        Some(Ok(())) => value.clone().unwrap_or_default(),
        Some(Err(e)) => {
            f.add(field, e.to_string());
            String::new()
        }
        None => {
            f.add(field, "must not be null");
            String::new()
        }
    }
}

impl RoleInput {
    pub fn parse(&self, max_items: usize) -> Result<Role, Vec<FieldError>> {
        let mut f = Fields::default();
        let name = label(&mut f, "name", &self.name);
        let permissions = self.permissions.as_deref().unwrap_or_default();
        f.list_len("permissions", permissions.len(), max_items);
        let mut names = BTreeSet::new();
        for (i, p) in permissions.iter().enumerate() {
            let n = label(&mut f, &format!("permissions[{i}].name"), &p.name);
            if !n.is_empty() {
                names.insert(n);
            }
        }
        f.finish(Role {
            name,
            restricted: self.restricted.unwrap_or(false),
            permissions: names,
        })
    }
}

impl PermissionInput {
    pub fn parse(&self, max_items: usize) -> Result<Permission, Vec<FieldError>> {
        let mut f = Fields::default();
        let name = label(&mut f, "name", &self.name);
        let kind = match self.kind.as_deref().map(str::trim) {
            Some(k) if PERMISSION_TYPES.contains(&k) => k.to_owned(),
            Some(k) => {
                f.add(
                    "type",
                    format!("`{k}` is not one of {}", PERMISSION_TYPES.join(", ")),
                );
                String::new()
            }
            None => {
                f.add("type", "must not be null");
                String::new()
            }
        };
        let description = f.text("description", &self.description, MAX_TEXT_CHARS);
        let principal = f
            .text("principal", &self.principal, MAX_TEXT_CHARS)
            .unwrap_or_else(|| ANY_USER.to_owned());
        let resource = f
            .text("resource", &self.resource, MAX_TEXT_CHARS)
            .unwrap_or_default();
        let raw_actions = self.actions.as_deref().unwrap_or_default();
        f.list_len("actions", raw_actions.len(), max_items);
        let mut actions = Vec::new();
        for (i, a) in raw_actions.iter().enumerate() {
            let a = a.trim();
            if a.is_empty() || a.contains(',') || a.chars().count() > MAX_TEXT_CHARS {
                f.add(
                    format!("actions[{i}]"),
                    "must be a non-blank word without commas",
                );
            } else if !actions.iter().any(|x| x == a) {
                actions.push(a.to_owned());
            }
        }
        let effect = match self.effect.as_deref().map(str::trim) {
            None | Some("") => Effect::Allow,
            Some(e) => parse_effect(e).unwrap_or_else(|| {
                f.add("effect", "must be Allow or Deny");
                Effect::Allow
            }),
        };
        f.finish(Permission {
            name,
            kind,
            description,
            principal,
            resource,
            actions,
            effect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_of_a_user_is_reported_under_its_path() {
        let input: HeeUserInput = serde_json::from_value(serde_json::json!({
            "name": "a b", "gmcId": "12345678", "password": "ignored",
            "roles": [{"name": "HEE Admin"}, {}],
            "designatedBodyCodes": ["1-AIIDWA", " "],
            "associatedTrusts": [{"trustCode": "RJ1"}]
        }))
        .expect("lenient body");
        let fields: Vec<String> = input
            .parse(100)
            .expect_err("invalid")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "gmcId",
                "roles[1].name",
                "designatedBodyCodes[1]",
                "associatedTrusts[0].trustId"
            ]
        );
    }

    #[test]
    fn a_minimal_user_is_active_with_nothing_assigned() {
        let input: HeeUserInput =
            serde_json::from_value(serde_json::json!({"name": "jdoe"})).expect("body");
        let user = input.parse(10).expect("valid");
        assert!(user.active && user.roles.is_empty() && user.trusts.is_empty());
    }

    #[test]
    fn a_permission_defaults_to_everyone_and_allow_and_checks_its_type() {
        let input: PermissionInput = serde_json::from_value(serde_json::json!({
            "name": "x:view", "type": "PERSON", "resource": "tis:x::", "actions": ["View"]
        }))
        .expect("body");
        let p = input.parse(10).expect("valid");
        assert_eq!((p.principal.as_str(), p.effect), (ANY_USER, Effect::Allow));
        let bad: PermissionInput = serde_json::from_value(
            serde_json::json!({"name": "x", "type": "NOPE", "effect": "Maybe"}),
        )
        .expect("body");
        assert_eq!(bad.parse(10).expect_err("invalid").len(), 2);
    }
}
