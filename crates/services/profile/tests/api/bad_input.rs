//! Bad input is a JSON 400, 404, 405, 409, 413 or 415, never a 500.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn bodies_that_are_not_json_too_large_or_of_the_wrong_shape_are_refused_with_json_errors() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .request(Method::POST, "/profile/api/hee-users", Some(&admin()))
            .header("content-type", "text/plain")
            .body("name=jane")
            .send()
            .await
            .expect("post");
        let (status, code, _) = error_code(res).await;
        assert_eq!(
            (status, code.as_str()),
            (415, "unsupported_media_type"),
            "{b:?}"
        );

        let res = app
            .request(Method::POST, "/profile/api/roles", Some(&admin()))
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .expect("post");
        let (status, code, _) = error_code(res).await;
        assert_eq!((status, code.as_str()), (400, "malformed_json"));

        let (status, code, v) = error_code(
            app.send(
                Method::POST,
                "/profile/api/hee-users",
                &json!({"name": "x", "active": "yes"}),
            )
            .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (400, "validation_failed"));
        assert_eq!(v["error"]["fields"][0]["field"], "active");

        let huge = json!({"name": "x", "firstName": "y".repeat(20 * 1024)});
        let (status, code, _) = error_code(
            app.send(Method::POST, "/profile/api/hee-users", &huge)
                .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"));

        let many: Vec<String> = (0..51).map(|i| format!("DBC-{i}")).collect();
        let (status, _, v) = error_code(
            app.send(
                Method::POST,
                "/profile/api/hee-users",
                &json!({"name": "x", "designatedBodyCodes": many}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(v["error"]["fields"][0]["field"], "designatedBodyCodes");

        let (status, _, v) = error_code(
            app.send(
                Method::POST,
                "/profile/api/roles",
                &json!({"name": " padded"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(v["error"]["fields"][0]["field"], "name");

        let res = app
            .request(
                Method::POST,
                "/profile/api/trainee-id/1-AIIDWA/register",
                Some(&holding(&["profile:register:trainee"])),
            )
            .json(&json!({"gmcNumber": "1"}))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 400, "a list is expected");
    }
}

#[tokio::test]
async fn bad_query_strings_paths_and_methods_are_400_404_and_405() {
    let app = spawn_app(Backend::Sqlite).await;
    for (path, status) in [
        ("/profile/api/hee-users?size=0", 400),
        ("/profile/api/hee-users?size=51", 400),
        ("/profile/api/hee-users?page=abc", 400),
        ("/profile/api/hee-users?page=99999999999999999999", 400),
        ("/profile/api/hee-users?sort=password,asc", 400),
        ("/profile/api/hee-users?page=1000", 200),
        ("/profile/api/roles?excludeRestricted=maybe", 400),
        ("/profile/api/roles?sort=name", 400),
        ("/profile/api/single-hee-users", 400),
        ("/profile/api/hee-users/%00", 404),
        ("/profile/api/hee-users/%F0%9F%A6%80", 404),
        ("/profile/api/roles/no%20such%20role", 404),
        ("/profile/api/permissions/no:such", 404),
        ("/profile/api/hee-users-with-roles/%20,%20", 400),
        ("/profile/api/nope", 404),
    ] {
        let res = app
            .request(Method::GET, path, Some(&admin()))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status().as_u16(), status, "{path}");
        if status != 200 {
            let (_, code, _) = error_code(res).await;
            assert!(!code.is_empty(), "{path}: a JSON error");
        }
    }
    let res = app
        .request(Method::DELETE, "/profile/api/userinfo", Some(&admin()))
        .send()
        .await
        .expect("delete");
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (405, "method_not_allowed"));

    let res = app
        .request(
            Method::GET,
            "/profile/api/users",
            Some(&holding(&["profile:get:users"])),
        )
        .send()
        .await
        .expect("get");
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (400, "invalid_query"));
}

#[tokio::test]
async fn a_caller_without_the_permission_gets_403_before_its_body_is_read() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app
        .request(
            Method::POST,
            "/profile/api/hee-users",
            Some(&holding(&[VIEW])),
        )
        .header("content-type", "text/plain")
        .body("not even json")
        .send()
        .await
        .expect("post");
    let (status, code, v) = error_code(res).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains(MODIFY)
    );
    let res = app
        .request(Method::GET, "/profile/api/hee-users", None)
        .send()
        .await
        .expect("get");
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (401, "missing_token"));
}
