use super::*;
use crate::helpers::{WEB_HOME, WEB_SECRET, spawn_idp};

fn logout_url(idp: &crate::helpers::TestIdp, params: &[(&str, &str)]) -> String {
    format!(
        "{}/protocol/openid-connect/logout?{}",
        idp.issuer,
        serde_urlencoded::to_string(params).unwrap()
    )
}

#[tokio::test]
async fn discovery_names_the_browser_endpoints() {
    let idp = spawn_idp().await;
    let doc: Value = idp
        .http
        .get(format!("{}/.well-known/openid-configuration", idp.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let oidc = format!("{}/protocol/openid-connect", idp.issuer);
    assert_eq!(doc["authorization_endpoint"], format!("{oidc}/auth"));
    assert_eq!(doc["end_session_endpoint"], format!("{oidc}/logout"));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    let grants = doc["grant_types_supported"].as_array().unwrap();
    for g in [
        "authorization_code",
        "refresh_token",
        "password",
        "client_credentials",
    ] {
        assert!(grants.iter().any(|x| x == g), "{g}");
    }
}

#[tokio::test]
async fn logout_with_an_id_token_hint_ends_the_session_and_its_refresh_tokens() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let tokens = web_tokens(&idp, &b).await;
    // The hint is accepted even after it expired, as Keycloak does.
    idp.clock.advance(std::time::Duration::from_secs(10 * 60));
    let res = b
        .get(&logout_url(
            &idp,
            &[("id_token_hint", tokens["id_token"].as_str().unwrap())],
        ))
        .await;
    assert_eq!(res.status(), 200, "no redirect asked: the signed-out page");
    assert!(res.text().await.unwrap().contains("You have signed out"));
    let (status, _) = web_refresh(&idp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    let p = pkce();
    let mut silent = web_request(&p);
    silent.push(("prompt", "none"));
    let res = b.get(&auth_url(&idp, &silent)).await;
    assert_eq!(
        param(&location(&res), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_an_error_page() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let tokens = web_tokens(&idp, &b).await;
    let hint = tokens["id_token"].as_str().unwrap();
    for (uri, client) in [
        ("https://evil.example/", None),
        ("http://127.0.0.1:8080/x", None),
        (WEB_HOME, Some("spa")),
    ] {
        let mut params = vec![("id_token_hint", hint), ("post_logout_redirect_uri", uri)];
        if let Some(c) = client {
            params.push(("client_id", c));
        }
        let res = b.get(&logout_url(&idp, &params)).await;
        assert_eq!(res.status(), 400, "{uri}");
        assert!(res.headers().get("location").is_none());
    }
    // Without hint or client_id, a redirect cannot be checked.
    let res = b
        .get(&logout_url(&idp, &[("post_logout_redirect_uri", WEB_HOME)]))
        .await;
    assert_eq!(res.status(), 400);
    // None of this signed the user out.
    let (status, _) = web_refresh(&idp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn logout_without_a_hint_asks_the_browser_to_confirm() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let tokens = web_tokens(&idp, &b).await;
    let res = b
        .get(&logout_url(
            &idp,
            &[
                ("client_id", "web"),
                ("post_logout_redirect_uri", WEB_HOME),
                ("state", "s9"),
            ],
        ))
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let start = html.find("name=\"confirm\" value=\"").unwrap() + 22;
    let confirm = &html[start..start + 43];
    let action = form_action(&idp, &html);

    // Another browser cannot use the confirmation.
    let other = Browser::new();
    assert_eq!(
        other.post(&action, &[("confirm", confirm)]).await.status(),
        400
    );

    let res = b.post(&action, &[("confirm", confirm)]).await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), format!("{WEB_HOME}?state=s9"));
    let (status, _) = web_refresh(&idp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn logout_with_a_refresh_token_and_client_credentials_ends_the_session() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let tokens = web_tokens(&idp, &b).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let logout = format!("{}/protocol/openid-connect/logout", idp.issuer);
    let post = |form: Vec<(&str, &str)>, secret: Option<&str>| {
        let body = serde_urlencoded::to_string(&form).unwrap();
        let mut rb = idp
            .http
            .post(&logout)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(s) = secret {
            rb = rb.basic_auth("web", Some(s));
        }
        rb.send()
    };
    let res = post(vec![("refresh_token", refresh)], Some("wrong"))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = post(vec![("refresh_token", refresh), ("client_id", "spa")], None)
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "a token of another client");
    let res = post(vec![("refresh_token", refresh)], Some(WEB_SECRET))
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (status, body) = web_refresh(&idp, refresh).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    // The SSO cookie no longer signs in.
    login_page(&idp, &b, &web_request(&pkce())).await;
}
