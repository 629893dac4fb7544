use super::*;
use crate::helpers::{ALICE_PASSWORD, DORA_PASSWORD, WEB_CALLBACK, spawn_idp, spawn_with};

fn assert_secure_page(res: &reqwest::Response) {
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_is_an_error_page_never_a_redirect() {
    let idp = spawn_idp().await;
    let p = pkce();
    let b = Browser::new();
    let mut cases: Vec<Vec<(&str, &str)>> = Vec::new();
    for uri in [
        "https://evil.example/cb",
        "http://127.0.0.1:8080/auth/callback/",
        "http://127.0.0.1:8080/auth/callback?x=1",
        "http://127.0.0.1:8080/auth/callbackx",
        "HTTP://127.0.0.1:8080/auth/callback",
    ] {
        let mut r = web_request(&p);
        r[2] = ("redirect_uri", uri);
        cases.push(r);
    }
    let mut unknown = web_request(&p);
    unknown[1] = ("client_id", "nobody");
    cases.push(unknown);
    let mut no_uri = web_request(&p);
    no_uri.remove(2);
    cases.push(no_uri);
    for r in cases {
        let res = b.get(&auth_url(&idp, &r)).await;
        assert_eq!(res.status(), 400, "{r:?}");
        assert!(res.headers().get("location").is_none(), "{r:?}");
        assert_secure_page(&res);
    }
    let res = b
        .get(&idp.url("/realms/nowhere/protocol/openid-connect/auth"))
        .await;
    assert_eq!(res.status(), 404);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test]
async fn the_login_page_is_accessible_and_sent_with_the_security_headers() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let res = b.get(&auth_url(&idp, &web_request(&p))).await;
    assert_eq!(res.status(), 200);
    assert_secure_page(&res);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:8080"),
        "the redirect after the post is allowed: {csp}"
    );
    let cookies = b.set_cookies.lock().unwrap().clone();
    let auth = cookies
        .iter()
        .find(|c| c.starts_with("AUTH_SESSION_ID="))
        .unwrap();
    assert!(
        auth.contains("HttpOnly")
            && auth.contains("SameSite=Lax")
            && auth.contains("Path=/realms/lin/"),
        "{auth}"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<label for=\"username\">"));
    assert!(html.contains("<label for=\"password\">"));
    assert!(html.contains("autocomplete=\"current-password\""));
    assert!(!html.contains("<script"), "no script at all");
    assert!(!html.contains("style="), "no inline style");
    assert!(html.contains("href=\"/resources/tis/login.css\""));
    let css = b.get(&idp.url("/resources/tis/login.css")).await;
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    // A wrong password: the page again, with an error summary linked to the field.
    let res = b
        .post(
            &form_action(&idp, &html),
            &[("username", "alice"), ("password", "wrong")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_secure_page(&res);
    let html = res.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("<a href=\"#username\">Invalid username or password</a>"));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("aria-describedby=\"login-error\""));
    assert!(html.contains("value=\"alice\""), "the username is kept");

    // The new page's form works; the session cookie is HttpOnly, Lax, on the realm's path.
    let res = b
        .post(
            &form_action(&idp, &html),
            &[("username", "alice"), ("password", ALICE_PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 302);
    let cookies = b.set_cookies.lock().unwrap().clone();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("KEYCLOAK_SESSION="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/realms/lin/"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain http locally");
}

#[tokio::test]
async fn every_reflected_value_is_escaped() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let evil = "\"><script>alert(1)</script>";
    let mut r = web_request(&p);
    r.push(("login_hint", evil));
    let html = login_page(&idp, &b, &r).await;
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    let res = b
        .post(
            &form_action(&idp, &html),
            &[("username", "<script>x</script>'\"&"), ("password", "nope")],
        )
        .await;
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("value=\"&lt;script&gt;x&lt;/script&gt;&#39;&quot;&amp;\""));

    // An error page does not reflect the bad value.
    let mut r = web_request(&p);
    r[2] = ("redirect_uri", "http://x/<script>");
    let res = b.get(&auth_url(&idp, &r)).await;
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script"), "{html}");
}

#[tokio::test]
async fn a_login_post_without_its_tab_or_cookie_is_refused() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let p = pkce();
    let html = login_page(&idp, &b, &web_request(&p)).await;
    let action = form_action(&idp, &html);
    let creds = [("username", "alice"), ("password", ALICE_PASSWORD)];

    // Another browser (no AUTH_SESSION_ID) posting to the right URL: refused.
    let forger = Browser::new();
    let res = forger.post(&action, &creds).await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    // A wrong cookie: refused.
    forger.set("AUTH_SESSION_ID", &"A".repeat(43));
    assert_eq!(forger.post(&action, &creds).await.status(), 400);
    // The right cookie, no or a made-up tab id: refused.
    let base = action.split_once('?').unwrap().0.to_owned();
    assert_eq!(b.post(&base, &creds).await.status(), 400);
    assert_eq!(
        b.post(&format!("{base}?tab_id=made-up"), &creds)
            .await
            .status(),
        400
    );
    // The forgeries did not spend the page: the real post works, once.
    let res = b.post(&action, &creds).await;
    assert_eq!(res.status(), 302);
    assert!(location(&res).starts_with(WEB_CALLBACK));
    b.set("AUTH_SESSION_ID", "x");
    let res = b.post(&action, &creds).await;
    assert_eq!(res.status(), 400, "a tab is used once");
}

#[tokio::test]
async fn a_login_page_expires() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let html = login_page(&idp, &b, &web_request(&pkce())).await;
    idp.clock.advance(std::time::Duration::from_secs(31 * 60));
    let res = b
        .post(
            &form_action(&idp, &html),
            &[("username", "alice"), ("password", ALICE_PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn wrong_passwords_are_rate_limited() {
    let idp = spawn_with(|c| c.max_failed_logins = 3).await;
    let b = Browser::new();
    let mut html = login_page(&idp, &b, &web_request(&pkce())).await;
    for _ in 0..3 {
        let res = b
            .post(
                &form_action(&idp, &html),
                &[("username", "alice"), ("password", "wrong")],
            )
            .await;
        assert_eq!(res.status(), 200);
        html = res.text().await.unwrap();
    }
    let res = b
        .post(
            &form_action(&idp, &html),
            &[("username", "alice"), ("password", ALICE_PASSWORD)],
        )
        .await;
    assert_eq!(
        res.status(),
        200,
        "locked: even the right password gets the form"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("Invalid username or password"));
    // The password grant shares the limiter.
    let res = idp
        .token(&[
            ("grant_type", "password"),
            ("client_id", "tis-ui"),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ])
        .await;
    assert_eq!(res.status(), 400);
    // After the window, the right password works.
    idp.clock.advance(std::time::Duration::from_secs(61));
    let res = b
        .post(
            &form_action(&idp, &html),
            &[("username", "alice"), ("password", ALICE_PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 302);
}

#[tokio::test]
async fn a_disabled_user_gets_the_form_with_a_message() {
    let idp = spawn_idp().await;
    let b = Browser::new();
    let html = login_page(&idp, &b, &web_request(&pkce())).await;
    let res = b
        .post(
            &form_action(&idp, &html),
            &[("username", "dora"), ("password", DORA_PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Account is disabled"));
    assert!(b.cookie("KEYCLOAK_SESSION").is_none());
}
