//! What the endpoints answer, in the original's JSON names. Absent values are `null`, as
//! Jackson wrote them, never left out: clients of the original read these fields by name.

use std::collections::BTreeSet;

use serde::Serialize;
use tis_auth::principal::{AssignedProgramme, AssignedTrust};
use tis_auth::{PermissionPolicy, UserProfile};
use tis_core::paging::Page;
use utoipa::ToSchema;

use crate::domain::{HeeUser, Permission, Role, TraineeProfile, effect_name};

/// `/userinfo`: the `UserProfile` of DOMAIN §1.3, every field present.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoDto {
    pub user_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub gmc_id: Option<String>,
    pub phone_number: Option<String>,
    pub email_address: Option<String>,
    pub designated_body_codes: BTreeSet<String>,
    pub roles: BTreeSet<String>,
    pub permissions: BTreeSet<String>,
    #[schema(value_type = Vec<Object>)]
    pub permission_policies: Vec<PermissionPolicy>,
    #[schema(value_type = Vec<Object>)]
    pub assigned_trusts: Vec<AssignedTrust>,
    #[schema(value_type = Vec<Object>)]
    pub assigned_programmes: Vec<AssignedProgramme>,
}

impl From<UserProfile> for UserInfoDto {
    fn from(p: UserProfile) -> Self {
        UserInfoDto {
            user_name: p.user_name,
            first_name: p.first_name,
            last_name: p.last_name,
            full_name: p.full_name,
            gmc_id: p.gmc_id,
            phone_number: p.phone_number,
            email_address: p.email_address,
            designated_body_codes: p.designated_body_codes,
            roles: p.roles,
            permissions: p.permissions,
            permission_policies: p.permission_policies,
            assigned_trusts: p.assigned_trusts,
            assigned_programmes: p.assigned_programmes,
        }
    }
}

/// `PermissionDTO{name, type, description, principal, resource, actions[], effect}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PermissionDto {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: Option<String>,
    pub principal: String,
    pub resource: String,
    pub actions: Vec<String>,
    #[schema(value_type = String)]
    pub effect: &'static str,
}

impl From<&Permission> for PermissionDto {
    fn from(p: &Permission) -> Self {
        PermissionDto {
            name: p.name.clone(),
            kind: p.kind.clone(),
            description: p.description.clone(),
            principal: p.principal.clone(),
            resource: p.resource.clone(),
            actions: p.actions.clone(),
            effect: effect_name(p.effect),
        }
    }
}

/// `RoleDTO{name, permissions[PermissionDTO]}`, plus `restricted`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleDto {
    pub name: String,
    pub restricted: bool,
    pub permissions: Vec<PermissionDto>,
}

impl RoleDto {
    /// The role with the full records of its permissions (taken from `known`, by name).
    pub fn new(role: &Role, known: &[Permission]) -> Self {
        RoleDto {
            name: role.name.clone(),
            restricted: role.restricted,
            permissions: known
                .iter()
                .filter(|p| role.permissions.contains(&p.name))
                .map(PermissionDto::from)
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustDto {
    pub trust_id: i64,
    pub trust_code: Option<String>,
    pub trust_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgrammeDto {
    pub programme_id: i64,
    pub programme_name: Option<String>,
    pub programme_number: Option<String>,
}

/// `HeeUserDTO` (DOMAIN §1.2).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeeUserDto {
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub gmc_id: Option<String>,
    pub phone_number: Option<String>,
    pub email_address: Option<String>,
    pub active: bool,
    pub roles: Vec<RoleDto>,
    pub designated_body_codes: BTreeSet<String>,
    pub associated_trusts: Vec<TrustDto>,
    pub associated_programmes: Vec<ProgrammeDto>,
}

impl HeeUserDto {
    /// The user, with their roles as full records (from `roles` and `permissions`).
    pub fn new(user: &HeeUser, roles: &[Role], permissions: &[Permission]) -> Self {
        HeeUserDto {
            name: user.name.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            gmc_id: user.gmc_id.clone(),
            phone_number: user.phone_number.clone(),
            email_address: user.email_address.clone(),
            active: user.active,
            roles: roles
                .iter()
                .filter(|r| user.roles.contains(&r.name))
                .map(|r| RoleDto::new(r, permissions))
                .collect(),
            designated_body_codes: user.designated_body_codes.clone(),
            associated_trusts: user
                .trusts
                .iter()
                .map(|t| TrustDto {
                    trust_id: t.trust_id,
                    trust_code: t.trust_code.clone(),
                    trust_name: t.trust_name.clone(),
                })
                .collect(),
            associated_programmes: user
                .programmes
                .iter()
                .map(|p| ProgrammeDto {
                    programme_id: p.programme_id,
                    programme_name: p.programme_name.clone(),
                    programme_number: p.programme_number.clone(),
                })
                .collect(),
        }
    }
}

/// `BasicHeeUserDTO`: a user without roles, bodies, trusts or programmes.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicHeeUserDto {
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub gmc_id: Option<String>,
    pub email_address: Option<String>,
}

impl From<&HeeUser> for BasicHeeUserDto {
    fn from(u: &HeeUser) -> Self {
        BasicHeeUserDto {
            name: u.name.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            gmc_id: u.gmc_id.clone(),
            email_address: u.email_address.clone(),
        }
    }
}

/// `UserInfoResponse`: one user of `/users`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoResponse {
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: String,
    pub gmc_id: Option<String>,
    pub designated_body_codes: BTreeSet<String>,
    pub phone_number: Option<String>,
    pub email_address: Option<String>,
}

impl From<&HeeUser> for UserInfoResponse {
    fn from(u: &HeeUser) -> Self {
        UserInfoResponse {
            name: u.name.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            full_name: format!(
                "{} {}",
                u.first_name.as_deref().unwrap_or_default(),
                u.last_name.as_deref().unwrap_or_default()
            )
            .trim()
            .to_owned(),
            gmc_id: u.gmc_id.clone(),
            designated_body_codes: u.designated_body_codes.clone(),
            phone_number: u.phone_number.clone(),
            email_address: u.email_address.clone(),
        }
    }
}

/// A HAL link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Href {
    pub href: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SelfLink {
    #[serde(rename = "self")]
    pub this: Href,
}

/// `/users`: `{total, users, _links}` (a Spring HATEOAS resource with its self link).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserListResponse {
    pub total: usize,
    pub users: Vec<UserInfoResponse>,
    #[serde(rename = "_links")]
    pub links: SelfLink,
}

/// `TraineeProfileDto`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraineeDto {
    pub tis_id: i64,
    pub gmc_number: String,
    pub active: bool,
    pub designated_body_code: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_added: Option<String>,
}

impl From<&TraineeProfile> for TraineeDto {
    fn from(t: &TraineeProfile) -> Self {
        TraineeDto {
            tis_id: t.tis_id,
            gmc_number: t.gmc_number.clone(),
            active: t.active,
            designated_body_code: t.designated_body_code.clone(),
            date_added: t.date_added.map(|d| d.to_string()),
        }
    }
}

/// `TraineeIdListResponse`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraineeIdList {
    pub trainee_ids: Vec<TraineeDto>,
}

/// The original `PagedResponse{content, totalElements, totalPages}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PagedResponse<T> {
    pub content: Vec<T>,
    pub total_elements: u64,
    pub total_pages: u64,
}

impl<T> PagedResponse<T> {
    pub fn new(content: Vec<T>, page: Page, total: u64) -> Self {
        PagedResponse {
            content,
            total_elements: total,
            total_pages: page.total_pages(total),
        }
    }
}

/// A Spring Data `Page` as Jackson wrote it (the body of `GET /hee-users`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpringPage<T> {
    pub content: Vec<T>,
    pub total_elements: u64,
    pub total_pages: u64,
    pub size: u64,
    pub number: u64,
    pub number_of_elements: usize,
    pub first: bool,
    pub last: bool,
    pub empty: bool,
}

impl<T> SpringPage<T> {
    pub fn new(content: Vec<T>, page: Page, total: u64) -> Self {
        let total_pages = page.total_pages(total);
        SpringPage {
            first: page.number == 0,
            last: page.number.saturating_add(1) >= total_pages,
            number_of_elements: content.len(),
            empty: content.is_empty(),
            content,
            total_elements: total,
            total_pages,
            size: page.size,
            number: page.number,
        }
    }
}

/// What the document says a page of users is (`GET /hee-users`): a Spring `Page`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeeUserPage {
    pub content: Vec<HeeUserDto>,
    pub total_elements: u64,
    pub total_pages: u64,
    pub size: u64,
    pub number: u64,
    pub number_of_elements: usize,
    pub first: bool,
    pub last: bool,
    pub empty: bool,
}

/// What the document says a page of trainee mappings is: the original `PagedResponse`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraineeMappingsPage {
    pub content: Vec<TraineeDto>,
    pub total_elements: u64,
    pub total_pages: u64,
}
