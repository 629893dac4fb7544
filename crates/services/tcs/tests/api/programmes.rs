//! Programmes as the original's `ProgrammeResourceIntTest` (create, update and bulk with
//! curricula, ids on create, the owner checks), and scoped: a caller reads and writes only the
//! programmes of their scope, any other id is 404.

use reqwest::Method;
use serde_json::{Value, json};
use tis_service_kit::testing::url_encode;

use crate::curricula::make_curriculum;
use crate::helpers::*;
use crate::specialties::fields;

const AUTHORITIES: &[&str] = &[
    "programme:view",
    "programme:add:modify",
    "programme:bulk:add:modify",
    "tcs:delete:entities",
];

/// East Midlands (`1-1RSSPZ7`).
const EM: &str = "1-1RSSPZ7";

fn admin_of(dbc: &str) -> String {
    Caller::hee(&[dbc]).granted(AUTHORITIES).token()
}

fn etl() -> String {
    Caller::etl().granted(AUTHORITIES).token()
}

fn programme(name: &str, owner: &str, curricula: &[i64]) -> Value {
    json!({
        "status": "CURRENT",
        "owner": owner,
        "programmeName": name,
        "programmeNumber": format!("#{name}%$^&*("),
        "intrepidId": "123",
        "curricula": curricula.iter().map(|c| json!({"curriculum": {"id": c}, "gmcProgrammeCode": format!("G{c}")})).collect::<Vec<_>>()
    })
}

fn curriculum_ids(p: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = p["curricula"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["curriculum"]["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn programmes_carry_their_curricula_through_create_update_and_bulk() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let who = admin_of(EM);
        let path = "/tcs/api/programmes";
        let c1 = make_curriculum(&app, "C1", "101").await["id"]
            .as_i64()
            .unwrap();
        let c2 = make_curriculum(&app, "C2", "102").await["id"]
            .as_i64()
            .unwrap();
        let c3 = make_curriculum(&app, "C3", "103").await["id"]
            .as_i64()
            .unwrap();

        // Create with two curricula: 201, Location, alert; any programme number is allowed.
        let (status, headers, made) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(programme("Cardiology", "East Midlands", &[c1, c2])),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {made}");
        let id = made["id"].as_i64().unwrap();
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .ends_with(&format!("/programmes/{id}"))
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.programme.created");
        assert_eq!(curriculum_ids(&made), vec![c1, c2]);
        assert_eq!(made["curricula"][0]["curriculum"]["name"], "C1");
        assert_eq!(
            made["curricula"][0]["curriculum"]["specialty"]["specialtyCode"],
            "101"
        );
        assert_eq!(made["curricula"][0]["gmcProgrammeCode"], format!("G{c1}"));
        assert_eq!(made["programmeNumber"], "#Cardiology%$^&*(");

        let (status, _, one) = call(&app, Method::GET, &format!("{path}/{id}"), &who, None).await;
        assert_eq!((status, &one), (200, &made));
        assert_eq!(
            call(
                &app,
                Method::GET,
                &format!("{path}/{}", i64::MAX),
                &who,
                None
            )
            .await
            .0,
            404
        );
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/abc"), &who, None)
                .await
                .0,
            400
        );

        // Update replaces the curricula.
        let mut changed = programme("Cardiology 2", "East Midlands", &[c2, c3]);
        changed["id"] = json!(id);
        changed["status"] = json!("INACTIVE");
        let (status, headers, body) = call(&app, Method::PUT, path, &who, Some(changed)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.programme.updated");
        assert_eq!(
            (
                curriculum_ids(&body),
                &body["status"],
                &body["programmeName"]
            ),
            (vec![c2, c3], &json!("INACTIVE"), &json!("Cardiology 2"))
        );

        // A negative id on update is the original's 400 naming id (@DecimalMin(0)).
        let mut negative = made.clone();
        negative["id"] = json!(-1);
        let (status, _, body) = call(&app, Method::PUT, path, &who, Some(negative)).await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["id".to_owned()]),
            "{body}"
        );

        // Validation: the original's messages.
        let (status, _, body) = call(&app, Method::POST, path, &who, Some(json!({}))).await;
        let mut named = fields(&body);
        named.sort();
        assert_eq!(
            (status, named),
            (
                400,
                vec!["owner".to_owned(), "programmeName".into(), "status".into()]
            ),
            "{body}"
        );
        assert_eq!(body["message"], "error.validation");
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(programme("X", "East Midlands", &[-1])),
        )
        .await;
        assert_eq!((status, fields(&body)), (400, vec!["curricula".to_owned()]));
        assert!(
            body.to_string()
                .contains("Curriculum ID cannot be null or negative"),
            "{body}"
        );
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(programme("X", "East Midlands", &[424_242])),
        )
        .await;
        assert_eq!((status, fields(&body)), (400, vec!["curricula".to_owned()]));
        assert!(
            body.to_string()
                .contains("Curricula with id 424242 does not exist"),
            "{body}"
        );
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(programme("X", "Atlantis", &[])),
        )
        .await;
        assert_eq!((status, fields(&body)), (400, vec!["owner".to_owned()]));
        assert!(
            body.to_string().contains("Unknown owner: Atlantis"),
            "{body}"
        );
        let mut with_id = programme("X", "East Midlands", &[]);
        with_id["id"] = json!(1);
        let (status, headers, body) = call(&app, Method::POST, path, &who, Some(with_id)).await;
        assert_eq!((status, fields(&body)), (400, vec!["id".to_owned()]));
        assert_eq!(headers["x-tcsapp-error"], "error.idexists");
        let (status, _, body) = call(
            &app,
            Method::PUT,
            path,
            &who,
            Some(programme("X", "East Midlands", &[])),
        )
        .await;
        assert_eq!((status, fields(&body)), (400, vec!["id".to_owned()]));
        let (status, _, _) = call(
            &app,
            Method::POST,
            path,
            &who,
            Some(json!({"status": "SOMETIMES", "owner": "East Midlands", "programmeName": "x"})),
        )
        .await;
        assert_eq!(status, 400, "an unknown status");
        let res = app
            .request(Method::POST, path, Some(&who))
            .header("content-type", "application/json")
            .body("{\"owner\": \"East Midlands\"} trailing")
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 400);

        // Bulk create: no ids (400 error.ids.exist), all or nothing, 200 without alerts.
        let (status, _, body) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-programmes",
            &who,
            Some(json!([
                programme("B1", "East Midlands", &[c1]),
                programme("B2", "East Midlands", &[999_999])
            ])),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["[1].curricula".to_owned()]),
            "{body}"
        );
        let (_, _, list) = call(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=B1"),
            &who,
            None,
        )
        .await;
        assert_eq!(list, json!([]), "nothing half-written");
        let (status, headers, made2) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-programmes",
            &who,
            Some(json!([
                programme("B1", "East Midlands", &[c1, c2]),
                programme("B2", "East Midlands", &[c3])
            ])),
        )
        .await;
        assert_eq!(
            (status, made2.as_array().map(Vec::len)),
            (200, Some(2)),
            "{made2}"
        );
        assert!(headers.get("x-tcsapp-alert").is_none());
        assert_eq!(curriculum_ids(&made2[0]), vec![c1, c2]);
        let mut bad = programme("B3", "East Midlands", &[]);
        bad["id"] = json!(77);
        let (status, headers, _) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-programmes",
            &who,
            Some(json!([bad])),
        )
        .await;
        assert_eq!(
            (
                status,
                headers["x-tcsapp-error"].to_str().unwrap(),
                headers["x-tcsapp-params"].to_str().unwrap()
            ),
            (400, "error.ids.exist", "77")
        );
        let many: Vec<Value> = (0..1001).map(|_| json!({"programmeName": "M"})).collect();
        assert_eq!(
            call(
                &app,
                Method::POST,
                "/tcs/api/bulk-programmes",
                &who,
                Some(Value::Array(many))
            )
            .await
            .0,
            400
        );

        // Bulk update: each needs an id; replaces curricula; an unknown id writes nothing.
        let mut u1 = made2[0].clone();
        u1["curricula"] = json!([{"curriculum": {"id": c2}}]);
        let mut u2 = made2[1].clone();
        u2["curricula"] = json!([]);
        let (status, headers, body) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-programmes",
            &who,
            Some(json!([u1.clone(), u2])),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (curriculum_ids(&body[0]), curriculum_ids(&body[1])),
            (vec![c2], vec![])
        );
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.programme.updated");
        let mut unknown = u1.clone();
        unknown["id"] = json!(999_999);
        u1["programmeName"] = json!("renamed");
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/bulk-programmes",
                &who,
                Some(json!([u1, unknown]))
            )
            .await
            .0,
            404
        );
        let (_, _, list) = call(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=renamed"),
            &who,
            None,
        )
        .await;
        assert_eq!(list, json!([]), "nothing half-written");
        let (status, headers, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-programmes",
            &who,
            Some(json!([])),
        )
        .await;
        assert_eq!(
            (status, headers["x-tcsapp-error"].to_str().unwrap()),
            (400, "error.request.body.empty")
        );
        let (status, headers, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/bulk-programmes",
            &who,
            Some(json!([programme("N", "East Midlands", &[])])),
        )
        .await;
        assert_eq!(
            (status, headers["x-tcsapp-error"].to_str().unwrap()),
            (400, "error.bulk.update.failed.noId")
        );

        // Lists: paged with full headers, searched over name and number, filtered, sorted.
        let names = |b: &Value| {
            b.as_array()
                .unwrap()
                .iter()
                .map(|p| p["programmeName"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let (status, headers, body) = call(
            &app,
            Method::GET,
            &format!("{path}?sort=programmeName,desc&size=2"),
            &who,
            None,
        )
        .await;
        assert_eq!(
            (status, names(&body)),
            (200, vec!["Cardiology 2".to_owned(), "B2".into()])
        );
        assert_eq!(headers["x-total-count"], "3");
        assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}?searchQuery=%23b2"),
            &who,
            None,
        )
        .await;
        assert_eq!(names(&body), ["B2"], "by number");
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!(
                "{path}?columnFilters={}",
                url_encode(r#"{"status":["INACTIVE"]}"#)
            ),
            &who,
            None,
        )
        .await;
        assert_eq!(names(&body), ["Cardiology 2"]);
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!(
                "{path}?columnFilters={}",
                url_encode(r#"{"curricula":["1"]}"#)
            ),
            &who,
            None,
        )
        .await;
        assert_eq!(status, 400, "unknown filter key");
        let (status, _, body) = call(
            &app,
            Method::GET,
            "/tcs/api/bulk-programmes?size=10",
            &who,
            None,
        )
        .await;
        assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(3)));

        // In: 200 with those found.
        let ids = body
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}/in/{ids},999999"),
            &who,
            None,
        )
        .await;
        assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(3)));
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/in/1,x"), &who, None)
                .await
                .0,
            400
        );

        // Delete: 200, then 404; the curricula stay.
        let (status, headers, _) =
            call(&app, Method::DELETE, &format!("{path}/{id}"), &who, None).await;
        assert_eq!(
            (status, headers["x-tcsapp-alert"].to_str().unwrap()),
            (200, "tcsApp.programme.deleted")
        );
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/{id}"), &who, None)
                .await
                .0,
            404
        );
        assert_eq!(
            call(&app, Method::DELETE, &format!("{path}/{id}"), &who, None)
                .await
                .0,
            404
        );
        assert_eq!(
            call(
                &app,
                Method::GET,
                &format!("/tcs/api/curricula/{c3}"),
                &crate::curricula::curriculum_admin(),
                None
            )
            .await
            .0,
            200
        );
    }
}

#[tokio::test]
async fn programmes_are_scoped_to_the_callers_owners() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 40).await;
        let em = admin_of(EM);
        let path = "/tcs/api/programmes";
        let in_em = db_value(
            &app,
            "SELECT COUNT(*) AS n FROM programme WHERE owner = 'East Midlands'",
        )
        .await
        .as_i64()
        .unwrap();
        let all = db_value(&app, "SELECT COUNT(*) AS n FROM programme")
            .await
            .as_i64()
            .unwrap();
        assert!(in_em > 0 && all > in_em);
        let em_id = db_value(
            &app,
            "SELECT MIN(id) AS n FROM programme WHERE owner = 'East Midlands'",
        )
        .await
        .as_i64()
        .unwrap();
        let other_id = db_value(
            &app,
            "SELECT MIN(id) AS n FROM programme WHERE owner <> 'East Midlands'",
        )
        .await
        .as_i64()
        .unwrap();

        // Lists: their own owners' programmes; the ETL everything.
        let (_, headers, body) =
            call(&app, Method::GET, &format!("{path}?size=500"), &em, None).await;
        assert_eq!(
            headers["x-total-count"].to_str().unwrap(),
            in_em.to_string()
        );
        assert!(
            body.as_array()
                .unwrap()
                .iter()
                .all(|p| p["owner"] == "East Midlands")
        );
        assert!(
            body[0]["curricula"]
                .as_array()
                .is_some_and(|c| !c.is_empty()),
            "demo programmes have curricula: {}",
            body[0]
        );
        let (_, headers, _) = call(&app, Method::GET, path, &etl(), None).await;
        assert_eq!(headers["x-total-count"].to_str().unwrap(), all.to_string());

        // By id: another owner's programme does not exist for them.
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/{em_id}"), &em, None)
                .await
                .0,
            200
        );
        assert_eq!(
            call(&app, Method::GET, &format!("{path}/{other_id}"), &em, None)
                .await
                .0,
            404
        );
        let (_, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}/in/{em_id},{other_id}"),
            &em,
            None,
        )
        .await;
        assert_eq!(body.as_array().map(Vec::len), Some(1));
        let (_, _, other) = call(
            &app,
            Method::GET,
            &format!("{path}/{other_id}"),
            &etl(),
            None,
        )
        .await;
        assert_eq!(
            call(&app, Method::PUT, path, &em, Some(other.clone()))
                .await
                .0,
            404
        );
        assert_eq!(
            call(
                &app,
                Method::DELETE,
                &format!("{path}/{other_id}"),
                &em,
                None
            )
            .await
            .0,
            404
        );

        // Writes: an owner the caller may not own is the original's 400 on owner.
        let (status, _, body) = call(
            &app,
            Method::POST,
            path,
            &em,
            Some(programme("Theirs", "North West London", &[])),
        )
        .await;
        assert_eq!(
            (status, fields(&body)),
            (400, vec!["owner".to_owned()]),
            "{body}"
        );
        assert!(body.to_string().contains("You do not have permission to create or modify a programme in the owner: North West London"), "{body}");
        let (_, _, mine) = call(&app, Method::GET, &format!("{path}/{em_id}"), &em, None).await;
        let mut moved = mine.clone();
        moved["owner"] = json!("North West London");
        assert_eq!(
            call(&app, Method::PUT, path, &em, Some(moved)).await.0,
            400,
            "cannot give it away"
        );
        let (status, _, _) = call(
            &app,
            Method::POST,
            "/tcs/api/bulk-programmes",
            &em,
            Some(json!([programme("Theirs", "North West London", &[])])),
        )
        .await;
        assert_eq!(status, 400, "the bulk route checks owners too");
        let (status, _, _) = call(
            &app,
            Method::POST,
            path,
            &etl(),
            Some(programme("Theirs", "North West London", &[])),
        )
        .await;
        assert_eq!(status, 201);

        // A programme with memberships cannot be deleted (409), nothing is lost.
        let (status, _, body) =
            call(&app, Method::DELETE, &format!("{path}/{em_id}"), &em, None).await;
        assert_eq!(status, 409, "{body}");

        // A programme observer sees only their programmes, and creates none.
        let observer = Caller::observer(em_id).granted(AUTHORITIES).token();
        let (_, _, body) = call(&app, Method::GET, path, &observer, None).await;
        assert_eq!(
            body.as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            vec![em_id]
        );
        assert_eq!(
            call(
                &app,
                Method::GET,
                &format!("{path}/{other_id}"),
                &observer,
                None
            )
            .await
            .0,
            404
        );
        assert_eq!(
            call(
                &app,
                Method::POST,
                path,
                &observer,
                Some(programme("Obs", "East Midlands", &[]))
            )
            .await
            .0,
            400
        );

        // A trainee's programmes: through the person's scope.
        let person = db_value(&app, "SELECT MIN(person_id) AS n FROM programme_membership")
            .await
            .as_i64()
            .unwrap();
        let expected = db_value(&app, &format!("SELECT COUNT(DISTINCT programme_id) AS n FROM programme_membership WHERE person_id = {person}")).await.as_i64().unwrap();
        let trainee = format!("/tcs/api/trainee/{person}/programmes");
        let (status, _, body) = call(&app, Method::GET, &trainee, &etl(), None).await;
        assert_eq!(
            (status, body.as_array().map(|a| a.len() as i64)),
            (200, Some(expected)),
            "{body}"
        );
        let nowhere = Caller::hee(&[]).granted(AUTHORITIES).token();
        assert_eq!(
            call(&app, Method::GET, &trainee, &nowhere, None).await.0,
            404,
            "a person out of scope"
        );
        assert_eq!(
            call(
                &app,
                Method::GET,
                "/tcs/api/trainee/999999/programmes",
                &etl(),
                None
            )
            .await
            .0,
            404
        );
        let lonely = db_value(&app, "SELECT MIN(id) AS n FROM person WHERE id NOT IN (SELECT person_id FROM programme_membership)").await;
        if let Some(lonely) = lonely.as_i64() {
            let (status, _, body) = call(
                &app,
                Method::GET,
                &format!("/tcs/api/trainee/{lonely}/programmes"),
                &etl(),
                None,
            )
            .await;
            assert_eq!((status, body), (200, json!([])));
        }
    }
}

#[tokio::test]
async fn programme_routes_have_the_original_guards() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let (status, _, made) = call(
            &app,
            Method::POST,
            "/tcs/api/programmes",
            &admin_of(EM),
            Some(programme("P", "East Midlands", &[])),
        )
        .await;
        assert_eq!(status, 201);
        let id = made["id"].as_i64().unwrap();
        let nobody = Caller::hee(&[EM]).token();
        let viewer = Caller::hee(&[EM]).granted(&["programme:view"]).token();
        let writer = Caller::hee(&[EM])
            .granted(&["programme:add:modify"])
            .token();
        let reads = [
            "/tcs/api/programmes".to_owned(),
            format!("/tcs/api/programmes/{id}"),
            format!("/tcs/api/programmes/in/{id}"),
            "/tcs/api/trainee/1/programmes".to_owned(),
        ];
        for path in &reads {
            assert_eq!(
                call(&app, Method::GET, path, &nobody, None).await.0,
                403,
                "{path}"
            );
        }
        for path in &reads[..3] {
            assert_eq!(
                call(&app, Method::GET, path, &viewer, None).await.0,
                200,
                "{path}"
            );
        }
        assert_eq!(
            call(&app, Method::GET, "/tcs/api/bulk-programmes", &viewer, None)
                .await
                .0,
            403
        );
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/programmes",
                &viewer,
                Some(made.clone())
            )
            .await
            .0,
            403
        );
        assert_eq!(
            call(
                &app,
                Method::POST,
                "/tcs/api/programmes",
                &viewer,
                Some(programme("Q", "East Midlands", &[]))
            )
            .await
            .0,
            403
        );
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/programmes",
                &writer,
                Some(made.clone())
            )
            .await
            .0,
            200
        );
        assert_eq!(
            call(
                &app,
                Method::POST,
                "/tcs/api/bulk-programmes",
                &writer,
                Some(json!([]))
            )
            .await
            .0,
            403
        );
        assert_eq!(
            call(
                &app,
                Method::PUT,
                "/tcs/api/bulk-programmes",
                &writer,
                Some(json!([made]))
            )
            .await
            .0,
            403
        );
        assert_eq!(
            call(
                &app,
                Method::DELETE,
                &format!("/tcs/api/programmes/{id}"),
                &writer,
                None
            )
            .await
            .0,
            403
        );
    }
}

#[tokio::test]
async fn a_programmes_specialties_and_people_are_spring_pages_within_scope() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 60).await;
        let programme = db_value(
            &app,
            "SELECT MIN(programme_id) AS n FROM programme_membership",
        )
        .await
        .as_i64()
        .unwrap();
        let owner = db_value(
            &app,
            &format!("SELECT owner AS n FROM programme WHERE id = {programme}"),
        )
        .await;
        let other = db_value(
            &app,
            &format!(
                "SELECT MIN(id) AS n FROM programme WHERE owner <> '{}'",
                owner.as_str().unwrap()
            ),
        )
        .await
        .as_i64()
        .unwrap();
        let everything = Caller::etl().granted(&["specialty:view"]).token();
        let elsewhere = Caller::hee(&[]).granted(&["specialty:view"]).token();

        // Specialties: those of the programme's curricula.
        let expected = db_value(&app, &format!("SELECT COUNT(DISTINCT c.specialty_id) AS n FROM programme_curriculum pc JOIN curriculum c ON c.id = pc.curriculum_id WHERE pc.programme_id = {programme}")).await;
        let path = format!("/tcs/api/programme/{programme}/specialties?page=0&size=50");
        let (status, _, body) = call(&app, Method::GET, &path, &everything, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (
                &body["totalElements"],
                &body["size"],
                &body["number"],
                &body["totalPages"]
            ),
            (&expected, &json!(50), &json!(0), &json!(1)),
            "{body}"
        );
        assert!(body["content"][0]["specialtyCode"].is_string(), "{body}");
        let name = body["content"][0]["name"].as_str().unwrap().to_owned();
        let (_, _, found) = call(
            &app,
            Method::GET,
            &format!("{path}&searchQuery={}", url_encode(&name)),
            &everything,
            None,
        )
        .await;
        assert_eq!(found["totalElements"], 1);
        let (_, _, none) = call(
            &app,
            Method::GET,
            &format!("{path}&searchQuery=zzzz"),
            &everything,
            None,
        )
        .await;
        assert_eq!(
            (&none["totalElements"], &none["content"]),
            (&json!(0), &json!([]))
        );
        assert_eq!(
            call(&app, Method::GET, &path, &elsewhere, None).await.0,
            404,
            "out of scope"
        );
        assert_eq!(
            call(
                &app,
                Method::GET,
                "/tcs/api/programme/999999/specialties",
                &everything,
                None
            )
            .await
            .0,
            404
        );
        assert_eq!(
            call(&app, Method::GET, &path, &Caller::etl().token(), None)
                .await
                .0,
            403
        );

        // A person's specialties in the programme.
        let person = db_value(&app, &format!("SELECT MIN(person_id) AS n FROM programme_membership WHERE programme_id = {programme}")).await.as_i64().unwrap();
        let mine = format!("/tcs/api/programme/{programme}/person/{person}/specialties");
        let (status, _, body) = call(&app, Method::GET, &mine, &everything, None).await;
        assert_eq!(status, 200, "{body}");
        assert!(!body.as_array().unwrap().is_empty(), "{body}");
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme/{other}/person/{person}/specialties"),
            &everything,
            None,
        )
        .await;
        assert_eq!((status, body), (200, json!([])), "not in that programme");
        assert_eq!(
            call(&app, Method::GET, &mine, &elsewhere, None).await.0,
            404
        );
        assert_eq!(
            call(&app, Method::GET, &mine, &Caller::etl().token(), None)
                .await
                .0,
            403
        );

        // People: the current people with a membership of the programme.
        let current = db_value(&app, &format!("SELECT COUNT(*) AS n FROM person_view p WHERE p.status = 'CURRENT' AND EXISTS (SELECT 1 FROM programme_membership pm WHERE pm.person_id = p.id AND pm.programme_id = {programme})")).await;
        let people = format!("/tcs/api/programme/{programme}/people?size=500");
        let (status, _, body) =
            call(&app, Method::GET, &people, &Caller::etl().token(), None).await;
        assert_eq!((status, &body["totalElements"]), (200, &current), "{body}");
        if let Some(first) = body["content"].as_array().and_then(|a| a.first()) {
            let surname = first["surname"].as_str().unwrap();
            let (_, _, found) = call(
                &app,
                Method::GET,
                &format!("{people}&searchQuery={}", url_encode(surname)),
                &Caller::etl().token(),
                None,
            )
            .await;
            assert!(
                found["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["surname"]
                        .as_str()
                        .unwrap()
                        .to_lowercase()
                        .contains(&surname.to_lowercase())),
                "{found}"
            );
        }
        assert_eq!(
            call(&app, Method::GET, &people, &Caller::hee(&[]).token(), None)
                .await
                .0,
            404,
            "programme out of scope"
        );
        assert_eq!(
            call(
                &app,
                Method::GET,
                &people,
                &Caller::etl().without_policies().token(),
                None
            )
            .await
            .0,
            403
        );
        assert_eq!(
            call(
                &app,
                Method::GET,
                "/tcs/api/programme/abc/people",
                &Caller::etl().token(),
                None
            )
            .await
            .0,
            400
        );
    }
}

#[tokio::test]
async fn a_programme_create_retried_with_its_idempotency_key_is_written_once() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let who = admin_of(EM);
        let send = || {
            app.request(Method::POST, "/tcs/api/programmes", Some(&who))
                .header("Idempotency-Key", "programme-once")
                .json(&programme("Once", "East Midlands", &[]))
                .send()
        };
        let first = send().await.expect("send");
        assert_eq!(first.status().as_u16(), 201);
        let first: Value = first.json().await.expect("json");
        let again = send().await.expect("send");
        assert_eq!(again.status().as_u16(), 201);
        let again: Value = again.json().await.expect("json");
        assert_eq!(first["id"], again["id"]);
        assert_eq!(
            db_value(&app, "SELECT COUNT(*) AS n FROM programme").await,
            json!(1)
        );
    }
}

#[tokio::test]
async fn the_api_document_describes_the_programme_routes() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await;
    let doc: Value = app
        .request(Method::GET, "/tcs/api-docs", None)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    for path in [
        "/tcs/api/programmes",
        "/tcs/api/programmes/{id}",
        "/tcs/api/programmes/in/{ids}",
        "/tcs/api/bulk-programmes",
        "/tcs/api/trainee/{traineeId}/programmes",
        "/tcs/api/programme/{id}/specialties",
        "/tcs/api/programme/{id}/people",
        "/tcs/api/curricula",
        "/tcs/api/current/curricula",
        "/tcs/api/specialties/in/{ids}",
        "/tcs/api/rotations/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    for schema in [
        "ProgrammeDto",
        "ProgrammeCurriculumDto",
        "CurriculumDto",
        "SpecialtyDto",
        "RotationDto",
        "SpecialtySimpleDto",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn renaming_or_moving_a_programme_updates_its_peoples_rows_and_owner_at_once() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 40).await;
        let id = db_value(
            &app,
            "SELECT MIN(programme_id) AS n FROM person_view WHERE programme_id IS NOT NULL",
        )
        .await
        .as_i64()
        .unwrap();
        let shown = db_value(
            &app,
            &format!("SELECT COUNT(*) AS n FROM person_view WHERE programme_id = {id}"),
        )
        .await;
        let etl = Caller::etl().granted(AUTHORITIES).token();
        let (_, _, mut p) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programmes/{id}"),
            &etl,
            None,
        )
        .await;
        p["programmeName"] = json!("Renamed programme");
        p["programmeNumber"] = json!("RN-1");
        p["owner"] = json!("Wessex");
        let (status, _, body) = call(&app, Method::PUT, "/tcs/api/programmes", &etl, Some(p)).await;
        assert_eq!(status, 200, "{body}");
        let renamed = db_value(&app, &format!("SELECT COUNT(*) AS n FROM person_view WHERE programme_id = {id} AND programme_name = 'Renamed programme' AND programme_number = 'RN-1'")).await;
        assert_eq!(renamed, shown, "{backend:?}");
        let moved = db_value(&app, &format!("SELECT COUNT(*) AS n FROM person_view WHERE programme_id = {id} AND current_owner = 'Wessex'")).await;
        assert!(moved.as_i64().unwrap() > 0, "{backend:?}: {moved}");
        // The people list finds them under the new name at once.
        let (_, _, rows) = call(
            &app,
            Method::GET,
            &format!(
                "/tcs/api/people?columnFilters={}",
                url_encode(r#"{"programmeName":["Renamed programme"]}"#)
            ),
            &Caller::etl().token(),
            None,
        )
        .await;
        assert_eq!(
            rows.as_array().map(|a| a.len() as i64),
            shown.as_i64().map(|n| n.min(20)),
            "{rows}"
        );
    }
}
