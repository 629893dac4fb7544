//! The `UserProfile` of DOMAIN §1.3, in the original JSON names: what Profile's
//! `/api/userinfo` returned and what every service authorised with.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Whether a policy grants or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// An IAM-style policy attached to a permission (`V4.1__Permission_migration.sql`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PermissionPolicy {
    /// The permission's name, e.g. `person:view`.
    pub name: String,
    /// Who it applies to: `tis:profile::user:` (every user) or `tis:profile::user:<name>`.
    pub principal: String,
    /// What it applies to, as a prefix: `tis:people::person:`.
    pub resource: String,
    /// e.g. `View`, `Create`, `Update`.
    pub actions: Vec<String>,
    pub effect: Effect,
}

/// A trust the user administers (copied from Reference).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedTrust {
    pub id: i64,
    pub trust_code: String,
    pub trust_name: String,
}

/// A programme the user administers or observes (copied from TCS).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedProgramme {
    pub id: i64,
    pub programme_name: String,
    pub programme_number: String,
}

/// Who the caller is and what they may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserProfile {
    pub user_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gmc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    pub designated_body_codes: BTreeSet<String>,
    pub roles: BTreeSet<String>,
    /// Permission names: what `hasAuthority(...)` checks.
    pub permissions: BTreeSet<String>,
    pub permission_policies: Vec<PermissionPolicy>,
    pub assigned_trusts: Vec<AssignedTrust>,
    pub assigned_programmes: Vec<AssignedProgramme>,
}

impl UserProfile {
    /// A profile with only a user name.
    pub fn named(user_name: impl Into<String>) -> Self {
        UserProfile {
            user_name: user_name.into(),
            ..UserProfile::default()
        }
    }

    /// `fullName` as the original assembled it: first + " " + last.
    pub fn with_full_name(mut self) -> Self {
        self.full_name = match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_uses_the_original_json_names() {
        let mut p = UserProfile::named("jdoe");
        p.first_name = Some("Jane".into());
        p.last_name = Some("Doe".into());
        p = p.with_full_name();
        p.designated_body_codes.insert("1-AIIDWA".into());
        p.permission_policies.push(PermissionPolicy {
            name: "person:view".into(),
            principal: "tis:profile::user:".into(),
            resource: "tis:people::person:".into(),
            actions: vec!["View".into()],
            effect: Effect::Allow,
        });
        p.assigned_trusts.push(AssignedTrust {
            id: 1,
            trust_code: "RJ1".into(),
            trust_name: "Guy's".into(),
        });
        p.assigned_programmes.push(AssignedProgramme {
            id: 2,
            programme_name: "GP".into(),
            programme_number: "NWL001".into(),
        });
        let v = serde_json::to_value(&p).expect("json");
        assert_eq!(v["userName"], "jdoe");
        assert_eq!(v["fullName"], "Jane Doe");
        assert_eq!(v["designatedBodyCodes"][0], "1-AIIDWA");
        assert_eq!(v["permissionPolicies"][0]["effect"], "Allow");
        assert_eq!(v["assignedTrusts"][0]["trustCode"], "RJ1");
        assert_eq!(v["assignedProgrammes"][0]["programmeNumber"], "NWL001");
        let back: UserProfile = serde_json::from_value(v).expect("back");
        assert_eq!(back, p);
    }
}
