//! The `UserProfile` of a user, as the original `UserProfileAssembler.toUserProfile` built
//! it (DOMAIN §1.3):
//!
//! - `fullName` is first + " " + last (just one of them when the other is missing);
//! - `designatedBodyCodes` is `["None"]` for a user with none;
//! - `permissions` is the union of the permission names of the user's roles;
//! - `permissionPolicies` are the policies of those permissions plus those of every
//!   permission whose principal ends with `:<username>` (a per-user policy such as
//!   `tis:profile::user:consolidated_etl`), each once, sorted by name;
//! - `assignedTrusts` / `assignedProgrammes` carry the copied ids, codes and names.

use std::collections::BTreeMap;

use tis_auth::UserProfile;
use tis_auth::principal::{AssignedProgramme, AssignedTrust};

use super::{HeeUser, NO_DBC, Permission};

/// The profile of `user`, given the permissions of their roles and the per-user ones.
pub fn user_profile(
    user: &HeeUser,
    role_permissions: &[Permission],
    personal: &[Permission],
) -> UserProfile {
    let mut profile = UserProfile::named(user.name.clone());
    profile.first_name = user.first_name.clone();
    profile.last_name = user.last_name.clone();
    profile.gmc_id = user.gmc_id.clone();
    profile.phone_number = user.phone_number.clone();
    profile.email_address = user.email_address.clone();
    profile = profile.with_full_name();
    profile.designated_body_codes = user.designated_body_codes.clone();
    if profile.designated_body_codes.is_empty() {
        profile.designated_body_codes.insert(NO_DBC.to_owned());
    }
    profile.roles = user.roles.clone();
    profile.permissions = role_permissions.iter().map(|p| p.name.clone()).collect();
    let mut policies = BTreeMap::new();
    for p in role_permissions.iter().chain(personal) {
        policies
            .entry(p.name.as_str())
            .or_insert_with(|| p.policy());
    }
    profile.permission_policies = policies.into_values().collect();
    profile.assigned_trusts = user
        .trusts
        .iter()
        .map(|t| AssignedTrust {
            id: t.trust_id,
            trust_code: t.trust_code.clone().unwrap_or_default(),
            trust_name: t.trust_name.clone().unwrap_or_default(),
        })
        .collect();
    profile.assigned_programmes = user
        .programmes
        .iter()
        .map(|p| AssignedProgramme {
            id: p.programme_id,
            programme_name: p.programme_name.clone().unwrap_or_default(),
            programme_number: p.programme_number.clone().unwrap_or_default(),
        })
        .collect();
    profile
}

/// Whether a permission's principal names `user` alone (`…:<user>`).
pub fn is_personal(principal: &str, user: &str) -> bool {
    principal
        .strip_suffix(user)
        .is_some_and(|head| head.ends_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{UserProgramme, UserTrust};
    use tis_auth::principal::Effect;

    fn permission(name: &str, principal: &str) -> Permission {
        Permission {
            name: name.into(),
            kind: "PERSON".into(),
            description: None,
            principal: principal.into(),
            resource: "tis:people::person:".into(),
            actions: vec!["View".into()],
            effect: Effect::Allow,
        }
    }

    #[test]
    fn a_user_without_designated_bodies_has_the_single_code_none() {
        let p = user_profile(&HeeUser::named("jdoe"), &[], &[]);
        assert_eq!(
            p.designated_body_codes.into_iter().collect::<Vec<_>>(),
            vec!["None"]
        );
        assert_eq!(p.full_name, None);
    }

    #[test]
    fn personal_policies_join_the_role_policies_once() {
        let mut user = HeeUser::named("consolidated_etl");
        user.first_name = Some("Consolidated".into());
        user.last_name = Some("ETL".into());
        user.roles.insert("ETL".into());
        user.trusts.push(UserTrust {
            trust_id: 3,
            trust_code: Some("RYJ".into()),
            trust_name: Some("Imperial".into()),
        });
        user.programmes.push(UserProgramme {
            programme_id: 9,
            programme_name: Some("GP".into()),
            programme_number: None,
        });
        let bulk = permission(
            "person:bulk:add:modify",
            "tis:profile::user:consolidated_etl",
        );
        let view = permission("person:view", "tis:profile::user:");
        let p = user_profile(&user, &[view.clone(), bulk.clone()], &[bulk]);
        assert_eq!(p.full_name.as_deref(), Some("Consolidated ETL"));
        assert_eq!(p.permissions.len(), 2);
        let names: Vec<_> = p
            .permission_policies
            .iter()
            .map(|x| x.name.as_str())
            .collect();
        assert_eq!(names, vec!["person:bulk:add:modify", "person:view"]);
        assert_eq!(p.assigned_trusts[0].trust_code, "RYJ");
        assert_eq!(p.assigned_programmes[0].programme_number, "");
    }

    #[test]
    fn a_personal_principal_must_end_with_colon_and_the_whole_name() {
        assert!(is_personal("tis:profile::user:core_etl", "core_etl"));
        assert!(!is_personal("tis:profile::user:score_etl", "core_etl"));
        assert!(!is_personal("tis:profile::user:", "core_etl"));
    }
}
