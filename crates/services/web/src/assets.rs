//! The vendored NHS.UK frontend (built CSS and JS, from the `nhsuk-frontend` npm package; see
//! `assets/vendor/nhsuk-frontend/README.md`) and the application's few styles, compiled in.
//!
//! They are served under a **fingerprinted** path, `/assets/<first 12 hex of the SHA-256 of
//! every file>/`, with a year's `immutable` cache: a browser fetches them once, and a new build
//! with different files has a different path. The two big files are served **gzip-compressed**
//! from `.gz` copies made once (`gzip -9 -n -k`, committed beside them; a test checks each
//! still unpacks to its file) to browsers that accept gzip (`Content-Encoding: gzip`,
//! `Vary: Accept-Encoding`): the stylesheet is 278 KB as built, 29 KB sent.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};

/// A file: its name, type, bytes and gzip-compressed bytes (if kept).
struct Asset {
    name: &'static str,
    kind: &'static str,
    bytes: &'static [u8],
    gzip: Option<&'static [u8]>,
}

const FILES: &[Asset] = &[
    Asset {
        name: "nhsuk.min.css",
        kind: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/nhsuk-frontend/nhsuk.min.css"),
        gzip: Some(include_bytes!(
            "../assets/vendor/nhsuk-frontend/nhsuk.min.css.gz"
        )),
    },
    Asset {
        name: "nhsuk.min.js",
        kind: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/nhsuk-frontend/nhsuk.min.js"),
        gzip: Some(include_bytes!(
            "../assets/vendor/nhsuk-frontend/nhsuk.min.js.gz"
        )),
    },
    Asset {
        name: "init.js",
        kind: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/init.js"),
        gzip: None,
    },
    Asset {
        name: "web.css",
        kind: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/web.css"),
        gzip: None,
    },
];

static PATH: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for f in FILES {
        h.update(f.name.as_bytes());
        h.update(f.bytes);
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("/assets/{hex}")
});

/// The assets' fingerprinted path (`/assets/<hash>`).
pub fn path() -> &'static str {
    &PATH
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = FILES.iter().find(|a| a.name == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let gzip = asset.gzip.filter(|_| accepts_gzip(&headers));
    let mut res = gzip.unwrap_or(asset.bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if asset.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if gzip.is_some() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_compressed_copy_unpacks_to_its_file() {
        for a in FILES {
            let Some(gz) = a.gzip else { continue };
            let mut child = std::process::Command::new("gzip")
                .arg("-dc")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("gzip");
            let mut stdin = child.stdin.take().expect("stdin");
            let writer = std::thread::spawn(move || {
                use std::io::Write as _;
                stdin.write_all(gz).expect("write");
            });
            let out = child.wait_with_output().expect("gzip output");
            writer.join().expect("writer");
            assert!(out.status.success(), "{}", a.name);
            assert!(
                out.stdout == a.bytes,
                "{}.gz is stale: run gzip -9 -n -k -f on it",
                a.name
            );
            assert!(gz.len() * 4 < a.bytes.len(), "{} compresses", a.name);
        }
    }

    #[test]
    fn gzip_is_sent_only_to_who_accepts_it() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(v).expect("value"),
            );
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("br"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_path_is_a_fingerprint_of_the_files() {
        let p = path();
        assert!(
            p.starts_with("/assets/") && p.len() == "/assets/".len() + 12,
            "{p}"
        );
        assert!(p["/assets/".len()..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
