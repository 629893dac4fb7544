use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn status_and_health_answer_without_a_token() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;

    let res = gw
        .client
        .get(gw.url("/api/status"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    let ids: Vec<&str> = body["capabilities"]
        .as_array()
        .expect("capabilities")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["login", "service:reference", "writes"]);
    assert_eq!(body["capabilities"][0]["status"], "ok");
    // The JSON keeps RFC 3339; the page says the same moment as people read it.
    let checked = body["checkedAt"].as_str().expect("checkedAt").to_owned();
    assert!(
        checked.len() == 20 && checked.ends_with('Z') && &checked[10..11] == "T",
        "{checked}"
    );

    let page = gw.client.get(gw.url("/status")).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("TIS status") && html.contains("Reference data"),
        "{html}"
    );
    assert!(html.contains("/status/static/htmx.min.js"));
    // "Checked at <time datetime="2026-12-07T14:05:32Z">7 Dec 2026, 14:05:32 UTC</time>"
    let at = html
        .split("Checked at <time datetime=\"")
        .nth(1)
        .and_then(|rest| rest.split("</time>").next())
        .expect("a checked time");
    let (iso, shown) = at.split_once("\">").expect("datetime and text");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months[iso[5..7].parse::<usize>().expect("month") - 1];
    let day = iso[8..10].trim_start_matches('0');
    assert_eq!(
        shown,
        format!("{day} {month} {}, {} UTC", &iso[..4], &iso[11..19]),
        "{html}"
    );
    let js = gw
        .client
        .get(gw.url("/status/static/htmx.min.js"))
        .send()
        .await
        .expect("get");
    assert_eq!(js.status(), 200);
    assert!(js.text().await.expect("js").contains("htmx"));
    let ready = gw
        .client
        .get(gw.url("/health/ready"))
        .send()
        .await
        .expect("get");
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn routed_requests_need_a_valid_token_and_the_401_says_which_check_failed() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;

    let none = gw
        .client
        .get(gw.url("/reference/echo"))
        .send()
        .await
        .expect("get");
    assert_eq!(none.status(), 401);
    assert_eq!(error_code(none).await, "missing_token");
    assert_eq!(
        error_code(gw.get("/reference/echo", "not.a.jwt").await).await,
        "malformed_token"
    );
    assert_eq!(
        error_code(gw.get("/reference/echo", &idp.expired_token()).await).await,
        "token_expired"
    );
    assert_eq!(up.hits(), 0, "nothing unauthenticated reached the service");

    let ok = gw.get("/reference/echo", &idp.token()).await;
    assert_eq!(ok.status(), 200);
    let legacy = gw
        .client
        .get(gw.url("/reference/echo"))
        .header("OIDC_access_token", idp.token())
        .send()
        .await
        .expect("get");
    assert_eq!(legacy.status(), 200, "the legacy header is accepted");
}

#[tokio::test]
async fn a_path_without_a_route_is_401_without_a_token_and_404_with_one() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;
    let anonymous = gw
        .client
        .get(gw.url("/tcs/api/posts"))
        .send()
        .await
        .expect("get");
    assert_eq!(anonymous.status(), 401);
    let res = gw.get("/tcs/api/posts", &idp.token()).await;
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["requestId"].is_string(), "{body}");
}

#[tokio::test]
async fn while_the_idp_is_unreachable_tokens_still_verify_and_answers_say_idp_degraded() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let mut cfg = config(&idp, &dir, vec![addr]);
    cfg.auth.refresh_interval = Duration::from_millis(200);
    cfg.auth.backoff_initial = Duration::from_millis(100);
    cfg.auth.backoff_max = Duration::from_millis(200);
    let gw = Gateway::start(cfg).await;
    let token = idp.token();
    let first = gw.get("/reference/echo", &token).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("tis-degraded").is_none());

    idp.fake.set_failing(true);
    eventually(
        "the idp degradation to show",
        Duration::from_secs(5),
        || {
            let (gw, token) = (&gw, &token);
            async move {
                let res = gw.get("/reference/echo", token).await;
                res.status() == 200
                    && res
                        .headers()
                        .get("tis-degraded")
                        .is_some_and(|v| v.to_str().unwrap_or("").contains("idp"))
            }
        },
    )
    .await;
    let status = gw.json(gw.url("/api/status")).await;
    assert_eq!(status["capabilities"][0]["status"], "degraded");
    let reason = status["capabilities"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.starts_with("Login is unavailable: the identity provider cannot be reached."),
        "{reason}"
    );
    assert!(reason.contains("hours"), "{reason}");
}
