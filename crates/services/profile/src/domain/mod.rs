//! What Profile stores, as typed values (DOMAIN §1.1): users, roles, permissions with their
//! policies, the trusts and programmes a user is assigned, and trainee id mappings. Wire
//! DTOs live in `routes::dto`; rows in `repo`.

pub mod assemble;
pub mod names;

use std::collections::BTreeSet;

pub use names::{BadName, UserName};

/// The old `PermissionType` enum (`profile-api/.../dto/PermissionType.java`).
pub const PERMISSION_TYPES: &[&str] = &[
    "INTERNAL",
    "CONCERN",
    "CONNECTION",
    "NOTIFICATION",
    "PROFILE",
    "PCS",
    "PP",
    "REVALIDATION",
    "REFERENCE",
    "PERSON",
    "ASSESSMENT",
    "DOCUMENT",
    "POST",
];

/// The principal of policies that apply to every user; `…:<name>` applies to one.
pub const ANY_USER: &str = "tis:profile::user:";

/// The designated body code of a user who has none (`HeeUser.getDesignatedBodyCodes`).
pub const NO_DBC: &str = "None";

/// The role whose holder is a designated body's Responsible Officer.
pub const RESPONSIBLE_OFFICER: &str = "RVOfficer";

/// A TIS user (`HeeUser`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeeUser {
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub gmc_id: Option<String>,
    pub phone_number: Option<String>,
    pub email_address: Option<String>,
    pub active: bool,
    pub roles: BTreeSet<String>,
    pub designated_body_codes: BTreeSet<String>,
    pub trusts: Vec<UserTrust>,
    pub programmes: Vec<UserProgramme>,
}

impl HeeUser {
    /// An active user with a name and nothing else.
    pub fn named(name: &str) -> Self {
        HeeUser {
            name: name.to_owned(),
            first_name: None,
            last_name: None,
            gmc_id: None,
            phone_number: None,
            email_address: None,
            active: true,
            roles: BTreeSet::new(),
            designated_body_codes: BTreeSet::new(),
            trusts: Vec::new(),
            programmes: Vec::new(),
        }
    }
}

/// A trust a user administers: a copy of Reference's id, code and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTrust {
    pub trust_id: i64,
    pub trust_code: Option<String>,
    pub trust_name: Option<String>,
}

/// A programme a user administers or observes: a copy of TCS's id, name and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProgramme {
    pub programme_id: i64,
    pub programme_name: Option<String>,
    pub programme_number: Option<String>,
}

/// A role and the names of the permissions it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub restricted: bool,
    pub permissions: BTreeSet<String>,
}

/// A permission and its IAM-style policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub name: String,
    /// One of [`PERMISSION_TYPES`].
    pub kind: String,
    pub description: Option<String>,
    pub principal: String,
    pub resource: String,
    pub actions: Vec<String>,
    pub effect: tis_auth::principal::Effect,
}

impl Permission {
    /// The policy as `/userinfo` lists it.
    pub fn policy(&self) -> tis_auth::PermissionPolicy {
        tis_auth::PermissionPolicy {
            name: self.name.clone(),
            principal: self.principal.clone(),
            resource: self.resource.clone(),
            actions: self.actions.clone(),
            effect: self.effect,
        }
    }
}

/// A GMC number's TIS trainee id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraineeProfile {
    pub tis_id: i64,
    pub gmc_number: String,
    pub active: bool,
    pub designated_body_code: Option<String>,
    pub date_added: Option<time::Date>,
}

/// One entry of a trainee registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub gmc_number: String,
    pub date_added: Option<time::Date>,
}

/// Effect names as stored and sent.
pub fn effect_name(effect: tis_auth::principal::Effect) -> &'static str {
    match effect {
        tis_auth::principal::Effect::Allow => "Allow",
        tis_auth::principal::Effect::Deny => "Deny",
    }
}

/// The effect of a stored or sent name.
pub fn parse_effect(name: &str) -> Option<tis_auth::principal::Effect> {
    match name {
        "Allow" => Some(tis_auth::principal::Effect::Allow),
        "Deny" => Some(tis_auth::principal::Effect::Deny),
        _ => None,
    }
}
