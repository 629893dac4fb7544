//! Browser sign-in: the authorization endpoint and the login form.
//!
//! ```text
//! GET|POST /realms/{realm}/protocol/openid-connect/auth                   the authorization request
//! POST     /realms/{realm}/login-actions/authenticate?tab_id=…            the login form's post
//! ```
//!
//! The request is checked in the order RFC 6749 §4.1.2.1 requires: the realm, the client and
//! its redirect URI first; while any of those is wrong the answer is an HTML error page and
//! never a redirect (no open redirect). Once the redirect URI is known to be registered
//! (compared exactly), every other problem goes back to it as `?error=…&state=…&iss=…`.
//!
//! Then, as Keycloak does: a live SSO session (`KEYCLOAK_SESSION` cookie) answers with a code
//! at once, unless `prompt=login` or `max_age` asks for a fresh login; `prompt=none` without a
//! session answers `error=login_required`; otherwise the login page. The page's form posts
//! to `login-actions/authenticate?tab_id=<random>`, and the post must come with the
//! `AUTH_SESSION_ID` cookie set with the page: a post without both is refused (CSRF). A
//! wrong password shows the page again under a new tab id and counts for the failed-login
//! limiter; a right one starts an SSO session and redirects with the code.
//!
//! PKCE: only `S256`. A public client must send a `code_challenge`; a confidential client may.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lc_rs::digest;
use axum::Extension;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use tis_core::extract::Path;

use super::Idp;
use super::form::Form;
use super::page::{self, LoginPage};
use crate::browser::{AuthRequest, CodeGrant, SsoSession, Tab};
use crate::realm::{Client, GrantType, Realm, User};
use crate::tokens::scope::Scope;

/// The SSO session cookie: HttpOnly, SameSite=Lax, path the realm.
pub(crate) const SESSION_COOKIE: &str = "KEYCLOAK_SESSION";
/// The cookie binding a login page to the browser that was shown it.
pub(crate) const AUTH_COOKIE: &str = "AUTH_SESSION_ID";
/// The longest `state`, `nonce` or `login_hint` accepted (they are kept in memory).
const MAX_PARAM_CHARS: usize = 2048;
/// The longest username echoed into a log line.
const LOGGED_NAME_CHARS: usize = 64;

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

impl Idp {
    /// `/realms/<realm>/`, as the browser sees it (with the public URL's path prefix).
    pub(crate) fn cookie_path(&self, realm: &str) -> String {
        let issuer = self.tokens.issuer(realm);
        let path = issuer
            .parse::<http::Uri>()
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| format!("/realms/{realm}"));
        format!("{}/", path.trim_end_matches('/'))
    }

    /// A `Set-Cookie` value for the realm's cookies; `None` clears the cookie.
    pub(crate) fn set_cookie(&self, realm: &str, name: &str, value: Option<&str>) -> HeaderValue {
        let secure = if self.tokens.base_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        let path = self.cookie_path(realm);
        let text = match value {
            Some(v) => format!("{name}={v}; Path={path}; HttpOnly; SameSite=Lax{secure}"),
            None => format!("{name}=; Path={path}; Max-Age=0; HttpOnly; SameSite=Lax{secure}"),
        };
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
    }

    /// Ends session `sid`: its refresh tokens are refused, its cookie and unused codes
    /// forgotten.
    pub(crate) fn end_session(&self, sid: &str, session_end: u64) {
        self.ledger.revoke(sid, session_end);
        self.browser.end_session(sid);
    }

    /// The latest a session started at `auth_time` can last.
    pub(crate) fn session_end(&self, auth_time: u64) -> u64 {
        auth_time + self.tokens.lifetimes.session_max.as_secs()
    }

    /// The live SSO session of the request's cookie, with its user (enabled).
    fn sso_session(
        &self,
        realm: &Realm,
        headers: &HeaderMap,
        now: u64,
    ) -> Option<(SsoSession, Arc<User>)> {
        let secret = cookie(headers, SESSION_COOKIE)?;
        let session = self.browser.session(&realm.name, secret, now)?;
        if self.ledger.is_revoked(&session.sid) {
            return None;
        }
        let user = realm
            .user_by_id(&session.user_id)
            .filter(|u| u.entry.enabled)?;
        Some((session, user.clone()))
    }
}

/// `url` with `params` added to its query.
pub(crate) fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    if query.is_empty() {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

pub(crate) fn redirect(location: &str) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// The request's parameters: the query of a GET, the form body of a POST.
async fn parameters(req: Request) -> Result<Form, Response> {
    let bad = |e: super::error::OAuthError| {
        page::error(StatusCode::BAD_REQUEST, "Invalid request", &e.description)
    };
    if req.method() == Method::POST {
        Form::read(req).await.map_err(bad)
    } else {
        Form::parse(req.uri().query().unwrap_or("").as_bytes()).map_err(bad)
    }
}

/// An error for the client, sent to its (registered) redirect URI.
struct Back<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    issuer: String,
}

impl Back<'_> {
    fn error(&self, error: &str, description: &str) -> Response {
        tracing::info!(
            error.code = error,
            error.message = description,
            "authorization request refused"
        );
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(s) = self.state {
            params.push(("state", s));
        }
        params.push(("iss", &self.issuer));
        redirect(&with_query(self.redirect_uri, &params))
    }
}

pub(crate) async fn authorize(
    State(idp): State<Arc<Idp>>,
    Path(realm): Path<String>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let Some(realm) = idp.realms.get(&realm) else {
        return page::error(
            StatusCode::NOT_FOUND,
            "Realm not found",
            "This sign-in address names no realm.",
        );
    };
    let form = match parameters(req).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let Some(client_id) = form.get("client_id") else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "Missing parameter: client_id",
        );
    };
    let Some(client) = realm.client(client_id).filter(|c| c.entry.enabled) else {
        tracing::info!(client.id = %client_id.chars().take(64).collect::<String>(), "authorization request for an unknown client");
        return page::error(
            StatusCode::BAD_REQUEST,
            "Client not found",
            "Client not found.",
        );
    };
    let Some(redirect_uri) = form.get("redirect_uri") else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "Missing parameter: redirect_uri",
        );
    };
    if !client.entry.redirect_uris.iter().any(|u| u == redirect_uri) {
        tracing::warn!(client.id = %client.entry.client_id, "authorization request with an unregistered redirect_uri");
        return page::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "Invalid parameter: redirect_uri",
        );
    }
    let back = Back {
        redirect_uri,
        state: form.get("state"),
        issuer: idp.tokens.issuer(&realm.name),
    };
    let request = match check_request(&form, realm, client, redirect_uri) {
        Ok(r) => r,
        Err((error, description)) => return back.error(error, &description),
    };
    let prompts: Vec<&str> = form
        .get("prompt")
        .unwrap_or("")
        .split_ascii_whitespace()
        .collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return back.error("invalid_request", "Invalid parameter: prompt");
    }
    let max_age = match form.get("max_age").map(str::parse::<u64>) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return back.error("invalid_request", "Invalid parameter: max_age"),
    };

    let now = idp.tokens.now();
    let session = idp
        .sso_session(realm, &headers, now)
        // max_age=0 asks for a fresh login, like prompt=login (OIDC Core §3.1.2.1).
        .filter(|(s, _)| max_age.is_none_or(|a| a > 0 && now.saturating_sub(s.auth_time) <= a));
    if let Some((session, user)) = session.filter(|_| !prompts.contains(&"login")) {
        tracing::info!(user.name = %user.entry.username, client.id = %client.entry.client_id, "signed in by the SSO session");
        return code_redirect(&idp, request, &session, now);
    }
    if prompts.contains(&"none") {
        return back.error("login_required", "User not logged in");
    }
    show_login(&idp, realm, request, &headers, None, None, now)
}

/// An error to send back to the client: its code and description.
type Refusal = (&'static str, String);

fn refuse<T>(error: &'static str, description: impl Into<String>) -> Result<T, Refusal> {
    Err((error, description.into()))
}

/// Checks everything after the client and redirect URI; errors go back to the client.
fn check_request(
    form: &Form,
    realm: &Realm,
    client: &Client,
    redirect_uri: &str,
) -> Result<AuthRequest, Refusal> {
    if !client.allows(GrantType::AuthorizationCode) {
        return refuse(
            "unauthorized_client",
            "Client is not allowed to initiate browser login with the code flow",
        );
    }
    match form.get("response_type") {
        Some("code") => {}
        None => return refuse("invalid_request", "Missing parameter: response_type"),
        Some(_) => return refuse("unsupported_response_type", "Unsupported response_type"),
    }
    if form.get("response_mode").is_some_and(|m| m != "query") {
        return refuse("invalid_request", "Invalid parameter: response_mode");
    }
    let scope = match Scope::parse(form.get("scope")) {
        Ok(s) if s.openid => form.get("scope").unwrap_or_default().to_owned(),
        Ok(_) => return refuse("invalid_scope", "The openid scope is required"),
        Err(s) => return refuse("invalid_scope", format!("Invalid scopes: {s}")),
    };
    for name in ["state", "nonce", "login_hint"] {
        if form
            .get(name)
            .is_some_and(|v| v.chars().count() > MAX_PARAM_CHARS)
        {
            return refuse("invalid_request", format!("Invalid parameter: {name}"));
        }
    }
    let challenge = match (
        form.get("code_challenge"),
        form.get("code_challenge_method"),
    ) {
        (Some(c), Some("S256")) if is_s256_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return refuse("invalid_request", "Invalid parameter: code_challenge");
        }
        (Some(_), None) => {
            // RFC 7636 §4.3: no method means `plain`, which is refused.
            return refuse(
                "invalid_request",
                "Missing parameter: code_challenge_method",
            );
        }
        (_, Some(_)) => {
            return refuse(
                "invalid_request",
                "Invalid parameter: code_challenge_method",
            );
        }
        (None, None) if client.entry.public => {
            return refuse(
                "invalid_request",
                "Missing parameter: code_challenge_method",
            );
        }
        (None, None) => None,
    };
    Ok(AuthRequest {
        realm: realm.name.clone(),
        client_id: client.entry.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: form.get("state").map(str::to_owned),
        nonce: form.get("nonce").map(str::to_owned),
        code_challenge: challenge,
        login_hint: form.get("login_hint").map(str::to_owned),
    })
}

/// An S256 challenge is the base64url SHA-256 of the verifier: 43 characters.
fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` matches the S256 `challenge` (RFC 7636 §4.6).
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return false;
    }
    let d = digest::digest(&digest::SHA256, verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref());
    crate::browser::same_secret(&computed, challenge)
}

/// Issues a code for `session` and sends the browser back to the client with it.
fn code_redirect(idp: &Idp, request: AuthRequest, session: &SsoSession, now: u64) -> Response {
    let issuer = idp.tokens.issuer(&request.realm);
    let redirect_uri = request.redirect_uri.clone();
    let state = request.state.clone();
    let code = idp.browser.issue_code(
        CodeGrant {
            request,
            sid: session.sid.clone(),
            user_id: session.user_id,
            auth_time: session.auth_time,
            expires: now + idp.code_lifetime.as_secs(),
        },
        now,
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &state {
        params.push(("state", s));
    }
    params.push(("session_state", &session.sid));
    params.push(("iss", &issuer));
    redirect(&with_query(&redirect_uri, &params))
}

/// Shows the login page for `request` under a new tab id.
fn show_login(
    idp: &Idp,
    realm: &Realm,
    request: AuthRequest,
    headers: &HeaderMap,
    username: Option<&str>,
    error: Option<&str>,
    now: u64,
) -> Response {
    // One AUTH_SESSION_ID per browser, as Keycloak: several tabs can log in at once.
    let browser = cookie(headers, AUTH_COOKIE)
        .filter(|v| v.len() == 43)
        .map(str::to_owned)
        .unwrap_or_else(crate::browser::random_token);
    let redirect_uri = request.redirect_uri.clone();
    let hint = request.login_hint.clone();
    let tab = idp.browser.open_tab(
        Tab {
            request,
            browser: browser.clone(),
            expires: now + idp.login_timeout.as_secs(),
        },
        now,
    );
    let action = with_query(
        &format!("{}login-actions/authenticate", idp.cookie_path(&realm.name)),
        &[("tab_id", &tab)],
    );
    let mut res = page::login(&LoginPage {
        action: &action,
        username: username.or(hint.as_deref()),
        error,
        redirect_uri: &redirect_uri,
    });
    res.headers_mut().append(
        header::SET_COOKIE,
        idp.set_cookie(&realm.name, AUTH_COOKIE, Some(&browser)),
    );
    res
}

/// `POST /realms/{realm}/login-actions/authenticate?tab_id=…`: the login form.
pub(crate) async fn authenticate(
    State(idp): State<Arc<Idp>>,
    Path(realm): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    req: Request,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr);
    let source = peer.map(|p| p.ip().to_string()).unwrap_or_default();
    let Some(realm) = idp.realms.get(&realm) else {
        return page::error(
            StatusCode::NOT_FOUND,
            "Realm not found",
            "This sign-in address names no realm.",
        );
    };
    let headers = req.headers().clone();
    let tab_id = Form::parse(req.uri().query().unwrap_or("").as_bytes())
        .ok()
        .and_then(|q| q.get("tab_id").map(str::to_owned));
    let form = match Form::read(req).await {
        Ok(f) => f,
        Err(e) => return page::error(StatusCode::BAD_REQUEST, "Invalid request", &e.description),
    };
    let now = idp.tokens.now();
    let expired = || {
        page::error(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "Your sign-in attempt timed out or is not valid. Go back to the application and sign in again.",
        )
    };
    let Some(tab) = tab_id.and_then(|id| {
        idp.browser
            .take_tab(&realm.name, &id, cookie(&headers, AUTH_COOKIE), now)
    }) else {
        tracing::warn!(source.ip = %source, "login post without a live tab or its cookie refused");
        return expired();
    };
    let Some(client) = realm
        .client(&tab.request.client_id)
        .filter(|c| c.entry.enabled)
    else {
        return expired();
    };
    let request = tab.request;
    let username = form.get("username");
    let again = |error: &str, request: AuthRequest| {
        show_login(&idp, realm, request, &headers, username, Some(error), now)
    };
    let counted = |outcome: &'static str| {
        metrics::counter!("idp_browser_logins_total", "realm" => realm.name.clone(), "outcome" => outcome).increment(1);
    };
    let (Some(username), Some(password)) = (username, form.secret("password")) else {
        counted("incomplete");
        return again("Enter your username and password", request);
    };
    let shown: String = username.chars().take(LOGGED_NAME_CHARS).collect();
    const REFUSED: &str = "Invalid username or password";
    if idp.limiter.is_locked(&realm.name, username, now) {
        tracing::warn!(user.name = %shown, source.ip = %source, "browser login refused: too many failed attempts");
        counted("locked");
        return again(REFUSED, request);
    }
    let user = realm.user(username);
    let phc = user.map_or_else(
        || realm.decoy_hash.clone(),
        |u| u.entry.password_hash.clone(),
    );
    let matched = idp.verifier.verify(password, phc).await;
    let Some(user) = user.filter(|_| matched) else {
        idp.limiter.failed(&realm.name, username, now);
        tracing::info!(user.name = %shown, source.ip = %source, "browser login failed: invalid user credentials");
        counted("invalid_credentials");
        return again(REFUSED, request);
    };
    if !user.entry.enabled {
        tracing::info!(user.name = %shown, "browser login refused: account disabled");
        counted("disabled");
        return again("Account is disabled, contact your administrator", request);
    }
    idp.limiter.succeeded(&realm.name, username);
    counted("signed_in");

    // A new login replaces the browser's previous session, whoever it was for.
    if let Some((old, _)) = idp.sso_session(realm, &headers, now) {
        idp.end_session(&old.sid, old.ends);
    }
    let session = SsoSession {
        realm: realm.name.clone(),
        sid: uuid::Uuid::new_v4().to_string(),
        user_id: user.id,
        auth_time: now,
        ends: idp.session_end(now),
    };
    let secret = idp.browser.start_session(session.clone(), now);
    tracing::info!(user.name = %user.entry.username, client.id = %client.entry.client_id, session.id = %session.sid, "browser login");
    let mut res = code_redirect(&idp, request, &session, now);
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        idp.set_cookie(&realm.name, SESSION_COOKIE, Some(&secret)),
    );
    h.append(
        header::SET_COOKIE,
        idp.set_cookie(&realm.name, AUTH_COOKIE, None),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_s256_challenge("plain-challenge"));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; KEYCLOAK_SESSION=abc ; b=".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query("http://h/cb", &[("code", "a b"), ("state", "x&y")]),
            "http://h/cb?code=a+b&state=x%26y"
        );
        assert_eq!(
            with_query("http://h/cb?k=v", &[("a", "1")]),
            "http://h/cb?k=v&a=1"
        );
    }
}
