//! `/tcs/etl/api`: the original's second mapping of its person, post, placement and
//! training-number resources answers as `/tcs/api` does, with the same guards and scope.

use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn the_etl_mapping_serves_the_originals_resources_with_the_same_guards_and_scope() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 30).await;
        let etl = Caller::etl().token();
        let q = "?page=0&size=5&sort=id,asc";

        let (status, _, api) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/people{q}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {api}");
        let (status, headers, alias) = call(
            &app,
            Method::GET,
            &format!("/tcs/etl/api/people{q}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {alias}");
        assert_eq!(alias, api, "{backend:?}: the same page, the query kept");
        assert!(headers.contains_key("link"), "{backend:?}: {headers:?}");

        let (status, _, one) =
            call(&app, Method::GET, "/tcs/etl/api/people/1/basic", &etl, None).await;
        assert_eq!(
            (status, &one["id"]),
            (200, &serde_json::json!(1)),
            "{backend:?}: {one}"
        );

        // The same guard: a caller without the person permission is refused there too.
        let nobody = Caller::hee(&["1-AIIDR8"]).without_policies().token();
        let (status, _, body) =
            call(&app, Method::GET, "/tcs/etl/api/people/1", &nobody, None).await;
        assert_eq!(status, 403, "{backend:?}: {body}");
        // The same scope: another office's trainee is not found.
        let elsewhere = Caller::hee(&["1-AIIDMQ"]).token();
        let (status_api, _, _) =
            call(&app, Method::GET, "/tcs/api/people/1", &elsewhere, None).await;
        let (status_etl, _, _) =
            call(&app, Method::GET, "/tcs/etl/api/people/1", &elsewhere, None).await;
        assert_eq!(status_etl, status_api, "{backend:?}");

        // What the original never mapped there is not found, and prefixes must end at a '/'.
        for path in [
            "/tcs/etl/api/programmes",
            "/tcs/etl/apipeople",
            "/tcs/etl/api",
        ] {
            let (status, _, body) = call(&app, Method::GET, path, &etl, None).await;
            assert_eq!(status, 404, "{backend:?} {path}: {body}");
        }
    }
}
