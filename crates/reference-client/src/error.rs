//! What a caller says when Reference could not settle a question, and the two marks it puts
//! on its response.
//!
//! | condition | answer | mark |
//! |---|---|---|
//! | some key's answer is [`Unknown`](crate::Answer::Unknown) | 503 `dependency_unavailable` + `Retry-After: 1` | `TIS-Degraded: dependency-reference` ([`Degradation::ReferenceUnavailable`]) |
//! | every key answered, some from a stale snapshot | the caller's usual answer | `TIS-Degraded: reference-stale` ([`Degradation::ReferenceStale`]) |
//!
//! `dependency-reference` says the outage is Reference's, shared by every instance of the
//! caller: the gateway's breakers must not eject the caller's instance for it (tis-mesh's
//! `shared_outage`), or a Reference outage would take the caller's reads down with its writes.

use tis_core::error::code;
use tis_core::{Degradation, HttpError};

/// Reference could not settle what was asked, and nothing usable was remembered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Reference could not check {what}: {cause}")]
pub struct ReferenceUnavailable {
    /// What could not be checked (`dbcs codes 1-AIIDHJ`).
    pub what: String,
    /// Why (logged, and in the error's message for operators).
    pub cause: String,
}

impl ReferenceUnavailable {
    /// The JSON error answer: 503 `dependency_unavailable`, retry in a second; marks the
    /// request `dependency-reference`.
    pub fn to_http(&self) -> HttpError {
        tis_core::context::mark_degraded(Degradation::ReferenceUnavailable);
        HttpError::unavailable(
            code::DEPENDENCY_UNAVAILABLE,
            format!(
                "{} cannot be checked because Reference is unavailable; try again shortly ({})",
                self.what, self.cause
            ),
        )
        .with_retry_after(1)
    }
}

impl From<ReferenceUnavailable> for HttpError {
    fn from(err: ReferenceUnavailable) -> Self {
        err.to_http()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_core::context::RequestContext;
    use tis_core::trace_context::TraceContext;

    #[tokio::test]
    async fn an_unavailable_reference_is_a_retryable_503_marked_as_a_shared_outage() {
        let ctx = RequestContext::new("r".into(), TraceContext::new_root(), None);
        let http = ctx
            .clone()
            .scope(async {
                HttpError::from(ReferenceUnavailable {
                    what: "dbcs codes X".into(),
                    cause: "no healthy endpoint".into(),
                })
            })
            .await;
        assert_eq!(
            (http.status.as_u16(), http.code.as_ref()),
            (503, "dependency_unavailable")
        );
        assert_eq!(http.retry_after_secs, Some(1));
        assert!(http.message.contains("Reference") && http.message.contains("dbcs codes X"));
        assert_eq!(ctx.degraded(), vec!["dependency-reference"]);
    }
}
