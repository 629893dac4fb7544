//! The data of the role catalogue.
//!
//! Permissions and their IAM policies are those of TIS-PROFILE's migrations
//! (`V4.1__Permission_migration.sql` and the files after it); roles and their permissions
//! follow DOMAIN §5. Entries marked `(inferred)` had no policy row in the sources read, and
//! take the resource of their area. Per-user policies name the user after
//! `tis:profile::user:`.

/// `(name, type, user the policy is for ("" = every user), resource, actions)`. All `Allow`.
pub(super) type PermissionRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const VIEW: &[&str] = &["View"];
const EDIT: &[&str] = &["Create", "Update"];
const CREATE: &[&str] = &["Create"];
const UPDATE: &[&str] = &["Update"];
const DELETE: &[&str] = &["Delete"];

#[rustfmt::skip]
pub(super) const PERMISSIONS: &[PermissionRow] = &[
    // TCS
    ("tcs:view:entities", "INTERNAL", "", "tis:tcs::entity:", VIEW),
    ("tcs:add:modify:entities", "INTERNAL", "", "tis:tcs::entity:", EDIT),
    ("tcs:delete:entities", "INTERNAL", "", "tis:tcs::entity:", DELETE),
    // People
    ("person:view", "PERSON", "", "tis:people::person:", VIEW),
    ("person:add:modify", "PERSON", "", "tis:people::person:", EDIT),
    ("person:bulk:add:modify", "PERSON", "consolidated_etl", "tis:people::person:", EDIT),
    ("person:view:programmeMembershipStatus", "PERSON", "", "tis:people::person:", VIEW), // (inferred)
    ("personsensitive:view:entities", "PERSON", "", "tis:people::person:", VIEW),
    ("personsensitive:add:modify:entities", "PERSON", "", "tis:people::person:", EDIT),
    ("qualification:view", "PERSON", "", "tis:tcs::qualification:", VIEW),
    ("qualification:add:modify", "PERSON", "", "tis:tcs::qualification:", EDIT),
    ("trainerapproval:view", "PERSON", "", "tis:tcs::trainerapproval:", VIEW),
    ("trainerapproval:add:modify", "PERSON", "", "tis:tcs::trainerapproval:", EDIT),
    ("trainee-formr:view", "PERSON", "", "tis:people::person:", VIEW),
    ("trainee-formr:delete", "PERSON", "", "tis:people::person:", UPDATE),
    ("trainee-support:view", "PERSON", "", "tis:people::person:", VIEW), // (inferred)
    ("trainee-support:modify", "PERSON", "", "tis:people::person:", UPDATE), // (inferred)
    ("trainee-support:move", "PERSON", "", "tis:people::person:", UPDATE),
    ("ltft:view", "PERSON", "", "tis:people::ltft:", VIEW),   // (inferred)
    ("ltft:modify", "PERSON", "", "tis:people::ltft:", UPDATE), // (inferred)
    // Programmes, curricula, specialties
    ("programme:view", "PCS", "", "tis:programmes::programme:", VIEW),
    ("programme:add:modify", "PCS", "", "tis:programmes::programme:", EDIT),
    ("programme:bulk:add:modify", "PCS", "consolidated_etl", "tis:programmes::programme:", EDIT),
    ("curriculum:view", "PCS", "", "tis:curricula:-:curriculum:", VIEW),
    ("curriculum:add:modify", "PCS", "", "tis:curricula:-:curriculum:", EDIT),
    ("curriculum:bulk:add:modify", "PCS", "consolidated_etl", "tis:curricula:::", EDIT),
    ("specialty:view", "PCS", "", "tis:specialties:-:specialty:", VIEW),
    ("specialty:add:modify", "PCS", "", "tis:specialties:-:specialty:", EDIT),
    ("specialty:bulk:add:modify", "PCS", "consolidated_etl", "tis:specialties::specialty:", EDIT),
    ("specialty-group:view", "PCS", "", "tis:specialty-groups:-:specialty-group:", VIEW),
    ("specialty-group:add:modify", "PCS", "", "tis:specialty-groups:-:specialty-group:", EDIT),
    ("specialty-group:bulk:add:modify", "PCS", "consolidated_etl", "tis:specialty-groups::specialty-group:", EDIT),
    // Posts and placements
    ("post:view", "POST", "", "tis:posts:-:post:", VIEW),
    ("post:add:modify", "POST", "", "tis:posts:-:post:", EDIT),
    ("post:bulk:add:modify", "POST", "consolidated_etl", "tis:posts:-:post:", EDIT),
    ("post:delete", "POST", "", "tis:posts:-:post:", DELETE), // (inferred)
    ("placement:approve", "PCS", "", "tis:placements::placement:", UPDATE),
    // Reference
    ("reference:add:modify:entities", "REFERENCE", "", "tis:references::reference:", EDIT),
    ("reference:delete:entities", "REFERENCE", "", "tis:references::reference:", DELETE),
    ("adminmenu:view:entities", "REFERENCE", "", "tis:reference::reference:", VIEW),
    ("adminmenu:add:modify:entities", "REFERENCE", "", "tis:reference::reference:", EDIT),
    // Profile
    ("profile:view:entities", "PROFILE", "", "tis:profiles::entity:", VIEW),
    ("profile:add:modify:entities", "PROFILE", "", "tis:profiles:-:profile:", EDIT),
    ("profile:delete:entities", "PROFILE", "", "tis:profiles:-:profile:", DELETE),
    ("profile:get:users", "PROFILE", "", "tis:profiles:-:profile:", VIEW),
    ("profile:get:ro:user", "PROFILE", "", "tis:profiles:-:ro-profile:", VIEW),
    ("profile:register:trainee", "PROFILE", "", "tis:profiles::trainee:", CREATE),
    ("profile:view:all:mappings", "PROFILE", "", "tis:profiles::mapping:", VIEW),
    ("heeuser:view", "PROFILE", "", "tis:profiles::heeuser:", VIEW), // (inferred)
    ("heeuser:add:modify", "PROFILE", "", "tis:profiles::heeuser:", EDIT), // (inferred)
    ("heeuser:delete", "PROFILE", "", "tis:profiles::heeuser:", DELETE), // (inferred)
    // Assessments
    ("assessment:view:entities", "ASSESSMENT", "", "tis:assessment:entity:", VIEW),
    ("assessment:add:modify:entities", "ASSESSMENT", "", "tis:assessment:entity:", EDIT),
    ("assessment:delete:entities", "ASSESSMENT", "", "tis:assessment:entity:", DELETE),
    ("assessment:bulk:add:modify:entities", "ASSESSMENT", "", "tis:assessment:entity:", EDIT),
    // Revalidation, concerns, connections
    ("revalidation:see:dbc:trainees", "REVALIDATION", "", "tis:revalidation:-:trainee:", VIEW),
    ("revalidation:see:dbc:report", "REVALIDATION", "", "tis:revalidation:-:report:", VIEW), // (inferred)
    ("revalidation:submit:to:gmc", "REVALIDATION", "", "tis:revalidation:-:recommendation:", &["SubmitGmc"]),
    ("revalidation:submit:on:behalf:of:ro", "REVALIDATION", "", "tis:revalidation:-:episode:", &["Submit"]),
    ("revalidation:submit:to:ro:review", "REVALIDATION", "", "tis:revalidation:-:recommendation:", &["SubmitRO"]),
    ("revalidation:assign:admin", "REVALIDATION", "", "tis:revalidation::admin:", &["Assign"]),
    ("revalidation:change:add:note", "REVALIDATION", "", "tis:revalidation::note:", EDIT),
    ("revalidation:manual:archive", "REVALIDATION", "", "tis:revalidation::revalidation:", &["Archive"]),
    ("revalidation:provide:recommendation", "REVALIDATION", "", "tis:revalidation::recommendation:", CREATE),
    ("revalidation:register:trainee", "REVALIDATION", "core_etl", "tis:revalidation::trainee:", EDIT),
    ("revalidation:data:sync", "REVALIDATION", "core_etl", "tis:revalidation::revalidation:", EDIT),
    ("concerns:see:dbc:concerns", "CONCERN", "", "tis:concerns:-:concern:", VIEW),
    ("concerns:change:add:concern", "CONCERN", "", "tis:concerns:-:concern:", EDIT),
    ("concerns:see:trainee:concerns", "CONCERN", "", "tis:concerns:-:trainee-concern:", VIEW),
    ("concerns:register:trainee", "CONCERN", "", "tis:concerns:-:trainee:", CREATE),
    ("concerns:data:sync", "CONCERN", "core_etl", "tis:concerns:::", EDIT),
    ("connection:discrepancies:view", "CONNECTION", "", "tis:connection-discrepancies:-:connection-discrepancy:", VIEW),
    ("connection:discrepancies:manage", "CONNECTION", "", "tis:connection-discrepancies:-:connection-discrepancy:", EDIT),
    // Other
    ("documentmanager:view:entities", "DOCUMENT", "", "tis:documents::document:", VIEW), // (inferred)
    ("documentmanager:add:modify:entities", "DOCUMENT", "", "tis:documents::document:", EDIT), // (inferred)
    ("notification:change:add:notification", "NOTIFICATION", "", "tis:notifications:-:notification:", CREATE),
    ("sync:run:jobs", "INTERNAL", "", "tis:sync::job:", CREATE), // (inferred)
];

/// `(role, members)`: a member is a permission name, or `@Role` to include another role.
pub(super) type RoleRow = (&'static str, &'static [&'static str]);

#[rustfmt::skip]
const ADMIN_CORE: &[&str] = &[
    "tcs:view:entities", "tcs:add:modify:entities",
    "person:view", "person:add:modify", "post:view", "post:add:modify",
    "programme:view", "programme:add:modify", "curriculum:view", "curriculum:add:modify",
    "specialty:view", "specialty:add:modify", "specialty-group:view", "specialty-group:add:modify",
    "qualification:view", "qualification:add:modify", "trainerapproval:view", "trainerapproval:add:modify",
    "assessment:view:entities", "assessment:add:modify:entities",
    "documentmanager:view:entities", "documentmanager:add:modify:entities",
    "placement:approve", "trainee-formr:view",
];

#[rustfmt::skip]
const VIEWS: &[&str] = &[
    "tcs:view:entities", "person:view", "post:view", "programme:view", "curriculum:view",
    "specialty:view", "specialty-group:view",
];

#[rustfmt::skip]
const REVALIDATION: &[&str] = &[
    "revalidation:see:dbc:trainees", "revalidation:see:dbc:report", "revalidation:assign:admin",
    "revalidation:change:add:note", "revalidation:manual:archive",
    "revalidation:provide:recommendation", "revalidation:submit:to:ro:review",
    "concerns:see:dbc:concerns", "concerns:change:add:concern", "concerns:see:trainee:concerns",
];

#[rustfmt::skip]
pub(super) const ROLES: &[RoleRow] = &[
    ("HEE Admin", ADMIN_CORE),
    ("HEE Admin Sensitive", &["@HEE Admin", "personsensitive:view:entities",
        "personsensitive:add:modify:entities", "tcs:delete:entities", "assessment:delete:entities"]),
    ("HEE Admin Revalidation", &["@HEE Admin", "@RVAdmin", "@ConnectionDiscrepanciesManager",
        "revalidation:submit:on:behalf:of:ro", "revalidation:submit:to:gmc",
        "profile:get:users", "profile:get:ro:user", "tcs:delete:entities",
        "assessment:delete:entities", "post:delete"]),
    ("HEE Trust Admin", &["tcs:view:entities", "tcs:add:modify:entities", "tcs:delete:entities",
        "person:view", "person:add:modify", "post:view", "programme:view", "curriculum:view",
        "specialty:view"]),
    ("HEE Trust Observer", &["tcs:view:entities", "person:view", "post:view", "programme:view",
        "curriculum:view", "specialty:view"]),
    ("HEE Programme Admin", &["tcs:view:entities", "tcs:add:modify:entities", "person:view",
        "person:add:modify", "person:view:programmeMembershipStatus", "post:view",
        "programme:view", "curriculum:view", "specialty:view", "qualification:view"]),
    ("HEE Programme Observer", &["tcs:view:entities", "person:view",
        "person:view:programmeMembershipStatus", "post:view", "programme:view",
        "curriculum:view", "specialty:view", "trainee-formr:view"]),
    ("HEE TIS Admin", &["documentmanager:view:entities", "documentmanager:add:modify:entities",
        "notification:change:add:notification", "placement:approve", "qualification:view",
        "qualification:add:modify", "trainerapproval:view", "trainerapproval:add:modify",
        "trainee-formr:view"]),
    ("HEE User Admin", &["heeuser:view", "heeuser:add:modify", "heeuser:delete"]),
    ("HEE User Observer", &["heeuser:view"]),
    ("HEE", &["tcs:view:entities"]),
    ("TcsAdmin", &["@TcsObserver", "tcs:add:modify:entities", "tcs:delete:entities"]),
    ("TcsObserver", VIEWS),
    ("PersonAdmin", &["person:view", "person:add:modify", "tcs:view:entities",
        "tcs:add:modify:entities", "qualification:view", "qualification:add:modify"]),
    ("PPAdmin", &["post:view", "post:add:modify", "post:delete", "tcs:view:entities",
        "tcs:add:modify:entities", "tcs:delete:entities"]),
    ("PPObserver", &["post:view", "tcs:view:entities"]),
    ("PCSAdmin", &["programme:view", "programme:add:modify", "curriculum:view",
        "curriculum:add:modify", "specialty:view", "specialty:add:modify",
        "specialty-group:view", "specialty-group:add:modify"]),
    ("PCSObserver", &["programme:view", "curriculum:view", "specialty:view", "specialty-group:view"]),
    ("ReferenceAdmin", &["reference:add:modify:entities", "reference:delete:entities",
        "adminmenu:view:entities", "adminmenu:add:modify:entities"]),
    ("ProfileAdmin", &["profile:view:entities", "profile:add:modify:entities", "profile:delete:entities"]),
    ("ProfileObserver", &["profile:view:entities"]),
    ("AssessmentsAdmin", &["assessment:view:entities", "assessment:add:modify:entities",
        "assessment:delete:entities"]),
    ("BulkUploadAdmin", &["person:add:modify", "post:add:modify", "tcs:add:modify:entities",
        "assessment:bulk:add:modify:entities", "placement:approve", "qualification:add:modify",
        "trainerapproval:add:modify"]),
    ("PostDelete", &["post:delete"]),
    ("RVAdmin", REVALIDATION),
    ("RVOfficer", &["@RVAdmin", "revalidation:submit:to:gmc", "revalidation:submit:on:behalf:of:ro"]),
    ("RVManager", &["@RVAdmin", "revalidation:submit:on:behalf:of:ro"]),
    ("RVObserver", &["revalidation:see:dbc:trainees", "revalidation:see:dbc:report",
        "concerns:see:dbc:concerns"]),
    ("ConcernsAdmin", &["concerns:see:dbc:concerns", "concerns:change:add:concern",
        "concerns:see:trainee:concerns"]),
    ("ConcernsObserver", &["concerns:see:dbc:concerns", "concerns:see:trainee:concerns"]),
    ("ConnectionDiscrepanciesManager", &["connection:discrepancies:view", "connection:discrepancies:manage"]),
    ("ETL", &["tcs:view:entities", "tcs:add:modify:entities", "person:view", "person:add:modify",
        "person:bulk:add:modify", "post:view", "post:add:modify", "post:bulk:add:modify",
        "programme:view", "programme:add:modify", "programme:bulk:add:modify",
        "curriculum:view", "curriculum:add:modify", "curriculum:bulk:add:modify",
        "specialty:view", "specialty:add:modify", "specialty:bulk:add:modify",
        "specialty-group:view", "specialty-group:add:modify", "specialty-group:bulk:add:modify",
        "assessment:bulk:add:modify:entities", "reference:add:modify:entities",
        "revalidation:data:sync", "revalidation:register:trainee", "concerns:data:sync",
        "concerns:register:trainee", "profile:register:trainee", "profile:view:all:mappings"]),
    ("ESR", &["tcs:view:entities", "person:view", "post:view", "programme:view",
        "curriculum:view", "qualification:view", "profile:view:entities"]),
    ("Machine User", &["sync:run:jobs"]),
    ("TSS Support Admin", &["trainee-support:view", "trainee-support:modify",
        "trainee-formr:view", "trainee-formr:delete"]),
    ("TSS Data Admin", &["trainee-support:view", "trainee-support:move"]),
    ("NHSE LTFT Admin", &["ltft:view", "ltft:modify"]),
];
