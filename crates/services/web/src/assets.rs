//! The vendored NHS.UK frontend (built CSS and JS, from the `nhsuk-frontend` npm package; see
//! `assets/vendor/nhsuk-frontend/README.md`) and the application's few styles, compiled in and
//! served under a versioned path with a year's cache.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "nhsuk.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/vendor/nhsuk-frontend/nhsuk.min.css"),
    ),
    (
        "nhsuk.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/nhsuk-frontend/nhsuk.min.js"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/init.js"),
    ),
    (
        "web.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/web.css"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, bytes)) => {
            let mut res = (*bytes).into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            res
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
