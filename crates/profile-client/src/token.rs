//! The access token to forward, for calls made through tis-auth's [`ProfileSource`] trait.
//!
//! Profile's `/userinfo` authenticates the user's own access token, but
//! [`ProfileSource::profile`](tis_auth::ProfileSource::profile) receives only the verified
//! claims. Until the trait carries the token too (see the crate documentation), the caller
//! puts it in a task-local around the call:
//!
//! ```ignore
//! let resolved = tis_profile_client::with_access_token(raw_token, profiles.profile(&claims)).await?;
//! ```
//!
//! or, in a service that authenticates raw tokens with tis-auth's `Authenticated`
//! extractor, layers [`forward_access_token`] on its router so every request's bearer token
//! is in scope. A cached profile needs no token; a call without one fails as
//! `Unavailable` (a wiring bug, logged).

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    static ACCESS_TOKEN: Arc<str>;
}

/// Runs `fut` with `token` as the access token to forward.
pub async fn with_access_token<F: Future>(token: impl Into<Arc<str>>, fut: F) -> F::Output {
    ACCESS_TOKEN.scope(token.into(), fut).await
}

/// The access token in scope, if any.
pub fn current_access_token() -> Option<Arc<str>> {
    ACCESS_TOKEN.try_with(Arc::clone).ok()
}

/// axum middleware: puts the request's bearer token (`Authorization: Bearer` or
/// `OIDC_access_token`) in scope for the rest of the request. A request without a usable token
/// passes through unchanged (authentication will refuse it, or use a principal).
pub async fn forward_access_token(req: Request, next: Next) -> Response {
    match tis_auth::bearer_token(req.headers()) {
        Ok(token) => {
            let token: Arc<str> = Arc::from(token);
            with_access_token(token, next.run(req)).await
        }
        Err(_) => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_token_is_in_scope_only_inside_the_call() {
        assert_eq!(current_access_token(), None);
        let seen = with_access_token("abc", async { current_access_token() }).await;
        assert_eq!(seen.as_deref(), Some("abc"));
        assert_eq!(current_access_token(), None);
    }
}
