use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn the_document_lists_every_route_and_every_listed_route_is_served() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app
        .request(Method::GET, "/reference/api-docs", None)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    for d in tis_reference::routes::dto::all() {
        let base = format!("/reference/api/{}", d.plural);
        // Assessment types are read by code, as the original read them.
        let one = if d.plural == "assessment-types" {
            "{code}"
        } else {
            "{id}"
        };
        for p in [
            base.clone(),
            format!("{base}/{one}"),
            format!("/reference/api/bulk-{}", d.plural),
        ] {
            assert!(paths.contains_key(&p), "{p} is documented");
        }
        assert!(
            paths[&base]["get"].is_object()
                && paths[&base]["post"].is_object()
                && paths[&base]["put"].is_object()
        );
        assert!(
            doc["components"]["schemas"]
                .get(format!("{}Dto", d.name.replace("DBC", "Dbc")))
                .is_some()
                || d.name == "Status",
            "{} schema",
            d.name
        );
    }
    for p in [
        "/reference/api/sites/ids/in/query",
        "/reference/api/sites/trustmatch/{trustCode}",
        "/reference/api/sites/codeexists/",
        "/reference/api/trusts/codeexists/",
        "/reference/api/grades/ids/exists/",
        "/reference/api/grades/ids/in",
        "/reference/api/roles/in/{codes}",
        "/reference/api/roles/codes",
        "/reference/api/roles/matches/",
        "/reference/api/roles/categories/{id}",
        "/reference/api/leaving-reasons/match",
        "/reference/api/programme-membership-types/exist",
        "/reference/api/dbcs/code/{code}",
        "/reference/api/dbcs/abbr/{abbr}",
        "/reference/api/dbcs/internal/{internal}",
        "/reference/api/dbcs/user",
        "/reference/api/local-offices/user",
        "/reference/api/funding-types/{id}/funding-sub-types",
        "/reference/api/current/sites",
        "/reference/api/genders/exists/",
    ] {
        assert!(paths.contains_key(p), "{p} is documented");
    }

    // Every documented operation is routed: it answers something other than the router's
    // "no resource at this path" or "method not allowed".
    let token = admin();
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "1")
            .replace("{codes}", "X")
            .replace("{code}", "X")
            .replace("{abbr}", "X")
            .replace("{internal}", "true")
            .replace("{trustCode}", "X")
            .replace("{tableDtoName}", "X");
        for method in ["get", "post", "put", "delete"] {
            if !item[method].is_object() {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let res = app
                .request(m, &concrete, Some(&token))
                .json(&serde_json::json!([]))
                .send()
                .await
                .expect("send");
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let code = body["error"]["code"].as_str().unwrap_or("");
            assert!(
                !(status == 404 && body["error"]["message"] == "no resource at this path")
                    && status != 405
                    && status < 500,
                "{method} {path} → {status} {code}"
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} operations");
}
