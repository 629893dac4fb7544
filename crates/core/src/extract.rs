//! Extractors whose rejections are the standard JSON errors.
//!
//! axum's own extractors answer bad input with plain-text bodies; these answer with
//! [`HttpError`]: 415 `unsupported_media_type` for a body that is not JSON, 413
//! `payload_too_large` over the body limit, 400 `malformed_json` for broken syntax, and 400
//! `validation_failed` with the failing field's path for JSON of the wrong shape. Query strings
//! and path parameters that do not parse give 400 `invalid_query` / `invalid_path`.
//!
//! A struct is read from a JSON object only: serde would also take an array, its fields by
//! position (`[1, "F1"]` for `{"id": 1, "name": "F1"}`); `extract/objects.rs` refuses that,
//! at any depth, with "expected a JSON object, not an array", while lists (`Vec<T>`) take
//! arrays.

mod objects;

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::request::Parts;
use http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::{FieldError, HttpError, code};

/// A JSON request body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON body, naming the failing field's path on a shape error. A body is exactly one
/// JSON value, whitespace aside: anything after it (`{…} xyz`, a second object) is
/// `malformed_json`, never silently dropped.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = deserialize(de)?;
    de.end().map_err(|err| {
        HttpError::bad_request(
            code::MALFORMED_JSON,
            format!("the body must be one JSON value, with nothing after it: {err}"),
        )
    })?;
    Ok(value)
}

fn deserialize<'de, T: DeserializeOwned>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
) -> Result<T, HttpError> {
    let mut track = serde_path_to_error::Track::new();
    let result = T::deserialize(objects::Objects(serde_path_to_error::Deserializer::new(
        de, &mut track,
    )));
    result.map_err(|inner| {
        let path = track.path().to_string();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            HttpError::bad_request(
                code::MALFORMED_JSON,
                format!("the body is not valid JSON: {inner}"),
            )
        } else {
            let field = if path == "." {
                String::from("body")
            } else {
                path
            };
            HttpError::validation(vec![FieldError::new(field, in_json_terms(&inner))])
        }
    })
}

/// serde's message, without our Rust type names: a struct sent anything but an object
/// ("invalid type: integer `1`, expected a JSON object", [`objects`]; "expected struct
/// GradeDto" where serde names it) becomes "expected a JSON object" (with serde's position),
/// "…, not an array" when an array was sent.
fn in_json_terms(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let position = format!("(line {} column {})", err.line(), err.column());
    if message.starts_with(&format!(
        "invalid type: sequence, expected {}",
        objects::EXPECTED
    )) {
        format!("expected {}, not an array {position}", objects::EXPECTED)
    } else if message.contains(&format!("expected {}", objects::EXPECTED))
        || message.contains("expected struct ")
        || message.contains("expected a map")
    {
        format!("expected {} {position}", objects::EXPECTED)
    } else {
        message
    }
}

fn is_json(headers: &http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn bytes_rejection(rej: BytesRejection) -> HttpError {
    if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::PAYLOAD_TOO_LARGE,
            "the body is larger than this endpoint accepts",
        )
    } else {
        HttpError::bad_request(code::UNREADABLE_BODY, rej.body_text())
    }
}

/// A query string parsed into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rej) => Err(query_rejection(rej)),
        }
    }
}

fn query_rejection(rej: QueryRejection) -> HttpError {
    HttpError::bad_request(code::INVALID_QUERY, rej.body_text())
}

/// Path parameters parsed into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rej) => Err(path_rejection(rej)),
        }
    }
}

fn path_rejection(rej: PathRejection) -> HttpError {
    HttpError::bad_request(code::INVALID_PATH, rej.body_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Grade {
        name: String,
        training: bool,
    }

    #[test]
    fn shape_errors_name_the_field() {
        let err = parse_json::<Vec<Grade>>(br#"[{"name":"F1","training":"yes"}]"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.code, "validation_failed");
        assert_eq!(err.fields[0].field, "[0].training");
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_named_in_json_terms_not_rust_types() {
        for body in [&b"1"[..], b"\"x\"", b"null", b"true"] {
            let err = parse_json::<Grade>(body).unwrap_err();
            assert_eq!(err.code, "validation_failed");
            let message = &err.fields[0].message;
            assert!(message.starts_with("expected a JSON object ("), "{message}");
            assert!(!message.contains("Grade"), "{message}");
        }
        let err = parse_json::<Vec<Grade>>(br#"[7]"#).unwrap_err();
        assert_eq!(err.fields[0].field, "[0]");
        assert!(err.fields[0].message.starts_with("expected a JSON object"));
        let err = parse_json::<std::collections::BTreeMap<String, i64>>(b"[1]").unwrap_err();
        assert!(err.fields[0].message.starts_with("expected a JSON object"));
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Post {
        id: Option<i64>,
        grade: Option<Grade>,
        #[serde(default)]
        grades: Vec<Grade>,
        shape: Option<Shape>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Shape {
        Box { width: i64 },
        Pair(i64, i64),
    }

    fn refused(body: &[u8], field: &str) {
        let err = parse_json::<Post>(body).unwrap_err();
        let text = String::from_utf8_lossy(body);
        assert_eq!(
            (err.status, err.code.as_ref()),
            (StatusCode::BAD_REQUEST, "validation_failed"),
            "{text}"
        );
        assert_eq!(err.fields[0].field, field, "{text}");
        let message = &err.fields[0].message;
        assert!(
            message.starts_with("expected a JSON object, not an array (line 1 column "),
            "{text}: {message}"
        );
    }

    #[test]
    fn a_struct_sent_as_an_array_is_refused_at_any_depth() {
        // serde alone takes these, fields by position.
        assert!(serde_json::from_slice::<Grade>(br#"["F1", true]"#).is_ok());
        let err = parse_json::<Grade>(br#"["F1", true]"#).unwrap_err();
        assert_eq!(err.fields[0].field, "body");
        assert_eq!(
            err.fields[0].message,
            "expected a JSON object, not an array (line 1 column 1)"
        );
        let err = parse_json::<Grade>(b" []").unwrap_err();
        assert!(
            err.fields[0]
                .message
                .starts_with("expected a JSON object, not an array")
        );
        refused(br#"[1, null, [], null]"#, "body");
        refused(br#"{"grade": ["F1", true]}"#, "grade");
        refused(
            br#"{"grades": [{"name": "F1", "training": true}, ["F2", false]]}"#,
            "grades[1]",
        );
        refused(br#"{"shape": {"Box": [3]}}"#, "shape.Box");
        let err = parse_json::<Vec<Grade>>(br#"[["F1", true]]"#).unwrap_err();
        assert_eq!(err.fields[0].field, "[0]");
        assert!(
            err.fields[0]
                .message
                .starts_with("expected a JSON object, not an array")
        );
    }

    #[test]
    fn lists_tuples_and_objects_are_read_as_before() {
        let grades =
            parse_json::<Vec<Grade>>(br#"[{"name": "F1", "training": true}]"#).expect("a list");
        assert_eq!(grades[0].name, "F1");
        assert_eq!(
            parse_json::<(i64, String)>(br#"[1, "x"]"#).expect("a tuple"),
            (1, "x".to_owned())
        );
        assert_eq!(
            parse_json::<Vec<Vec<i64>>>(b"[[1, 2], []]").expect("lists of lists"),
            vec![vec![1, 2], vec![]]
        );
        let post = parse_json::<Post>(
            br#"{"id": 4, "grade": {"name": "F1", "training": false},
                 "grades": [{"name": "F2", "training": true}],
                 "shape": {"Box": {"width": 3}}}"#,
        )
        .expect("objects all the way down");
        assert_eq!(post.grades[0].name, "F2");
        assert!(matches!(post.shape, Some(Shape::Box { width: 3 })));
        let post = parse_json::<Post>(br#"{"shape": {"Pair": [1, 2]}}"#).expect("a tuple variant");
        assert!(matches!(post.shape, Some(Shape::Pair(1, 2))));
        let value = parse_json::<serde_json::Value>(br#"[1, {"a": [2]}]"#).expect("any JSON");
        assert_eq!(value, serde_json::json!([1, {"a": [2]}]));
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        let err = parse_json::<Grade>(b"{\"name\":").unwrap_err();
        assert_eq!(err.code, "malformed_json");
    }

    #[test]
    fn a_body_is_one_json_value_and_nothing_after_it() {
        let one = br#"{"name":"F1","training":true}"#;
        for trailing in [
            &b" xyz"[..],
            br#"{"name":"F2","training":false}"#,
            b"]",
            b",",
        ] {
            let body = [&one[..], trailing].concat();
            let err = parse_json::<Grade>(&body).unwrap_err();
            assert_eq!(
                (err.status, err.code.as_ref()),
                (StatusCode::BAD_REQUEST, "malformed_json"),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
        let spaced = [&b" \n"[..], one, b" \r\n\t "].concat();
        assert_eq!(
            parse_json::<Grade>(&spaced)
                .expect("whitespace is fine")
                .name,
            "F1"
        );
    }

    #[test]
    fn content_types() {
        let mut h = http::HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/merge-patch+json".parse().unwrap(),
        );
        assert!(is_json(&h));
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json(&h));
    }
}
