//! Designated-body checks through the mesh, against a real Reference, and with it stopped:
//! never a 500, never accepted unchecked, unless Reference confirmed the code recently.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn user(name: &str, dbcs: &[&str]) -> Value {
    json!({"name": name, "firstName": "Test", "lastName": "User",
           "roles": [{"name": "HEE Trust Observer"}], "designatedBodyCodes": dbcs})
}

async fn put(app: &TestApp, body: &Value) -> reqwest::Response {
    app.send(Method::PUT, "/profile/api/hee-users", body).await
}

#[tokio::test]
async fn with_reference_stopped_a_write_naming_an_unconfirmed_code_is_503_and_changes_nothing() {
    let mut reference = start_reference().await;
    let app = spawn_with(Backend::Sqlite, vec![reference.addr], |_| {}).await;
    assert_eq!(put(&app, &user("kim", &["1-AIIDWA"])).await.status(), 201);

    reference.stop().await;

    let res = put(&app, &user("kim", &["1-AIIDWA"])).await;
    assert_eq!(
        res.status(),
        200,
        "a code Reference confirmed minutes ago is still accepted"
    );

    let res = put(&app, &user("kim", &["1-AIIDWA", "1-AIIDHJ"])).await;
    assert_eq!(
        res.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    let (status, code, v) = error_code(res).await;
    assert_eq!((status, code.as_str()), (503, "dependency_unavailable"));
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("Reference"),
        "{v}"
    );
    let stored = app.get_json("/profile/api/hee-users/kim").await;
    assert_eq!(
        stored["designatedBodyCodes"],
        json!(["1-AIIDWA"]),
        "not accepted unchecked"
    );

    let res = put(&app, &user("lee", &[])).await;
    assert_eq!(
        res.status(),
        201,
        "a user with no designated body needs no check"
    );
}

#[tokio::test]
async fn with_reference_stopped_a_write_confirmed_before_goes_through_marked_reference_stale() {
    let mut reference = start_reference().await;
    // Every answer must be confirmed again at once, so the write below takes the stale path.
    let app = spawn_with(Backend::Sqlite, vec![reference.addr], |c| {
        c.reference.fresh_for = Duration::ZERO;
        c.reference.stale_while_revalidate = Duration::ZERO;
        c.reference.retry_after_failure = Duration::ZERO;
    })
    .await;
    let res = put(&app, &user("kim", &["1-AIIDWA"])).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers().get("tis-degraded"), None);
    reference.stop().await;

    let res = put(&app, &user("kim", &["1-AIIDWA"])).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("tis-degraded")
            .and_then(|v| v.to_str().ok()),
        Some("reference-stale")
    );
}

#[tokio::test]
async fn once_the_remembered_codes_age_out_reference_must_answer_again() {
    let mut reference = start_reference().await;
    let app = spawn_with(Backend::Sqlite, vec![reference.addr], |c| {
        // No answer is used once given: the bound the former `known_codes_for` set.
        c.reference.stale_if_error = Duration::ZERO;
    })
    .await;
    assert_eq!(put(&app, &user("kim", &["1-AIIDWA"])).await.status(), 201);
    reference.stop().await;
    let res = put(&app, &user("kim", &["1-AIIDWA"])).await;
    assert_eq!(
        res.headers()
            .get("tis-degraded")
            .and_then(|v| v.to_str().ok()),
        Some("dependency-reference")
    );
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (503, "dependency_unavailable"));
}

#[tokio::test]
async fn a_principal_without_the_reference_audience_is_refused_by_reference_and_reported_as_such() {
    let reference = start_reference().await;
    let app = spawn_with(Backend::Sqlite, vec![reference.addr], |_| {}).await;
    let mut profile = tis_auth::UserProfile::named("tester");
    profile.permissions.insert(MODIFY.into());
    let only_profile = principal_for(profile, &["profile"]);
    let res = app
        .request(Method::PUT, "/profile/api/hee-users", Some(&only_profile))
        .json(&user("kim", &["1-AIIDWA"]))
        .send()
        .await
        .expect("put");
    let (status, code, v) = error_code(res).await;
    assert_eq!((status, code.as_str()), (503, "dependency_unavailable"));
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("audience"),
        "{v}"
    );
}
