//! The pages: the router, the layout every page shares, who is signed in, and the security
//! headers of every answer.
//!
//! Every page but the sign-in routes and the assets needs a session: without one the browser
//! is sent to `/auth/login?return_to=<this path>`. The session's tokens are refreshed here when
//! the access token is about to expire; if the identity provider cannot be reached the session
//! lives on while the access token is valid (the gateway's own rule: it keeps verifying tokens
//! within the keys' grace), and ends when it is not.

pub mod admin;
mod auth;
pub mod form;
mod list;
pub mod names;
mod people;
pub mod placements;
mod programmes;

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use tis_auth::{AuthenticatedBy, Principal, UserProfile};

use crate::api::{ApiError, Gateway};
use crate::oidc::{Oidc, OidcError};
use crate::session::{Claim, RefreshFlights, SESSION_COOKIE, Session, Sessions};
use crate::status::{Banner, StatusCache};

/// The application's state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Web {
    pub sessions: Sessions,
    pub oidc: Arc<Oidc>,
    pub gateway: Gateway,
    pub status: StatusCache,
    pub redirect_uri: String,
    pub after_logout: String,
    pub secure_cookies: bool,
    pub refresh_before: Duration,
    /// Timeout of one call to the identity provider: how long a refresh may take.
    pub idp_timeout: Duration,
    /// The refreshes under way in this instance, one per session.
    pub refreshing: RefreshFlights,
    /// The page policy, with the identity provider's origin in `form-action`.
    pub csp: HeaderValue,
    /// Each user's profile as Profile last gave it.
    pub last_profiles: LastProfiles,
}

/// Each user's profile as Profile last gave it to this instance, for the menu while Profile
/// cannot be reached. Without it a Profile outage shrank every user's menu to Home and told
/// them they had "no permissions in TIS yet"; the API calls themselves are authorised by the
/// gateway from its own cache (`profile-stale`), so the pages still work. Bounded: when full,
/// it starts again (a user then sees the short menu until Profile answers).
#[derive(Debug, Clone, Default)]
pub struct LastProfiles(Arc<std::sync::Mutex<std::collections::HashMap<String, UserProfile>>>);

impl LastProfiles {
    const MAX_USERS: usize = 10_000;

    fn remember(&self, user: &str, profile: &UserProfile) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= Self::MAX_USERS && !map.contains_key(user) {
            map.clear();
        }
        map.insert(user.to_owned(), profile.clone());
    }

    fn get(&self, user: &str) -> Option<UserProfile> {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(user).cloned()
    }
}

/// The assets' path: fingerprinted, so that they can be cached for a year (see [`crate::assets`]).
pub fn assets() -> &'static str {
    crate::assets::path()
}

pub fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route("/people", get(people::search))
        .route("/people/{id}", get(people::record))
        .route(
            "/people/{id}/contact",
            get(people::contact_form).post(people::contact_save),
        )
        .route("/programmes", list::page(programmes::list))
        .route("/programmes/{id}", get(programmes::one))
        .route("/curricula", list::page(programmes::curricula))
        .route("/posts", list::page(placements::posts))
        .route("/posts/{id}", get(placements::post))
        .route(
            "/placements/{id}",
            get(placements::placement_form).post(placements::placement_save),
        )
        .route("/admin/reference", get(admin::reference_index))
        .route("/admin/reference/{plural}", get(admin::reference_list))
        .route(
            "/admin/reference/{plural}/{id}",
            get(admin::reference_form).post(admin::reference_save),
        )
        .route("/admin/users", list::page(admin::users))
        .route(
            "/admin/users/{name}",
            get(admin::user_form).post(admin::user_save),
        )
        .route("/admin/roles", list::page(admin::roles))
        .route(
            &format!("{}/{{*file}}", assets()),
            get(crate::assets::serve),
        )
        .route("/{*rest}", get(not_found).post(not_found))
        .layer(middleware::from_fn_with_state(web.clone(), headers))
        .with_state(web)
}

/// The security headers of every answer; `no-store` on everything but the assets.
async fn headers(State(web): State<Web>, req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with(assets());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, web.csp.clone());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // This application answers 503 only for what it calls (the APIs through the gateway, the
    // identity provider, TCS's writes), never for itself. Said so, the gateway's breaker does
    // not count it against this instance (tis_core::degradation::is_shared_outage): ejecting
    // every web instance for a Profile outage turned every page, the working ones too, into
    // the gateway's raw "no healthy endpoint of `web`".
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().append(
            tis_core::context::DEGRADED,
            HeaderValue::from_static(DEPENDENCY_OUTAGE),
        );
    }
    res
}

/// The `TIS-Degraded` name of this application's 503s: something it depends on is out.
const DEPENDENCY_OUTAGE: &str = "dependency-gateway";

/// The page policy: nothing inline, nothing from elsewhere, never framed; forms post here,
/// or (sign-out's redirect) to the identity provider.
pub fn csp(issuer_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self' {issuer_origin}"
    )
}

/// What the layout needs.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
    pub banner: Banner,
    /// Notices for this page (a `TIS-Degraded` answer, a saved change).
    pub notices: Vec<String>,
    pub nav: Vec<(&'static str, &'static str)>,
    pub assets: &'static str,
}

/// Who is signed in, with what they may do, for one request.
#[derive(Debug)]
pub struct Current {
    pub session: Session,
    pub principal: Principal,
    pub layout: Layout,
}

impl Current {
    pub fn token(&self) -> &str {
        &self.session.access_token
    }

    /// `GET path` through the gateway with the user's token: its JSON body, with any
    /// `TIS-Degraded` marks noted on this page; or the page that tells the failure.
    pub async fn fetch(&mut self, web: &Web, path: &str) -> Result<serde_json::Value, Response> {
        match web.gateway.get(self.token(), path).await {
            Ok(a) => {
                self.layout.notices.extend(degraded_notices(&a.degraded));
                Ok(a.body)
            }
            Err(e) => Err(api_failure(self.layout.clone(), &e)),
        }
    }

    /// `hasPermission('tis:people::person:', action)`.
    pub fn may_people(&self, action: &str) -> bool {
        self.principal.has_permission("tis:people::person:", action)
    }
}

/// The signed-in user and the record `{api}/{id}` for a page about one record (`here`); a
/// path id that is not a number is "Page not found", a failure its page.
pub async fn one_record(
    web: &Web,
    headers: &HeaderMap,
    here: &str,
    api: &str,
    id: &str,
) -> Result<(Current, i64, serde_json::Value), Response> {
    let mut c = current(web, headers, here).await?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(api_failure(c.layout, &ApiError::NotFound));
    };
    let record = c.fetch(web, &format!("{api}/{id}")).await?;
    Ok((c, id, record))
}

/// The notice of a signed-in page while the identity provider cannot be reached.
pub const IDP_DOWN_SIGNED_IN: &str = "Signing in to TIS is unavailable right now. You are signed in and can carry on, but if you sign out you cannot sign in again until it is back.";

/// Notices for the degradations an answer carried, on a signed-in user's page.
pub fn degraded_notices(marks: &[String]) -> Vec<String> {
    marks
        .iter()
        .map(|m| match m.as_str() {
            "reference-stale" | "dependency-reference" => {
                "Reference data may be out of date: this page used the last values TIS saw."
                    .to_owned()
            }
            "db-read-only" => crate::status::WRITES_DOWN.to_owned(),
            "db-stale" => "This page may be a few seconds out of date.".to_owned(),
            "profile-stale" => "Your permissions may be a few minutes out of date.".to_owned(),
            // Notices are for a signed-in user's page: that is the fact the page has.
            "idp" => IDP_DOWN_SIGNED_IN.to_owned(),
            other => format!("Part of this page was served in a degraded way ({other})."),
        })
        .collect()
}

/// The signed-in user, or the answer that sends the browser to sign in.
pub async fn current(web: &Web, headers: &HeaderMap, here: &str) -> Result<Current, Response> {
    let to_login = || {
        let q = serde_urlencoded::to_string([("return_to", here)]).unwrap_or_default();
        Redirect::to(&format!("/auth/login?{q}")).into_response()
    };
    let Some(cookie) = cookie(headers, SESSION_COOKIE) else {
        return Err(to_login());
    };
    let mut session = match web.sessions.load(&cookie).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(to_login()),
        Err(e) => {
            tracing::error!(error.message = %e, "sessions cannot be read");
            return Err(unavailable_page(
                "Signing in cannot be checked at the moment. Try again in a few minutes.",
            ));
        }
    };
    let mut notices = Vec::new();
    let left = session.access_expires - crate::session::now();
    if left <= i64::try_from(web.refresh_before.as_secs()).unwrap_or(30) {
        match refresh(web, session.clone()).await {
            Ok(refreshed) => session = refreshed,
            // The provider is down: the session lives while its access token does.
            Err(OidcError::Unavailable(why)) if session.access_expires > crate::session::now() => {
                tracing::warn!(error.message = %why, "the session's tokens cannot be refreshed");
                notices.push(signed_in_until(session.access_expires));
            }
            Err(_) => {
                let _ = web.sessions.delete(&session.id_hash).await;
                return Err(to_login());
            }
        }
    }
    let banner = web.status.banner().await;
    let profile = match web
        .gateway
        .get::<UserProfile>(&session.access_token, "/profile/api/userinfo")
        .await
    {
        Ok(a) => {
            notices.extend(degraded_notices(&a.degraded));
            web.last_profiles.remember(&session.user_name, &a.body);
            a.body
        }
        Err(ApiError::Unauthorized) => {
            let _ = web.sessions.delete(&session.id_hash).await;
            return Err(to_login());
        }
        Err(e) => {
            tracing::warn!(error.message = %e, "the user's profile cannot be read");
            match web.last_profiles.get(&session.user_name) {
                Some(last) => {
                    notices.push(
                        "User profiles cannot be reached right now: the menu shows what you could use when they last answered.".to_owned(),
                    );
                    last
                }
                None => {
                    notices.push(
                        "User profiles cannot be reached right now: the menu may miss pages you can use.".to_owned(),
                    );
                    UserProfile::named(&session.user_name)
                }
            }
        }
    };
    let principal = Principal::new(profile, AuthenticatedBy::AccessToken);
    let mut nav = vec![("/", "Home")];
    if principal.has_permission("tis:people::person:", "View") {
        nav.push(("/people", "People"));
    }
    if principal.has_authority("programme:view") {
        nav.push(("/programmes", "Programmes"));
    }
    if principal.has_authority("curriculum:view") {
        nav.push(("/curricula", "Curricula"));
    }
    if principal.has_authority(placements::POST_VIEW) {
        nav.push(("/posts", "Posts"));
    }
    if admin::may_see_reference_menu(&principal) {
        nav.push(("/admin/reference", "Reference data"));
    }
    if principal.has_authority(admin::PROFILE_VIEW) {
        nav.push(("/admin/users", "Users"));
        nav.push(("/admin/roles", "Roles"));
    }
    let layout = Layout {
        title: String::new(),
        user: Some(session.user_name.clone()),
        csrf: session.csrf.clone(),
        banner,
        notices,
        nav,
        assets: assets(),
    };
    Ok(Current {
        session,
        principal,
        layout,
    })
}

/// What a signed-in page says while the session's tokens cannot be refreshed: the sign-in
/// lasts as long as its access token.
fn signed_in_until(access_expires: i64) -> String {
    let until = time::OffsetDateTime::from_unix_timestamp(access_expires)
        .map(crate::format::instant)
        .unwrap_or_default();
    format!(
        "TIS cannot reach its sign-in service right now. You are signed in until {until} (UTC); if it is not back by then, you will need to sign in again."
    )
}

/// The session with fresh tokens, the refresh token redeemed once however many requests of
/// the session find them due together (see [`crate::session`], "Refreshing tokens once"):
/// in this instance the session's other requests wait for this one's outcome; across
/// instances the row's lease makes the others wait for the tokens this one stores, or for
/// the failure it records. A request that waits longer than a refresh may take goes on with
/// the tokens it has (`Unavailable`: the session lives while its access token does).
async fn refresh(web: &Web, session: Session) -> Result<Session, OidcError> {
    // Spawned: once started, a refresh finishes and records its outcome in the row even if
    // the request that started it is cut (the browser gone, or a try the gateway cut early
    // and sent to another instance). Cut half-way, it held the session's lease with no
    // outcome, and the session's next requests, on any instance, waited for the lease to run
    // out and then called the frozen provider again: a page then took longer than its
    // deadline.
    let task = {
        let web = web.clone();
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            refresh_once(&web, session).await
        }))
    };
    task.await
        .unwrap_or_else(|e| Err(OidcError::Unavailable(format!("the refresh stopped: {e}"))))
}

async fn refresh_once(web: &Web, mut session: Session) -> Result<Session, OidcError> {
    let store = |e: tis_store::StoreError| OidcError::Unavailable(e.to_string());
    let started = tokio::time::Instant::now();
    let since_ms = crate::session::now_ms();
    let _flight = web.refreshing.join(&session.id_hash).await;
    // The lease outlasts the provider's timeout: its holder either stores tokens or gives up
    // within it; one that died holding it is outwaited.
    let lease = web.idp_timeout + Duration::from_secs(2);
    let lease_secs = i64::try_from(lease.as_secs()).unwrap_or(5);
    let deadline = started + lease;
    let mut poll = Duration::from_millis(20);
    loop {
        match web
            .sessions
            .claim_refresh(&session, lease_secs, since_ms)
            .await
            .map_err(store)?
        {
            Claim::Refreshed(now) => return Ok(now),
            Claim::Gone => return Err(OidcError::Refused("the session has ended".into())),
            Claim::Failed => {
                return Err(OidcError::Unavailable(
                    "the refresh this request waited for found the provider unavailable".into(),
                ));
            }
            Claim::Busy if tokio::time::Instant::now() >= deadline => {
                return Err(OidcError::Unavailable(
                    "another instance's refresh of this session did not finish in time".into(),
                ));
            }
            Claim::Busy => {
                tokio::time::sleep(poll).await;
                poll = (poll * 2).min(Duration::from_millis(200));
            }
            Claim::Mine => {
                let Some(token) = session.refresh_token.clone() else {
                    let _ = web.sessions.release_refresh(&session, false).await;
                    return Err(OidcError::Refused("no refresh token".into()));
                };
                return match web.oidc.refresh(&token).await {
                    Ok(tokens) => {
                        web.sessions
                            .update_tokens(&mut session, &tokens)
                            .await
                            .map_err(store)?;
                        Ok(session)
                    }
                    Err(e) => {
                        if matches!(e, OidcError::Unavailable(_)) {
                            let _ = web.sessions.release_refresh(&session, true).await;
                        }
                        Err(e)
                    }
                };
            }
        }
    }
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure outside plain http.
pub fn set_cookie(web: &Web, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
    if web.secure_cookies {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

/// Renders a template, or a plain error if it cannot be (a bug).
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error.message = %e, "a page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

/// A page with a heading and a message.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    /// More paragraphs.
    pub more: Vec<String>,
    /// The reference to give support (a request id), when there is one.
    pub reference: Option<String>,
}

pub fn message(status: StatusCode, mut layout: Layout, heading: &str, text: &str) -> Response {
    layout.title = heading.to_owned();
    if layout.assets.is_empty() {
        layout.assets = assets();
    }
    render(
        status,
        &MessagePage {
            layout,
            heading: heading.to_owned(),
            message: text.to_owned(),
            more: Vec::new(),
            reference: None,
        },
    )
}

/// The page for a part of TIS that cannot be reached: what is unavailable, what still works,
/// when to try again, and the reference for support; the technical detail is in the log.
pub fn outage_page(mut layout: Layout, outage: &crate::api::Outage) -> Response {
    let heading = "This part of TIS is unavailable right now";
    layout.title = heading.to_owned();
    if layout.assets.is_empty() {
        layout.assets = assets();
    }
    render(
        StatusCode::SERVICE_UNAVAILABLE,
        &MessagePage {
            layout,
            heading: heading.to_owned(),
            message: format!(
                "{} cannot be reached at the moment, so this page cannot be shown.",
                outage.part
            ),
            more: vec![
                "The pages that do not need it still work: use the menu to go to them.".into(),
                "Try again in a few minutes.".into(),
            ],
            reference: Some(outage.request_id.clone()),
        },
    )
}

fn unavailable_page(text: &str) -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        Layout::default(),
        "Sorry, there is a problem with the service",
        text,
    )
}

/// The page for an API failure.
pub fn api_failure(layout: Layout, err: &ApiError) -> Response {
    match err {
        ApiError::Forbidden => message(
            StatusCode::FORBIDDEN,
            layout,
            "You do not have permission to see this",
            "Ask your TIS administrator if you need it. If you were given it in the last minute or two, try again shortly: a change of permissions takes up to a minute to reach every part of TIS.",
        ),
        ApiError::NotFound => message(
            StatusCode::NOT_FOUND,
            layout,
            "Page not found",
            "It does not exist, or it is not yours to see.",
        ),
        ApiError::Unavailable(outage) => outage_page(layout, outage),
        other => message(
            StatusCode::BAD_REQUEST,
            layout,
            "There is a problem",
            &other.to_string(),
        ),
    }
}

pub(crate) async fn not_found(State(web): State<Web>, headers: HeaderMap) -> Response {
    let layout = match current(&web, &headers, "/").await {
        Ok(c) => c.layout,
        Err(_) => Layout::default(),
    };
    message(
        StatusCode::NOT_FOUND,
        layout,
        "Page not found",
        "If you typed the web address, check it is correct.",
    )
}

/// The refusal (403) of a form whose CSRF token is not the session's; `None` when it is.
pub fn csrf_refusal(current: &Current, sent: Option<&str>) -> Option<Response> {
    let ok =
        sent.is_some_and(|s| crate::session::same(s.as_bytes(), current.session.csrf.as_bytes()));
    (!ok).then(|| {
        message(
            StatusCode::FORBIDDEN,
            current.layout.clone(),
            "This form has expired",
            "Go back, reload the page and try again.",
        )
    })
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    user: String,
}

async fn home(State(web): State<Web>, headers: HeaderMap) -> Response {
    let mut c = match current(&web, &headers, "/").await {
        Ok(c) => c,
        Err(res) => return res,
    };
    c.layout.title = "Home".into();
    render(
        StatusCode::OK,
        &HomePage {
            user: c.session.user_name.clone(),
            layout: c.layout,
        },
    )
}
