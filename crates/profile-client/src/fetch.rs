//! One call to Profile's `/userinfo`, and what its answer means.
//!
//! The call carries the user's own access token (`Authorization: Bearer`), as the original
//! profile-client did, plus `Token-Issuer` (its 2021 header); Profile verifies the token itself.
//! It goes through a tis-mesh [`ServiceClient`] (discovery, balancing, breakers, retries), with
//! its own deadline ([`ProfileClientConfig::timeout`](crate::ProfileClientConfig)), because a
//! shared call outlives the request that started it.
//!
//! | answer | meaning |
//! |---|---|
//! | 200 + a profile naming the same user | [`Fetched::Profile`] |
//! | 404 `no_profile` | [`Fetched::NoProfile`] |
//! | 403 `inactive_user` | [`Fetched::Inactive`] |
//! | anything else, or no answer | [`FetchFailure`]: Profile is down or misconfigured |
//!
//! A profile for another user than asked is a failure, never a success: a mix-up there would
//! grant one user another's permissions.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Limited};
use tis_auth::UserProfile;
use tis_mesh::ServiceClient;

/// A user, as the cache knows them: the issuer of their tokens and their user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey {
    pub issuer: Arc<str>,
    pub user: Arc<str>,
}

impl UserKey {
    pub fn new(issuer: &str, user: &str) -> Self {
        UserKey {
            issuer: Arc::from(issuer),
            user: Arc::from(user),
        }
    }
}

/// What Profile said about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The profile, and the size of its JSON (the cache weighs entries by it).
    Profile {
        profile: Arc<UserProfile>,
        bytes: usize,
    },
    NoProfile,
    Inactive,
}

/// Profile could not be asked, or answered something unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchFailure(pub String);

/// How a user's profile is fetched. [`HttpFetch`] in production; tests script their own.
pub trait Fetch: Send + Sync + 'static {
    fn fetch(
        &self,
        key: &UserKey,
        token: Arc<str>,
    ) -> BoxFuture<'static, Result<Fetched, FetchFailure>>;
}

/// `/userinfo` over tis-mesh.
#[derive(Clone)]
pub struct HttpFetch {
    client: ServiceClient,
    path: Arc<str>,
    timeout: Duration,
    max_bytes: usize,
}

impl std::fmt::Debug for HttpFetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetch")
            .field("service", &self.client.name())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl HttpFetch {
    pub fn new(client: ServiceClient, path: &str, timeout: Duration, max_bytes: usize) -> Self {
        HttpFetch {
            client,
            path: Arc::from(path),
            timeout,
            max_bytes,
        }
    }

    /// The mesh client (for status pages: endpoints, breakers).
    pub fn service(&self) -> &ServiceClient {
        &self.client
    }

    async fn call(self, key: UserKey, token: Arc<str>) -> Result<Fetched, FetchFailure> {
        let fail = |what: String| FetchFailure(what);
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| fail("the access token is not a valid header value".into()))?;
        let mut req = Request::get(&*self.path)
            .header(header::AUTHORIZATION, bearer)
            .header(header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(format!("building the request: {e}")))?;
        if let Ok(issuer) = HeaderValue::from_str(&key.issuer) {
            req.headers_mut().insert("token-issuer", issuer);
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let res = self
            .client
            .call_with_deadline(req, deadline)
            .await
            .map_err(|e| fail(format!("calling Profile: {e}")))?;
        let status = res.status();
        let body = tokio::time::timeout_at(
            deadline,
            Limited::new(res.into_body(), self.max_bytes).collect(),
        )
        .await
        .map_err(|_| fail("Profile's answer did not arrive in time".into()))?
        .map_err(|e| fail(format!("reading Profile's answer: {e}")))?
        .to_bytes();
        interpret(&key, status, &body)
    }
}

impl Fetch for HttpFetch {
    fn fetch(
        &self,
        key: &UserKey,
        token: Arc<str>,
    ) -> BoxFuture<'static, Result<Fetched, FetchFailure>> {
        Box::pin(self.clone().call(key.clone(), token))
    }
}

/// What an answer of Profile means (see the module documentation).
pub fn interpret(key: &UserKey, status: StatusCode, body: &[u8]) -> Result<Fetched, FetchFailure> {
    let code = || {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    match status {
        StatusCode::OK => {
            let profile: UserProfile = serde_json::from_slice(body).map_err(|e| {
                FetchFailure(format!("Profile answered an unreadable profile: {e}"))
            })?;
            if !profile.user_name.eq_ignore_ascii_case(&key.user) {
                return Err(FetchFailure(format!(
                    "Profile answered the profile of {:?} when asked for {:?}",
                    profile.user_name, key.user
                )));
            }
            Ok(Fetched::Profile {
                profile: Arc::new(profile),
                bytes: body.len(),
            })
        }
        StatusCode::NOT_FOUND if code() == tis_core::error::code::NO_PROFILE => {
            Ok(Fetched::NoProfile)
        }
        StatusCode::FORBIDDEN if code() == tis_core::error::code::INACTIVE_USER => {
            Ok(Fetched::Inactive)
        }
        other => Err(FetchFailure(format!(
            "Profile answered {} {}",
            other.as_u16(),
            code()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> UserKey {
        UserKey::new("http://idp/realms/lin", "admin")
    }

    #[test]
    fn a_profile_for_the_user_asked_is_a_profile() {
        let body = br#"{"userName":"admin","roles":["HEE Admin"],"designatedBodyCodes":["None"]}"#;
        match interpret(&key(), StatusCode::OK, body).expect("profile") {
            Fetched::Profile { profile, bytes } => {
                assert!(profile.roles.contains("HEE Admin"));
                assert_eq!(bytes, body.len());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_profile_for_someone_else_is_refused() {
        let body = br#"{"userName":"sensitive"}"#;
        let err = interpret(&key(), StatusCode::OK, body).expect_err("mix-up");
        assert!(err.0.contains("sensitive"), "{err}");
    }

    #[test]
    fn only_the_documented_codes_are_negative_answers() {
        let no = br#"{"error":{"code":"no_profile","message":"x"}}"#;
        let inactive = br#"{"error":{"code":"inactive_user","message":"x"}}"#;
        let route = br#"{"error":{"code":"not_found","message":"no resource at this path"}}"#;
        assert_eq!(
            interpret(&key(), StatusCode::NOT_FOUND, no),
            Ok(Fetched::NoProfile)
        );
        assert_eq!(
            interpret(&key(), StatusCode::FORBIDDEN, inactive),
            Ok(Fetched::Inactive)
        );
        assert!(interpret(&key(), StatusCode::NOT_FOUND, route).is_err());
        assert!(interpret(&key(), StatusCode::SERVICE_UNAVAILABLE, b"").is_err());
        assert!(interpret(&key(), StatusCode::UNAUTHORIZED, b"{}").is_err());
    }
}
