//! How the original (a JHipster application named `profileApp`) also answered writes, on top
//! of the standard JSON errors:
//!
//! - `X-profileApp-alert: profileApp.{entity}.created|updated|deleted` and
//!   `X-profileApp-params: {name}` on the writes whose original sent them (`heeUser` created,
//!   updated and deleted; `role` created and updated; `permission` created);
//! - a validation error also carries the original's `message: "error.validation"` and
//!   `fieldErrors: [{objectName, field, message}]` (the constraint: `NotNull`, `Size`, `Valid`)
//!   beside the standard `error`.

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{Value, json};
use tis_core::HttpError;

use crate::error::ApiError;

/// The original's application name.
pub const APP: &str = "profileApp";

/// Puts `X-profileApp-alert` and `X-profileApp-params` on a successful write.
pub fn alert(res: &mut Response, entity: &str, action: &str, params: &str) {
    let h = res.headers_mut();
    let alert = format!("{APP}.{entity}.{action}");
    for (name, value) in [
        ("x-profileapp-alert", alert.as_str()),
        ("x-profileapp-params", params),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            h.insert(HeaderName::from_static(name), value);
        }
    }
}

/// The constraint the original would have named for one of our field messages.
fn constraint_of(message: &str) -> &'static str {
    if message.starts_with("must not be blank") || message.starts_with("must not be null") {
        "NotNull"
    } else if message.starts_with("must be at most") || message.starts_with("must have at most") {
        "Size"
    } else if message.starts_with("must be a date") {
        "typeMismatch"
    } else {
        "Valid"
    }
}

/// `result`, its error answered as the original also did for `object` (`heeUserDTO`).
pub fn answer(object: &str, result: Result<Response, ApiError>) -> Response {
    let err = match result {
        Ok(res) => return res,
        Err(err) => err,
    };
    let http = HttpError::from(err);
    if http.status != StatusCode::BAD_REQUEST || http.fields.is_empty() {
        return http.into_response();
    }
    let mut body = serde_json::to_value(http.body()).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut body {
        map.insert("message".into(), Value::from("error.validation"));
        map.insert(
            "fieldErrors".into(),
            Value::Array(
                http.fields
                    .iter()
                    .map(|f| {
                        json!({
                            "objectName": object,
                            "field": f.field,
                            "message": constraint_of(&f.message),
                        })
                    })
                    .collect(),
            ),
        );
    }
    (http.status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_carries_the_originals_field_errors_beside_the_standard_body() {
        let err = ApiError::Validation(vec![
            tis_core::FieldError::new("name", "must not be blank"),
            tis_core::FieldError::new("gmcId", "must be at most 7 characters"),
        ]);
        let res = answer("heeUserDTO", Err(err));
        assert_eq!(res.status(), 400);
        let other = answer("heeUserDTO", Err(ApiError::NotFound("x".into())));
        assert_eq!(other.status(), 404);
    }

    #[test]
    fn an_alert_names_the_app_the_entity_and_what_happened() {
        let mut res = StatusCode::CREATED.into_response();
        alert(&mut res, "heeUser", "created", "jane");
        assert_eq!(
            res.headers()["x-profileapp-alert"],
            "profileApp.heeUser.created"
        );
        assert_eq!(res.headers()["x-profileapp-params"], "jane");
    }
}
