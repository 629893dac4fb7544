//! The server-rendered pages: the login form, the logout confirmation, "signed out", and
//! error pages.
//!
//! Every value that comes from a request or the realm file goes through [`escape`]; the
//! pages have no script at all and their only style sheet is [`LOGIN_CSS`], served from
//! `/resources/tis/login.css`. Each page is sent with a `Content-Security-Policy` that
//! allows no inline script or style, `X-Frame-Options: DENY`, `Cache-Control: no-store`,
//! `Referrer-Policy: no-referrer` (the form's URL carries the tab id) and
//! `X-Content-Type-Options: nosniff`.
//!
//! Accessibility: `lang`, a title naming the page, one `h1` in `main`, labelled fields with
//! `autocomplete`, and on an error an error summary (`role="alert"`, focusable) whose link
//! moves focus to the field at fault, the field marked `aria-invalid` and described by its
//! message, as the NHS.UK design system does.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// The login page's style sheet.
pub(crate) const LOGIN_CSS: &str = "\
*,*::before,*::after{box-sizing:border-box}\
body{margin:0;font-family:Arial,Helvetica,sans-serif;font-size:1.1875rem;line-height:1.5;color:#212b32;background:#f0f4f5}\
header{background:#005eb8;color:#fff;padding:1rem 1.5rem;font-weight:bold}\
main{max-width:30rem;margin:2rem auto;padding:2rem;background:#fff}\
h1{font-size:2rem;margin:0 0 1.5rem}\
label{display:block;font-weight:bold;margin-bottom:.25rem}\
input[type=text],input[type=password]{display:block;width:100%;padding:.5rem;font-size:1.1875rem;border:2px solid #4c6272;margin-bottom:1.5rem}\
input[aria-invalid=true]{border-color:#d5281b}\
input:focus,a:focus,button:focus{outline:4px solid #ffeb3b;outline-offset:0;box-shadow:inset 0 0 0 2px #212b32}\
button{font-size:1.1875rem;font-weight:bold;color:#fff;background:#007f3b;border:0;border-bottom:4px solid #00401e;padding:.75rem 1rem;cursor:pointer}\
button:hover{background:#00662f}\
.error-summary{border:4px solid #d5281b;padding:1rem;margin-bottom:1.5rem}\
.error-summary h2{font-size:1.375rem;margin:0 0 .5rem}\
.error-summary a{color:#d5281b;font-weight:bold}\
.error-message{display:block;color:#d5281b;font-weight:bold;margin-bottom:.25rem}\
a{color:#005eb8}\
.visually-hidden{position:absolute;width:1px;height:1px;margin:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
";

/// HTML-escapes `s` for text and double-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The origin (`scheme://authority`) of an absolute URL, for a CSP `form-action` source.
fn origin(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    let ok = authority
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    ok.then(|| format!("{scheme}://{authority}"))
}

/// An HTML page with the security headers. `form_target` is where a form on the page may
/// end up after redirects (the client's redirect URI): browsers apply `form-action` to the
/// redirects that follow a form post.
pub(crate) fn html(status: StatusCode, body: String, form_target: Option<&str>) -> Response {
    let mut form_action = "'self'".to_owned();
    if let Some(o) = form_target.and_then(origin) {
        form_action.push(' ');
        form_action.push_str(&o);
    }
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn layout(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} - TIS</title>\n\
         <link rel=\"stylesheet\" href=\"/resources/tis/login.css\">\n</head>\n<body>\n\
         <header>TIS - Trainee Information System</header>\n<main id=\"main\">\n{main}</main>\n\
         </body>\n</html>\n",
        title = escape(title)
    )
}

/// What the login page shows.
pub(crate) struct LoginPage<'a> {
    /// Where the form posts (it carries the tab id).
    pub action: &'a str,
    pub username: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The client's redirect URI (for `form-action`).
    pub redirect_uri: &'a str,
}

pub(crate) fn login(p: &LoginPage<'_>) -> Response {
    let mut main = String::new();
    if let Some(error) = p.error {
        main.push_str(&format!(
            "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-summary-title\" tabindex=\"-1\">\n\
             <h2 id=\"error-summary-title\">There is a problem</h2>\n\
             <ul><li><a href=\"#username\">{e}</a></li></ul>\n</div>\n",
            e = escape(error)
        ));
    }
    main.push_str(&format!(
        "<h1>Sign in to TIS</h1>\n\
         <form method=\"post\" action=\"{action}\" novalidate>\n",
        action = escape(p.action)
    ));
    let invalid = if p.error.is_some() {
        " aria-invalid=\"true\" aria-describedby=\"login-error\""
    } else {
        ""
    };
    if let Some(error) = p.error {
        main.push_str(&format!(
            "<span class=\"error-message\" id=\"login-error\"><span class=\"visually-hidden\">Error: </span>{}</span>\n",
            escape(error)
        ));
    }
    main.push_str(&format!(
        "<label for=\"username\">Username</label>\n\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{user}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required{invalid}>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{invalid}>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n",
        user = escape(p.username.unwrap_or("")),
    ));
    let title = if p.error.is_some() {
        "Error: Sign in"
    } else {
        "Sign in"
    };
    html(StatusCode::OK, layout(title, &main), Some(p.redirect_uri))
}

/// An error page: the request cannot go back to the client (unknown client, a redirect URI
/// not registered, a login page that expired).
pub(crate) fn error(status: StatusCode, title: &str, message: &str) -> Response {
    let main = format!(
        "<h1>{t}</h1>\n<p>{m}</p>\n",
        t = escape(title),
        m = escape(message)
    );
    html(status, layout(title, &main), None)
}

/// The logout confirmation: a form posting back to the logout endpoint.
pub(crate) fn confirm_logout(action: &str, confirm: &str, target: Option<&str>) -> Response {
    let main = format!(
        "<h1>Sign out</h1>\n<p>Do you want to sign out of TIS?</p>\n\
         <form method=\"post\" action=\"{a}\">\n\
         <input type=\"hidden\" name=\"confirm\" value=\"{c}\">\n\
         <button type=\"submit\">Sign out</button>\n</form>\n",
        a = escape(action),
        c = escape(confirm)
    );
    html(StatusCode::OK, layout("Sign out", &main), target)
}

/// After a logout with nowhere to go back to.
pub(crate) fn signed_out() -> Response {
    let main = "<h1>You have signed out</h1>\n<p>You can close this window.</p>\n";
    html(StatusCode::OK, layout("Signed out", main), None)
}

/// `GET /resources/tis/login.css`.
pub(crate) async fn login_css() -> Response {
    let mut res = LOGIN_CSS.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn origins_for_form_action() {
        assert_eq!(
            origin("http://127.0.0.1:8080/auth/callback?x=1").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("/relative"), None);
    }
}
