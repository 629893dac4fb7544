//! The wire DTOs, each declared once together with its descriptor (see
//! [`tis_service_kit::entity!`]).
//!
//! `with_every_entity!` names every entity type once, in dependency order (a referenced
//! type before the types that refer to it); the DDL, the routes and the OpenAPI document are
//! all built from it, so a type cannot be served without a table or documented without a
//! route.

mod lookups;
mod rich;

pub use lookups::*;
pub use rich::*;

use crate::domain::{Descriptor, Entity};

/// Invokes `$callback! { T1, T2, … }` with every entity DTO type.
macro_rules! with_every_entity {
    ($callback:ident) => {
        $callback! {
            OrganizationTypeDto, SiteDto, TrustDto, GradeDto, DbcDto, LocalOfficeDto,
            LocalOfficeContactTypeDto, LocalOfficeContactDto, CountryDto, NationalityDto, CollegeDto,
            RoleCategoryDto, RoleDto, FundingTypeDto, FundingSubTypeDto, FundingReasonDto,
            TariffRateDto, RotationDto, EthnicOriginDto, AssessmentTypeDto, CurriculumSubTypeDto,
            FundingIssueDto, GdcStatusDto, GmcStatusDto, GenderDto, InactiveReasonDto,
            LeavingDestinationDto, LeavingReasonDto, MaritalStatusDto, MedicalSchoolDto, PermitToWorkDto,
            PlacementTypeDto, ProgrammeMembershipTypeDto, QualificationReferenceDto,
            QualificationTypeDto, RecordTypeDto, ReligiousBeliefDto, SettledDto,
            SexualOrientationDto, StatusDto, TitleDto, TrainingNumberTypeDto, ConcernSourceDto,
            ConcernTypeDto, ConnectionSourceDto
        }
    };
}
pub(crate) use with_every_entity;

macro_rules! descriptors {
    ($($t:ident),* $(,)?) => {
        vec![$(<$t as Entity>::desc()),*]
    };
}

/// Every entity's descriptor, referenced types first, and the kit's JSON-patch store (the
/// original's `/jsonPatches`, whose table is Reference's like the rest).
pub fn all() -> Vec<&'static Descriptor> {
    let mut all = with_every_entity!(descriptors);
    all.push(&tis_service_kit::http::json_patch::JSON_PATCH);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kind;
    use std::collections::HashSet;
    use tis_service_kit::entity::ddl::{
        check_data_version_migration, check_migration, check_search_migration,
    };
    use tis_store::Backend;

    #[test]
    fn migrations_match_the_descriptors_on_sqlite() {
        check_migration(
            &all(),
            Backend::Sqlite,
            env!("CARGO_MANIFEST_DIR"),
            "migrations/sqlite/0001_reference.sql",
        );
    }

    #[test]
    fn migrations_match_the_descriptors_on_postgres() {
        check_migration(
            &all(),
            Backend::Postgres,
            env!("CARGO_MANIFEST_DIR"),
            "migrations/postgres/0001_reference.sql",
        );
    }

    #[test]
    fn search_migrations_match_the_descriptors() {
        for (backend, file) in [
            (Backend::Sqlite, "migrations/sqlite/0002_search.sql"),
            (Backend::Postgres, "migrations/postgres/0002_search.sql"),
        ] {
            check_search_migration(&all(), backend, env!("CARGO_MANIFEST_DIR"), file);
        }
    }

    #[test]
    fn data_version_migrations_match_the_descriptors() {
        for (backend, file) in [
            (Backend::Sqlite, "migrations/sqlite/0003_data_version.sql"),
            (
                Backend::Postgres,
                "migrations/postgres/0003_data_version.sql",
            ),
        ] {
            check_data_version_migration(&all(), backend, env!("CARGO_MANIFEST_DIR"), file);
        }
    }

    #[test]
    fn plurals_and_tables_are_unique_and_references_come_first() {
        let all = all();
        let plurals: HashSet<_> = all.iter().map(|d| d.plural).collect();
        let tables: HashSet<_> = all.iter().map(|d| d.table).collect();
        assert_eq!(plurals.len(), all.len());
        assert_eq!(tables.len(), all.len());
        for (i, d) in all.iter().enumerate() {
            for f in d.fields {
                if let Kind::Ref(target) = f.kind {
                    let at = all
                        .iter()
                        .position(|x| std::ptr::eq(*x, target))
                        .expect("referenced type is listed");
                    assert!(
                        at < i,
                        "{} refers to {} listed after it",
                        d.name,
                        target.name
                    );
                }
            }
            if let Some(code) = d.code {
                assert!(
                    d.field(code).is_some(),
                    "{}: code {code} is a field",
                    d.name
                );
            }
        }
        assert!(all.len() >= 40, "{} entity types", all.len());
    }
}
