use super::*;
use crate::helpers::{SPA_CALLBACK, WEB_CALLBACK, spawn_idp};

fn spa(p: &Pkce) -> Vec<(&str, &str)> {
    let mut r = web_request(p);
    r[1] = ("client_id", "spa");
    r[2] = ("redirect_uri", SPA_CALLBACK);
    r
}

/// The error a request gets back at its redirect URI.
async fn refused(idp: &crate::helpers::TestIdp, params: &[(&str, &str)]) -> (String, String) {
    let b = Browser::new();
    let res = b.get(&auth_url(idp, params)).await;
    assert_eq!(res.status(), 302, "{params:?}");
    let back = location(&res);
    assert_eq!(param(&back, "code"), None);
    (
        param(&back, "error").expect("an error"),
        param(&back, "error_description").unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_is_invalid_grant() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let back = sign_in(&idp, &b, &web_request(&p)).await;
    let (status, body) = redeem(&idp, &param(&back, "code").unwrap(), &pkce().verifier).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    let p = pkce();
    let res = b.get(&auth_url(&idp, &web_request(&p))).await;
    let code = param(&location(&res), "code").unwrap();
    let (status, body) = web_token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_CALLBACK),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_public_client_must_send_an_s256_challenge() {
    let idp = spawn_idp().await;
    let p = pkce();
    let mut none = spa(&p);
    none.truncate(6);
    let (error, description) = refused(&idp, &none).await;
    assert_eq!(error, "invalid_request");
    assert!(
        description.contains("code_challenge_method"),
        "{description}"
    );

    let mut plain = spa(&p);
    plain[7] = ("code_challenge_method", "plain");
    assert_eq!(refused(&idp, &plain).await.0, "invalid_request");

    let mut no_method = spa(&p);
    no_method.truncate(7);
    assert_eq!(
        refused(&idp, &no_method).await.0,
        "invalid_request",
        "no method means plain"
    );

    let mut short = spa(&p);
    short[6] = ("code_challenge", "too-short");
    assert_eq!(refused(&idp, &short).await.0, "invalid_request");
}

#[tokio::test]
async fn plain_is_refused_for_a_confidential_client_too_and_pkce_is_optional_for_it() {
    let idp = spawn_idp().await;
    let p = pkce();
    let mut plain = web_request(&p);
    plain[7] = ("code_challenge_method", "plain");
    plain[6] = ("code_challenge", &p.verifier);
    assert_eq!(refused(&idp, &plain).await.0, "invalid_request");

    // Without a challenge, a confidential client may sign in; a verifier sent anyway is
    // refused (it cannot be added after the fact).
    let b = Browser::new();
    let mut without = web_request(&p);
    without.truncate(6);
    let back = sign_in(&idp, &b, &without).await;
    let (status, body) = redeem(&idp, &param(&back, "code").unwrap(), &p.verifier).await;
    assert_eq!(status, 400, "{body}");
    let res = b.get(&auth_url(&idp, &without)).await;
    let code = param(&location(&res), "code").unwrap();
    let (status, body) = web_token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_CALLBACK),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn bad_requests_go_back_to_a_registered_redirect_uri_with_the_state() {
    let idp = spawn_idp().await;
    let p = pkce();
    let cases: Vec<(&str, &str, &str)> = vec![
        ("response_type", "token", "unsupported_response_type"),
        ("scope", "profile", "invalid_scope"),
        ("scope", "openid admin", "invalid_scope"),
    ];
    for (name, value, expected) in cases {
        let mut r = web_request(&p);
        r.retain(|(k, _)| *k != name);
        r.push((name, value));
        let b = Browser::new();
        let res = b.get(&auth_url(&idp, &r)).await;
        let back = location(&res);
        assert!(back.starts_with(WEB_CALLBACK), "{back}");
        assert_eq!(
            param(&back, "error").as_deref(),
            Some(expected),
            "{name}={value}"
        );
        assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    }
    // A client without the code grant.
    let b = Browser::new();
    let mut r = web_request(&p);
    r[1] = ("client_id", "tis-ui");
    let res = b.get(&auth_url(&idp, &r)).await;
    assert_eq!(
        res.status(),
        400,
        "tis-ui registers no redirect URI: an error page"
    );
}
