use serde_json::Value;

use crate::helpers::{TestIdp, spawn_idp};

async fn post_raw(idp: &TestIdp, content_type: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = idp.http.post(idp.token_url("lin")).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status} with a body that is not JSON: {text}"));
    (status, json)
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

#[tokio::test]
async fn a_token_request_without_grant_type_is_invalid_request() {
    let idp = spawn_idp().await;
    let (status, body) = post_raw(&idp, FORM, b"client_id=tis-ui".to_vec()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("grant_type")
    );
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    let idp = spawn_idp().await;
    for grant in [
        "implicit",
        "device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        let (status, body) = post_raw(
            &idp,
            FORM,
            serde_urlencoded::to_string([("grant_type", grant), ("client_id", "tis-ui")])
                .unwrap()
                .into_bytes(),
        )
        .await;
        assert_eq!(status, 400, "{grant}");
        assert_eq!(body["error"], "unsupported_grant_type", "{grant}");
    }
}

#[tokio::test]
async fn the_code_grant_is_refused_to_a_client_not_allowed_it() {
    let idp = spawn_idp().await;
    let (status, body) = post_raw(
        &idp,
        FORM,
        b"grant_type=authorization_code&client_id=tis-ui&code=x".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_missing_username_or_password_is_invalid_request() {
    let idp = spawn_idp().await;
    for body in [
        "grant_type=password&client_id=tis-ui&password=x",
        "grant_type=password&client_id=tis-ui&username=alice",
        "grant_type=password&client_id=tis-ui&username=alice&password=",
    ] {
        let (status, json) = post_raw(&idp, FORM, body.as_bytes().to_vec()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(json["error"], "invalid_request", "{body}");
    }
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_request() {
    let idp = spawn_idp().await;
    let (status, body) = post_raw(
        &idp,
        FORM,
        b"grant_type=password&client_id=tis-ui&username=alice&username=admin&password=x".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn a_body_that_is_not_form_encoded_is_refused_with_415() {
    let idp = spawn_idp().await;
    for ct in [Some("application/json"), Some("text/plain"), None] {
        let (status, body) = post_raw(
            &idp,
            ct,
            br#"{"grant_type":"password","username":"alice"}"#.to_vec(),
        )
        .await;
        assert_eq!(status, 415, "{ct:?}");
        assert_eq!(body["error"], "invalid_request", "{ct:?}");
    }
}

#[tokio::test]
async fn a_body_larger_than_the_limit_is_refused_with_413() {
    let idp = spawn_idp().await;
    let mut body = b"grant_type=password&username=".to_vec();
    body.extend(std::iter::repeat_n(b'a', 200 * 1024));
    let (status, json) = post_raw(&idp, FORM, body).await;
    assert_eq!(status, 413);
    assert_eq!(json["error"], "invalid_request");
}

#[tokio::test]
async fn garbage_never_causes_a_server_error() {
    let idp = spawn_idp().await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"%%%%".to_vec(),
        b"&&&===&".to_vec(),
        vec![0xff, 0xfe, 0x00, b'=', 0x80],
        b"grant_type=password&client_id=%FF%FE&username=%00&password=%C0%AF".to_vec(),
        b"grant_type=refresh_token&client_id=tis-ui&refresh_token=%FF".to_vec(),
        format!("grant_type=password&{}=1", "x".repeat(10_000)).into_bytes(),
        b"grant_type=client_credentials&client_id=etl&client_secret=%FF%FF".to_vec(),
    ];
    for body in bodies {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(40)
            .collect::<String>();
        let (status, json) = post_raw(&idp, FORM, body).await;
        assert!((400..500).contains(&status), "{status} for {shown}");
        assert!(json["error"].is_string(), "{shown}");
    }
    for auth in [
        "Basic",
        "Basic !!!!",
        "Basic Og==",
        "Bearer x",
        "Basic ZXRsOg",
    ] {
        let res = idp
            .http
            .post(idp.token_url("lin"))
            .header("authorization", auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!((400..500).contains(&status), "{status} for {auth}");
    }
}

#[tokio::test]
async fn a_get_on_the_token_endpoint_is_a_json_405() {
    let idp = spawn_idp().await;
    let res = idp.http.get(idp.token_url("lin")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}
