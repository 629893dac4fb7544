//! `spawn_app()`: the real TCS on 127.0.0.1:0 with a fresh database (SQLite in a temporary
//! folder, or a new PostgreSQL database), and principals minted with a throwaway gateway key.

use tis_auth::UserProfile;
use tis_auth::principal::profile::{AssignedProgramme, AssignedTrust};
pub use tis_service_kit::testing::{BACKENDS, Backend, error_code};
use tis_tcs::TcsConfig;

/// The kit's test app, running TCS.
pub type TestApp = tis_service_kit::testing::TestApp;

pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut TcsConfig)) -> TestApp {
    TestApp::spawn(
        backend,
        tweak,
        |cfg| async move { tis_tcs::build(&cfg).await },
    )
    .await
}

/// TCS with `people` demo trainees loaded.
pub async fn spawn_with_people(backend: Backend, people: usize) -> TestApp {
    let app = spawn_with(backend, |c| c.max_page_size = 500).await;
    tis_tcs::demo::seed_with(&app.db, people)
        .await
        .expect("demo data");
    app
}

/// Who calls: a profile for TCS.
pub struct Caller {
    pub profile: UserProfile,
}

impl Caller {
    /// An HEE admin of `dbcs` who may view, create and update people.
    pub fn hee(dbcs: &[&str]) -> Caller {
        let mut profile = UserProfile::named("hee.admin");
        profile.designated_body_codes = dbcs.iter().map(|d| (*d).to_owned()).collect();
        profile.permission_policies = vec![people_policy(&["View", "Create", "Update"])];
        Caller { profile }
    }

    /// The ETL role: sees everything.
    pub fn etl() -> Caller {
        let mut c = Caller::hee(&[]);
        c.profile.roles.insert("ETL".into());
        c
    }

    /// A trust admin of trust `id`.
    pub fn trust_admin(id: i64) -> Caller {
        let mut c = Caller::hee(&["1-1RUZV6H"]);
        c.profile.assigned_trusts.push(AssignedTrust {
            id,
            trust_code: "RYJ".into(),
            trust_name: "Imperial".into(),
        });
        c
    }

    /// A programme observer of programme `id`.
    pub fn observer(id: i64) -> Caller {
        let mut c = Caller::hee(&["1-1RSSPZ7"]);
        c.profile.assigned_programmes.push(AssignedProgramme {
            id,
            programme_name: "GP".into(),
            programme_number: "EMD-GP-01".into(),
        });
        c
    }

    /// The caller, also granted the authorities `authorities` (`tcs:view:entities`…).
    pub fn granted(mut self, authorities: &[&str]) -> Caller {
        self.profile
            .permissions
            .extend(authorities.iter().map(|a| (*a).to_owned()));
        self
    }

    /// The principal for TCS.
    pub fn token(&self) -> String {
        tis_service_kit::testing::principal(self.profile.clone(), &["tcs", "reference"])
    }
}

fn people_policy(actions: &[&str]) -> tis_auth::PermissionPolicy {
    serde_json::from_value(serde_json::json!({
        "name": "person:view",
        "principal": "tis:profile::user:",
        "resource": "tis:people::person:",
        "actions": actions,
        "effect": "Allow"
    }))
    .expect("a policy")
}
