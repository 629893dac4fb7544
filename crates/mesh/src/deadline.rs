//! Deadline propagation, once per try, just below the retry layer.
//!
//! Every hop subtracts the time it has spent: the caller's deadline (from its request context,
//! or given explicitly) is an instant, and each try tells the upstream how much is *left* of
//! it, as `TIS-Deadline: <milliseconds>`. The upstream's own middleware turns that back into an
//! instant on its clock and refuses work that cannot finish in time — so no clock needs to
//! agree with another. When nothing is left, the try fails here with [`DeadlineExceeded`]
//! without being sent: an answer nobody waits for is load for nothing.
//!
//! Sitting below the retry layer, it stamps each try with what remains *then*, and it stops a
//! retry that would start after the deadline. Being once per try, it is also where a try's
//! trace span starts (`mesh.try`, `tis_core::telemetry::traces`).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::{Either, Ready};
use http::HeaderValue;
use tis_core::context::DEADLINE;
use tokio::time::Instant;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::error::{BoxError, DeadlineExceeded};
use crate::outbound::MeshRequest;

/// `TIS-Deadline`, parsed once: inserting by a `&str` name copies a custom name every time.
const DEADLINE_NAME: http::HeaderName = http::HeaderName::from_static(DEADLINE);

/// Below this, a try is not worth sending.
const MIN_LEFT: Duration = Duration::from_millis(1);

#[derive(Debug, Clone)]
pub struct DeadlineLayer {
    service: Arc<str>,
}

impl DeadlineLayer {
    pub(crate) fn new(service: Arc<str>) -> Self {
        DeadlineLayer { service }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            service: self.service.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    service: Arc<str>,
}

impl<S> Service<MeshRequest> for Deadline<S>
where
    S: Service<MeshRequest, Error = BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Either<Ready<Result<S::Response, BoxError>>, Instrumented<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: MeshRequest) -> Self::Future {
        let deadline = req.body().outbound().and_then(|o| o.deadline);
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < MIN_LEFT {
                let err = DeadlineExceeded {
                    service: self.service.clone(),
                };
                return Either::Left(futures::future::ready(Err(err.into())));
            }
            let ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
            req.headers_mut()
                .insert(DEADLINE_NAME, HeaderValue::from(ms));
        }
        // This try's span (exported when the trace is sampled): the upstream's request span
        // hangs under it, through the `traceparent` it is sent with.
        let span = tracing::debug_span!(
            target: tis_core::telemetry::traces::TARGET,
            "mesh.try",
            otel.kind = "client",
            "server.service" = &*self.service,
            "http.request.method" = %req.method(),
            "url.path" = req.uri().path(),
        );
        if let Some(parent) = tis_core::telemetry::traces::traceparent(&span)
            && let Ok(v) = HeaderValue::from_str(&parent)
        {
            req.headers_mut().insert(tis_core::trace_context::HEADER, v);
        }
        Either::Right(self.inner.call(req).instrument(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::MeshBody;
    use crate::outbound::Outbound;
    use tower::ServiceExt;
    use tower_test::mock;

    fn request(deadline: Option<Instant>) -> MeshRequest {
        let mut req = http::Request::new(MeshBody::empty());
        req.body_mut().set_outbound(Outbound::new(deadline));
        req
    }

    type Spawned = mock::Spawn<Deadline<mock::Mock<MeshRequest, ()>>>;

    fn service() -> (Spawned, mock::Handle<MeshRequest, ()>) {
        mock::spawn_layer(DeadlineLayer::new("reference".into()))
    }

    #[tokio::test(start_paused = true)]
    async fn each_try_carries_the_time_left_after_what_was_spent() {
        let (svc, mut handle) = service();
        let deadline = Instant::now() + Duration::from_millis(200);
        tokio::time::advance(Duration::from_millis(30)).await;
        let svc = svc.into_inner();
        let call = tokio::spawn(svc.oneshot(request(Some(deadline))));
        let (req, send) = handle.next_request().await.expect("sent");
        assert_eq!(req.headers()[DEADLINE], "170");
        send.send_response(());
        call.await.expect("join").expect("ok");
    }

    #[tokio::test(start_paused = true)]
    async fn a_passed_deadline_fails_without_sending() {
        let (svc, mut handle) = service();
        let deadline = Instant::now() + Duration::from_millis(5);
        tokio::time::advance(Duration::from_millis(5)).await;
        let err = svc
            .into_inner()
            .oneshot(request(Some(deadline)))
            .await
            .expect_err("nothing left");
        assert!(err.is::<DeadlineExceeded>(), "{err}");
        assert!(
            !matches!(handle.poll_request(), Poll::Ready(Some(_))),
            "nothing was sent"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_deadline_no_header_is_sent() {
        let (svc, mut handle) = service();
        let call = tokio::spawn(svc.into_inner().oneshot(request(None)));
        let (req, send) = handle.next_request().await.expect("sent");
        assert!(!req.headers().contains_key(DEADLINE));
        send.send_response(());
        call.await.expect("join").expect("ok");
    }
}
