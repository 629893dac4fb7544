//! The original's behaviour, as its own integration tests (`*ResourceIntTest.java` in
//! TIS-REFERENCE) describe it, tested through our API on both backends: status codes,
//! `X-referenceApp-…` headers, validation bodies, upserts, the single-code `exists`, look-ups
//! by code ignoring case, the `LimitedListResponse` searches, the unpaged lists, the DTO
//! fields, the JSON-patch resource. See `docs/api-reference.md`.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use tis_auth::principal::profile::Effect;
use tis_auth::{PermissionPolicy, UserProfile};

use crate::helpers::*;

/// `POST path` with a plain-text body, as a reader.
async fn post_text(app: &TestApp, path: &str, text: &str) -> (u16, Value) {
    let res = app
        .request(Method::POST, path, Some(&reader()))
        .header("content-type", "text/plain")
        .body(text.to_owned())
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn header(res: &Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A principal allowed `actions` on the original's reference resource (rotations' guard).
fn reference_permission(actions: &[&str]) -> String {
    let mut profile = UserProfile::named("editor");
    profile.permissions = [WRITE.to_owned(), DELETE.to_owned()].into();
    profile.permission_policies = vec![PermissionPolicy {
        name: "reference:edit".into(),
        principal: "tis:profile::user:".into(),
        resource: "tis:references::reference:".into(),
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        effect: Effect::Allow,
    }];
    tis_service_kit::testing::principal(profile, &["reference"])
}

#[tokio::test]
async fn writes_carry_the_originals_alert_headers_and_refusals_its_error_headers() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .send(
                Method::POST,
                "/reference/api/genders",
                &json!({"code": "F", "label": "Female"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        let id = res.json::<Value>().await.expect("json")["id"].clone();
        let res = app
            .send(
                Method::POST,
                "/reference/api/genders",
                &json!({"code": "M", "label": "Male"}),
            )
            .await;
        assert_eq!(
            header(&res, "x-referenceapp-alert"),
            "referenceApp.gender.created"
        );
        let male: Value = res.json().await.expect("json");
        let res = app
            .send(
                Method::PUT,
                "/reference/api/genders",
                &json!({"id": id, "code": "F", "label": "Female (updated)"}),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            header(&res, "x-referenceapp-alert"),
            "referenceApp.gender.updated"
        );
        assert_eq!(header(&res, "x-referenceapp-params"), id.to_string());
        let res = app
            .request(
                Method::DELETE,
                &format!("/reference/api/genders/{}", male["id"]),
                Some(&admin()),
            )
            .send()
            .await
            .expect("delete");
        assert_eq!(res.status(), 200);
        assert_eq!(
            header(&res, "x-referenceapp-alert"),
            "referenceApp.gender.deleted"
        );
        assert_eq!(
            header(&res, "x-referenceapp-params"),
            male["id"].to_string()
        );

        // createGenderWithExistingId: 400, error.idexists, nothing written.
        let res = app
            .send(
                Method::POST,
                "/reference/api/genders",
                &json!({"id": 1, "code": "X", "label": "X"}),
            )
            .await;
        assert_eq!(res.status(), 400, "{b:?}");
        assert_eq!(header(&res, "x-referenceapp-error"), "error.idexists");
        assert_eq!(header(&res, "x-referenceapp-params"), "gender");
        // The designated body's entity name is JHipster's `dBC`.
        let res = app
            .send(Method::POST, "/reference/api/dbcs", &json!({"id": 1}))
            .await;
        assert_eq!(header(&res, "x-referenceapp-params"), "dBC");

        let res = app
            .send(
                Method::POST,
                "/reference/api/bulk-genders",
                &json!([{"code": "A", "label": "a"}, {"id": 77, "code": "B", "label": "b"}]),
            )
            .await;
        assert_eq!(res.status(), 400);
        assert_eq!(header(&res, "x-referenceapp-error"), "error.ids.exist");
        assert_eq!(header(&res, "x-referenceapp-params"), "77");
        let res = app
            .send(Method::PUT, "/reference/api/bulk-genders", &json!([]))
            .await;
        assert_eq!(res.status(), 400);
        assert_eq!(
            header(&res, "x-referenceapp-error"),
            "error.request.body.empty"
        );
        let res = app
            .send(
                Method::PUT,
                "/reference/api/bulk-genders",
                &json!([{"code": "A", "label": "a"}]),
            )
            .await;
        assert_eq!(res.status(), 400);
        assert_eq!(
            header(&res, "x-referenceapp-error"),
            "error.bulk.update.failed.noId"
        );
        let list = app.get_json("/reference/api/genders").await;
        assert_eq!(
            list.as_array().map(Vec::len),
            Some(1),
            "{b:?}: no refusal wrote anything"
        );
    }
}

#[tokio::test]
async fn validation_errors_carry_the_originals_field_errors_beside_the_standard_error() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        // checkCodeIsRequired / checkLabelIsRequired.
        let (status, code, body) = error_code(
            app.send(Method::POST, "/reference/api/genders", &json!({}))
                .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (400, "validation_failed"), "{b:?}");
        assert_eq!(body["message"], "error.validation");
        assert_eq!(
            body["fieldErrors"],
            json!([
                {"objectName": "genderDto", "field": "code", "message": "NotNull"},
                {"objectName": "genderDto", "field": "label", "message": "NotNull"}
            ])
        );
        assert_eq!(body["error"]["fields"][0]["field"], "code");
        // checkTableDtoNameIsRequired.
        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/jsonPatches",
                &json!({"patch": "[]"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["fieldErrors"][0]["field"], "tableDtoName");
        // The original's SiteValidator: a start after the end.
        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/sites",
                &json!({"siteCode": "S1", "startDate": "2020-02-01", "endDate": "2020-01-01"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{b:?}");
        assert_eq!(body["error"]["fields"][0]["field"], "startDate");
    }
}

#[tokio::test]
async fn put_is_an_upsert_and_without_an_id_a_create() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        // updateNonExistingGender: no id → 201.
        let res = app
            .send(
                Method::PUT,
                "/reference/api/genders",
                &json!({"code": "F", "label": "Female"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        assert!(header(&res, "location").starts_with("/reference/api/genders/"));
        // An id that names nothing: JPA's merge inserted it as a new row.
        let res = app
            .send(
                Method::PUT,
                "/reference/api/genders",
                &json!({"id": 4242, "code": "M", "label": "Male"}),
            )
            .await;
        assert_eq!(res.status(), 200, "{b:?}");
        let male: Value = res.json().await.expect("json");
        assert_ne!(male["id"], 4242);
        let all = app.get_json("/reference/api/genders?sort=code").await;
        assert_eq!(all.as_array().map(Vec::len), Some(2), "{b:?}");
        // Bulk too, in one transaction.
        let res = app
            .send(
                Method::PUT,
                "/reference/api/bulk-genders",
                &json!([{"id": male["id"], "code": "M", "label": "Man"}, {"id": 999_999, "code": "X", "label": "Other"}]),
            )
            .await;
        assert_eq!(res.status(), 200, "{b:?}");
        let all = app.get_json("/reference/api/genders?sort=code").await;
        assert_eq!(all.as_array().map(Vec::len), Some(3), "{b:?}");
        assert_eq!(all[1]["label"], "Man");
    }
}

#[tokio::test]
async fn single_code_exists_takes_the_bare_code_and_answers_a_boolean() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        app.bulk(
            "genders",
            json!([
                {"code": "AAAAAAAAAA", "label": "A", "status": "INACTIVE"},
                {"code": "Te$t", "label": "T", "status": "CURRENT"}
            ]),
        )
        .await;
        let path = "/reference/api/genders/exists/";
        assert_eq!(
            post_text(&app, path, "AAAAAAAAAA").await,
            (200, json!(true)),
            "{b:?}"
        );
        assert_eq!(
            post_text(&app, path, "\"AAAAAAAAAA\"").await,
            (200, json!(true)),
            "a JSON string, as the original's tests sent it"
        );
        assert_eq!(
            post_text(&app, path, "aaaaaaaaaa").await,
            (200, json!(true)),
            "ignoring case, as MySQL compared"
        );
        assert_eq!(post_text(&app, path, "Te%24t").await, (200, json!(true)));
        assert_eq!(
            post_text(&app, "/reference/api/genders/exists", "notExists").await,
            (200, json!(false))
        );
        assert_eq!(post_text(&app, path, "").await, (200, json!(false)));
        let current = format!(
            "{path}?columnFilters={}",
            tis_service_kit::testing::url_encode(r#"{"status":["CURRENT"]}"#)
        );
        assert_eq!(
            post_text(&app, &current, "AAAAAAAAAA").await,
            (200, json!(false)),
            "{b:?}: shouldReturnFalseWhenExistsAndFilterExcludes"
        );
        assert_eq!(post_text(&app, &current, "Te$t").await, (200, json!(true)));
        let (status, body) =
            post_text(&app, &format!("{path}?columnFilters=%7Bbad"), "AAAAAAAAAA").await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (400, json!("invalid_query"))
        );
        // The other single-code types, and permit-to-works without the slash.
        app.bulk(
            "permit-to-works",
            json!([{"code": "TIER2", "label": "Tier 2"}]),
        )
        .await;
        assert_eq!(
            post_text(&app, "/reference/api/permit-to-works/exists", "tier2").await,
            (200, json!(true))
        );
        let res = app
            .request(Method::POST, path, Some(&reader()))
            .body(vec![b'x'; 70 * 1024])
            .send()
            .await
            .expect("post");
        assert_eq!(
            error_code(res).await.1,
            "payload_too_large",
            "an oversized body is a JSON 413"
        );
    }
}

#[tokio::test]
async fn assessment_types_are_read_by_code_and_located_by_code() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .send(
                Method::POST,
                "/reference/api/assessment-types",
                &json!({"code": "ARCP", "label": "Annual review"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        assert_eq!(
            header(&res, "location"),
            "/reference/api/assessment-types/ARCP"
        );
        let created: Value = res.json().await.expect("json");
        assert!(created["id"].is_i64() && created["uuid"].is_string());
        let read = app.get_json("/reference/api/assessment-types/arcp").await;
        assert_eq!(read, created, "{b:?}");
        let (status, code, _) =
            error_code(app.get("/reference/api/assessment-types/NOPE").await).await;
        assert_eq!((status, code.as_str()), (404, "not_found"));
        let res = app
            .send(
                Method::POST,
                "/reference/api/bulk-assessment-types",
                &json!([{"id": 1, "code": "X", "label": "x"}]),
            )
            .await;
        assert_eq!(
            res.status(),
            400,
            "bulkCreateAssessmentTypesWithIdShouldReturnBadRequest"
        );
        let res = app
            .send(
                Method::PUT,
                "/reference/api/assessment-types",
                &json!({"id": created["id"], "label": "Annual review of competence"}),
            )
            .await;
        assert_eq!(
            res.status(),
            400,
            "updateAssessmentTypeWithNoCodeShouldReturnBadRequest"
        );
    }
}

#[tokio::test]
async fn searches_answer_a_limited_list_response() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        app.bulk(
            "trusts",
            json!([
                {"code": "RJ1", "trustName": "Guy's and St Thomas'", "postCode": "SE1 7EH"},
                {"code": "RRK", "trustName": "University Hospitals Birmingham"}
            ]),
        )
        .await;
        let mut sites = vec![
            json!({"siteCode": "RJ122", "siteName": "St Thomas' Hospital", "trustCode": "RJ1", "address": "Westminster Bridge Road"}),
            json!({"siteCode": "RJ100", "siteName": "Guy's Hospital", "trustCode": "RJ1"}),
        ];
        for i in 0..100 {
            sites.push(json!({"siteCode": format!("RRK{i:03}"), "siteName": format!("Birmingham site {i}"), "trustCode": "RRK"}));
        }
        app.bulk("sites", json!(sites)).await;

        let found = app
            .get_json("/reference/api/sites/search?searchString=westminster")
            .await;
        assert_eq!(found["total"], 1, "{b:?}: the address is searched");
        assert_eq!(found["messageCode"], Value::Null);
        assert_eq!(found["list"][0]["siteCode"], "RJ122");
        let many = app
            .get_json("/reference/api/sites/search?searchString=Birmingham")
            .await;
        assert_eq!(many["total"], 100, "{b:?}: at most the limit");
        assert_eq!(many["messageCode"], "LIMIT_REACHED");
        let all = app.get_json("/reference/api/sites/search").await;
        assert_eq!(all["total"], 102, "{b:?}: no search string: every site");
        let of_trust = app
            .get_json("/reference/api/sites/search-by-trust/rj1?searchString=hospital")
            .await;
        assert_eq!(of_trust["total"], 2, "{b:?}: the trust code ignoring case");
        let of_trust = app
            .get_json("/reference/api/sites/search-by-trust/RJ1")
            .await;
        assert_eq!(of_trust["total"], 2);
        let trusts = app
            .get_json("/reference/api/trusts/search?searchString=se1")
            .await;
        assert_eq!(trusts["list"][0]["code"], "RJ1", "{b:?}: the post code");
        assert_eq!(trusts["total"], 1);
        let every = app
            .get_json("/reference/api/trusts/search?searchString=")
            .await;
        assert_eq!(every["total"], 2);
        let (status, code, _) = error_code(app.get("/reference/api/trusts/search").await).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_query"),
            "the original required searchString"
        );
        let long = "x".repeat(201);
        let (status, _, _) = error_code(
            app.get(&format!("/reference/api/sites/search?searchString={long}"))
                .await,
        )
        .await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn look_ups_by_code_and_name_ignore_case_as_the_originals_collation_did() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        app.bulk(
            "trusts",
            json!([{"code": "RJ1", "trustName": "Guy's and St Thomas'"}]),
        )
        .await;
        app.bulk(
            "sites",
            json!([{"siteCode": "RJ122", "siteName": "St Thomas'", "trustCode": "RJ1"}]),
        )
        .await;
        app.bulk(
            "curriculum-sub-types",
            json!([{"code": "MEDICAL_CURRICULUM", "label": "Medical"}]),
        )
        .await;
        app.bulk(
            "dbcs",
            json!([{"dbc": "1-AIIDWA", "name": "North West London", "abbr": "HENWL", "type": "DEANERY_LETB"}]),
        )
        .await;
        assert_eq!(
            app.get_json("/reference/api/trusts/code/rj1").await["trustName"],
            "Guy's and St Thomas'",
            "{b:?}"
        );
        assert_eq!(
            app.get_json("/reference/api/curriculum-sub-types/code/medical_curriculum")
                .await["label"],
            "Medical"
        );
        assert_eq!(
            app.get_json("/reference/api/sites/code/rj122").await["siteCode"],
            "RJ122"
        );
        assert_eq!(
            app.get_json("/reference/api/dbcs/abbr/henwl").await["dbc"],
            "1-AIIDWA"
        );
        assert_eq!(
            app.get_json("/reference/api/sites/in/rj122,NOPE")
                .await
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        for missing in [
            "/reference/api/trusts/code/NOPE",
            "/reference/api/curriculum-sub-types/code/NOPE",
        ] {
            let (status, code, _) = error_code(app.get(missing).await).await;
            assert_eq!((status, code.as_str()), (404, "not_found"), "{missing}");
        }
        assert_eq!(
            post_text(&app, "/reference/api/sites/codeexists/", "rj122")
                .await
                .0,
            302
        );
        assert_eq!(
            post_text(&app, "/reference/api/sites/trustmatch/rj1", "RJ122")
                .await
                .0,
            302
        );
        // Keys are unique ignoring case, as they were in MySQL.
        let (status, code, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/trusts",
                &json!({"code": "rj1"}),
            )
            .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (409, "conflict"), "{b:?}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("code")),
            "{b:?}: the key is named: {body}"
        );
        // The list form of exists compares exactly, as the original's Java did.
        let res = app
            .request(Method::POST, "/reference/api/sites/exists", Some(&reader()))
            .json(&json!(["RJ122", "rj122"]))
            .send()
            .await
            .expect("post");
        assert_eq!(
            res.json::<Value>().await.expect("json"),
            json!({"RJ122": true, "rj122": false})
        );
    }
}

#[tokio::test]
async fn the_lists_the_original_answered_whole_are_not_paged() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        app.bulk(
            "role-categories",
            json!([{"name": "Trainer"}, {"name": "Admin"}, {"name": "Trainee"}]),
        )
        .await;
        app.bulk(
            "statuses",
            json!([{"code": "CURRENT", "label": "Current"}, {"code": "INACTIVE", "label": "Inactive"}]),
        )
        .await;
        app.bulk(
            "concern-types",
            json!([{"code": "CONDUCT", "label": "Conduct"}]),
        )
        .await;
        app.bulk(
            "concern-sources",
            json!([{"name": "GMC"}, {"name": "Employer"}]),
        )
        .await;
        app.bulk(
            "leaving-reasons",
            json!([
                {"code": "CCT", "label": "CCT awarded", "status": "CURRENT"},
                {"code": "RESIGNED", "label": "Resigned", "status": "INACTIVE"}
            ]),
        )
        .await;
        app.bulk(
            "roles",
            json!([
                {"code": "SUP", "label": "Supervisor", "status": "CURRENT"},
                {"code": "OLD", "label": "Old role", "status": "INACTIVE"}
            ]),
        )
        .await;
        for (path, n) in [
            ("/reference/api/statuses?size=1", 2),
            ("/reference/api/concern-types", 1),
            ("/reference/api/sources", 2),
            ("/reference/api/leaving-reasons?page=1&size=1", 2),
            ("/reference/api/current/roles?size=1", 1),
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status(), 200, "{b:?} {path}");
            assert!(res.headers().get("x-total-count").is_none(), "{path}");
            let body: Value = res.json().await.expect("json");
            assert_eq!(body.as_array().map(Vec::len), Some(n), "{b:?} {path}");
        }
        let names: Vec<Value> = app
            .get_json("/reference/api/role-categories")
            .await
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["name"].clone())
            .collect();
        assert_eq!(
            names,
            vec!["Admin", "Trainee", "Trainer"],
            "ordered by name"
        );
        let sources = app.get_json("/reference/api/sources").await;
        assert!(sources[0]["name"].is_string() && sources[0].get("label").is_none());
        let current = format!(
            "/reference/api/leaving-reasons?columnFilters={}&searchQuery=cct",
            tis_service_kit::testing::url_encode(r#"{"status":["CURRENT"]}"#)
        );
        assert_eq!(app.get_json(&current).await[0]["code"], "CCT", "{b:?}");
        let (status, _, _) = error_code(
            app.get("/reference/api/leaving-reasons?columnFilters=%7Bnope")
                .await,
        )
        .await;
        assert_eq!(status, 400);
        // The paged lists stay paged.
        let res = app.get("/reference/api/concern-sources?size=1").await;
        assert_eq!(res.headers()["x-total-count"], "2");
    }
}

#[tokio::test]
async fn funding_reasons_and_sub_types_answer_under_the_originals_names() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let res = app
            .send(
                Method::POST,
                "/reference/api/funding-reason",
                &json!({"reason": "Tariff review", "status": "CURRENT"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        let reason: Value = res.json().await.expect("json");
        let id = reason["id"].as_str().expect("a UUID id");
        assert_eq!(
            app.get_json(&format!("/reference/api/funding-reason/{id}"))
                .await,
            reason
        );
        assert_eq!(
            app.get_json(&format!("/reference/api/funding-reasons/{id}"))
                .await,
            reason,
            "{b:?}: one resource under both names"
        );
        let page = app.get("/reference/api/funding-reason?size=1").await;
        assert_eq!(page.headers()["x-total-count"], "1");
        let types = app
            .bulk(
                "funding-types",
                json!([{"code": "TARIFF", "label": "Tariff"}]),
            )
            .await;
        assert_eq!(types[0]["allowDetails"], false, "a primitive boolean");
        let subs = app
            .bulk(
                "funding-sub-types",
                json!([
                    {"code": "FULL", "label": "Full", "fundingType": {"id": types[0]["id"]}},
                    {"code": "PART", "label": "Part", "fundingType": {"id": types[0]["id"]}}
                ]),
            )
            .await;
        let ids = format!(
            "{},{}",
            subs[0]["id"].as_str().expect("uuid"),
            uuid::Uuid::new_v4()
        );
        let found = app
            .get_json(&format!(
                "/reference/api/funding-sub-types/ids/in?ids={ids}"
            ))
            .await;
        assert_eq!(found.as_array().map(Vec::len), Some(1), "{b:?}");
        assert_eq!(found[0]["code"], "FULL");
        let (status, code, _) = error_code(
            app.get("/reference/api/funding-sub-types/ids/in?ids=not-a-uuid")
                .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (400, "invalid_query"));
    }
}

#[tokio::test]
async fn dtos_have_the_originals_fields() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let org = &app
            .bulk(
                "organization-types",
                json!([{"code": "NHS_TRUST", "label": "NHS Trust"}]),
            )
            .await[0];
        let trust = &app
            .bulk(
                "trusts",
                json!([{"code": "RJ1", "organizationType": {"id": org["id"]}}]),
            )
            .await[0];
        assert_eq!(trust["organizationType"]["label"], "NHS Trust", "{b:?}");
        let site = &app
            .bulk(
                "sites",
                json!([{"siteName": "No code yet", "organizationType": {"id": org["id"]}}]),
            )
            .await[0];
        assert_eq!(site["organizationType"]["code"], "NHS_TRUST");
        assert_eq!(site["siteCode"], Value::Null, "a site needs no code");
        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/sites",
                &json!({"organizationType": {"id": 999}}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{b:?}");
        assert_eq!(body["error"]["fields"][0]["field"], "organizationType");

        // uuid: made when absent, kept when an update leaves it out, taken when given.
        let gender = &app
            .bulk("genders", json!([{"code": "F", "label": "Female"}]))
            .await[0];
        let made = gender["uuid"].as_str().expect("a uuid").to_owned();
        let res = app
            .send(
                Method::PUT,
                "/reference/api/genders",
                &json!({"id": gender["id"], "code": "F", "label": "Woman"}),
            )
            .await;
        assert_eq!(
            res.json::<Value>().await.expect("json")["uuid"],
            made.as_str()
        );
        let given = uuid::Uuid::new_v4().to_string();
        let title = &app
            .bulk(
                "titles",
                json!([{"code": "DR", "label": "Dr", "uuid": given}]),
            )
            .await[0];
        assert_eq!(title["uuid"], given.as_str());
        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/titles",
                &json!({"code": "MR", "label": "Mr", "uuid": "nope"}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["error"]["fields"][0]["field"].clone()),
            (400, json!("uuid"))
        );

        // A designated body's type is a free string; `internal` is false when absent.
        let dbc = &app
            .bulk(
                "dbcs",
                json!([{"dbc": "1-X", "name": "X", "abbr": "X", "type": "SOMETHING_NEW"}]),
            )
            .await[0];
        assert_eq!(
            (dbc["type"].clone(), dbc["internal"].clone()),
            (json!("SOMETHING_NEW"), json!(false))
        );
        // A grade needs nothing; its booleans are false when absent.
        let grade = &app.bulk("grades", json!([{"abbreviation": "F1"}])).await[0];
        assert_eq!(grade["trainingGrade"], false, "{b:?}");
        assert!(grade["uuid"].is_string());
        // FundingIssue has no label; Status has no DELETE.
        let issue = &app
            .bulk(
                "funding-issues",
                json!([{"code": "NOT_FUNDED", "status": "CURRENT"}]),
            )
            .await[0];
        assert!(issue.get("label").is_none(), "{issue}");
        let (status, _, _) = error_code(
            app.send(
                Method::POST,
                "/reference/api/genders",
                &json!({"code": "D", "label": "d", "status": "DELETE"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        // Statuses the original had: contact types, tariff rates, funding reasons.
        let kind = &app
            .bulk(
                "local-office-contact-types",
                json!([{"code": "LTFT", "label": "Less than full time", "status": "CURRENT"}]),
            )
            .await[0];
        assert_eq!(kind["status"], "CURRENT");
        let rate = &app
            .bulk(
                "tariff-rates",
                json!([{"code": "TR-F1", "status": "INACTIVE"}]),
            )
            .await[0];
        assert_eq!(rate["status"], "INACTIVE");
        let (status, _, body) = error_code(
            app.send(
                Method::POST,
                "/reference/api/tariff-rates",
                &json!({"tariffRate": "1"}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["error"]["fields"][0]["field"].clone()),
            (400, json!("code"))
        );
        let types = app.get_json("/reference/api/concern-types").await;
        assert_eq!(types, json!([]));
    }
}

#[tokio::test]
async fn json_patches_are_stored_read_by_type_and_soft_deleted() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let patch =
            r#"[{"op": "replace", "path": "/nationality", "value": "United Arab Emirates"}]"#;
        let res = app
            .send(
                Method::POST,
                "/reference/api/jsonPatches",
                &json!({"tableDtoName": "NationalityDTO", "patchId": "1", "patch": patch, "enabled": true, "dateAdded": "2019-03-04T10:11:12.000+0000"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{b:?}");
        assert_eq!(
            header(&res, "x-referenceapp-alert"),
            "referenceApp.jsonPatch.created"
        );
        let first: Value = res.json().await.expect("json");
        assert_eq!(first["patch"], patch);
        assert_eq!(
            first["dateAdded"], "2019-03-04T10:11:12Z",
            "{b:?}: RFC 3339, UTC"
        );
        let later = &app
            .send(
                Method::POST,
                "/reference/api/jsonPatches",
                &json!({"tableDtoName": "NationalityDTO", "patchId": "2", "patch": "[]", "enabled": true, "dateAdded": "2018-01-01T00:00:00Z"}),
            )
            .await
            .json::<Value>()
            .await
            .expect("json");
        app.send(
            Method::POST,
            "/reference/api/jsonPatches",
            &json!({"tableDtoName": "NationalityDTO", "patch": "[]", "enabled": true}),
        )
        .await;
        let of_type = app
            .get_json("/reference/api/jsonPatches/updateType/nationalitydto")
            .await;
        let ids: Vec<Value> = of_type
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["patchId"].clone())
            .collect();
        assert_eq!(
            ids,
            vec![json!("2"), json!("1")],
            "{b:?}: with a patchId only, oldest first, the name ignoring case"
        );
        let res = app
            .get("/reference/api/jsonPatches?sort=id,desc&size=2")
            .await;
        assert_eq!(res.headers()["x-total-count"], "3");

        // PUT /jsonPatches/{id}: the original's soft delete, under the delete guard.
        let path = format!("/reference/api/jsonPatches/{}", first["id"]);
        let writer = token(&[WRITE], &[]);
        let res = app
            .request(Method::PUT, &path, Some(&writer))
            .send()
            .await
            .expect("put");
        assert_eq!(res.status(), 403, "{b:?}");
        let res = app
            .request(Method::PUT, &path, Some(&admin()))
            .send()
            .await
            .expect("put");
        assert_eq!(res.status(), 200);
        assert_eq!(
            header(&res, "x-referenceapp-alert"),
            "referenceApp.jsonPatch.deleted"
        );
        assert_eq!(app.get_json(&path).await["enabled"], false);
        let (status, _, _) = error_code(
            app.request(
                Method::PUT,
                "/reference/api/jsonPatches/999999",
                Some(&admin()),
            )
            .send()
            .await
            .expect("put"),
        )
        .await;
        assert_eq!(status, 404);

        // PUT /bulk-jsonPatches: each updated and disabled.
        let mut again = later.clone();
        again["patch"] = json!("[{}]");
        let res = app
            .send(
                Method::PUT,
                "/reference/api/bulk-jsonPatches",
                &json!([again]),
            )
            .await;
        assert_eq!(res.status(), 200, "{b:?}");
        let updated: Value = res.json().await.expect("json");
        assert_eq!(
            (updated[0]["patch"].clone(), updated[0]["enabled"].clone()),
            (json!("[{}]"), json!(false))
        );

        // Bad input: JSON 4xx, never a 500.
        for (method, path, body) in [
            (Method::POST, "/reference/api/jsonPatches", "{not json"),
            (
                Method::PUT,
                "/reference/api/bulk-jsonPatches",
                r#"{"id": 1}"#,
            ),
            (
                Method::POST,
                "/reference/api/jsonPatches",
                r#"{"tableDtoName": "X", "dateAdded": "yesterday"}"#,
            ),
            (
                Method::POST,
                "/reference/api/jsonPatches",
                r#"{"tableDtoName": "X", "enabled": "yes"}"#,
            ),
        ] {
            let res = app
                .request(method.clone(), path, Some(&admin()))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            let (status, code, _) = error_code(res).await;
            assert_eq!(status, 400, "{b:?} {method} {path} {body}: {code}");
        }
        let (status, _, _) = error_code(
            app.send(Method::PUT, "/reference/api/bulk-jsonPatches", &json!([]))
                .await,
        )
        .await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn rotations_keep_the_originals_permission_guards() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let body = json!({"code": "NWL-GP-1", "label": "GP rotation", "localOffice": "HENWL"});
        let res = app
            .send(Method::POST, "/reference/api/rotations", &body)
            .await;
        let (status, code, _) = error_code(res).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "forbidden"),
            "{b:?}: the authorities alone are not the rotations' guard"
        );
        let res = app
            .request(
                Method::POST,
                "/reference/api/rotations",
                Some(&reference_permission(&["Create"])),
            )
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 201, "{b:?}");
        let rotation: Value = res.json().await.expect("json");
        let res = app
            .request(
                Method::DELETE,
                &format!("/reference/api/rotations/{}", rotation["id"]),
                Some(&reference_permission(&["Create"])),
            )
            .send()
            .await
            .expect("delete");
        assert_eq!(res.status(), 403);
        let res = app
            .request(
                Method::DELETE,
                &format!("/reference/api/rotations/{}", rotation["id"]),
                Some(&reference_permission(&["Delete"])),
            )
            .send()
            .await
            .expect("delete");
        assert_eq!(res.status(), 200);
        let (status, _, body) = error_code(
            app.request(
                Method::POST,
                "/reference/api/rotations",
                Some(&reference_permission(&["Create"])),
            )
            .json(&json!({"code": "X", "label": "x"}))
            .send()
            .await
            .expect("post"),
        )
        .await;
        assert_eq!(status, 400, "localOffice is required");
        assert_eq!(body["fieldErrors"][0]["field"], "localOffice");
    }
}

#[tokio::test]
async fn the_small_look_ups_take_the_originals_bodies() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let sites = app
            .bulk("sites", json!([{"siteCode": "A1"}, {"siteCode": "B2"}]))
            .await;
        let res = app
            .request(
                Method::POST,
                "/reference/api/sites/ids/in/query",
                Some(&reader()),
            )
            .json(&json!({"ids": [sites[0]["id"], sites[1]["id"]]}))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 200, "{b:?}");
        assert_eq!(
            res.json::<Value>()
                .await
                .expect("json")
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        for bad in [json!({"ids": ["x"]}), json!("1,2"), json!({"ids": 1})] {
            let res = app
                .request(
                    Method::POST,
                    "/reference/api/sites/ids/in/query",
                    Some(&reader()),
                )
                .json(&bad)
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), 400, "{b:?} {bad}");
        }
        app.bulk(
            "programme-membership-types",
            json!([
                {"code": "LAT", "label": "LAT", "status": "INACTIVE"},
                {"code": "SUBSTANTIVE", "label": "Substantive", "status": "CURRENT"}
            ]),
        )
        .await;
        let res = app
            .request(
                Method::POST,
                &format!(
                    "/reference/api/programme-membership-types/exist?columnFilters={}",
                    tis_service_kit::testing::url_encode(r#"{"status":["CURRENT"]}"#)
                ),
                Some(&reader()),
            )
            .json(&json!(["LAT", "SUBSTANTIVE"]))
            .send()
            .await
            .expect("post");
        assert_eq!(
            res.json::<Value>().await.expect("json"),
            json!({"LAT": false, "SUBSTANTIVE": true}),
            "{b:?}"
        );
        let info = app.get_json("/reference/api/profile-info").await;
        assert_eq!(
            info,
            json!({
                "activeProfiles": [if b == Backend::Sqlite { "sqlite" } else { "postgres" }],
                "ribbonEnv": null
            })
        );
    }
}
