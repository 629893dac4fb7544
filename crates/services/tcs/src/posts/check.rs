//! The checks of a post write that need no database: the DTO's constraints (HEAD's
//! `@NotNull`/`@NotEmpty` on `owner`, `employingBodyId`, `trainingBodyId`, `programmes`,
//! `fundings`), the owner (as a programme's), the enumerations of the nested records, the
//! fundings' dates, the National Post Number's format. Each field error is named as the JSON
//! path, prefixed `[i].` in a list body.

use tis_core::FieldError;

use super::dto::{
    POST_GRADE_TYPES, POST_SITE_TYPES, POST_SPECIALTY_TYPES, PostDto, PostFundingDto,
};
use super::npn;
use crate::domain::owners;
use crate::domain::scope::Scope;

/// The field errors of `dto` (`prefix` before each field: `[2].` in a list body).
pub fn post(scope: &Scope, dto: &PostDto, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut err = |field: String, message: String| {
        errors.push(FieldError::new(format!("{prefix}{field}"), message))
    };
    match dto
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        None => err("owner".into(), "must not be null".into()),
        Some(owner) if !owners::is_owner(owner) => {
            err("owner".into(), format!("Unknown owner: {owner}"))
        }
        Some(owner) if !scope.may_own(owner) => err(
            "owner".into(),
            format!("You do not have permission to create or modify a post in the owner: {owner}"),
        ),
        Some(_) => {}
    }
    for (field, value) in [
        ("employingBodyId", dto.employing_body_id),
        ("trainingBodyId", dto.training_body_id),
    ] {
        if value.is_none() {
            err(field.into(), "must not be null".into());
        }
    }
    if dto.programmes.is_none() {
        err("programmes".into(), "must not be null".into());
    }
    for (i, p) in dto.programmes.iter().flatten().enumerate() {
        if p.id.is_none_or(|id| id < 0) {
            err(format!("programmes[{i}].id"), "must not be null".into());
        }
    }
    match dto.fundings.as_deref() {
        None | Some([]) => err("fundings".into(), "must not be empty".into()),
        Some(fundings) => {
            for (i, f) in fundings.iter().enumerate() {
                for (field, message) in funding(f) {
                    err(format!("fundings[{i}].{field}"), message);
                }
            }
        }
    }
    if let Some(suffix) = dto.suffix.as_deref()
        && !npn::SUFFIX_NAMES.contains(&suffix)
    {
        err(
            "suffix".into(),
            format!("must be one of {}", npn::SUFFIX_NAMES.join(", ")),
        );
    }
    match dto
        .national_post_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(number) => {
            if let Err(why) = npn::check(number) {
                err("nationalPostNumber".into(), why);
            }
        }
        None if dto.bypass_npn_generation => err(
            "nationalPostNumber".into(),
            "must not be null when bypassNPNGeneration is true".into(),
        ),
        None => {}
    }
    for (i, s) in dto.sites.iter().flatten().enumerate() {
        if s.site_id.is_none() {
            err(format!("sites[{i}].siteId"), "must not be null".into());
        }
        one_of(
            &mut err,
            format!("sites[{i}].postSiteType"),
            s.post_site_type.as_deref(),
            POST_SITE_TYPES,
        );
    }
    for (i, g) in dto.grades.iter().flatten().enumerate() {
        if g.grade_id.is_none() {
            err(format!("grades[{i}].gradeId"), "must not be null".into());
        }
        one_of(
            &mut err,
            format!("grades[{i}].postGradeType"),
            g.post_grade_type.as_deref(),
            POST_GRADE_TYPES,
        );
    }
    for (i, s) in dto.specialties.iter().flatten().enumerate() {
        if s.specialty.as_ref().and_then(|s| s.id).is_none() {
            err(
                format!("specialties[{i}].specialty"),
                "must name a specialty by id".into(),
            );
        }
        one_of(
            &mut err,
            format!("specialties[{i}].postSpecialtyType"),
            s.post_specialty_type.as_deref(),
            POST_SPECIALTY_TYPES,
        );
    }
    for (field, link) in [("oldPost", &dto.old_post), ("newPost", &dto.new_post)] {
        if let Some(l) = link
            && l.id.is_some()
            && l.id == dto.id
        {
            err(format!("{field}.id"), "a post cannot follow itself".into());
        }
    }
    errors
}

/// A type that must be one of `names` (required).
fn one_of(
    err: &mut impl FnMut(String, String),
    field: String,
    value: Option<&str>,
    names: &[&str],
) {
    match value {
        Some(v) if names.contains(&v) => {}
        _ => err(field, format!("must be one of {}", names.join(", "))),
    }
}

/// The field errors of one funding (fields unprefixed): `fundingType` and `startDate`
/// required, dates as dates, the end not before the start (HEAD's `PostFundingValidator`).
pub fn funding(f: &PostFundingDto) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if f.funding_type
        .as_deref()
        .is_none_or(|t| t.trim().is_empty())
    {
        errors.push(("fundingType".into(), "must not be null".into()));
    }
    let date = |field: &str, v: Option<&str>, errors: &mut Vec<(String, String)>| {
        let v = v?;
        let parsed = tis_service_kit::entity::validate::parse_date(v);
        if parsed.is_none() {
            errors.push((field.into(), "must be a date as YYYY-MM-DD".into()));
        }
        parsed
    };
    let start = date("startDate", f.start_date.as_deref(), &mut errors);
    let end = date("endDate", f.end_date.as_deref(), &mut errors);
    if f.start_date.is_none() {
        errors.push(("startDate".into(), "must not be null".into()));
    }
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        errors.push(("endDate".into(), "must not be before startDate".into()));
    }
    errors
}
