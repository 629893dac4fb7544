//! The demo users: one Profile user for each identity of the development IdP's demo realm
//! (`tis_idp::realm::demo`, realm `lin`), with the same names, roles and designated bodies,
//! plus a few that tests and `tis up` users need (an administrator of Profile itself, a
//! Responsible Officer, the per-user-policy ETL user, an inactive user, one without roles).
//!
//! The IdP's lists are repeated here rather than imported (the IdP is not a production
//! dependency); a test checks they agree.

/// A trust: (Reference id, code, name).
pub type Trust = (i64, &'static str, &'static str);
/// A programme: (TCS id, name, number).
pub type Programme = (i64, &'static str, &'static str);

/// Every designated body the admin users get: the IdP demo realm's `ALL_DBCS`.
pub const ALL_DBCS: &[&str] = &[
    "1-AIIDWA",
    "1-AIIDVS",
    "1-AIIDWI",
    "1-AIIDR8",
    "1-AIIDHJ",
    "1-1RSSPZ7",
    "1-1RSSQ05",
    "1-1RSSQ1B",
    "1-1RSSQ6R",
    "1-1RSG4X0",
    "1-1RUZUYF",
    "1-1RUZUVB",
    "1-1RSSQ2H",
    "1-25U-830",
];

/// The trust admin's designated body (the IdP's `TRUST_ADMIN_DBC`): North West London.
pub const TRUST_ADMIN_DBC: &str = "1-AIIDWA";
/// The trust admin's trust: Imperial College Healthcare (`RYJ`), a North West London trust of
/// the Reference demo data, with the id Reference's demo seed gives it (trusts are inserted
/// in order into an empty table; RYJ is the third).
pub const TRUST_ADMIN_TRUST: Trust = (3, "RYJ", "Imperial College Healthcare NHS Trust");
/// The programme observer's designated body (the IdP's `OBSERVER_DBC`): East Midlands.
pub const OBSERVER_DBC: &str = "1-1RSSPZ7";
/// The programme observer's programme. TCS has no demo data yet; its seed should create a
/// programme with this id, name and number.
pub const OBSERVER_PROGRAMME: Programme = (1, "General Practice East Midlands", "EMD-GP-01");
/// The user the `etl` client's tokens name (Keycloak's `service-account-<client id>`).
pub const ETL_USER: &str = "service-account-etl";

/// One demo user.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    pub name: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub gmc_id: Option<&'static str>,
    pub active: bool,
    pub roles: &'static [&'static str],
    pub dbcs: &'static [&'static str],
    pub trusts: &'static [Trust],
    pub programmes: &'static [Programme],
}

const fn user(
    name: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    roles: &'static [&'static str],
    dbcs: &'static [&'static str],
) -> DemoUser {
    DemoUser {
        name,
        first_name,
        last_name,
        gmc_id: None,
        active: true,
        roles,
        dbcs,
        trusts: &[],
        programmes: &[],
    }
}

pub const USERS: &[DemoUser] = &[
    // The identities of the IdP's demo realm.
    user("admin", "Demo", "Admin", &["HEE Admin"], ALL_DBCS),
    user(
        "sensitive",
        "Demo",
        "Sensitive",
        &["HEE Admin Sensitive"],
        ALL_DBCS,
    ),
    DemoUser {
        trusts: &[TRUST_ADMIN_TRUST],
        ..user(
            "trust.admin",
            "Demo",
            "Trust Admin",
            &["HEE Trust Admin"],
            &[TRUST_ADMIN_DBC],
        )
    },
    DemoUser {
        programmes: &[OBSERVER_PROGRAMME],
        ..user(
            "observer",
            "Demo",
            "Observer",
            &["HEE Programme Observer"],
            &[OBSERVER_DBC],
        )
    },
    user(ETL_USER, "ETL", "Service Account", &["ETL"], &[]),
    // For tests and local administration.
    user(
        "profile.admin",
        "Demo",
        "Profile Admin",
        &["ProfileAdmin"],
        ALL_DBCS,
    ),
    user(
        "reval.admin",
        "Demo",
        "Revalidation Admin",
        &["HEE Admin Revalidation"],
        &[TRUST_ADMIN_DBC],
    ),
    DemoUser {
        gmc_id: Some("7000001"),
        ..user(
            "ro.officer",
            "Demo",
            "Responsible Officer",
            &["RVOfficer"],
            &[TRUST_ADMIN_DBC],
        )
    },
    user("consolidated_etl", "Consolidated", "ETL", &["ETL"], &[]),
    DemoUser {
        active: false,
        ..user(
            "inactive.admin",
            "Former",
            "Admin",
            &["HEE Admin"],
            ALL_DBCS,
        )
    },
    user("no.roles", "Demo", "No Roles", &[], &[TRUST_ADMIN_DBC]),
];

/// Roles that user administrators may not hand out (UMS hides them): the machine accounts'
/// roles and those granting sensitive data, revalidation sign-off or Profile administration.
/// (The original's list is not in the sources read; this one is ours.)
pub const RESTRICTED_ROLES: &[&str] = &[
    "ETL",
    "ESR",
    "Machine User",
    "HEE Admin Sensitive",
    "RVOfficer",
    "ProfileAdmin",
];
