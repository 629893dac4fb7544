//! The public status endpoints: `GET /api/status` (JSON) and `GET /status` (HTML for people,
//! server-rendered with askama, refreshing itself every 5 s with htmx — vendored at
//! `/status/static/htmx.min.js`, no CDN — or with a meta refresh when scripts are off).
//! Both carry the history ([`super::history`]): the page draws its bars as styled elements
//! (no inline style or script, so the policy below holds), each with a title, and each row
//! with a text alternative (`role="img"`, `aria-label`) saying what the bars show.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header;

use serde::Serialize;

use super::history::recorder::lock;
use super::history::{HistoryView, now_ms, readable_rfc3339};
use super::{Capability, PublicStatus, Sources};

/// htmx 2, minified, from the npm package `htmx.org` (see `static/README.md`).
const HTMX: &[u8] = include_bytes!("../../static/htmx.min.js");
/// The page's styles (a file, so that the policy needs no `'unsafe-inline'`).
const CSS: &[u8] = include_bytes!("../../static/status.css");

/// The status page's policy: its own script (htmx) and styles only, no inline script or
/// style, no plugins, no forms, never in a frame; htmx fetches `/status` itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The status page.
#[derive(Template, WebTemplate)]
#[template(path = "status.html")]
pub struct StatusPage {
    pub status: &'static str,
    pub summary: String,
    /// RFC 3339, for the page's `<time datetime>`.
    pub checked_at: String,
    /// "7 Dec 2026, 14:05:32 UTC".
    pub checked_at_readable: String,
    pub capabilities: Vec<Capability>,
    pub history: HistoryView,
}

/// `GET /api/status`: the live status and its history.
#[derive(Debug, Serialize)]
pub struct WithHistory {
    #[serde(flatten)]
    pub status: PublicStatus,
    pub history: HistoryView,
}

/// The live status and the history of its capabilities, now.
pub fn with_history(sources: &Sources) -> WithHistory {
    let status = sources.public();
    let history = lock(&sources.history).view(now_ms(), &status.capabilities);
    WithHistory { status, history }
}

/// The public status routes (no token needed).
pub fn router(sources: Sources) -> Router {
    Router::new()
        .route("/api/status", get(api_status))
        .route("/status", get(status_page))
        .route("/status/static/htmx.min.js", get(htmx))
        .route("/status/static/status.css", get(css))
        .with_state(sources)
}

async fn api_status(State(sources): State<Sources>) -> Response {
    let mut res = Json(with_history(&sources)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

async fn status_page(State(sources): State<Sources>) -> Response {
    let WithHistory { status: s, history } = with_history(&sources);
    let mut res = StatusPage {
        status: s.status.as_str(),
        summary: s.summary,
        checked_at_readable: readable_rfc3339(&s.checked_at),
        checked_at: s.checked_at,
        capabilities: s.capabilities,
        history,
    }
    .into_response();
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    res
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        CSS,
    )
        .into_response()
}

async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        HTMX,
    )
        .into_response()
}
