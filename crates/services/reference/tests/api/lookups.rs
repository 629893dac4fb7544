use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .request(Method::POST, path, Some(&reader()))
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post_text(app: &TestApp, path: &str, text: &str) -> u16 {
    app.request(Method::POST, path, Some(&reader()))
        .body(text.to_owned())
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

#[tokio::test]
async fn sites_trusts_and_grades_answer_the_reference_client_look_ups() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let trusts = app.bulk("trusts", json!([{"code": "RJ1", "trustName": "Guy's and St Thomas'"}, {"code": "RRK", "trustName": "UHB"}])).await;
        let sites = app.bulk("sites", json!([
            {"siteCode": "RJ122", "siteName": "St Thomas'", "trustCode": "RJ1", "trustId": trusts[0]["id"]},
            {"siteCode": "RRK15", "siteName": "QEHB", "trustCode": "RRK", "trustId": trusts[1]["id"]}
        ])).await;
        let grades = app.bulk("grades", json!([{"abbreviation": "F1", "trainingGrade": true, "postGrade": true, "placementGrade": true}])).await;
        let site_id = sites[0]["id"].as_i64().expect("id");

        for path in [
            "/reference/api/sites/exists/",
            "/reference/api/sites/exists",
        ] {
            let (status, map) = post(&app, path, json!(["RJ122", "NOPE"])).await;
            assert_eq!(
                (status, map),
                (200, json!({"RJ122": true, "NOPE": false})),
                "{b:?}"
            );
        }
        let (_, map) = post(
            &app,
            "/reference/api/trusts/exists/?columnFilters=%7B%22code%22%3A%5B%22RRK%22%5D%7D",
            json!(["RJ1", "RRK"]),
        )
        .await;
        assert_eq!(
            map,
            json!({"RJ1": false, "RRK": true}),
            "{b:?}: exists honours columnFilters"
        );
        let (_, map) = post(
            &app,
            "/reference/api/sites/ids/exists/",
            json!([site_id, 999_999]),
        )
        .await;
        assert_eq!(map, json!({site_id.to_string(): true, "999999": false}));
        let (_, map) = post(
            &app,
            "/reference/api/grades/ids/exists",
            json!([grades[0]["id"]]),
        )
        .await;
        assert_eq!(map[grades[0]["id"].to_string()], true);

        let list = app
            .get_json(&format!("/reference/api/sites/ids/in?ids={site_id},999999"))
            .await;
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{b:?}");
        let (status, list) =
            post(&app, "/reference/api/sites/ids/in/query", json!([site_id])).await;
        assert_eq!((status, list[0]["siteCode"].clone()), (200, json!("RJ122")));
        let list = app
            .get_json("/reference/api/sites/in/RJ122,RRK15,NOPE")
            .await;
        assert_eq!(list.as_array().map(Vec::len), Some(2));
        let list = app.get_json("/reference/api/trusts/in/RRK").await;
        assert_eq!(list[0]["trustName"], "UHB");
        assert_eq!(
            app.get_json("/reference/api/grades/in/F1").await[0]["abbreviation"],
            "F1"
        );
        assert_eq!(
            app.get_json("/reference/api/sites/code/RRK15").await["siteName"],
            "QEHB"
        );

        assert_eq!(
            post_text(&app, "/reference/api/sites/codeexists/", "RJ122").await,
            302,
            "{b:?}"
        );
        assert_eq!(
            post_text(&app, "/reference/api/sites/codeexists/", "\"RJ122\"").await,
            302
        );
        assert_eq!(
            post_text(&app, "/reference/api/trusts/codeexists/", "NOPE").await,
            204
        );
        assert_eq!(
            post_text(&app, "/reference/api/sites/trustmatch/RJ1", "RJ122").await,
            302
        );
        assert_eq!(
            post_text(&app, "/reference/api/sites/trustmatch/RRK", "RJ122").await,
            204
        );

        let (status, code, _) =
            error_code(app.get("/reference/api/sites/ids/in?ids=1,two").await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_query"));
    }
}

#[tokio::test]
async fn look_up_inputs_are_bounded() {
    let app = spawn_with(Backend::Sqlite, |c| c.max_items = 3).await;
    let (status, _) = post(
        &app,
        "/reference/api/grades/exists/",
        json!(["a", "b", "c", "d"]),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &app,
        "/reference/api/grades/exists/",
        json!(["a", "b", "c"]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get("/reference/api/sites/ids/in?ids=1,2,3,4")
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get("/reference/api/roles/in/a,b,c,d").await.status(),
        400
    );
    let res = app
        .send(
            Method::POST,
            "/reference/api/bulk-titles",
            &json!([{}, {}, {}, {}]),
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn designated_bodies_roles_and_funding_have_their_own_look_ups() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        app.bulk("dbcs", json!([
            {"dbc": "1-AIIDWA", "name": "Health Education England North West London", "abbr": "HENWL", "type": "DEANERY_LETB", "internal": true},
            {"dbc": "1-AIIDHJ", "name": "Health Education England Wessex", "abbr": "HEWX", "type": "DEANERY_LETB", "internal": false}
        ])).await;
        assert_eq!(
            app.get_json("/reference/api/dbcs/code/1-AIIDHJ").await["abbr"],
            "HEWX",
            "{b:?}"
        );
        assert_eq!(
            app.get_json("/reference/api/dbcs/abbr/HENWL").await["dbc"],
            "1-AIIDWA"
        );
        assert_eq!(
            app.get("/reference/api/dbcs/code/1-NONE").await.status(),
            404
        );
        let internal = app.get_json("/reference/api/dbcs/internal/true").await;
        assert_eq!(internal.as_array().map(Vec::len), Some(1));
        assert_eq!(internal[0]["type"], "DEANERY_LETB");

        let cats = app
            .bulk(
                "role-categories",
                json!([{"name": "Trainee"}, {"name": "Trainer"}]),
            )
            .await;
        app.bulk("roles", json!([
            {"code": "DR in Training", "label": "Doctor in Training", "status": "CURRENT", "roleCategory": {"id": cats[0]["id"]}},
            {"code": "Educational Supervisor", "label": "Educational Supervisor", "status": "CURRENT", "roleCategory": {"id": cats[1]["id"]}}
        ])).await;
        let of_cat = app
            .get_json(&format!(
                "/reference/api/roles/categories/{}",
                cats[1]["id"]
            ))
            .await;
        assert_eq!(of_cat[0]["code"], "Educational Supervisor", "{b:?}");
        assert_eq!(of_cat[0]["roleCategory"]["name"], "Trainer");
        let by_codes = app
            .get_json("/reference/api/roles/codes?codes=DR%20in%20Training,nope")
            .await;
        assert_eq!(by_codes.as_array().map(Vec::len), Some(1));
        assert_eq!(
            app.get_json("/reference/api/roles/in/Educational%20Supervisor")
                .await
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        let (_, map) = post(
            &app,
            "/reference/api/roles/matches/",
            json!(["dr IN training", "Nobody"]),
        )
        .await;
        assert_eq!(
            map,
            json!({"dr IN training": "DR in Training", "Nobody": ""}),
            "{b:?}"
        );

        app.bulk(
            "leaving-reasons",
            json!([{"code": "CCT/CESR", "label": "CCT/CESR awarded", "status": "CURRENT"}]),
        )
        .await;
        let (_, map) = post(
            &app,
            "/reference/api/leaving-reasons/match",
            json!(["cct/cesr", "CCT%2FCESR", "Bored"]),
        )
        .await;
        assert_eq!(
            map,
            json!({"cct/cesr": "CCT/CESR", "Bored": ""}),
            "{b:?}: codes (URL-decoded) matched ignoring case, each once ignoring case"
        );
        app.bulk(
            "programme-membership-types",
            json!([{"code": "SUBSTANTIVE", "label": "Substantive"}]),
        )
        .await;
        let (_, map) = post(
            &app,
            "/reference/api/programme-membership-types/exist",
            json!(["SUBSTANTIVE", "LAT"]),
        )
        .await;
        assert_eq!(map, json!({"SUBSTANTIVE": true, "LAT": false}));

        let types = app.bulk("funding-types", json!([{"code": "TARIFF", "label": "Tariff", "allowDetails": false}, {"code": "OTHER", "label": "Other"}])).await;
        app.bulk("funding-sub-types", json!([{"code": "FULL", "label": "Full tariff", "fundingType": {"id": types[0]["id"]}}])).await;
        let subs = app
            .get_json(&format!(
                "/reference/api/funding-types/{}/funding-sub-types",
                types[0]["id"]
            ))
            .await;
        assert_eq!(subs[0]["code"], "FULL", "{b:?}");
        assert_eq!(subs[0]["fundingType"]["code"], "TARIFF");
        let none = app
            .get_json(&format!(
                "/reference/api/funding-types/{}/funding-sub-types",
                types[1]["id"]
            ))
            .await;
        assert_eq!(none, json!([]));
    }
}

#[tokio::test]
async fn the_demo_data_loads_and_answers_the_look_ups() {
    for b in BACKENDS {
        let app = spawn_with(b, |c| c.demo_data = true).await;
        let client = app.client.clone();
        // Rotations are seeded last: once they are there, everything is.
        let url = app.url("/reference/api/rotations");
        let rotations = tis_testkit::wait::until(
            "demo data",
            std::time::Duration::from_secs(20),
            std::time::Duration::from_millis(50),
            || {
                let client = client.clone();
                let url = url.clone();
                async move {
                    let res = client
                        .get(&url)
                        .header("TIS-Principal", reader())
                        .send()
                        .await
                        .ok()?;
                    (res.status() == 200).then_some(())?;
                    res.json::<Value>()
                        .await
                        .ok()
                        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
                }
            },
        )
        .await
        .expect("demo data loaded");
        assert_eq!(rotations.as_array().map(Vec::len), Some(3), "{b:?}");
        let dbc = app.get_json("/reference/api/dbcs/code/1-AIIDWA").await;
        assert_eq!(dbc["name"], "Health Education England North West London");
        let res = app.get("/reference/api/sites?size=1").await;
        let sites: u64 = res.headers()["x-total-count"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("count");
        assert!(sites >= 30, "{b:?}: {sites} sites");
        let (_, map) = post(
            &app,
            "/reference/api/trusts/exists/",
            json!(["RJ1", "RRK", "R0A", "RTH"]),
        )
        .await;
        assert_eq!(
            map,
            json!({"RJ1": true, "RRK": true, "R0A": true, "RTH": true})
        );
        let roles = app.get_json("/reference/api/current/roles?size=50").await;
        assert!(roles.as_array().is_some_and(
            |r| r.len() >= 10 && r.iter().all(|x| x["roleCategory"]["name"].is_string())
        ));
    }
}
