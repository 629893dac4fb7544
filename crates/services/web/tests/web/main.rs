//! The web application alone, on both backends: a real instance on port 0, its sessions in
//! a real SQLite file or PostgreSQL database, the identity provider's keys from a fake
//! provider, and the gateway played by a small server whose answers each test chooses. The
//! sign-in through a real `tis idp` and gateway is `crates/tis/tests/web.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::response::IntoResponse;
use axum::routing::get;
use http::StatusCode;
use serde_json::json;
use tis_auth::testing::{self, FakeIdp, TestKey};
use tis_service_kit::testing::{BACKENDS, TestApp};
use tis_web::WebConfig;
use tis_web::oidc::Tokens;
use tis_web::session::Sessions;

#[tokio::test]
async fn the_sqlite_and_postgresql_migrations_make_the_same_schema() {
    tis_service_kit::testing::schema::assert_migrations_agree(tis_web::migrations()).await;
}

/// The gateway as the web application sees it: status with writes unavailable and Reference
/// down, a user with people and programme permissions (and reference data's once the test
/// grants them), a contact record answered with `TIS-Degraded: reference-stale`, TCS down for
/// the person record, a post whose sites Reference names (post 7) or cannot (post 8), the
/// pickers' searches, and Profile's users with their designated bodies.
async fn fake_gateway(granted: Arc<AtomicBool>, profile_down: Arc<AtomicBool>) -> String {
    let app = axum::Router::new()
        .route(
            "/api/status",
            get(|| async {
                Json(json!({"status": "degraded", "capabilities": [
                    {"id": "login", "name": "Login", "status": "ok", "reason": "People can log in."},
                    {"id": "service:reference", "name": "Reference data", "status": "down", "reason": "Reference data is unavailable."},
                    {"id": "writes", "name": "Saving changes", "status": "degraded", "reason": "Its database is read-only."}
                ]}))
            }),
        )
        .route(
            "/profile/api/userinfo",
            get(move || {
                let granted = granted.load(Ordering::SeqCst);
                let down = profile_down.load(Ordering::SeqCst);
                async move {
                    if down {
                        return (
                            StatusCode::SERVICE_UNAVAILABLE,
                            Json(json!({"error": {"code": "no_healthy_endpoints",
                                "message": "no healthy endpoint of `profile`", "degraded": []}})),
                        );
                    }
                    let mut permissions = vec!["programme:view", "post:view", "tcs:add:modify:entities"];
                    if granted {
                        // ReferenceAdmin's, as Profile lists them.
                        permissions.extend(["reference:add:modify:entities", "adminmenu:view:entities"]);
                    }
                    (StatusCode::OK, Json(json!({"userName": "tester", "permissions": permissions,
                        "permissionPolicies": [{"name": "person:view", "principal": "tis:profile::user:",
                          "resource": "tis:people::person:", "actions": ["View", "Update"], "effect": "Allow"}]})))
                }
            }),
        )
        .route(
            "/tcs/api/contact-details/1",
            get(|| async {
                (
                    [("tis-degraded", "reference-stale")],
                    Json(json!({"id": 1, "forenames": "Paul", "surname": "<b>Smith</b>"})),
                )
            }),
        )
        .route(
            "/tcs/api/people/1",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({"error": {"code": "no_healthy_endpoints",
                        "message": "no healthy endpoint of `tcs`", "requestId": "req-0042"}})),
                )
                    .into_response()
            }),
        )
        .route(
            "/tcs/api/people/5",
            get(|| async {
                Json(json!({"id": 5, "contactDetails": {"forenames": "Ana", "surname": "Watson"},
                    "gmcDetails": {"gmcNumber": "7289895"}}))
            }),
        )
        .route(
            "/tcs/api/posts/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<i64>| async move {
                let site = if id == 7 { 1 } else { 99 };
                Json(json!({"id": id, "nationalPostNumber": "EOE/RGT01/610/CT1/001", "status": "CURRENT",
                    "sites": [{"siteId": site, "postSiteType": "PRIMARY"}],
                    "grades": [{"gradeId": 3, "postGradeType": "APPROVED"}]}))
            }),
        )
        .route("/tcs/api/posts/{id}/placements", get(|| async { Json(json!([])) }))
        .route(
            "/tcs/api/posts",
            get(|| async {
                Json(json!([{"id": 7, "nationalPostNumber": "EOE/RGT01/610/CT1/001",
                    "primarySiteName": "Addenbrooke's Hospital", "approvedGradeName": "Core Training Year 1"}]))
            }),
        )
        .route(
            "/tcs/api/people",
            get(|| async {
                Json(json!([{"id": 5, "forenames": "Ana", "surname": "Watson", "gmcNumber": "7289895"}]))
            }),
        )
        .route(
            "/reference/api/sites/ids/in",
            get(|q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                if q.get("ids").is_some_and(|ids| ids.contains("99")) {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"error": {"code": "no_healthy_endpoints", "message": "no healthy endpoint of `reference`"}})),
                    )
                        .into_response();
                }
                Json(json!([{"id": 1, "siteCode": "RJ122", "siteName": "St Thomas' Hospital"}])).into_response()
            }),
        )
        .route(
            "/reference/api/grades/ids/in",
            get(|| async { Json(json!([{"id": 3, "abbreviation": "CT1", "name": "Core Training Year 1"}])) }),
        )
        .route(
            "/reference/api/grades",
            get(|| async {
                Json(json!([
                    {"id": 3, "abbreviation": "CT1", "name": "Core Training Year 1", "placementGrade": true, "status": "CURRENT"},
                    {"id": 4, "abbreviation": "XX", "name": "Not for placements", "placementGrade": false, "status": "CURRENT"}
                ]))
            }),
        )
        .route(
            "/profile/api/hee-users",
            get(|| async {
                Json(json!({"content": [{"name": "reval.admin", "firstName": "Demo",
                    "designatedBodyCodes": ["1-AIIDWA", "1-UNKNOWN"], "active": true}]}))
            }),
        )
        .route(
            "/reference/api/dbcs",
            get(|| async { Json(json!([{"dbc": "1-AIIDWA", "name": "Kent, Surrey and Sussex"}])) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

struct Rig {
    app: TestApp,
    sessions: Sessions,
    /// Whether Profile now says the user holds ReferenceAdmin.
    granted: Arc<AtomicBool>,
    /// Whether Profile's userinfo answers 503.
    profile_down: Arc<AtomicBool>,
    idp: FakeIdp,
}

async fn rig(backend: tis_service_kit::testing::Backend) -> Rig {
    let key = Arc::new(TestKey::ed25519("idp-1"));
    let idp = FakeIdp::start(testing::jwks(&[&key])).await;
    let granted = Arc::new(AtomicBool::new(false));
    let profile_down = Arc::new(AtomicBool::new(false));
    let gateway = fake_gateway(granted.clone(), profile_down.clone()).await;
    let issuer = idp.issuer();
    let app = TestApp::spawn(
        backend,
        |c: &mut WebConfig| {
            c.gateway_url = gateway;
            c.client_secret = "secret".into();
            c.access_tokens = Some(testing::auth_config(&issuer));
        },
        |cfg| async move { tis_web::build(&cfg).await },
    )
    .await;
    let sessions = Sessions::new(app.db.clone(), std::time::Duration::from_secs(3600));
    Rig {
        app,
        sessions,
        granted,
        profile_down,
        idp,
    }
}

/// A session as a sign-in would have made it; its cookie value.
async fn signed_in(sessions: &Sessions) -> String {
    signed_in_for(sessions, 300).await
}

/// A session whose access token has `expires_in` seconds left; its cookie value.
async fn signed_in_for(sessions: &Sessions, expires_in: u64) -> String {
    let tokens = Tokens {
        access_token: "access".into(),
        id_token: Some("id".into()),
        refresh_token: Some("refresh".into()),
        expires_in,
        refresh_expires_in: Some(1800),
    };
    sessions
        .create("tester", &tokens, "id")
        .await
        .expect("session")
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().expect("value").to_owned()
}

#[tokio::test]
async fn without_a_live_session_every_page_sends_the_browser_to_sign_in() {
    for backend in BACKENDS {
        let r = rig(backend).await;
        let cookie = signed_in(&r.sessions).await;
        let forged = tis_web::session::random();
        for (value, why) in [
            (None, "no cookie"),
            (Some(forged.as_str()), "a forged cookie"),
        ] {
            let mut req = r.app.client.get(r.app.url("/people?q=smith"));
            if let Some(v) = value {
                req = req.header("cookie", format!("TIS_SESSION={v}"));
            }
            let res = req.send().await.expect("GET");
            assert_eq!(res.status(), 303, "{backend:?} {why}");
            assert_eq!(
                res.headers()["location"],
                "/auth/login?return_to=%2Fpeople%3Fq%3Dsmith"
            );
        }
        // The real one is served.
        let res = r
            .app
            .client
            .get(r.app.url("/"))
            .header("cookie", format!("TIS_SESSION={cookie}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(res.status(), 200, "{backend:?}");
        let html = res.text().await.expect("html");
        assert!(
            html.contains("Signed in as <strong>tester</strong>"),
            "{html}"
        );
        // Signing out needs the form's token; then the same cookie is refused (no replay).
        let csrf = csrf_of(&html);
        let out = |form: String| {
            r.app
                .client
                .post(r.app.url("/auth/logout"))
                .header("cookie", format!("TIS_SESSION={cookie}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
        };
        assert_eq!(out("csrf=wrong".into()).await.expect("POST").status(), 403);
        assert!(
            r.sessions.load(&cookie).await.expect("load").is_some(),
            "{backend:?}: still signed in"
        );
        let res = out(format!("csrf={csrf}")).await.expect("POST");
        assert_eq!(res.status(), 303);
        let cleared = res.headers()["set-cookie"].to_str().expect("ascii");
        assert!(
            cleared.starts_with("TIS_SESSION=;") && cleared.contains("Max-Age=0"),
            "{cleared}"
        );
        assert!(
            r.sessions.load(&cookie).await.expect("load").is_none(),
            "{backend:?}: ended"
        );
        let res = r
            .app
            .client
            .get(r.app.url("/"))
            .header("cookie", format!("TIS_SESSION={cookie}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(
            res.status(),
            303,
            "{backend:?}: a replayed cookie signs nobody in"
        );
    }
}

#[tokio::test]
async fn a_sign_in_can_be_completed_once_and_only_from_the_browser_that_started_it() {
    for backend in BACKENDS {
        let r = rig(backend).await;
        let login = tis_web::session::Login {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            return_to: "/people".into(),
        };
        let value = r.sessions.start_login(&login).await.expect("login");
        assert!(
            r.sessions
                .take_login("forged")
                .await
                .expect("take")
                .is_none()
        );
        let taken = r
            .sessions
            .take_login(&value)
            .await
            .expect("take")
            .expect("found");
        assert_eq!(
            (taken.state.as_str(), taken.return_to.as_str()),
            ("s", "/people")
        );
        assert!(
            r.sessions.take_login(&value).await.expect("take").is_none(),
            "{backend:?}: used once"
        );
        // A callback without the browser's cookie, or with a state that is not its own.
        let res = r
            .app
            .client
            .get(r.app.url("/auth/callback?code=c&state=s"))
            .send()
            .await
            .expect("GET");
        assert_eq!(res.status(), 400);
        let value = r.sessions.start_login(&login).await.expect("login");
        let res = r
            .app
            .client
            .get(r.app.url("/auth/callback?code=c&state=other"))
            .header("cookie", format!("TIS_LOGIN={value}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(res.status(), 400, "{backend:?}");
        assert!(res.text().await.expect("html").contains("does not match"));
    }
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_assets_are_cached_for_a_year() {
    let r = rig(tis_service_kit::testing::Backend::Sqlite).await;
    let cookie = signed_in(&r.sessions).await;
    for path in ["/", "/nowhere", "/auth/login"] {
        let res = r
            .app
            .client
            .get(r.app.url(path))
            .header("cookie", format!("TIS_SESSION={cookie}"))
            .send()
            .await
            .expect("GET");
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    let css = format!("{}/nhsuk.min.css", tis_web::pages::assets());
    let res = r.app.client.get(r.app.url(&css)).send().await.expect("GET");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("content-encoding").is_none(),
        "not asked for gzip"
    );
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age=31536000")
    );
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(res.bytes().await.expect("css").len(), 278_083);
    let res = r
        .app
        .client
        .get(r.app.url(&css))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .expect("GET");
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.headers()["vary"], "accept-encoding");
    let sent = res.bytes().await.expect("css").len();
    assert!(
        sent < 40_000,
        "the stylesheet sent compressed: {sent} bytes"
    );
    // The fake provider has no authorization endpoint: signing in says so, in a page.
    let res = r
        .app
        .client
        .get(r.app.url("/auth/login"))
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 503);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains("Signing in is unavailable right now")
    );
}

#[tokio::test]
async fn degradation_is_shown_forms_are_disabled_and_a_page_renders_when_its_service_is_down() {
    for backend in BACKENDS {
        let r = rig(backend).await;
        let cookie = signed_in(&r.sessions).await;
        let get = |path: &str| {
            r.app
                .client
                .get(r.app.url(path))
                .header("cookie", format!("TIS_SESSION={cookie}"))
                .send()
        };
        let res = get("/people/1/contact").await.expect("GET");
        assert_eq!(res.status(), 200, "{backend:?}");
        let html = res.text().await.expect("html");
        assert!(
            html.contains(tis_web::status::WRITES_DOWN),
            "the banner says changes cannot be saved"
        );
        assert!(
            html.contains(tis_web::status::REFERENCE_STALE),
            "and that Reference data may be out of date"
        );
        assert!(
            html.contains("<fieldset class=\"nhsuk-fieldset\" disabled>"),
            "the form is disabled"
        );
        assert!(
            html.contains("&#60;b&#62;Smith&#60;/b&#62;") && !html.contains("<b>Smith"),
            "escaped"
        );
        // TCS down behind the gateway: a page, with a clear message, not an error body.
        let res = get("/people/1").await.expect("GET");
        assert_eq!(res.status(), 503);
        // Marked as an outage of what the page needs, not of this instance: the gateway's
        // breaker must not eject every web instance for it.
        assert_eq!(
            res.headers()
                .get("tis-degraded")
                .and_then(|v| v.to_str().ok()),
            Some("dependency-gateway")
        );
        let html = res.text().await.expect("html");
        assert!(
            html.contains("This part of TIS is unavailable right now")
                && html.contains("Trainee records cannot be reached at the moment")
                && html.contains("Try again in a few minutes"),
            "{html}"
        );
        // Plain words and the reference for support; the technical detail is only logged.
        assert!(
            html.contains("<strong id=\"support-reference\">req-0042</strong>"),
            "{html}"
        );
        assert!(
            !html.contains("healthy") && !html.contains("`tcs`"),
            "{html}"
        );
        assert!(
            html.contains("id=\"status-banner\""),
            "the banner is on every page"
        );
        // A POST with the right token is still refused while writes are unavailable.
        let csrf = csrf_of(&get("/").await.expect("GET").text().await.expect("html"));
        let res = r
            .app
            .client
            .post(r.app.url("/people/1/contact"))
            .header("cookie", format!("TIS_SESSION={cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&surname=Smith&forenames=Paul"))
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), 503, "{backend:?}");
        let res = r
            .app
            .client
            .post(r.app.url("/people/1/contact"))
            .header("cookie", format!("TIS_SESSION={cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("surname=Smith")
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), 403, "{backend:?}: no CSRF token");
    }
}

/// A GET with the session's cookie: status and page.
async fn page(r: &Rig, cookie: &str, path: &str) -> (u16, String) {
    let res = r
        .app
        .client
        .get(r.app.url(path))
        .header("cookie", format!("TIS_SESSION={cookie}"))
        .send()
        .await
        .expect("GET");
    (res.status().as_u16(), res.text().await.expect("html"))
}

/// A form POST with the session's cookie and its CSRF token: status and page.
async fn post_form(r: &Rig, cookie: &str, path: &str, pairs: &[(&str, &str)]) -> (u16, String) {
    let csrf = csrf_of(&page(r, cookie, "/").await.1);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(pairs);
    let res = r
        .app
        .client
        .post(r.app.url(path))
        .header("cookie", format!("TIS_SESSION={cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&form).expect("form"))
        .send()
        .await
        .expect("POST");
    (res.status().as_u16(), res.text().await.expect("html"))
}

#[tokio::test]
async fn posts_and_users_show_reference_names_not_ids_and_ids_with_a_note_without_reference() {
    for backend in BACKENDS {
        let r = rig(backend).await;
        let cookie = signed_in(&r.sessions).await;
        let (status, html) = page(&r, &cookie, "/posts/7").await;
        assert_eq!(status, 200, "{backend:?}: {html}");
        assert!(
            html.contains("St Thomas&#39; Hospital (RJ122), primary")
                && html.contains("Core Training Year 1 (CT1), approved"),
            "{html}"
        );
        assert!(!html.contains("Site ids"), "{html}");
        // Reference cannot name post 8's site: its id, a note in plain words, no error.
        let (status, html) = page(&r, &cookie, "/posts/8").await;
        assert_eq!(status, 200, "{backend:?}: {html}");
        assert!(html.contains("Site id 99, primary"), "{html}");
        assert!(html.contains(tis_web::pages::names::NAMES_DOWN), "{html}");
        assert!(!html.contains("healthy"), "{html}");
        // Profile's users: designated bodies by name, with their codes; an unknown code as it is.
        let (status, html) = page(&r, &cookie, "/admin/users").await;
        assert_eq!(status, 200, "{backend:?}: {html}");
        assert!(
            html.contains("Kent, Surrey and Sussex (1-AIIDWA), 1-UNKNOWN"),
            "{html}"
        );
    }
}

#[tokio::test]
async fn the_placement_form_finds_the_post_and_trainee_and_offers_sites_and_grades_by_name() {
    for backend in BACKENDS {
        let r = rig(backend).await;
        let cookie = signed_in(&r.sessions).await;
        // From a post's page: the post chosen, its site and the placement grades offered by name.
        let (status, html) = page(&r, &cookie, "/placements/new?postId=7&traineeId=5").await;
        assert_eq!(status, 200, "{backend:?}: {html}");
        assert!(
            html.contains(r#"name="postId" type="radio" value="7" checked"#),
            "{html}"
        );
        assert!(html.contains("Ana Watson, GMC 7289895"), "{html}");
        assert!(
            html.contains(r#"<option value="1" selected>St Thomas&#39; Hospital (RJ122)</option>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<option value="3" selected>Core Training Year 1 (CT1)</option>"#),
            "{html}"
        );
        assert!(
            !html.contains("Not for placements"),
            "only placement grades: {html}"
        );
        assert!(
            !html.contains("Reference id"),
            "no raw ids asked for: {html}"
        );
        // Without JavaScript: "Find" searches and shows the matches; nothing is saved.
        let (status, html) = post_form(
            &r,
            &cookie,
            "/placements/new",
            &[
                ("find", "postId"),
                ("postId-q", "RGT01"),
                ("traineeId-q", "watson"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {html}");
        assert!(
            html.contains(
                "EOE/RGT01/610/CT1/001: Addenbrooke&#39;s Hospital, Core Training Year 1"
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"id="traineeId-0" name="traineeId" type="radio" value="5""#),
            "{html}"
        );
        assert!(!html.contains("There is a problem"), "{html}");
        // Saving with nothing chosen: each picker's message beside it, in the summary.
        let (status, html) =
            post_form(&r, &cookie, "/placements/new", &[("postId-q", "RGT01")]).await;
        assert_eq!(status, 400, "{backend:?}: {html}");
        assert!(
            html.contains(r##"<a href="#postId-q">Post: Choose the post"##)
                && html.contains(r##"<a href="#traineeId-q">Trainee: Choose the trainee"##),
            "{html}"
        );
    }
}

#[tokio::test]
async fn a_reference_admin_role_granted_meanwhile_shows_the_menu_on_the_next_page() {
    for backend in BACKENDS {
        let r = rig(backend).await;
        let cookie = signed_in(&r.sessions).await;
        let link = r#"href="/admin/reference">Reference data</a>"#;
        let (_, html) = page(&r, &cookie, "/").await;
        assert!(!html.contains(link), "{backend:?}: not yet: {html}");
        // Profile now lists ReferenceAdmin's permissions: the same session, no new sign-in.
        r.granted.store(true, Ordering::SeqCst);
        let (_, html) = page(&r, &cookie, "/").await;
        assert!(html.contains(link), "{backend:?}: {html}");
    }
}

#[tokio::test]
async fn with_profile_unreachable_the_menu_is_the_one_profile_last_gave() {
    for backend in BACKENDS {
        let r = rig(backend).await;
        let cookie = signed_in(&r.sessions).await;
        let (_, before) = page(&r, &cookie, "/").await;
        assert!(
            before.contains(r#"href="/programmes""#),
            "{backend:?}: {before}"
        );
        r.profile_down.store(true, Ordering::SeqCst);
        let (status, html) = page(&r, &cookie, "/").await;
        assert_eq!(status, 200, "{backend:?}");
        assert!(
            html.contains(r#"href="/programmes""#),
            "{backend:?}: the last menu: {html}"
        );
        assert!(
            html.contains("User profiles cannot be reached right now"),
            "{html}"
        );
        assert!(!html.contains("no permissions in TIS yet"), "{html}");
        assert!(
            !html.contains("no healthy endpoint"),
            "no internal text: {html}"
        );
    }
}

#[tokio::test]
async fn booleans_read_yes_or_no_in_reference_lists_not_true_or_false() {
    for backend in BACKENDS {
        let r = rig(backend).await;
        let cookie = signed_in(&r.sessions).await;
        r.granted.store(true, Ordering::SeqCst);
        let (status, html) = page(&r, &cookie, "/admin/reference/grades").await;
        assert_eq!(status, 200, "{backend:?}: {html}");
        let cells: Vec<&str> = html
            .split("<td class=\"nhsuk-table__cell\">")
            .skip(1)
            .filter_map(|c| c.split("</td>").next())
            .collect();
        assert!(cells.contains(&"Yes") && cells.contains(&"No"), "{cells:?}");
        assert!(
            !cells.iter().any(|c| *c == "true" || *c == "false"),
            "{backend:?}: {cells:?}"
        );
    }
}

#[tokio::test]
async fn with_the_identity_provider_unreachable_pages_say_whether_the_user_is_signed_in() {
    const STAY: &str = "you stay signed in";
    for backend in BACKENDS {
        let r = rig(backend).await;
        // The provider answers 503: a refresh, like a sign-in, finds it unavailable.
        r.idp.set_failing(true);
        // A session due for refresh whose access token still has 20 s: the page, signed in,
        // and until when.
        let due = signed_in_for(&r.sessions, 20).await;
        let (status, html) = page(&r, &due, "/").await;
        assert_eq!(status, 200, "{backend:?}: {html}");
        assert!(
            html.contains("Signed in as <strong>tester</strong>")
                && html.contains("You are signed in until ")
                && html.contains("you will need to sign in again"),
            "{backend:?}: {html}"
        );
        // The sign-in page's words follow what this browser is: signed in, ended, or neither.
        let login = |cookie: Option<String>| {
            let mut req = r.app.client.get(r.app.url("/auth/login?return_to=%2F"));
            if let Some(c) = cookie {
                req = req.header("cookie", format!("TIS_SESSION={c}"));
            }
            async move {
                let res = req.send().await.expect("GET");
                assert_eq!(res.status(), 503);
                res.text().await.expect("html")
            }
        };
        let html = login(Some(due.clone())).await;
        assert!(html.contains("You are still signed in"), "{html}");
        let html = login(None).await;
        assert!(html.contains("so you cannot sign in"), "{html}");
        assert!(
            !html.contains(STAY) && !html.contains("still signed in"),
            "{html}"
        );
        // Past the access token's life the session ends; its browser is told so, not that it
        // stays signed in.
        let expired = signed_in_for(&r.sessions, 0).await;
        let (status, _) = page(&r, &expired, "/people").await;
        assert_eq!(status, 303, "{backend:?}: sent to sign in");
        assert!(r.sessions.load(&expired).await.expect("load").is_none());
        let html = login(Some(expired)).await;
        assert!(html.contains("Your sign-in has ended"), "{html}");
        assert!(
            !html.contains(STAY) && !html.contains("still signed in"),
            "{html}"
        );
    }
}

#[test]
fn the_identity_providers_degradation_mark_tells_a_signed_in_user_what_holds() {
    let notices = tis_web::pages::degraded_notices(&["idp".to_owned()]);
    assert_eq!(notices, [tis_web::pages::IDP_DOWN_SIGNED_IN]);
    assert!(!notices[0].contains("you stay signed in"), "{notices:?}");
}

/// An identity provider whose token endpoint rotates refresh tokens as `tis idp` does, slowly
/// (each redemption answered after 300 ms, so that requests overlap), and counts: every
/// redemption, and every second use of a token (which `tis idp` answers by revoking the
/// session). Serves discovery and the keys too; `frozen`: its token endpoint counts a request
/// and never answers it (a SIGSTOPped provider). Its issuer URL.
async fn rotating_idp(
    key: Arc<TestKey>,
    redemptions: Arc<std::sync::atomic::AtomicUsize>,
    reuses: Arc<std::sync::atomic::AtomicUsize>,
    frozen: bool,
) -> String {
    let used = Arc::new(std::sync::Mutex::new(
        std::collections::HashSet::<String>::new(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let issuer = format!("http://{}/realms/lin", listener.local_addr().expect("addr"));
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
        "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
    });
    let jwks = testing::jwks(&[&key]);
    let app = axum::Router::new()
        .route(
            "/realms/lin/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route(
            "/realms/lin/protocol/openid-connect/certs",
            get(move || async move { Json(jwks) }),
        )
        .route(
            "/realms/lin/protocol/openid-connect/token",
            axum::routing::post(move |body: String| async move {
                let form: std::collections::HashMap<String, String> =
                    serde_urlencoded::from_str(&body).expect("a form");
                let token = form.get("refresh_token").cloned().unwrap_or_default();
                let n = redemptions.fetch_add(1, Ordering::SeqCst) + 1;
                if frozen {
                    std::future::pending::<()>().await;
                }
                let fresh = used.lock().expect("lock").insert(token);
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                if !fresh {
                    reuses.fetch_add(1, Ordering::SeqCst);
                    return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant"})));
                }
                (
                    StatusCode::OK,
                    Json(json!({"access_token": format!("access-{n}"), "refresh_token": format!("refresh-{n}"),
                        "expires_in": 300, "refresh_expires_in": 1800, "token_type": "Bearer"})),
                )
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    issuer
}

/// Two web instances on one database, as `tis up` and production run them, with `issuer` as
/// their identity provider and `tweak` on top of their configuration; and their sessions.
async fn two_instances(
    backend: tis_service_kit::testing::Backend,
    issuer: &str,
    tweak: impl Fn(&mut WebConfig) + Clone + Send + 'static,
) -> ([TestApp; 2], Sessions) {
    let gateway = fake_gateway(Arc::default(), Arc::default()).await;
    let instance = |url: Option<String>| {
        let (gateway, issuer, tweak) = (gateway.clone(), issuer.to_owned(), tweak.clone());
        TestApp::spawn(
            backend,
            move |c: &mut WebConfig| {
                use tis_service_kit::config::ServiceConfig as _;
                if let Some(url) = url {
                    c.base_mut().database.url = url;
                }
                c.gateway_url = gateway;
                c.client_secret = "secret".into();
                c.access_tokens = Some(testing::auth_config(&issuer));
                tweak(c);
            },
            |cfg| async move { tis_web::build(&cfg).await },
        )
    };
    let first = instance(None).await;
    let second = instance(Some(first.db.config().url.clone())).await;
    let sessions = Sessions::new(first.db.clone(), std::time::Duration::from_secs(3600));
    ([first, second], sessions)
}

#[tokio::test]
async fn pages_of_a_session_due_for_refresh_on_two_instances_at_once_redeem_its_token_once() {
    use std::sync::atomic::AtomicUsize;
    const AT_ONCE: usize = 8;
    for backend in BACKENDS {
        let key = Arc::new(TestKey::ed25519("idp-1"));
        let (redemptions, reuses) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let issuer = rotating_idp(key, redemptions.clone(), reuses.clone(), false).await;
        let (apps, sessions) = two_instances(backend, &issuer, |_| {}).await;
        for (round, instances) in [("one instance", &apps[..1]), ("two instances", &apps[..])] {
            // A session of its own (its own refresh token), due for refresh.
            let tokens = Tokens {
                access_token: "access".into(),
                id_token: Some("id".into()),
                refresh_token: Some(format!("refresh of {round}")),
                expires_in: 10,
                refresh_expires_in: Some(1800),
            };
            let cookie = sessions
                .create("tester", &tokens, "id")
                .await
                .expect("session");
            let before = redemptions.load(Ordering::SeqCst);
            let mut pages = tokio::task::JoinSet::new();
            for i in 0..AT_ONCE {
                let app = &instances[i % instances.len()];
                let req = app
                    .client
                    .get(app.url("/"))
                    .header("cookie", format!("TIS_SESSION={cookie}"));
                pages.spawn(async move {
                    let res = req.send().await.expect("GET");
                    (res.status().as_u16(), res.text().await.expect("page"))
                });
            }
            while let Some(page) = pages.join_next().await {
                let (status, html) = page.expect("join");
                assert!(
                    status == 200 && html.contains("Signed in as <strong>tester</strong>"),
                    "{backend:?}, {round}: {status} {html}"
                );
            }
            assert_eq!(
                redemptions.load(Ordering::SeqCst) - before,
                1,
                "{backend:?}, {round}: one redemption of the refresh token"
            );
            assert_eq!(
                reuses.load(Ordering::SeqCst),
                0,
                "{backend:?}, {round}: no reuse"
            );
            let now = sessions
                .load(&cookie)
                .await
                .expect("load")
                .expect("signed in");
            assert!(
                now.access_token.starts_with("access-")
                    && now
                        .refresh_token
                        .as_deref()
                        .is_some_and(|r| r.starts_with("refresh-")),
                "{backend:?}, {round}: the new tokens stored: {now:?}"
            );
        }
    }
}

/// A frozen identity provider costs the pages of a session due for refresh one wait, on every
/// instance, even when the page that began the refresh is cut (the gateway cuts a try that
/// takes much longer than the service's usual answers and sends it to the other instance).
/// Cut half-way, that refresh used to hold the session's lease with no outcome: the session's
/// next pages waited for the lease to run out and then called the frozen provider again, one
/// after the other, past the gateway's deadline (`tis::web_browser`, identity provider frozen).
#[tokio::test]
async fn a_frozen_provider_costs_a_sessions_pages_one_wait_even_when_the_page_that_began_it_is_cut()
{
    use std::sync::atomic::AtomicUsize;
    for backend in BACKENDS {
        let key = Arc::new(TestKey::ed25519("idp-1"));
        let asked = Arc::new(AtomicUsize::new(0));
        let issuer = rotating_idp(key, asked.clone(), Arc::default(), true).await;
        let (apps, sessions) = two_instances(backend, &issuer, |c| {
            c.idp_timeout = std::time::Duration::from_secs(2);
        })
        .await;
        // Due for refresh (within `refresh_before`), its access token good for 20 s more.
        let cookie = signed_in_for(&sessions, 20).await;
        let get = |app: &TestApp| {
            let req = app
                .client
                .get(app.url("/"))
                .header("cookie", format!("TIS_SESSION={cookie}"));
            async move {
                let res = req.send().await.expect("GET");
                (res.status().as_u16(), res.text().await.expect("page"))
            }
        };
        let first = tokio::spawn(get(&apps[0]));
        tis_testkit::wait::until(
            "the provider asked for new tokens",
            std::time::Duration::from_secs(30),
            std::time::Duration::from_millis(5),
            || async { (asked.load(Ordering::SeqCst) == 1).then_some(()) },
        )
        .await
        .expect("the first page's refresh reaches the provider");
        first.abort();
        // The session's next pages, on both instances, while that refresh waits.
        let (other, same) = tokio::join!(get(&apps[1]), get(&apps[0]));
        for (status, html) in [other, same] {
            assert!(
                status == 200
                    && html.contains("Signed in as <strong>tester</strong>")
                    && html.contains("You are signed in until "),
                "{backend:?}: {status} {html}"
            );
        }
        assert_eq!(
            asked.load(Ordering::SeqCst),
            1,
            "{backend:?}: they took the outcome of the refresh under way, not a call of their own"
        );
        let row = sessions
            .load(&cookie)
            .await
            .expect("load")
            .expect("signed in");
        assert!(row.refresh_failed_at_ms.is_some(), "{backend:?}: {row:?}");
        // A page after that failure asks the provider again: it may be back.
        let (status, html) = get(&apps[1]).await;
        assert!(
            status == 200 && html.contains("You are signed in until "),
            "{backend:?}: {status} {html}"
        );
        assert_eq!(asked.load(Ordering::SeqCst), 2, "{backend:?}");
    }
}
