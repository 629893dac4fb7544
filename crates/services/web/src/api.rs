//! The APIs, called through the gateway with the signed-in user's access token, so that the
//! gateway stays the one place that turns a token into a principal (roles from Profile,
//! deactivated users refused).
//!
//! Every answer says what the page must tell the user: the `TIS-Degraded` marks, and for a
//! failure whether it is the user's input (field errors, shown beside their fields), not
//! theirs to see (403/404), or an outage (503/502/504 or no answer: the page still renders,
//! with a clear message).

use std::time::Duration;

use serde::de::DeserializeOwned;
use tis_core::error::FieldError;

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub body: T,
    /// `TIS-Degraded`, split.
    pub degraded: Vec<String>,
    /// `X-Total-Count`, when sent.
    pub total: Option<u64>,
    /// Whether a `Link: …; rel="next"` was sent.
    pub has_next: bool,
}

/// A failed call, as a page tells it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("not signed in")]
    Unauthorized,
    #[error("you do not have permission to see this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// 400: the message and each field's.
    #[error("{message}")]
    Invalid {
        message: String,
        fields: Vec<FieldError>,
    },
    /// 409: the message, and what it conflicts with (a placement overlap's `conflicts`).
    #[error("{message}")]
    Conflict {
        message: String,
        conflicts: Vec<serde_json::Value>,
    },
    /// The service behind the route (or the gateway) cannot answer now. What went wrong is
    /// logged where it happened; this says it in plain words.
    #[error("{0}")]
    Unavailable(Outage),
}

/// An outage as users are told it: which part of TIS, and the reference support can find it
/// by in the logs (the request id the gateway answered with, or this request's). The
/// technical detail is never in it: it is logged (`warn`) with that id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    /// "Reference data", "Trainee records", "Users and permissions", or "This part of TIS".
    pub part: &'static str,
    pub request_id: String,
}

impl std::fmt::Display for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is unavailable right now", self.part)
    }
}

impl Outage {
    /// The outage of the API at `path` (`/reference/…`, `/tcs/…`, `/profile/…`), logged with
    /// its technical `detail` and the request id (`request_id`, or this request's).
    pub fn logged(path: &str, detail: &str, request_id: Option<String>) -> Outage {
        let request_id = request_id
            .filter(|id| !id.is_empty())
            .or_else(this_request_id)
            .unwrap_or_else(tis_core::context::new_request_id);
        let part = part_of(path);
        tracing::warn!(
            url.path = path,
            request.id = %request_id,
            error.message = detail,
            "{part} could not be reached for a page"
        );
        Outage { part, request_id }
    }
}

/// The part of TIS an API path belongs to, in the words users know.
pub fn part_of(path: &str) -> &'static str {
    match path.trim_start_matches('/').split('/').next() {
        Some("reference") => "Reference data",
        Some("tcs") => "Trainee records",
        Some("profile") => "Users and permissions",
        _ => "This part of TIS",
    }
}

/// The id of the request being served (the gateway's `X-Request-Id`), if any.
fn this_request_id() -> Option<String> {
    tis_core::context::RequestContext::current().map(|c| c.request_id().to_owned())
}

/// The gateway, as the application calls it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gateway {
    base: String,
    http: reqwest::Client,
}

#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorInner,
}

#[derive(serde::Deserialize, Default)]
struct ErrorInner {
    #[serde(default)]
    message: String,
    #[serde(default)]
    fields: Vec<FieldError>,
    #[serde(default)]
    conflicts: Vec<serde_json::Value>,
    #[serde(default, rename = "requestId")]
    request_id: Option<String>,
}

impl Gateway {
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Gateway> {
        Ok(Gateway {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// `GET <path>` (path and query, from `/`) with the user's token.
    pub async fn get<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
    ) -> Result<Answer<T>, ApiError> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        self.send(path, req).await
    }

    /// `method <path>` with a JSON body and the user's token.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Answer<T>, ApiError> {
        let req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body);
        self.send(path, req).await
    }

    /// `GET /api/status` (public).
    pub async fn status(&self) -> Result<serde_json::Value, ApiError> {
        let res = self
            .http
            .get(format!("{}/api/status", self.base))
            .send()
            .await
            .map_err(|e| outage("/api/status", e))?;
        res.json().await.map_err(|e| outage("/api/status", e))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        mut req: reqwest::RequestBuilder,
    ) -> Result<Answer<T>, ApiError> {
        // One id from the browser's request to the API's log lines.
        if let Some(id) = this_request_id() {
            req = req.header("x-request-id", id);
        }
        let res = req.send().await.map_err(|e| outage(path, e))?;
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",")
        };
        let degraded: Vec<String> = header("tis-degraded")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let total = header("x-total-count").parse().ok();
        let has_next = header("link").contains("rel=\"next\"");
        if (200..300).contains(&status) {
            let body = res.json().await.map_err(|e| outage(path, e))?;
            return Ok(Answer {
                body,
                degraded,
                total,
                has_next,
            });
        }
        let err: ErrorBody = res.json().await.unwrap_or_default();
        Err(match status {
            401 => ApiError::Unauthorized,
            403 => ApiError::Forbidden,
            404 => ApiError::NotFound,
            400 | 422 => ApiError::Invalid {
                message: err.error.message,
                fields: err.error.fields,
            },
            409 => ApiError::Conflict {
                message: err.error.message,
                conflicts: err.error.conflicts,
            },
            _ => ApiError::Unavailable(Outage::logged(
                path,
                &format!("the gateway answered {status}: {}", err.error.message),
                err.error.request_id,
            )),
        })
    }
}

fn outage(path: &str, e: reqwest::Error) -> ApiError {
    let detail = format!("the gateway could not be reached: {}", e.without_url());
    ApiError::Unavailable(Outage::logged(path, &detail, None))
}
