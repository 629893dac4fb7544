//! `tis profile add-user`'s core: the first administrator of a deployment without demo data.

use tis_profile::bootstrap::{Grant, GrantError, add_user};
use tis_profile::repo::Repo;
use tis_store::{Db, DbConfig};

use crate::helpers::*;

async fn migrated(backend: Backend, dir: &tempfile::TempDir) -> Db {
    let url = database_url(backend, dir, "bootstrap.db").await;
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

fn grant(user: &str, roles: &[&str], dbcs: &[&str]) -> Grant {
    Grant {
        user: user.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        designated_bodies: dbcs.iter().map(|d| (*d).to_owned()).collect(),
        ..Grant::default()
    }
}

#[tokio::test]
async fn the_first_administrator_is_created_then_only_added_to_and_bad_grants_write_nothing() {
    for b in BACKENDS {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = migrated(b, &dir).await;
        let repo = Repo::new(db.clone());

        let first = add_user(
            &repo,
            Grant {
                email_address: Some("alice@example.org".into()),
                ..grant("alice", &["HEE Admin", "ProfileAdmin"], &["1-AIIDWA"])
            },
        )
        .await
        .expect("created");
        assert!(first.created, "{b:?}");
        let alice = repo.user("alice").await.expect("read").expect("alice");
        assert_eq!(
            alice.roles,
            ["HEE Admin", "ProfileAdmin"].map(String::from).into()
        );
        assert_eq!(alice.designated_body_codes, ["1-AIIDWA".to_owned()].into());
        assert_eq!(alice.email_address.as_deref(), Some("alice@example.org"));
        assert!(alice.active);

        // Again: adds, never removes, keeps what is not given.
        let again = add_user(&repo, grant("alice", &["HEE Admin"], &["1-AIIDVS"]))
            .await
            .expect("updated");
        assert!(!again.created);
        let alice = repo.user("alice").await.expect("read").expect("alice");
        assert_eq!(
            alice.roles,
            ["HEE Admin", "ProfileAdmin"].map(String::from).into()
        );
        assert_eq!(
            alice.designated_body_codes,
            ["1-AIIDVS", "1-AIIDWA"].map(String::from).into()
        );
        assert_eq!(alice.email_address.as_deref(), Some("alice@example.org"));

        // An unknown role names itself and the real ones; nothing is written.
        let err = add_user(&repo, grant("bob", &["HEE Admin", "Wizard"], &[]))
            .await
            .expect_err("unknown role");
        assert!(matches!(err, GrantError::UnknownRoles { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("`Wizard`") && text.contains("ProfileAdmin"),
            "{text}"
        );
        assert!(!text.contains("`HEE Admin`"), "{text}");
        assert!(repo.user("bob").await.expect("read").is_none(), "{b:?}");

        for bad in [
            grant("has space", &["HEE Admin"], &[]),
            grant("", &["HEE Admin"], &[]),
            grant("carol", &["HEE Admin"], &[" "]),
        ] {
            let name = bad.user.clone();
            add_user(&repo, bad).await.expect_err("refused");
            if !name.trim().is_empty() {
                assert!(
                    repo.user(&name).await.expect("read").is_none(),
                    "{b:?} {name}"
                );
            }
        }
    }
}
