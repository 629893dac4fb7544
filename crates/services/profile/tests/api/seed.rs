//! The demo data: the whole role catalogue, idempotent, in step with the IdP's demo realm and
//! with Reference's demo trusts.

use std::collections::BTreeSet;

use tis_auth::RoleCatalogue;
use tis_profile::demo::{self, ALL_DBCS, OBSERVER_DBC, TRUST_ADMIN_DBC, TRUST_ADMIN_TRUST};
use tis_profile::repo::Repo;
use tis_store::{Db, DbConfig, Sql};

use crate::helpers::*;

async fn migrated(backend: Backend, dir: &tempfile::TempDir) -> Db {
    let url = database_url(backend, dir, "seed.db").await;
    let db = Db::connect(&DbConfig {
        url,
        ..DbConfig::default()
    })
    .expect("db");
    db.migrate(tis_profile::migrations())
        .await
        .expect("migrate");
    db
}

#[tokio::test]
async fn the_migrations_hold_every_catalogue_role_and_permission_and_the_seed_only_users() {
    for b in BACKENDS {
        let dir = tempfile::tempdir().expect("tempdir");
        // Migrated, no demo data (production): the whole catalogue is there already, or no
        // user could ever be given a role.
        let db = migrated(b, &dir).await;

        let catalogue = RoleCatalogue::tis();
        let repo = Repo::new(db.clone());
        let role_names: Vec<String> = catalogue.role_names().map(str::to_owned).collect();
        let roles = repo.roles_named(&role_names).await.expect("roles");
        assert_eq!(roles.len(), role_names.len());
        for role in &roles {
            assert_eq!(
                Some(&role.permissions),
                catalogue.role(&role.name),
                "{b:?} {}",
                role.name
            );
        }
        let names: Vec<String> = catalogue.permissions().map(|p| p.name.clone()).collect();
        let stored = repo.permissions_named(&names).await.expect("permissions");
        assert_eq!(stored.len(), names.len());
        for (s, c) in stored.iter().zip(catalogue.permissions()) {
            assert_eq!(s.policy(), c.policy, "{b:?}");
            assert_eq!(s.kind, c.kind);
        }

        let first = demo::seed(&db).await.expect("seed");
        assert!(first > 0);
        assert_eq!(
            demo::seed(&db).await.expect("again"),
            0,
            "{b:?}: idempotent"
        );
    }
}

#[tokio::test]
async fn the_seed_leaves_an_administrators_changes_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = migrated(Backend::Sqlite, &dir).await;
    demo::seed(&db).await.expect("seed");
    let mut q = Sql::new("DELETE FROM role_permission WHERE role_name = ");
    q.bind("HEE Admin")
        .push(" AND permission_name = ")
        .bind("person:view");
    db.execute(q).await.expect("revoke");
    demo::seed(&db).await.expect("again");
    let repo = Repo::new(db);
    let role = repo.role("HEE Admin").await.expect("role").expect("exists");
    assert!(
        !role.permissions.contains("person:view"),
        "not granted back"
    );
}

#[tokio::test]
async fn every_identity_of_the_idp_demo_realm_has_a_profile_with_its_role_and_designated_bodies() {
    let realm = tokio::task::spawn_blocking(tis_idp::realm::demo::demo_realm_file)
        .await
        .expect("join")
        .expect("realm");
    assert_eq!(ALL_DBCS, tis_idp::realm::demo::ALL_DBCS);
    assert_eq!(TRUST_ADMIN_DBC, tis_idp::realm::demo::TRUST_ADMIN_DBC);
    assert_eq!(OBSERVER_DBC, tis_idp::realm::demo::OBSERVER_DBC);
    let app = spawn_app(Backend::Sqlite).await;
    let entry = &realm.realms[0];
    for user in &entry.users {
        let p = app.profile_of(&user.username).await;
        let roles: BTreeSet<String> = user.roles.iter().cloned().collect();
        assert_eq!(p.roles, roles, "{}", user.username);
        let dbcs: BTreeSet<String> = user.attributes["dbc"].iter().cloned().collect();
        assert_eq!(p.designated_body_codes, dbcs, "{}", user.username);
        assert_eq!(p.first_name, user.first_name, "{}", user.username);
    }
    // Every client with a service account (the client-credentials grant) has a profile;
    // `tis-web` signs people in and has none.
    for client in entry.clients.iter().filter(|c| {
        c.grants
            .contains(&tis_idp::realm::GrantType::ClientCredentials)
    }) {
        let p = app
            .profile_of(&format!("service-account-{}", client.client_id))
            .await;
        let roles: BTreeSet<String> = client.roles.iter().cloned().collect();
        assert_eq!(p.roles, roles, "{}", client.client_id);
    }
}

#[tokio::test]
async fn the_trust_admins_trust_is_the_reference_demo_trust_of_that_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::connect(&DbConfig {
        url: format!("sqlite://{}", dir.path().join("reference.db").display()),
        ..DbConfig::default()
    })
    .expect("db");
    db.migrate(tis_reference::migrations())
        .await
        .expect("migrate");
    tis_reference::demo::seed(&db).await.expect("seed");
    let mut q = Sql::new(
        r#"SELECT id AS "id", code AS "code", trust_name AS "name" FROM trust WHERE code = "#,
    );
    q.bind(TRUST_ADMIN_TRUST.1);
    let row = db.fetch_one(q).await.expect("trust");
    let (id, code, name) = TRUST_ADMIN_TRUST;
    assert_eq!(
        (
            row["id"].as_i64(),
            row["code"].as_str(),
            row["name"].as_str()
        ),
        (Some(id), Some(code), Some(name))
    );
    // …and its local office's designated body is the trust admin's.
    let mut q = Sql::new(
        r#"SELECT d.dbc AS "dbc" FROM trust t JOIN dbc d ON d.name = t.local_office WHERE t.code = "#,
    );
    q.bind(code);
    let row = db.fetch_one(q).await.expect("dbc");
    assert_eq!(row["dbc"].as_str(), Some(TRUST_ADMIN_DBC));
}

#[test]
fn restricted_roles_are_catalogue_roles() {
    let catalogue = RoleCatalogue::tis();
    let names: BTreeSet<&str> = catalogue.role_names().collect();
    for r in demo::RESTRICTED_ROLES {
        assert!(names.contains(r), "{r}");
    }
}
