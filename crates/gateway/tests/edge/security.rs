//! The security headers of the public listener: `WWW-Authenticate` on 401s (RFC 6750 §3),
//! `nosniff` everywhere, a locked-down status page, and CORS only for configured origins.

use reqwest::Method;

use crate::support::*;

#[tokio::test]
async fn a_401_says_bearer_and_whether_the_token_was_bad() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;

    let none = gw
        .client
        .get(gw.url("/reference/echo"))
        .send()
        .await
        .expect("get");
    assert_eq!(none.status(), 401);
    // No credentials: the challenge alone, no error code (RFC 6750 §3.1).
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(none.headers()["x-content-type-options"], "nosniff");
    assert!(none.headers().contains_key("x-request-id"));

    for bad in [idp.expired_token(), "not.a.token".to_owned()] {
        let res = gw.get("/reference/echo", &bad).await;
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
    }
    let ok = gw.get("/reference/echo", &idp.token()).await;
    assert_eq!(ok.status(), 200);
    assert!(!ok.headers().contains_key("www-authenticate"));
    assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn every_answer_is_nosniff_and_the_status_page_cannot_be_framed_or_run_inline_script() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;

    for path in [
        "/status",
        "/api/status",
        "/health/ready",
        "/status/static/htmx.min.js",
        "/status/static/status.css",
        "/nowhere",
    ] {
        let res = gw.client.get(gw.url(path)).send().await.expect("get");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    let css = gw
        .client
        .get(gw.url("/status/static/status.css"))
        .send()
        .await
        .expect("css");
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/css")
    );

    let page = gw.client.get(gw.url("/status")).send().await.expect("get");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = page.text().await.expect("html");
    assert!(
        !html.contains("<style") && !html.contains("<script>") && !html.contains(" style="),
        "inline style or script would be refused by the policy:\n{html}"
    );
}

#[tokio::test]
async fn without_cors_no_access_control_header_leaves_the_gateway() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;

    let res = gw
        .client
        .get(gw.url("/reference/echo"))
        .bearer_auth(idp.token())
        .header("origin", "https://tis.example.org")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let leaked: Vec<_> = res
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");

    // A preflight is not answered: routed like any request without a token.
    let pre = gw
        .client
        .request(Method::OPTIONS, gw.url("/reference/echo"))
        .header("origin", "https://tis.example.org")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("options");
    assert_eq!(pre.status(), 401);
    assert!(!pre.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn an_allowed_origin_gets_its_preflight_answered_and_may_read_the_answer() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let mut cfg = config(&idp, &dir, vec![addr]);
    cfg.cors.allowed_origins = vec!["https://tis.example.org".into()];
    let gw = Gateway::start(cfg).await;

    let pre = gw
        .client
        .request(Method::OPTIONS, gw.url("/reference/echo"))
        .header("origin", "https://tis.example.org")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("options");
    assert_eq!(pre.status(), 204);
    let h = pre.headers();
    assert_eq!(h["access-control-allow-origin"], "https://tis.example.org");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .expect("ascii")
            .contains("POST")
    );
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    assert_eq!(h["access-control-max-age"], "600");
    assert!(!h.contains_key("access-control-allow-credentials"));
    assert!(h.contains_key("x-request-id"));

    let res = gw
        .client
        .get(gw.url("/reference/echo"))
        .bearer_auth(idp.token())
        .header("origin", "https://tis.example.org")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "https://tis.example.org");
    let exposed = h["access-control-expose-headers"].to_str().expect("ascii");
    assert!(exposed.contains("X-Total-Count") && exposed.contains("X-Request-Id"));
    assert!(h.get_all("vary").iter().any(|v| v == "Origin"));

    // Another origin: neither its preflight nor its answers are allowed.
    let other = gw
        .client
        .request(Method::OPTIONS, gw.url("/reference/echo"))
        .header("origin", "https://evil.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("options");
    assert_ne!(other.status(), 204);
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    let res = gw
        .client
        .get(gw.url("/reference/echo"))
        .bearer_auth(idp.token())
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .expect("get");
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    assert!(!res.headers().contains_key("access-control-expose-headers"));
}

#[tokio::test]
async fn a_gateway_refuses_an_allowed_origin_that_is_not_an_origin() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&idp, &dir, vec![]);
    cfg.cors.allowed_origins = vec!["*".into()];
    let Err(err) = tis_gateway::App::build(cfg).await else {
        panic!("`*` is refused");
    };
    assert!(
        format!("{err:#}").contains("gateway.cors.allowed_origins"),
        "{err:#}"
    );
}

/// CONNECT and TRACE never reach a service: CONNECT was forwarded (issue 16 item 12), and a
/// TRACE on a service would echo the caller's headers back.
#[tokio::test]
async fn connect_and_trace_are_refused_at_the_edge_and_never_forwarded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;
    let token = idp.token();
    let authority = gw.url("").trim_start_matches("http://").to_owned();
    for (method, target) in [
        ("CONNECT", "/reference/echo"),
        ("CONNECT", "127.0.0.1:1"),
        ("TRACE", "/reference/echo"),
    ] {
        let mut conn = tokio::net::TcpStream::connect(&authority)
            .await
            .expect("connect");
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.expect("write");
        let mut answer = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            conn.read_to_string(&mut answer),
        )
        .await
        .expect("answered and closed")
        .expect("read");
        assert!(
            answer.starts_with("HTTP/1.1 405"),
            "{method} {target}: {answer}"
        );
        assert!(answer.contains("\"method_not_allowed\""), "{answer}");
    }
    assert_eq!(up.hits(), 0, "nothing reached the service");
    let ok = gw.get("/reference/echo", &token).await;
    assert_eq!(ok.status(), 200);
}
