//! The TIS role catalogue: which permissions (and IAM policies) each role grants.
//!
//! It is the static seed of what the Profile service will own (DOMAIN §5), and meanwhile a
//! [`ProfileSource`] that builds a profile from a verified token alone: the token's realm
//! roles (`realm_access.roles`) select catalogue roles, their permissions are united, and the
//! designated bodies come from the token's `dbc` claim (`"None"` when there is none, as
//! `HeeUser.getDesignatedBodyCodes` did). Realm roles the catalogue does not know
//! (`uma_authorization`, `offline_access`, …) are ignored.
//!
//! Trusts and programmes cannot come from a token: a catalogue profile has none, so trust-
//! and programme-scoped queries return nothing for it rather than everything.

mod tables;

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;

use crate::claims::AccessClaims;
use crate::principal::{Effect, PermissionPolicy, UserProfile};
use crate::profile_source::{ProfileError, ProfileSource, ResolvedProfile};

const USER_PRINCIPAL: &str = "tis:profile::user:";

/// One permission of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub name: String,
    /// The old `PermissionType` (PERSON, PCS, REFERENCE, …).
    pub kind: String,
    pub policy: PermissionPolicy,
}

/// Roles → permissions → policies.
#[derive(Debug, Clone)]
pub struct RoleCatalogue {
    roles: BTreeMap<String, BTreeSet<String>>,
    permissions: BTreeMap<String, Permission>,
}

impl Default for RoleCatalogue {
    fn default() -> Self {
        RoleCatalogue::tis()
    }
}

impl RoleCatalogue {
    /// The built-in TIS catalogue.
    pub fn tis() -> Self {
        let permissions: BTreeMap<String, Permission> = tables::PERMISSIONS
            .iter()
            .map(|(name, kind, user, resource, actions)| {
                let permission = Permission {
                    name: (*name).to_owned(),
                    kind: (*kind).to_owned(),
                    policy: PermissionPolicy {
                        name: (*name).to_owned(),
                        principal: format!("{USER_PRINCIPAL}{user}"),
                        resource: (*resource).to_owned(),
                        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                        effect: Effect::Allow,
                    },
                };
                ((*name).to_owned(), permission)
            })
            .collect();
        let rows: BTreeMap<&str, &[&str]> = tables::ROLES.iter().copied().collect();
        let roles = rows
            .keys()
            .map(|role| {
                let mut granted = BTreeSet::new();
                expand(role, &rows, &mut granted, 0);
                ((*role).to_owned(), granted)
            })
            .collect();
        RoleCatalogue { roles, permissions }
    }

    /// Role names, sorted.
    pub fn role_names(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    /// The permission names a role grants.
    pub fn role(&self, name: &str) -> Option<&BTreeSet<String>> {
        self.roles.get(name)
    }

    /// One permission and its policy.
    pub fn permission(&self, name: &str) -> Option<&Permission> {
        self.permissions.get(name)
    }

    /// Every permission, sorted by name.
    pub fn permissions(&self) -> impl Iterator<Item = &Permission> {
        self.permissions.values()
    }

    /// The profile of `user_name` holding `roles`, as Profile's `/api/userinfo` assembled it:
    /// `permissions` is the union of the roles' permissions; `permissionPolicies` their
    /// policies plus any per-user policy naming this user.
    pub fn profile(&self, user_name: &str, roles: &[String], dbcs: &[String]) -> UserProfile {
        let mut profile = UserProfile::named(user_name);
        for role in roles {
            if let Some(granted) = self.roles.get(role) {
                profile.roles.insert(role.clone());
                profile.permissions.extend(granted.iter().cloned());
            }
        }
        let personal = format!("{USER_PRINCIPAL}{user_name}");
        profile.permission_policies = self
            .permissions
            .values()
            .filter(|p| profile.permissions.contains(&p.name) || p.policy.principal == personal)
            .map(|p| p.policy.clone())
            .collect();
        profile.designated_body_codes = dbcs
            .iter()
            .filter(|d| !d.trim().is_empty())
            .cloned()
            .collect();
        if profile.designated_body_codes.is_empty() {
            profile.designated_body_codes.insert("None".to_owned());
        }
        profile
    }

    /// The profile for a verified access token (see the module documentation).
    pub fn profile_for_claims(&self, claims: &AccessClaims) -> Result<UserProfile, ProfileError> {
        let user = claims
            .user_name()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ProfileError::NoProfile(String::new()))?;
        let mut profile = self.profile(user, claims.realm_roles(), &claims.dbc);
        profile.first_name = claims.given_name.clone();
        profile.last_name = claims.family_name.clone();
        profile.email_address = claims.email.clone();
        Ok(profile.with_full_name())
    }
}

/// Adds the permissions of `role` (following `@Role` includes) to `out`.
fn expand(role: &str, rows: &BTreeMap<&str, &[&str]>, out: &mut BTreeSet<String>, depth: u8) {
    let Some(members) = rows.get(role) else {
        return;
    };
    for member in members.iter() {
        match member.strip_prefix('@') {
            Some(included) if depth < 4 => expand(included, rows, out, depth + 1),
            Some(_) => {}
            None => {
                out.insert((*member).to_owned());
            }
        }
    }
}

impl ProfileSource for RoleCatalogue {
    fn profile<'a>(
        &'a self,
        _token: &'a str,
        claims: &'a AccessClaims,
    ) -> BoxFuture<'a, Result<ResolvedProfile, ProfileError>> {
        Box::pin(async move {
            Ok(ResolvedProfile {
                profile: self.profile_for_claims(claims)?,
                stale: false,
                // The roles are the token's own: they change with the token, not with time.
                fresh_for: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{AuthenticatedBy, Principal};

    #[test]
    fn every_role_member_names_a_known_permission_or_role() {
        let c = RoleCatalogue::tis();
        let roles: BTreeSet<&str> = tables::ROLES.iter().map(|(r, _)| *r).collect();
        for (role, members) in tables::ROLES {
            for m in members.iter() {
                match m.strip_prefix('@') {
                    Some(r) => assert!(roles.contains(r), "{role}: unknown role {r}"),
                    None => assert!(c.permission(m).is_some(), "{role}: unknown permission {m}"),
                }
            }
        }
        assert_eq!(
            tables::ROLES.len(),
            c.role_names().count(),
            "duplicate role rows"
        );
        assert_eq!(
            tables::PERMISSIONS.len(),
            c.permissions().count(),
            "duplicate permissions"
        );
    }

    #[test]
    fn hee_admin_sensitive_is_hee_admin_plus_sensitive_data() {
        let c = RoleCatalogue::tis();
        let admin = c.role("HEE Admin").expect("admin");
        let sensitive = c.role("HEE Admin Sensitive").expect("sensitive");
        assert!(sensitive.is_superset(admin));
        assert!(sensitive.contains("personsensitive:view:entities"));
        assert!(!admin.contains("personsensitive:view:entities"));
        assert!(!admin.contains("tcs:delete:entities"));
    }

    #[test]
    fn a_trust_observer_may_view_people_but_not_change_them() {
        let c = RoleCatalogue::tis();
        let profile = c.profile(
            "obs",
            &["HEE Trust Observer".into(), "uma_authorization".into()],
            &[],
        );
        assert_eq!(
            profile.roles.iter().collect::<Vec<_>>(),
            vec!["HEE Trust Observer"]
        );
        assert_eq!(
            profile.designated_body_codes.iter().collect::<Vec<_>>(),
            vec!["None"]
        );
        let p = Principal::new(profile, AuthenticatedBy::AccessToken);
        assert!(p.has_authority("tcs:view:entities"));
        assert!(p.has_permission("tis:people::person:", "View"));
        assert!(!p.has_permission("tis:people::person:", "Create"));
        assert!(!p.has_authority("reference:add:modify:entities"));
    }

    #[test]
    fn bulk_policies_apply_only_to_the_etl_user_they_name() {
        let c = RoleCatalogue::tis();
        let etl = Principal::new(
            c.profile("consolidated_etl", &["ETL".into()], &["1-AIIDWA".into()]),
            AuthenticatedBy::AccessToken,
        );
        assert!(etl.has_permission("tis:curricula:::", "Create"));
        let other = Principal::new(
            c.profile("gmc_etl", &["ETL".into()], &[]),
            AuthenticatedBy::AccessToken,
        );
        assert!(other.has_authority("curriculum:bulk:add:modify"));
        assert!(!other.has_permission("tis:curricula:::", "Create"));
        assert!(etl.has_role("ETL"));
    }

    #[test]
    fn the_profile_takes_names_and_dbcs_from_the_token() {
        let claims: AccessClaims = serde_json::from_value(serde_json::json!({
            "iss": "i", "aud": "a", "exp": 1, "preferred_username": "jdoe",
            "given_name": "Jane", "family_name": "Doe", "email": "j@d",
            "realm_access": {"roles": ["ReferenceAdmin"]}, "dbc": ["1-AIIDWA", "1-AIIDHJ"]
        }))
        .expect("claims");
        let p = RoleCatalogue::tis()
            .profile_for_claims(&claims)
            .expect("profile");
        assert_eq!(p.user_name, "jdoe");
        assert_eq!(p.full_name.as_deref(), Some("Jane Doe"));
        assert_eq!(p.designated_body_codes.len(), 2);
        assert!(p.permissions.contains("reference:add:modify:entities"));
    }
}
