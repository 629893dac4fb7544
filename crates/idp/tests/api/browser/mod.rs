//! Browser sign-in: the authorization endpoint, the login form, the code grant with PKCE,
//! refresh and logout, driven by a reqwest client that follows no redirect and keeps its
//! own cookie jar (as a browser would, per name; the tests use one realm path).

mod flow;
mod logout;
mod pkce;
mod security;

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use reqwest::redirect::Policy;
use serde_json::Value;

use crate::helpers::{ALICE_PASSWORD, TestIdp, WEB_CALLBACK, WEB_SECRET};

/// A browser: no redirect following, a cookie jar.
pub struct Browser {
    http: reqwest::Client,
    jar: Mutex<HashMap<String, String>>,
    /// Every `Set-Cookie` received, verbatim, for the attribute checks.
    pub set_cookies: Mutex<Vec<String>>,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("client"),
            jar: Mutex::new(HashMap::new()),
            set_cookies: Mutex::new(Vec::new()),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub fn set(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> reqwest::Response {
        let cookies: Vec<String> = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let rb = if cookies.is_empty() {
            rb
        } else {
            rb.header("cookie", cookies.join("; "))
        };
        let res = rb.send().await.expect("the idp answers");
        for v in res.headers().get_all("set-cookie") {
            let text = v.to_str().expect("ascii cookie").to_owned();
            let (pair, _) = text.split_once(';').unwrap_or((&text, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            let mut jar = self.jar.lock().unwrap();
            if text.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
            self.set_cookies.lock().unwrap().push(text);
        }
        res
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.send(self.http.get(url)).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(form).expect("form");
        self.send(
            self.http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref());
    Pkce {
        verifier,
        challenge,
    }
}

/// The authorization URL of realm `lin` with `params` (nothing added).
pub fn auth_url(idp: &TestIdp, params: &[(&str, &str)]) -> String {
    format!(
        "{}/realms/lin/protocol/openid-connect/auth?{}",
        idp.base,
        serde_urlencoded::to_string(params).expect("query")
    )
}

/// The usual request of client `web`: code, openid, state `st-1`, nonce `n-1`, PKCE.
pub fn web_request(p: &Pkce) -> Vec<(&str, &str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "web"),
        ("redirect_uri", WEB_CALLBACK),
        ("scope", "openid profile"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", &p.challenge),
        ("code_challenge_method", "S256"),
    ]
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// The value of `name` in the query of `url`.
pub fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The login form's target, absolute.
pub fn form_action(idp: &TestIdp, html: &str) -> String {
    let start = html.find("action=\"").expect("a form") + "action=\"".len();
    let end = html[start..].find('"').expect("closing quote") + start;
    let action = html[start..end].replace("&amp;", "&");
    assert!(action.starts_with('/'), "{action}");
    idp.url(&action)
}

/// Opens the login page for `params`; returns the page's HTML, asserting 200.
pub async fn login_page(idp: &TestIdp, b: &Browser, params: &[(&str, &str)]) -> String {
    let res = b.get(&auth_url(idp, params)).await;
    assert_eq!(res.status(), 200, "the login page");
    res.text().await.expect("html")
}

/// Opens the login page for `params` and signs in as alice; returns the redirect.
pub async fn sign_in(idp: &TestIdp, b: &Browser, params: &[(&str, &str)]) -> String {
    let page = login_page(idp, b, params).await;
    let res = b
        .post(
            &form_action(idp, &page),
            &[("username", "alice"), ("password", ALICE_PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 302, "a right password redirects");
    location(&res)
}

/// POSTs `form` to the token endpoint as client `web` (client_secret_basic).
pub async fn web_token(idp: &TestIdp, form: &[(&str, &str)]) -> (u16, Value) {
    let body = serde_urlencoded::to_string(form).expect("form");
    let res = idp
        .http
        .post(idp.token_url("lin"))
        .basic_auth("web", Some(WEB_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token endpoint");
    (res.status().as_u16(), res.json().await.expect("json"))
}

/// Redeems `code` as `web` with `verifier`.
pub async fn redeem(idp: &TestIdp, code: &str, verifier: &str) -> (u16, Value) {
    web_token(
        idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", WEB_CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Signs alice in through `web` and redeems the code; returns the token response.
pub async fn web_tokens(idp: &TestIdp, b: &Browser) -> Value {
    let p = pkce();
    let back = sign_in(idp, b, &web_request(&p)).await;
    let code = param(&back, "code").expect("a code");
    let (status, body) = redeem(idp, &code, &p.verifier).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A refresh as `web` (client_secret_post).
pub async fn web_refresh(idp: &TestIdp, refresh_token: &str) -> (u16, Value) {
    let res = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("client_secret", WEB_SECRET),
            ("refresh_token", refresh_token),
        ])
        .await;
    (res.status().as_u16(), res.json().await.expect("json"))
}
