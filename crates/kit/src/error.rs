//! What can go wrong in a request of any TIS service, and the one place each is turned into
//! the standard JSON error (`tis_core::HttpError`).
//!
//! | variant | status | code |
//! |---|---|---|
//! | `Validation` | 400 | `validation_failed` (with `fields`) |
//! | `BadQuery` | 400 | `invalid_query` |
//! | `NotFound` | 404 | `not_found` |
//! | `Conflict` | 409 | `conflict` (a rule of the domain: a name taken, a record still in use) |
//! | `Auth` | 400/401/403/503 | from tis-auth (`missing_token`, `forbidden` naming the permission…) |
//! | `Store` | 409/503/500 | from tis-store (`conflict` for a duplicate code, `database_unavailable`…) |
//! | `Http` | any | an error already in its final form: extractor rejections, and a service's own conditions (Profile's `no_profile`), built as `HttpError`s by the service |
//!
//! Which to use: handlers return `Result<_, ApiError>`; a service with conditions of its own
//! gives them constructors that return `ApiError::Http(HttpError::new(…))`, so that there is
//! one error type and one mapping for every service.

use axum::response::{IntoResponse, Response};
use tis_auth::AuthError;
use tis_core::{FieldError, HttpError};
use tis_store::StoreError;

use crate::repo::WriteError;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid fields: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadQuery(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Http(HttpError),
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn bad_query(message: impl Into<String>) -> Self {
        ApiError::BadQuery(message.into())
    }
}

impl From<tis_core::paging::PagingError> for ApiError {
    fn from(err: tis_core::paging::PagingError) -> Self {
        ApiError::BadQuery(err.to_string())
    }
}

impl From<HttpError> for ApiError {
    fn from(err: HttpError) -> Self {
        ApiError::Http(err)
    }
}

impl From<WriteError> for ApiError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Store(e) => ApiError::Store(e),
            WriteError::MissingReference {
                index,
                field,
                target,
                id,
            } => ApiError::field(
                format!("[{index}].{field}"),
                format!("no {target} with id {id}"),
            ),
            WriteError::NotFound { entity, id } => {
                ApiError::NotFound(format!("no {entity} with id {id}"))
            }
        }
    }
}

impl From<ApiError> for HttpError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Validation(fields) => HttpError::validation(fields),
            ApiError::BadQuery(message) => {
                HttpError::bad_request(tis_core::error::code::INVALID_QUERY, message)
            }
            ApiError::NotFound(message) => HttpError::not_found(message),
            ApiError::Conflict(message) => HttpError::conflict(message),
            ApiError::Auth(e) => e.to_http(),
            ApiError::Store(StoreError::Duplicate { constraint }) => StoreError::Duplicate {
                constraint: key_name(&constraint),
            }
            .into_http(),
            ApiError::Store(e) => e.into_http(),
            ApiError::Http(e) => e,
        }
    }
}

/// The column a duplicate-key error is about, as a person knows it: SQLite names a unique
/// *index* (`index 'ux_site_site_code'`, the kit's keys are `LOWER(column)` indexes), which
/// becomes the key's JSON-ish column name as PostgreSQL's constraint name does (`code`).
fn key_name(constraint: &str) -> String {
    let Some(index) = constraint
        .strip_prefix("index '")
        .and_then(|rest| rest.strip_suffix('\''))
    else {
        return constraint.to_owned();
    };
    index
        .trim_start_matches("ux_")
        .rsplit_once('_')
        .map_or_else(|| index.to_owned(), |(_, column)| column.to_owned())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn each_condition_has_its_status() {
        let cases = [
            (
                ApiError::field("code", "must not be null"),
                StatusCode::BAD_REQUEST,
            ),
            (ApiError::bad_query("sort"), StatusCode::BAD_REQUEST),
            (ApiError::NotFound("x".into()), StatusCode::NOT_FOUND),
            (
                ApiError::Auth(AuthError::Forbidden("reference:delete:entities".into())),
                StatusCode::FORBIDDEN,
            ),
            (
                ApiError::Store(StoreError::Duplicate {
                    constraint: "code".into(),
                }),
                StatusCode::CONFLICT,
            ),
            (
                ApiError::Store(StoreError::Unavailable("down".into())),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(HttpError::from(err).status, status);
        }
    }

    #[test]
    fn a_missing_reference_is_a_field_error_of_its_record() {
        let err = HttpError::from(ApiError::from(WriteError::MissingReference {
            index: 3,
            field: "localOffice",
            target: "LocalOffice",
            id: "9".into(),
        }));
        assert_eq!(err.fields[0].field, "[3].localOffice");
    }
}
