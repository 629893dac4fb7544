//! The principal: who is calling and what they may do, and the `TIS-Principal` token that
//! carries it from the gateway to the services (ARCHITECTURE §4, failure F4).
//!
//! The gateway resolves the caller's profile once, at the edge, and mints a short-lived
//! (≤ 60 s) Ed25519-signed token; services verify it with the gateway's public key(s) and
//! never call Profile per request.
//!
//! Permission checks reproduce the old Spring expressions:
//! - `hasAuthority('tcs:view:entities')` → [`Principal::has_authority`]: the permission name
//!   is in the profile's `permissions`;
//! - `hasPermission('tis:people::person:', 'View')` → [`Principal::has_permission`], over
//!   `permissionPolicies`: a policy applies when its `principal` is `tis:profile::user:`
//!   (everyone) or `tis:profile::user:<this user>`, the requested resource starts with its
//!   `resource` (so `tis:people::person:` covers `tis:people::person:42`; a trailing `*` is
//!   read the same way), and its `actions` name the action (or `*`). Any applicable `Deny`
//!   wins; otherwise any applicable `Allow` grants; otherwise no.

pub mod keyfile;
pub mod profile;
pub mod token;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::AuthError;

pub use profile::{AssignedProgramme, AssignedTrust, Effect, PermissionPolicy, UserProfile};
pub use token::{PrincipalClaims, PrincipalSigner, PrincipalVerifier};

/// The header carrying the principal token.
pub const PRINCIPAL_HEADER: &str = "tis-principal";

/// The principal prefix of policies that apply to every user.
const ANY_USER: &str = "tis:profile::user:";

/// How the caller was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticatedBy {
    /// A `TIS-Principal` token minted by the gateway.
    Gateway,
    /// An identity-provider access token, verified by this process (a batch job calling a
    /// service directly).
    AccessToken,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Shared: a principal is cloned per request from the verified-principal cache.
    pub profile: Arc<UserProfile>,
    /// The profile was served from stale data (Profile unreachable).
    pub stale: bool,
    /// Degradations to propagate (`idp`, `profile-stale`, …): names, as the token carries
    /// them (a newer gateway may send one this build does not know).
    pub degraded: Vec<String>,
    pub by: AuthenticatedBy,
    /// The principal token as received, to forward on service-to-service calls.
    pub token: Option<Arc<str>>,
}

impl Principal {
    pub fn new(profile: UserProfile, by: AuthenticatedBy) -> Self {
        Principal {
            profile: Arc::new(profile),
            stale: false,
            degraded: Vec::new(),
            by,
            token: None,
        }
    }

    /// Adds a degradation to propagate with this principal, once.
    pub fn mark_degraded(&mut self, what: tis_core::Degradation) {
        if !self.degraded.iter().any(|d| d == what.as_str()) {
            self.degraded.push(what.as_str().to_owned());
        }
    }

    pub fn user_name(&self) -> &str {
        &self.profile.user_name
    }

    /// `hasAuthority(name)`.
    pub fn has_authority(&self, name: &str) -> bool {
        self.profile.permissions.contains(name)
    }

    /// `hasRole(name)` (only `ETL` and `ESR` were ever checked this way).
    pub fn has_role(&self, name: &str) -> bool {
        self.profile.roles.contains(name)
    }

    /// `hasPermission(resource, action)` (see the module documentation).
    pub fn has_permission(&self, resource: &str, action: &str) -> bool {
        let mut allowed = false;
        for policy in &self.profile.permission_policies {
            if !self.policy_applies(policy, resource, action) {
                continue;
            }
            match policy.effect {
                Effect::Deny => return false,
                Effect::Allow => allowed = true,
            }
        }
        allowed
    }

    /// `Err(Forbidden)` unless [`has_authority`](Self::has_authority).
    pub fn require_authority(&self, name: &str) -> Result<(), AuthError> {
        if self.has_authority(name) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(name.to_owned()))
        }
    }

    /// `Err(Forbidden)` unless [`has_permission`](Self::has_permission).
    pub fn require_permission(&self, resource: &str, action: &str) -> Result<(), AuthError> {
        if self.has_permission(resource, action) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(format!("{resource} {action}")))
        }
    }

    fn policy_applies(&self, policy: &PermissionPolicy, resource: &str, action: &str) -> bool {
        let for_user = policy.principal == ANY_USER
            || policy
                .principal
                .strip_prefix(ANY_USER)
                .is_some_and(|user| user == self.profile.user_name);
        let prefix = policy.resource.trim_end_matches('*');
        let on_resource = !prefix.is_empty() && resource.starts_with(prefix);
        let for_action = policy.actions.iter().any(|a| a == action || a == "*");
        for_user && on_resource && for_action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(
        name: &str,
        principal: &str,
        resource: &str,
        actions: &[&str],
        effect: Effect,
    ) -> PermissionPolicy {
        PermissionPolicy {
            name: name.into(),
            principal: principal.into(),
            resource: resource.into(),
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            effect,
        }
    }

    fn principal(policies: Vec<PermissionPolicy>) -> Principal {
        let mut profile = UserProfile::named("jdoe");
        profile.permissions.insert("person:view".into());
        profile.permission_policies = policies;
        Principal::new(profile, AuthenticatedBy::Gateway)
    }

    #[test]
    fn has_authority_checks_permission_names() {
        let p = principal(vec![]);
        assert!(p.has_authority("person:view"));
        assert!(!p.has_authority("person:add:modify"));
        assert_eq!(
            p.require_authority("tcs:view:entities")
                .unwrap_err()
                .to_http()
                .message,
            "missing permission `tcs:view:entities`"
        );
    }

    #[test]
    fn has_permission_matches_resource_prefixes_and_actions() {
        let p = principal(vec![policy(
            "person:view",
            "tis:profile::user:",
            "tis:people::person:",
            &["View"],
            Effect::Allow,
        )]);
        assert!(p.has_permission("tis:people::person:", "View"));
        assert!(p.has_permission("tis:people::person:42", "View"));
        assert!(!p.has_permission("tis:people::person:", "Create"));
        assert!(!p.has_permission("tis:posts:-:post:", "View"));
        assert!(!p.has_permission("tis:people::", "View"));
    }

    #[test]
    fn deny_wins_over_allow() {
        let p = principal(vec![
            policy(
                "a",
                "tis:profile::user:",
                "tis:people::person:",
                &["View", "Update"],
                Effect::Allow,
            ),
            policy(
                "d",
                "tis:profile::user:",
                "tis:people::person:",
                &["Update"],
                Effect::Deny,
            ),
        ]);
        assert!(p.has_permission("tis:people::person:", "View"));
        assert!(!p.has_permission("tis:people::person:", "Update"));
    }

    #[test]
    fn a_policy_for_another_user_does_not_apply() {
        let p = principal(vec![policy(
            "person:bulk:add:modify",
            "tis:profile::user:consolidated_etl",
            "tis:people::person:",
            &["Create", "Update"],
            Effect::Allow,
        )]);
        assert!(!p.has_permission("tis:people::person:", "Create"));
        let mut etl = p.clone();
        Arc::make_mut(&mut etl.profile).user_name = "consolidated_etl".into();
        assert!(etl.has_permission("tis:people::person:", "Create"));
    }

    #[test]
    fn an_empty_resource_never_matches_everything() {
        let p = principal(vec![policy(
            "x",
            "tis:profile::user:",
            "*",
            &["*"],
            Effect::Allow,
        )]);
        assert!(!p.has_permission("tis:people::person:", "View"));
    }
}
