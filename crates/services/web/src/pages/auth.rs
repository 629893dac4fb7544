//! Signing in and out: `/auth/login` (to the provider, with state, nonce and PKCE bound to this
//! browser by `TIS_LOGIN`), `/auth/callback` (the code redeemed, the ID token verified, the
//! session started), `/auth/logout` (a form with the CSRF token: the session ended here and at
//! the provider).

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode, header};

use super::{Layout, Web, cookie, message, set_cookie};
use crate::session::{LOGIN_COOKIE, Login, SESSION_COOKIE, random, same};

/// `return_to` if it is a path of this application, else `/`: never another site (`//host`,
/// `/\host` and `https://…` are all refused).
pub fn local_path(return_to: Option<&str>) -> String {
    match return_to {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(|c| c.is_control() || c == '\\')
                && p.len() <= 2000 =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Whether the browser asking is signed in, as far as the request shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedIn {
    /// Its session cookie names a live session.
    Yes,
    /// It has a session cookie, but the session has ended (it ran out, or was ended because
    /// its tokens could not be renewed).
    Ended,
    /// No session cookie, or the sessions cannot be read: nothing to say about a session.
    No,
}

impl SignedIn {
    pub async fn of(web: &Web, headers: &HeaderMap) -> SignedIn {
        let Some(value) = cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty()) else {
            return SignedIn::No;
        };
        match web.sessions.load(&value).await {
            Ok(Some(_)) => SignedIn::Yes,
            Ok(None) => SignedIn::Ended,
            Err(_) => SignedIn::No,
        }
    }

    /// What the "Signing in is unavailable" page tells this browser.
    pub fn sign_in_unavailable_text(self) -> &'static str {
        match self {
            SignedIn::Yes => {
                "TIS cannot reach its sign-in service at the moment. You are still signed in: you can carry on, but if you sign out you cannot sign in again until it is back. Try again in a few minutes."
            }
            SignedIn::Ended => {
                "Your sign-in has ended, and TIS cannot reach its sign-in service at the moment to sign you in again. Try again in a few minutes."
            }
            SignedIn::No => {
                "TIS cannot reach its sign-in service at the moment, so you cannot sign in. Try again in a few minutes."
            }
        }
    }
}

async fn sign_in_unavailable(web: &Web, headers: &HeaderMap, why: &str) -> Response {
    tracing::warn!(
        error.message = why,
        "the identity provider cannot be reached"
    );
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        Layout::default(),
        "Signing in is unavailable right now",
        SignedIn::of(web, headers).await.sign_in_unavailable_text(),
    )
}

pub async fn login(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let login = Login {
        state: random(),
        nonce: random(),
        verifier: random(),
        return_to: local_path(q.get("return_to").map(String::as_str)),
    };
    let url = match web
        .oidc
        .authorize_url(
            &web.redirect_uri,
            &login.state,
            &login.nonce,
            &login.verifier,
        )
        .await
    {
        Ok(u) => u,
        Err(e) => return sign_in_unavailable(&web, &headers, &e.to_string()).await,
    };
    let value = match web.sessions.start_login(&login).await {
        Ok(v) => v,
        Err(e) => return sign_in_unavailable(&web, &headers, &e.to_string()).await,
    };
    let mut res = Redirect::to(&url).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&web, LOGIN_COOKIE, &value, Some(15 * 60)),
    );
    res
}

pub async fn callback(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let refused = |why: &str| {
        message(
            StatusCode::BAD_REQUEST,
            Layout::default(),
            "You could not be signed in",
            &format!("{why} Start again from the home page."),
        )
    };
    let Some(value) = cookie(&headers, LOGIN_COOKIE) else {
        return refused("This sign-in was not started in this browser.");
    };
    let login = match web.sessions.take_login(&value).await {
        Ok(Some(l)) => l,
        Ok(None) => return refused("This sign-in has expired or was already used."),
        Err(e) => return sign_in_unavailable(&web, &headers, &e.to_string()).await,
    };
    let state = q.get("state").map(String::as_str).unwrap_or_default();
    if !same(state.as_bytes(), login.state.as_bytes()) {
        return refused("This sign-in does not match the one this browser started.");
    }
    if let Some(error) = q.get("error") {
        return refused(&format!("The identity provider said: {error}."));
    }
    let Some(code) = q.get("code") else {
        return refused("The identity provider sent no code.");
    };
    let tokens = match web
        .oidc
        .exchange(code, &web.redirect_uri, &login.verifier)
        .await
    {
        Ok(t) => t,
        Err(crate::oidc::OidcError::Unavailable(e)) => {
            return sign_in_unavailable(&web, &headers, &e).await;
        }
        Err(e) => return refused(&format!("{e}.")),
    };
    let Some(id_token) = tokens.id_token.clone() else {
        return refused("The identity provider sent no ID token.");
    };
    let who = match web.oidc.verify_id_token(&id_token, &login.nonce).await {
        Ok(w) => w,
        Err(e) => return refused(&format!("{e}.")),
    };
    let session = match web
        .sessions
        .create(&who.user_name, &tokens, &id_token)
        .await
    {
        Ok(s) => s,
        Err(e) => return sign_in_unavailable(&web, &headers, &e.to_string()).await,
    };
    tracing::info!(user.name = %who.user_name, "signed in");
    let mut res = Redirect::to(&local_path(Some(&login.return_to))).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&web, SESSION_COOKIE, &session, None),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&web, LOGIN_COOKIE, "", Some(0)),
    );
    res
}

#[derive(serde::Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: Option<String>,
}

pub async fn logout(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let signed_out = Redirect::to("/").into_response();
    let Some(value) = cookie(&headers, SESSION_COOKIE) else {
        return signed_out;
    };
    let session = match web.sessions.load(&value).await {
        Ok(Some(s)) => s,
        _ => return signed_out,
    };
    let ok = form
        .csrf
        .as_deref()
        .is_some_and(|s| same(s.as_bytes(), session.csrf.as_bytes()));
    if !ok {
        return message(
            StatusCode::FORBIDDEN,
            Layout::default(),
            "This form has expired",
            "Go back, reload the page and try again.",
        );
    }
    if let Err(e) = web.sessions.delete(&session.id_hash).await {
        return sign_in_unavailable(&web, &headers, &e.to_string()).await;
    }
    tracing::info!(user.name = %session.user_name, "signed out");
    let to = web
        .oidc
        .end_session_url(&session.id_token, &web.after_logout)
        .await
        .unwrap_or_else(|| "/".to_owned());
    let mut res = Redirect::to(&to).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&web, SESSION_COOKIE, "", Some(0)),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_return_urls() {
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "/\u{0}x",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
        assert_eq!(local_path(Some("/people/3?x=1")), "/people/3?x=1");
    }
}
