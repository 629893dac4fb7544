//! `spawn_with()`: the real TCS on 127.0.0.1:0 with a fresh database (SQLite in a temporary
//! folder, or a new PostgreSQL database), and principals minted with a throwaway gateway key;
//! `spawn_with_reference()` with a real Reference instance to check Reference data against
//! (`start_reference()`: in-process, demo data).

use std::net::SocketAddr;
use std::time::Duration;

use tis_auth::UserProfile;
use tis_auth::principal::profile::{AssignedProgramme, AssignedTrust};
use tis_reference_client::ReferenceClient;
pub use tis_service_kit::testing::{BACKENDS, Backend, error_code};
use tis_tcs::TcsConfig;
use tis_tcs::config::DiscoveryConfig;

/// The kit's test app, running TCS (it keeps its Reference client).
pub type TestApp = tis_service_kit::testing::TestApp<ReferenceClient>;

/// TCS with no Reference (a write naming Reference data is a 503), `tweak` applied.
pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut TcsConfig)) -> TestApp {
    spawn_with_reference(backend, Vec::new(), tweak).await
}

/// TCS with Reference at `reference`, `tweak` applied.
pub async fn spawn_with_reference(
    backend: Backend,
    reference: Vec<SocketAddr>,
    tweak: impl FnOnce(&mut TcsConfig),
) -> TestApp {
    TestApp::spawn(
        backend,
        |c: &mut TcsConfig| {
            c.reference.discovery = DiscoveryConfig::Static { addrs: reference };
            c.reference.mesh.per_try_timeout = Duration::from_secs(2);
            // no background writes beside a test's own (tests::day turns the day itself)
            c.day_turn = false;
            tweak(c);
        },
        |cfg| async move { tis_tcs::build(&cfg).await },
    )
    .await
}

/// A running Reference with its demo data, trusting the same gateway key.
#[allow(dead_code)] // until the first write that checks Reference data
pub type TestReference = tis_service_kit::testing::TestApp;

/// Starts Reference with its demo data, on SQLite.
#[allow(dead_code)]
pub async fn start_reference() -> TestReference {
    let reference = TestReference::spawn(
        Backend::Sqlite,
        |_: &mut tis_reference::ReferenceConfig| {},
        |cfg| async move { tis_reference::build(&cfg).await },
    )
    .await;
    tis_reference::demo::seed(&reference.db)
        .await
        .expect("reference demo data");
    reference
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

/// `method path` as `token`, with a JSON `body`: the status, the headers and the JSON body
/// (`Null` when empty).
#[allow(dead_code)]
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut req = app.request(method, path, Some(token));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

/// One value of a query on the app's database (`SELECT … AS n`).
#[allow(dead_code)]
pub async fn db_value(app: &TestApp, sql: &str) -> serde_json::Value {
    let row = app
        .db
        .write()
        .fetch_one(tis_store::Sql::new(sql))
        .await
        .expect("query");
    row.get("n").cloned().unwrap_or(serde_json::Value::Null)
}

/// TCS with `people` demo trainees loaded and Reference at `reference`, `tweak` applied.
#[allow(dead_code)]
pub async fn spawn_with_people_and_reference(
    backend: Backend,
    people: usize,
    reference: Vec<SocketAddr>,
    tweak: impl FnOnce(&mut TcsConfig),
) -> TestApp {
    let app = spawn_with_reference(backend, reference, |c| {
        c.max_page_size = 500;
        tweak(c);
    })
    .await;
    tis_tcs::demo::seed_with(&app.db, people)
        .await
        .expect("demo data");
    app
}

#[allow(dead_code)]
impl Caller {
    /// The caller, also allowed `actions` on the permission resource `resource`
    /// (`tis:tcs::qualification:`).
    pub fn allowed(mut self, resource: &str, actions: &[&str]) -> Caller {
        self.profile.permission_policies.push(
            serde_json::from_value(serde_json::json!({
                "name": resource,
                "principal": "tis:profile::user:",
                "resource": resource,
                "actions": actions,
                "effect": "Allow"
            }))
            .expect("a policy"),
        );
        self
    }

    /// The caller without any permission policy (nor any authority).
    pub fn without_policies(mut self) -> Caller {
        self.profile.permission_policies.clear();
        self.profile.permissions.clear();
        self
    }
}
