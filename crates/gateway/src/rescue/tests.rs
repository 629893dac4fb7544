use std::sync::Arc;

use super::*;
use tis_mesh::NoHealthyEndpoints;

fn code(err: BoxError) -> (u16, String, Option<u32>) {
    let http = to_http(err);
    (
        http.status.as_u16(),
        http.code.to_string(),
        http.retry_after_secs,
    )
}

#[test]
fn each_error_type_has_its_status_and_code() {
    assert_eq!(
        code(Box::new(NoRoute { path: "/x".into() })),
        (404, "not_found".into(), None)
    );
    assert_eq!(
        code(Box::new(Overloaded { limit: 1 })),
        (503, "overloaded".into(), Some(1))
    );
    assert_eq!(
        code(Box::new(DeadlineExceeded {
            waiting_for: "keys"
        })),
        (504, "deadline_exceeded".into(), None)
    );
    assert_eq!(
        code(Box::new(InvalidTimeout {
            value: "soon".into()
        }))
        .1,
        "invalid_request_timeout"
    );
    assert_eq!(code(Box::new(PayloadTooLarge { limit: 9 })).0, 413);
    assert_eq!(
        code(Box::new(AuthError::Expired)),
        (401, "token_expired".into(), None)
    );
    assert_eq!(
        code(Box::new(AuthError::IdpUnavailable { key_age: None })).1,
        "idp_unavailable"
    );
    let no_endpoints = MeshError::NoHealthyEndpoints(NoHealthyEndpoints {
        service: Arc::from("reference"),
    });
    assert_eq!(
        code(Box::new(no_endpoints)),
        (503, "no_healthy_endpoints".into(), Some(1))
    );
    assert_eq!(
        code("surprise".into()),
        (500, "internal_error".into(), None)
    );
}

#[tokio::test]
async fn a_length_limit_deep_in_the_causes_is_a_413() {
    use http_body_util::BodyExt;
    let body = http_body_util::Limited::new(
        http_body_util::Full::new(bytes::Bytes::from_static(b"too long")),
        2,
    );
    let limit: BoxError = body.collect().await.expect_err("over the limit");
    assert!(limit.is::<LengthLimitError>());
    let mesh = MeshError::RequestBody(tis_mesh::RequestBody { source: limit });
    assert_eq!(code(Box::new(mesh)).1, "payload_too_large");
}
