use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::*;
use crate::helpers::{WEB_CALLBACK, WEB_HOME, peek, spawn_idp, verify};

#[tokio::test]
async fn the_whole_flow_signs_in_refreshes_and_signs_out() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();

    // The authorization request shows the login page, then the right password comes back
    // to the client with a code, the state and the issuer.
    let page = login_page(&idp, &b, &web_request(&p)).await;
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(b.cookie("AUTH_SESSION_ID").is_some());
    let res = b
        .post(
            &form_action(&idp, &page),
            &[
                ("username", "alice"),
                ("password", crate::helpers::ALICE_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 302);
    let back = location(&res);
    assert!(back.starts_with(&format!("{WEB_CALLBACK}?code=")), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&back, "iss").as_deref(), Some(idp.issuer.as_str()));
    assert!(
        b.cookie("KEYCLOAK_SESSION").is_some(),
        "an SSO session cookie"
    );
    assert!(
        b.cookie("AUTH_SESSION_ID").is_none(),
        "the login's cookie is cleared"
    );

    // The code gives the three tokens.
    let code = param(&back, "code").unwrap();
    let (status, tokens) = redeem(&idp, &code, &p.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    for field in [
        "access_token",
        "id_token",
        "refresh_token",
        "expires_in",
        "refresh_expires_in",
        "token_type",
        "session_state",
        "scope",
    ] {
        assert!(!tokens[field].is_null(), "{field} in {tokens}");
    }
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email");
    let jwks = idp.jwks().await;
    let access = verify(tokens["access_token"].as_str().unwrap(), &jwks, &idp.issuer)
        .expect("the access token verifies as before");
    assert_eq!(access["azp"], "web");
    assert_eq!(access["preferred_username"], "alice");
    assert_eq!(access["sid"], tokens["session_state"]);
    let id = peek(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["typ"], "ID");
    assert_eq!(id["aud"], "web");
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["sid"], tokens["session_state"]);
    assert!(id["auth_time"].as_u64().is_some());
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        tokens["access_token"].as_str().unwrap().as_bytes(),
    );
    let at_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
    assert_eq!(id["at_hash"], at_hash);

    // Refresh rotates the refresh token and keeps the session.
    let (status, refreshed) = web_refresh(&idp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    assert_eq!(refreshed["session_state"], tokens["session_state"]);
    assert!(refreshed["id_token"].is_string());

    // RP-initiated logout goes back to the registered page with the state.
    let logout = format!(
        "{}/protocol/openid-connect/logout?{}",
        idp.issuer,
        serde_urlencoded::to_string([
            ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            ("post_logout_redirect_uri", WEB_HOME),
            ("state", "bye"),
        ])
        .unwrap()
    );
    let res = b.get(&logout).await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), format!("{WEB_HOME}?state=bye"));
    assert!(
        b.cookie("KEYCLOAK_SESSION").is_none(),
        "the cookie is cleared"
    );

    // The refresh token of the session is refused, and the next sign-in shows the form.
    let (status, body) = web_refresh(&idp, refreshed["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    login_page(&idp, &b, &web_request(&pkce())).await;
}

#[tokio::test]
async fn a_second_sign_in_skips_the_form_and_prompt_login_forces_it() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let first = web_tokens(&idp, &b).await;

    let p = pkce();
    let res = b.get(&auth_url(&idp, &web_request(&p))).await;
    assert_eq!(res.status(), 302, "the SSO session answers at once");
    let back = location(&res);
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    let (status, second) = redeem(&idp, &param(&back, "code").unwrap(), &p.verifier).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        second["session_state"], first["session_state"],
        "the same SSO session"
    );
    assert_eq!(
        peek(second["id_token"].as_str().unwrap())["auth_time"],
        peek(first["id_token"].as_str().unwrap())["auth_time"]
    );

    let mut forced = web_request(&p);
    forced.push(("prompt", "login"));
    login_page(&idp, &b, &forced).await;

    // max_age=0, or older than the login, forces the form too.
    let mut zero = web_request(&p);
    zero.push(("max_age", "0"));
    login_page(&idp, &b, &zero).await;
    idp.clock.advance(Duration::from_secs(120));
    let mut aged = web_request(&p);
    aged.push(("max_age", "60"));
    login_page(&idp, &b, &aged).await;
}

#[tokio::test]
async fn prompt_none_answers_login_required_without_a_session_and_a_code_with_one() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let mut silent = web_request(&p);
    silent.push(("prompt", "none"));
    let res = b.get(&auth_url(&idp, &silent)).await;
    assert_eq!(res.status(), 302);
    let back = location(&res);
    assert!(back.starts_with(WEB_CALLBACK), "{back}");
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&back, "code"), None);

    web_tokens(&idp, &b).await;
    let res = b.get(&auth_url(&idp, &silent)).await;
    assert_eq!(res.status(), 302);
    assert!(param(&location(&res), "code").is_some());
}

#[tokio::test]
async fn a_replayed_code_is_invalid_grant_and_revokes_what_it_issued() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let back = sign_in(&idp, &b, &web_request(&p)).await;
    let code = param(&back, "code").unwrap();
    let (status, tokens) = redeem(&idp, &code, &p.verifier).await;
    assert_eq!(status, 200);
    let (status, body) = redeem(&idp, &code, &p.verifier).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = web_refresh(&idp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        status, 400,
        "the replay revoked the session's refresh tokens"
    );
    // The SSO session ended too: the next request shows the form.
    login_page(&idp, &b, &web_request(&pkce())).await;
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let back = sign_in(&idp, &b, &web_request(&p)).await;
    idp.clock.advance(Duration::from_secs(61));
    let (status, body) = redeem(&idp, &param(&back, "code").unwrap(), &p.verifier).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let back = sign_in(&idp, &b, &web_request(&p)).await;
    let (status, body) = web_token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &param(&back, "code").unwrap()),
            ("redirect_uri", "http://localhost:8080/auth/callback"),
            ("code_verifier", &p.verifier),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    let p = pkce();
    let mut spa = web_request(&p);
    spa[1] = ("client_id", "spa");
    spa[2] = ("redirect_uri", crate::helpers::SPA_CALLBACK);
    let back = b.get(&auth_url(&idp, &spa)).await;
    let code = param(&location(&back), "code").expect("SSO gives spa a code");
    let (status, body) = redeem(&idp, &code, &p.verifier).await;
    assert_eq!(status, 400, "web cannot redeem spa's code: {body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_refresh_token_rotates_and_is_refused_to_another_client() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let tokens = web_tokens(&idp, &b).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let res = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", refresh),
        ])
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    let (status, next) = web_refresh(&idp, refresh).await;
    assert_eq!(status, 200, "{next}");
    let (status, body) = web_refresh(&idp, refresh).await;
    assert_eq!(status, 400, "the old refresh token stopped working");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_public_client_signs_in_with_pkce_and_no_secret() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let mut spa = web_request(&p);
    spa[1] = ("client_id", "spa");
    spa[2] = ("redirect_uri", crate::helpers::SPA_CALLBACK);
    let back = sign_in(&idp, &b, &spa).await;
    let res = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &param(&back, "code").unwrap()),
            ("redirect_uri", crate::helpers::SPA_CALLBACK),
            ("code_verifier", &p.verifier),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(peek(body["access_token"].as_str().unwrap())["azp"], "spa");
}

#[tokio::test]
async fn refreshing_stops_when_the_session_reaches_its_maximum() {
    let idp = crate::helpers::spawn_with(|c| {
        c.session_max_lifetime = Duration::from_secs(40 * 60);
    })
    .await;
    let b = Browser::new();
    let tokens = web_tokens(&idp, &b).await;
    idp.clock.advance(Duration::from_secs(25 * 60));
    let (status, next) = web_refresh(&idp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    idp.clock.advance(Duration::from_secs(15 * 60));
    let (status, _) = web_refresh(&idp, next["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    // And the SSO session is over: the form again.
    login_page(&idp, &b, &web_request(&pkce())).await;
}

#[tokio::test]
async fn a_restart_signs_browser_users_out_but_not_password_grant_logins() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let tokens = web_tokens(&idp, &b).await;
    let password = idp.login_alice().await;
    let addr = idp.addr;
    let (dir, mut config, clock) = idp.stop().await;
    config.listen = addr; // the same issuer
    let idp = crate::helpers::spawn_in(dir, config, clock).await;
    let (status, body) = web_refresh(&idp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let res = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "tis-ui"),
            ("refresh_token", password["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(res.status(), 200, "password-grant sessions are unchanged");
}

#[tokio::test]
async fn the_authorization_request_may_be_posted_as_a_form() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let res = b
        .post(
            &format!("{}/protocol/openid-connect/auth", idp.issuer),
            &web_request(&p),
        )
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let res = b
        .post(
            &form_action(&idp, &html),
            &[
                ("username", "ALICE"),
                ("password", crate::helpers::ALICE_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 302, "usernames ignore case, as Keycloak");
    let (status, body) = redeem(&idp, &param(&location(&res), "code").unwrap(), &p.verifier).await;
    assert_eq!(status, 200, "{body}");
    let userinfo = idp.userinfo(body["access_token"].as_str().unwrap()).await;
    assert_eq!(userinfo.status(), 200);
}
