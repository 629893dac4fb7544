//! The client against a real Reference (in-process, SQLite, demo data) through tis-mesh:
//! every named type asked through the look-up Reference serves for it, by code, by id and for
//! records; the caller's principal forwarded; and Reference stopped for real.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tis_auth::UserProfile;
use tis_mesh::StaticDiscovery;
use tis_reference_client::{
    Answer, By, Credential, Lookup, RefType, ReferenceClient, ReferenceClientConfig,
};
use tis_service_kit::testing::{Backend, TestApp};

type Reference = TestApp;

async fn start_reference() -> Reference {
    let reference = Reference::spawn(
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

/// A principal as the gateway mints it for a caller of Profile or TCS: Reference among its
/// audiences.
fn caller(audience: &[&str]) -> Credential {
    let token = tis_service_kit::testing::principal(UserProfile::named("tester"), audience);
    Credential::Principal(Arc::from(token))
}

fn client(
    reference: &Reference,
    tweak: impl FnOnce(&mut ReferenceClientConfig),
) -> ReferenceClient {
    let mut cfg = ReferenceClientConfig::default();
    cfg.mesh.per_try_timeout = Duration::from_secs(2);
    tweak(&mut cfg);
    ReferenceClient::new(&cfg, StaticDiscovery::new([reference.addr])).expect("client")
}

/// The first record of a type, as Reference lists it.
async fn first(reference: &Reference, of: RefType) -> Value {
    let token = tis_service_kit::testing::principal(UserProfile::named("t"), &["reference"]);
    let list = reference
        .get_json_as(
            &format!("/reference/api/{}?size=1&sort=id,asc", of.plural),
            &token,
        )
        .await;
    list[0].clone()
}

#[tokio::test]
async fn every_named_type_is_what_reference_serves() {
    let descriptors = tis_reference::routes::dto::all();
    let reference = start_reference().await;
    let docs: Value = reference
        .client
        .get(reference.url("/reference/api-docs"))
        .send()
        .await
        .expect("docs")
        .json()
        .await
        .expect("json");
    for t in RefType::ALL {
        let d = descriptors
            .iter()
            .find(|d| d.plural == t.plural)
            .unwrap_or_else(|| panic!("Reference has no type {}", t.plural));
        let code = d.code_field().expect("a code");
        assert_eq!(code.json, t.code_field, "{}", t.plural);
        assert!(code.filter, "{}: its code can be filtered on", t.plural);
        let ids_exists = format!("/reference/api/{}/ids/exists", t.plural);
        assert_eq!(
            docs["paths"].get(&ids_exists).is_some(),
            t.ids_exists,
            "{ids_exists}"
        );
        let exists = format!("/reference/api/{}/exists/", t.plural);
        let takes_a_list = docs["paths"][&exists]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["type"]
            == "array";
        assert_eq!(takes_a_list, t.codes_exists, "{exists}");
    }
}

#[tokio::test]
async fn codes_ids_and_records_of_every_named_type_are_answered_by_the_real_service() {
    let reference = start_reference().await;
    let c = client(&reference, |_| {});
    let who = caller(&["profile", "reference"]);
    for &t in RefType::ALL {
        let record = first(&reference, t).await;
        let (code, id) = (&record[t.code_field], &record["id"]);
        let code = code.as_str().unwrap_or_default().to_owned();
        let id = match id {
            Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap_or_default().to_owned(),
        };
        let by_code = c
            .codes_exist(t, [code.as_str(), "NO-SUCH-CODE"], Some(&who))
            .await;
        assert!(by_code.unknown().is_empty(), "{t}: {by_code:?}");
        if !code.is_empty() {
            assert_eq!(
                by_code.get(&code),
                Some(&Answer::Exists { stale: false }),
                "{t}"
            );
        }
        assert_eq!(by_code.missing(), ["NO-SUCH-CODE"], "{t}");

        let unknown_id = if id.contains('-') {
            "00000000-0000-4000-8000-000000000000"
        } else {
            "987654321"
        };
        let by_id = c.ids_exist(t, [id.as_str(), unknown_id], Some(&who)).await;
        assert_eq!(
            by_id.get(&id),
            Some(&Answer::Exists { stale: false }),
            "{t}: {by_id:?}"
        );
        assert_eq!(by_id.missing(), [unknown_id], "{t}");

        if !code.is_empty() {
            match c.record_by_code(t, &code, Some(&who)).await {
                Lookup::Found { record: got, stale } => {
                    assert!(!stale);
                    assert_eq!(*got, record, "{t}");
                }
                other => panic!("{t}: {other:?}"),
            }
        }
        let records = c.records(t, By::Id, [id.as_str()], Some(&who)).await;
        assert_eq!(
            records
                .get(&id)
                .and_then(|l| l.record())
                .map(|r| (**r).clone()),
            Some(record),
            "{t}"
        );
    }
    let stats = c.stats();
    assert_eq!(stats.unknown, 0, "{stats:?}");
}

#[tokio::test]
async fn a_principal_without_the_reference_audience_gets_unknown_answers_that_say_why() {
    let reference = start_reference().await;
    let c = client(&reference, |_| {});
    let checked = c
        .codes_exist(RefType::DBCS, ["1-AIIDWA"], Some(&caller(&["profile"])))
        .await;
    let err = checked.settle().expect_err("refused");
    assert!(err.cause.contains("audience"), "{err}");
    let checked = c.codes_exist(RefType::DBCS, ["1-AIIDWA"], None).await;
    let err = checked.settle().expect_err("no credential");
    assert!(err.cause.contains("no credential"), "{err}");
}

#[tokio::test]
async fn with_reference_stopped_confirmed_codes_are_used_stale_and_others_are_unknown() {
    let mut reference = start_reference().await;
    // Every answer must be confirmed again at once: the stale path is taken on every question.
    let c = client(&reference, |cfg| {
        cfg.fresh_for = Duration::ZERO;
        cfg.stale_while_revalidate = Duration::ZERO;
        cfg.retry_after_failure = Duration::ZERO;
    });
    let who = caller(&["reference"]);
    let grade = first(&reference, RefType::GRADES).await;
    let grade_id = grade["id"].to_string();
    let before = c.codes_exist(RefType::DBCS, ["1-AIIDWA"], Some(&who)).await;
    assert_eq!(
        before.get("1-AIIDWA"),
        Some(&Answer::Exists { stale: false })
    );
    c.ids_exist(RefType::GRADES, [grade_id.as_str()], Some(&who))
        .await;

    reference.stop().await;

    let during = c
        .codes_exist(RefType::DBCS, ["1-AIIDWA", "1-AIIDHJ"], Some(&who))
        .await;
    assert_eq!(
        during.get("1-AIIDWA"),
        Some(&Answer::Exists { stale: true })
    );
    assert_eq!(during.get("1-AIIDHJ"), Some(&Answer::Unknown));
    let err = during.settle().expect_err("1-AIIDHJ was never confirmed");
    assert!(err.what.contains("1-AIIDHJ"), "{err}");
    let grades = c
        .ids_exist(RefType::GRADES, [grade_id.as_str()], Some(&who))
        .await;
    assert_eq!(
        grades.settle().map(|m| m.len()),
        Ok(0),
        "stale, but settled"
    );
    assert!(grades.is_stale());
    let stats = c.stats();
    assert!(
        stats.failed_calls >= 2 && stats.stale_serves >= 2,
        "{stats:?}"
    );
}
