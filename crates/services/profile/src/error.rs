//! Profile's own conditions, as the kit's one error type ([`tis_service_kit::ApiError`], whose
//! mapping to the standard JSON errors covers the rest: validation, `invalid_query`,
//! `not_found`, `conflict`, tis-auth's and tis-store's).
//!
//! | condition | status | code |
//! |---|---|---|
//! | [`no_profile`] | 404 | `no_profile`: `/userinfo` for a user Profile does not know |
//! | [`inactive`] | 403 | `inactive_user`: `/userinfo` for a user who is not active |
//! | [`reference_unavailable`] | 503 + `Retry-After` + `TIS-Degraded: dependency-reference` | `dependency_unavailable`: designated bodies could not be checked (tis-reference-client's [`ReferenceUnavailable`]) |
//!
//! `TIS-Degraded: dependency-reference` says the outage is Reference's, which every Profile
//! instance shares: the gateway's breakers must not eject this instance for it (tis-mesh's
//! `shared_outage`), or a Reference outage would take every Profile read down with the writes.
//! A write that went through on codes confirmed before the outage is marked
//! `TIS-Degraded: reference-stale` instead.
//!
//! `no_profile` and `inactive_user` are what the Profile client (tis-profile-client) reads to
//! tell "no such user" and "inactive" from an outage; the gateway answers both with 403.

use http::StatusCode;
use tis_core::HttpError;
use tis_core::error::code;
pub use tis_service_kit::ApiError;

pub use tis_reference_client::ReferenceUnavailable;

/// `/userinfo` for a user Profile does not know.
pub fn no_profile(user: &str) -> ApiError {
    ApiError::Http(HttpError::new(
        StatusCode::NOT_FOUND,
        code::NO_PROFILE,
        format!("user {user:?} has no TIS profile"),
    ))
}

/// `/userinfo` for a user who is not active.
pub fn inactive(user: &str) -> ApiError {
    ApiError::Http(HttpError::new(
        StatusCode::FORBIDDEN,
        code::INACTIVE_USER,
        format!("user {user:?} is not active in TIS"),
    ))
}

/// Reference could not check what a write names: 503 `dependency_unavailable`, marked
/// `dependency-reference`.
pub fn reference_unavailable(e: ReferenceUnavailable) -> ApiError {
    ApiError::Http(HttpError::from(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_auth::AuthError;
    use tis_store::StoreError;

    fn down() -> ReferenceUnavailable {
        ReferenceUnavailable {
            what: "dbcs codes 1-X".into(),
            cause: "no healthy endpoint".into(),
        }
    }

    #[test]
    fn each_condition_has_its_status_and_code() {
        let cases = [
            (
                ApiError::field("name", "must not be blank"),
                400,
                "validation_failed",
            ),
            (ApiError::bad_query("size"), 400, "invalid_query"),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::Conflict("x".into()), 409, "conflict"),
            (no_profile("ghost"), 404, "no_profile"),
            (inactive("retired"), 403, "inactive_user"),
            (reference_unavailable(down()), 503, "dependency_unavailable"),
            (
                ApiError::Auth(AuthError::Forbidden("profile:view:entities".into())),
                403,
                "forbidden",
            ),
            (
                ApiError::Store(StoreError::Unavailable("down".into())),
                503,
                "database_unavailable",
            ),
        ];
        for (err, status, code) in cases {
            let http = HttpError::from(err);
            assert_eq!((http.status.as_u16(), http.code.as_ref()), (status, code));
        }
    }

    #[test]
    fn an_unavailable_reference_is_named_and_retryable() {
        let http = HttpError::from(reference_unavailable(down()));
        assert!(http.message.contains("Reference"), "{}", http.message);
        assert_eq!(http.retry_after_secs, Some(1));
    }

    #[tokio::test]
    async fn an_unavailable_reference_is_marked_as_a_shared_outage_not_this_instances() {
        use tis_core::context::RequestContext;
        use tis_core::trace_context::TraceContext;
        let ctx = RequestContext::new("r".into(), TraceContext::new_root(), None);
        ctx.clone()
            .scope(async {
                let _ = HttpError::from(reference_unavailable(down()));
            })
            .await;
        assert_eq!(ctx.degraded(), vec!["dependency-reference"]);
    }
}
