//! Programme memberships (HEAD's: a UUID-keyed membership with its curriculum memberships,
//! whose numeric ids the API calls programme membership ids), as the original's
//! `ProgrammeMembershipResourceIntTest` has them, with each route's guard and scope, and what
//! a membership changes of its person (owner, status, list row, history).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const DELETE: &str = "tcs:delete:entities";

fn etl() -> String {
    Caller::etl().granted(&[DELETE]).token()
}

/// The memberships of `person`, as the ETL sees them.
async fn memberships_of(app: &TestApp, person: i64) -> Vec<Value> {
    let (status, _, body) = call(
        app,
        Method::GET,
        &format!("/tcs/api/trainee/{person}/programme-memberships"),
        &etl(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().cloned().unwrap_or_default()
}

/// A new membership of `person` in `programme`, with one curriculum membership of
/// `curriculum` over the same dates.
fn body(person: i64, programme: i64, curriculum: i64, start: &str, end: &str) -> Value {
    json!({
        "programmeMembershipType": "SUBSTANTIVE",
        "person": {"id": person},
        "programmeId": programme,
        "programmeStartDate": start,
        "programmeEndDate": end,
        "trainingPathway": "CCT",
        "curriculumMemberships": [{
            "curriculumId": curriculum,
            "curriculumStartDate": start,
            "curriculumEndDate": end,
            "periodOfGrace": 1,
            "intrepidId": "AAAAAAAAAA"
        }]
    })
}

/// A programme and one of its curricula, of the programme of `person`'s first membership.
fn programme_of(memberships: &[Value]) -> (i64, i64) {
    let m = &memberships[0];
    (
        m["programmeId"].as_i64().expect("programmeId"),
        m["curriculumMemberships"][0]["curriculumId"]
            .as_i64()
            .expect("curriculumId"),
    )
}

fn cm_id(pm: &Value, i: usize) -> i64 {
    pm["curriculumMemberships"][i]["id"]
        .as_i64()
        .expect("a cm id")
}

fn fields(body: &Value) -> Vec<String> {
    let mut f: Vec<String> = body["fieldErrors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect();
    f.sort();
    f
}

async fn count(app: &TestApp, table: &str) -> i64 {
    db_value(app, &format!("SELECT COUNT(*) AS n FROM {table}"))
        .await
        .as_i64()
        .unwrap_or(-1)
}

/// The designated body owning `person` now, and one that does not.
async fn dbcs_of(app: &TestApp, person: i64) -> (&'static str, &'static str) {
    let owner = db_value(
        app,
        &format!("SELECT current_owner AS n FROM person WHERE id = {person}"),
    )
    .await;
    let owner = owner.as_str().expect("an owner");
    let mine = tis_tcs::domain::owners::dbc_of(owner).expect("a dbc");
    let other = if owner == "Wessex" {
        "1-1RSSQ2H"
    } else {
        "1-1RUZUSF"
    };
    (mine, other)
}

#[tokio::test]
async fn a_membership_is_created_read_updated_and_deleted_as_the_original_did() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 6).await;
        let etl = etl();
        let demo = memberships_of(&app, 1).await;
        let (programme, curriculum) = programme_of(&demo);
        assert!(demo[0]["rotation"]["name"].is_string(), "{}", demo[0]);
        assert_eq!(demo[0]["rotation"]["programmeId"], programme);
        let before = count(&app, "curriculum_membership").await;

        // POST: 201, Location and alert name the new curriculum membership.
        let (status, headers, created) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships",
            &etl,
            Some(body(1, programme, curriculum, "2040-08-01", "2043-07-31")),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        let cm1 = cm_id(&created, 0);
        let uuid = created["uuid"].as_str().expect("a uuid").to_owned();
        assert_eq!(
            headers["location"],
            format!("/tcs/api/programme-memberships/{cm1}").as_str()
        );
        assert_eq!(
            headers["x-tcsapp-alert"],
            "tcsApp.programmeMembership.created"
        );
        assert_eq!(headers["x-tcsapp-params"], cm1.to_string().as_str());
        assert_eq!(created["programmeMembershipType"], "SUBSTANTIVE");
        assert_eq!(created["person"]["id"], 1);
        assert!(created["programmeName"].is_string(), "{created}");
        assert_eq!(created["curriculumMemberships"][0]["periodOfGrace"], 1);
        assert_eq!(
            created["curriculumMemberships"][0]["programmeMembershipUuid"],
            uuid.as_str()
        );
        assert!(created["curriculumMemberships"][0]["amendedDate"].is_string());
        assert_eq!(count(&app, "curriculum_membership").await, before + 1);

        // GET by curriculum membership id, and by UUID.
        let (status, _, one) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme-memberships/{cm1}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["uuid"], uuid.as_str());
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme-memberships/{uuid}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/programme-memberships/9223372036854775807",
            &etl,
            None,
        )
        .await;
        assert_eq!(
            status, 404,
            "getNonExistingProgrammeMembershipDtoShouldFail"
        );

        // PUT: a curriculum membership without an id is added; the membership's end moves.
        let mut update = one.clone();
        update["programmeEndDate"] = json!("2044-07-31");
        update["programmeMembershipType"] = json!("LAT");
        update["curriculumMemberships"][0]["intrepidId"] = json!("BBBBBBBBBB");
        update["curriculumMemberships"]
            .as_array_mut()
            .expect("cms")
            .push(json!({
                "curriculumId": curriculum,
                "curriculumStartDate": "2041-08-01",
                "curriculumEndDate": "2044-07-31",
                "intrepidId": "CCCCCCCCCC"
            }));
        let (status, headers, updated) = call(
            &app,
            Method::PUT,
            "/tcs/api/programme-memberships",
            &etl,
            Some(update),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {updated}");
        assert_eq!(
            headers["x-tcsapp-alert"],
            "tcsApp.programmeMembership.updated"
        );
        assert_eq!(updated["programmeMembershipType"], "LAT");
        assert_eq!(updated["programmeEndDate"], "2044-07-31");
        assert_eq!(
            updated["curriculumMemberships"][0]["intrepidId"],
            "BBBBBBBBBB"
        );
        let cm2 = cm_id(&updated, 1);
        assert_eq!(count(&app, "curriculum_membership").await, before + 2);

        // details: one element per curriculum membership, with its curriculum.
        let (status, _, details) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme-memberships/details/{cm1},{cm2}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{details}");
        let details = details.as_array().expect("a list").clone();
        assert_eq!(details.len(), 2);
        for d in &details {
            assert_eq!(d["curriculumMemberships"].as_array().map(Vec::len), Some(1));
            assert_eq!(d["curriculumDTO"]["id"], curriculum);
            assert!(d["curriculumDTO"]["specialty"]["id"].is_i64(), "{d}");
        }
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/programme-memberships/details/x",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 400, "a non-numeric id");

        // summary-list by UUID.
        let (status, _, summary) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme-memberships/summary-list?ids={uuid}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(summary[0]["programmeMembershipUuid"], uuid.as_str());
        assert_eq!(summary[0]["programmeStartDate"], "2040-08-01");
        assert_eq!(summary[0]["programmeName"], created["programmeName"]);

        // The trainee's memberships: this one holds both curriculum memberships; rolled up,
        // memberships of the same programme, type and dates are one.
        let mine = memberships_of(&app, 1).await;
        let it = mine
            .iter()
            .find(|m| m["uuid"] == uuid.as_str())
            .expect("it");
        assert_eq!(
            it["curriculumMemberships"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(it["curriculumDTO"]["id"], curriculum);
        let (status, _, _) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships",
            &etl,
            Some(json!({
                "programmeMembershipType": "LAT",
                "person": {"id": 1},
                "programmeId": programme,
                "programmeStartDate": "2040-08-01",
                "programmeEndDate": "2044-07-31",
                "curriculumMemberships": [{"curriculumId": curriculum, "curriculumStartDate": "2040-08-01", "curriculumEndDate": "2041-07-31"}]
            })),
        )
        .await;
        assert_eq!(status, 201);
        let (_, _, rolled) = call(
            &app,
            Method::GET,
            "/tcs/api/trainee/1/programme-memberships/rolled-up",
            &etl,
            None,
        )
        .await;
        assert_eq!(rolled.as_array().map(Vec::len), Some(mine.len()));
        let merged = rolled
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["programmeStartDate"] == "2040-08-01")
            .expect("merged");
        assert_eq!(
            merged["curriculumMemberships"].as_array().map(Vec::len),
            Some(3)
        );
        let (_, _, in_programme) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/trainee/1/programme/{programme}/programme-memberships"),
            &etl,
            None,
        )
        .await;
        assert!(
            in_programme
                .as_array()
                .is_some_and(|l| l.len() >= 3 && l.iter().all(|m| m["programmeId"] == programme)),
            "{in_programme}"
        );
        let (status, _, unknown) = call(
            &app,
            Method::GET,
            "/tcs/api/trainee/999999/programme-memberships",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404, "no such person: {unknown}");

        // The paged list: one element per curriculum membership, full paging headers.
        let (status, headers, page) = call(
            &app,
            Method::GET,
            "/tcs/api/programme-memberships?sort=id,desc&size=2",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page.as_array().map(Vec::len), Some(2));
        let total = count(&app, "curriculum_membership").await;
        assert_eq!(headers["x-total-count"], total.to_string().as_str());
        assert!(cm_id(&page[0], 0) > cm_id(&page[1], 0), "id desc");
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/programme-memberships?sort=bogus,asc",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 400);

        // DELETE one curriculum membership: the membership stays; its last: it goes.
        let (status, headers, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/programme-memberships/{cm2}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            headers["x-tcsapp-alert"],
            "tcsApp.programmeMembership.deleted"
        );
        let (status, _, left) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme-memberships/{uuid}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            left["curriculumMemberships"].as_array().map(Vec::len),
            Some(1)
        );
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/programme-memberships/{cm1}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, _) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme-memberships/{uuid}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(
            status, 404,
            "deleteLastCurriculumMembershipShouldDeleteContainingProgrammeMembership"
        );
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &format!("/tcs/api/programme-memberships/{cm1}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404, "already gone");

        // Every change is in the person's history.
        let rows = db_value(
            &app,
            "SELECT COUNT(*) AS n FROM person_history WHERE person_id = 1 AND record = 'programmeMembership'",
        )
        .await;
        assert!(rows.as_i64().unwrap_or(0) >= 10, "{backend:?}: {rows}");
        let ended = db_value(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM person_history WHERE person_id = 1 AND field = '[{uuid}].programmeEndDate' AND new_value IS NULL"
            ),
        )
        .await;
        assert_eq!(ended, 1, "{backend:?}: the delete is recorded");
    }
}

#[tokio::test]
async fn bad_memberships_are_refused_naming_the_field_and_nothing_is_written() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 4).await;
        let etl = etl();
        let (programme, curriculum) = programme_of(&memberships_of(&app, 1).await);
        let other_curriculum = db_value(
            &app,
            &format!(
                "SELECT MIN(id) AS n FROM curriculum WHERE id NOT IN (SELECT curriculum_id FROM programme_curriculum WHERE programme_id = {programme})"
            ),
        )
        .await
        .as_i64()
        .expect("a curriculum of another programme");
        let foreign_rotation = db_value(
            &app,
            &format!("SELECT MIN(id) AS n FROM rotation WHERE programme_id <> {programme}"),
        )
        .await;
        let (pms, cms) = (
            count(&app, "programme_membership").await,
            count(&app, "curriculum_membership").await,
        );
        let post = |b: Value| {
            let app = &app;
            let etl = etl.clone();
            async move {
                call(
                    app,
                    Method::POST,
                    "/tcs/api/programme-memberships",
                    &etl,
                    Some(b),
                )
                .await
            }
        };
        let good = body(1, programme, curriculum, "2040-08-01", "2043-07-31");
        let with = |f: &dyn Fn(&mut Value)| {
            let mut b = good.clone();
            f(&mut b);
            b
        };

        // shouldValidateMandatoryFieldsWhenCreating / …Updating
        for method in [Method::POST, Method::PUT] {
            let (status, _, res) = call(
                &app,
                method,
                "/tcs/api/programme-memberships",
                &etl,
                Some(json!({})),
            )
            .await;
            assert_eq!(status, 400, "{res}");
            assert_eq!(res["message"], "error.validation");
            assert_eq!(
                fields(&res),
                [
                    "programmeEndDate",
                    "programmeId",
                    "programmeMembershipType",
                    "programmeStartDate"
                ]
            );
            assert_eq!(
                res["fieldErrors"][0]["objectName"],
                "ProgrammeMembershipDTO"
            );
        }
        // Null dates, then start after end.
        let (status, _, res) = post(with(&|b| {
            b["programmeStartDate"] = Value::Null;
            b["programmeEndDate"] = Value::Null;
        }))
        .await;
        assert_eq!(status, 400);
        let text = res.to_string();
        assert!(text.contains("ProgrammeStartDate is required"), "{text}");
        assert!(text.contains("ProgrammeEndDate is required"), "{text}");
        let (status, _, res) = post(with(&|b| {
            b["programmeStartDate"] = json!("2044-08-01");
        }))
        .await;
        assert_eq!(status, 400);
        assert!(
            res.to_string()
                .contains("Programme start date must not be later than the end date."),
            "{res}"
        );
        // Curriculum dates outside the programme's, and end before start.
        let (status, _, res) = post(with(&|b| {
            b["curriculumMemberships"][0]["curriculumStartDate"] = json!("2039-08-01");
            b["curriculumMemberships"][0]["curriculumEndDate"] = json!("2039-07-31");
        }))
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            fields(&res),
            [
                "curriculumMemberships[0].curriculumStartDate",
                "curriculumMemberships[0].curriculumStartDate"
            ],
            "{res}"
        );
        // A missing curriculum field, and no curriculum membership at all.
        let (status, _, res) = post(with(&|b| {
            b["curriculumMemberships"][0]["curriculumId"] = Value::Null;
        }))
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["curriculumMemberships[0].curriculumId"]);
        let (status, _, res) = post(with(&|b| b["curriculumMemberships"] = json!([]))).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["curriculumMemberships"]);
        // The person: required, existing (shouldValidatePerson…).
        let (status, _, res) = post(with(&|b| b["person"] = Value::Null)).await;
        assert_eq!(status, 400);
        assert_eq!(res["fieldErrors"][0]["field"], "person");
        assert_eq!(res["fieldErrors"][0]["message"], "person is required");
        let (status, _, res) = post(with(&|b| b["person"] = json!({"id": 1020120}))).await;
        assert_eq!(status, 400);
        assert_eq!(
            res["fieldErrors"][0]["message"],
            "Person with id 1020120 does not exist"
        );
        // shouldValidateProgramme, shouldValidateCurriculum, …ProgrammeCurriculumAssociation
        let (status, _, res) = post(with(&|b| b["programmeId"] = json!(10101010))).await;
        assert_eq!(status, 400);
        assert_eq!(res["fieldErrors"][0]["field"], "programmeId");
        assert_eq!(
            res["fieldErrors"][0]["message"],
            "Programme with id 10101010 does not exist"
        );
        let (status, _, res) = post(with(&|b| {
            b["curriculumMemberships"][0]["curriculumId"] = json!(20202020);
        }))
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            res["fieldErrors"][0]["message"],
            "Curriculum with id 20202020 does not exist"
        );
        let (status, _, res) = post(with(&|b| {
            b["curriculumMemberships"][0]["curriculumId"] = json!(other_curriculum);
        }))
        .await;
        assert_eq!(status, 400);
        assert_eq!(res["fieldErrors"][0]["field"], "curriculumId");
        assert!(
            res["fieldErrors"][0]["message"].as_str().is_some_and(
                |m| m.starts_with("The selected Programme and Curriculum are not linked")
            ),
            "{res}"
        );
        // A rotation of another programme; a training pathway that is none.
        let (status, _, res) =
            post(with(&|b| b["rotation"] = json!({"id": foreign_rotation}))).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["rotation"]);
        let (status, _, res) = post(with(&|b| b["trainingPathway"] = json!("XYZ"))).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["trainingPathway"]);
        // Wrong types and malformed JSON: a clear 400, never a 500.
        let (status, _, res) = post(with(&|b| b["programmeId"] = json!("abc"))).await;
        assert_eq!(status, 400, "{res}");
        assert!(res.to_string().contains("programmeId"), "{res}");
        let (status, _, res) = post(with(&|b| b["programmeStartDate"] = json!("2040-13-45"))).await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["programmeStartDate"]);
        let res = app
            .request(Method::POST, "/tcs/api/programme-memberships", Some(&etl))
            .header("content-type", "application/json")
            .body("{\"programmeId\": 1,")
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), 400);
        // createCurriculumMembershipWithExistingIdShouldFail
        let (status, headers, _) =
            post(with(&|b| b["curriculumMemberships"][0]["id"] = json!(1))).await;
        assert_eq!(status, 400);
        assert_eq!(headers["x-tcsapp-error"], "error.idexists");
        // A PUT of a curriculum membership that is none.
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/programme-memberships",
            &etl,
            Some(with(&|b| {
                b["curriculumMemberships"][0]["id"] = json!(987654)
            })),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["curriculumMemberships[0].id"]);

        assert_eq!(
            count(&app, "programme_membership").await,
            pms,
            "{backend:?}"
        );
        assert_eq!(
            count(&app, "curriculum_membership").await,
            cms,
            "{backend:?}"
        );
    }
}

/// The person's row of `GET /people?searchQuery={number}`.
async fn list_row(app: &TestApp, token: &str, number: &str, person: i64) -> Value {
    let (status, _, list) = call(
        app,
        Method::GET,
        &format!("/tcs/api/people?searchQuery={number}&size=100"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    list.as_array()
        .into_iter()
        .flatten()
        .find(|p| p["id"] == person)
        .cloned()
        .expect("the person's row")
}

#[tokio::test]
async fn a_membership_added_or_ended_changes_the_persons_owner_status_and_list_row() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 6).await;
        let etl = etl();
        let person = 2;
        let number = db_value(
            &app,
            &format!(
                "SELECT COALESCE(g.gmc_number, d.gdc_number) AS n FROM person p LEFT JOIN gmc_details g ON g.id = p.id LEFT JOIN gdc_details d ON d.id = p.id WHERE p.id = {person}"
            ),
        )
        .await;
        let number = number.as_str().expect("a number").to_owned();
        // Every membership deleted by body (deleteProgrammeMembershipShouldUpdatePersonStatus).
        for m in memberships_of(&app, person).await {
            let (status, headers, _) = call(
                &app,
                Method::POST,
                "/tcs/api/programme-memberships/delete/",
                &etl,
                Some(m.clone()),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(
                headers["x-tcsapp-alert"],
                "tcsApp.programmeMembership.deleted"
            );
        }
        let none = list_row(&app, &etl, &number, person).await;
        assert_eq!(none["status"], "INACTIVE", "{none}");
        assert_eq!(none["programmeName"], Value::Null);
        assert_eq!(none["currentOwnerRule"], "P9");
        let created_owner = none["currentOwner"].as_str().expect("owner").to_owned();

        // A current membership of another office's programme: it owns the person now.
        let programme = db_value(
            &app,
            &format!(
                "SELECT MIN(id) AS n FROM programme WHERE owner <> '{}'",
                created_owner.replace('\'', "''")
            ),
        )
        .await
        .as_i64()
        .expect("a programme");
        let curriculum = db_value(
            &app,
            &format!(
                "SELECT MIN(curriculum_id) AS n FROM programme_curriculum WHERE programme_id = {programme}"
            ),
        )
        .await
        .as_i64()
        .expect("its curriculum");
        let (status, _, created) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships",
            &etl,
            Some(body(
                person,
                programme,
                curriculum,
                "2020-08-01",
                "2099-07-31",
            )),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let current = list_row(&app, &etl, &number, person).await;
        assert_eq!(current["status"], "CURRENT", "{current}");
        assert_eq!(current["programmeMembershipStatus"], "CURRENT");
        assert_eq!(current["programmeName"], created["programmeName"]);
        assert_eq!(current["programmeId"], programme);
        assert_eq!(current["currentOwner"], created["programmeOwner"]);
        assert_ne!(current["currentOwner"], created_owner.as_str());
        assert_eq!(current["currentOwnerRule"], "P1");

        // Ended (yesterday and before): past, the person inactive, still its programme's.
        let mut ended = created.clone();
        ended["programmeEndDate"] = json!("2021-07-31");
        ended["curriculumMemberships"][0]["curriculumEndDate"] = json!("2021-07-31");
        let (status, _, _) = call(
            &app,
            Method::PUT,
            "/tcs/api/programme-memberships",
            &etl,
            Some(ended),
        )
        .await;
        assert_eq!(status, 200);
        let past = list_row(&app, &etl, &number, person).await;
        assert_eq!(past["status"], "INACTIVE", "{past}");
        assert_eq!(past["programmeMembershipStatus"], "PAST");
        assert_eq!(past["currentOwnerRule"], "P7");
        assert_eq!(past["currentOwner"], created["programmeOwner"]);
    }
}

#[tokio::test]
async fn each_route_lets_the_permitted_through_refuses_others_403_and_hides_other_offices_404() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 4).await;
        let person = 1;
        let (mine, other) = dbcs_of(&app, person).await;
        let allowed = Caller::hee(&[mine]).granted(&[DELETE]).token();
        let forbidden = Caller::hee(&[mine]).without_policies().token();
        let outsider = Caller::hee(&[other]).granted(&[DELETE]).token();
        let memberships = memberships_of(&app, person).await;
        let pm = memberships[0].clone();
        let uuid = pm["uuid"].as_str().expect("uuid").to_owned();
        let cm = cm_id(&pm, 0);
        let (programme, curriculum) = programme_of(&memberships);
        let new = body(person, programme, curriculum, "2040-08-01", "2043-07-31");
        let mut patched = pm.clone();
        patched["leavingDestination"] = json!("GP");
        let reads = [
            format!("/tcs/api/programme-memberships/{cm}"),
            format!("/tcs/api/programme-memberships/{uuid}"),
            format!("/tcs/api/trainee/{person}/programme-memberships"),
            format!("/tcs/api/trainee/{person}/programme-memberships/rolled-up"),
            format!("/tcs/api/trainee/{person}/programme/{programme}/programme-memberships"),
        ];
        // A programme observer sees the people of their programmes; a trust admin those
        // placed in their trusts (nobody, until placements).
        let observer = Caller::observer(programme).token();
        let elsewhere = db_value(
            &app,
            &format!(
                "SELECT MIN(id) AS n FROM programme WHERE id NOT IN (SELECT programme_id FROM programme_membership WHERE person_id = {person})"
            ),
        )
        .await;
        let other_observer = Caller::observer(elsewhere.as_i64().expect("a programme")).token();
        let trust_admin = Caller::trust_admin(3).token();
        for path in &reads {
            let (status, _, _) = call(&app, Method::GET, path, &allowed, None).await;
            assert_eq!(status, 200, "{backend:?} {path}");
            let (status, _, _) = call(&app, Method::GET, path, &forbidden, None).await;
            assert_eq!(status, 403, "{path}");
            let (status, _, _) = call(&app, Method::GET, path, &outsider, None).await;
            assert_eq!(status, 404, "{path}");
            let (status, _, _) = call(&app, Method::GET, path, &observer, None).await;
            assert_eq!(status, 200, "observer: {path}");
            for hidden in [&other_observer, &trust_admin] {
                let (status, _, _) = call(&app, Method::GET, path, hidden, None).await;
                assert_eq!(status, 404, "{path}");
            }
        }
        // Lists leave out what the caller may not see.
        for path in [
            format!("/tcs/api/programme-memberships/details/{cm}"),
            format!("/tcs/api/programme-memberships/summary-list?ids={uuid}"),
        ] {
            let (status, _, seen) = call(&app, Method::GET, &path, &allowed, None).await;
            assert_eq!(
                (status, seen.as_array().map(Vec::len)),
                (200, Some(1)),
                "{path}"
            );
            let (status, _, _) = call(&app, Method::GET, &path, &forbidden, None).await;
            assert_eq!(status, 403, "{path}");
            let (status, _, hidden) = call(&app, Method::GET, &path, &outsider, None).await;
            assert_eq!(
                (status, hidden.as_array().map(Vec::len)),
                (200, Some(0)),
                "{path}"
            );
        }
        let (_, _, theirs) = call(
            &app,
            Method::GET,
            "/tcs/api/programme-memberships?size=500",
            &outsider,
            None,
        )
        .await;
        assert!(
            theirs
                .as_array()
                .into_iter()
                .flatten()
                .all(|m| m["person"]["id"] != person),
            "{backend:?}"
        );
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/programme-memberships",
            &forbidden,
            None,
        )
        .await;
        assert_eq!(status, 403);

        // Writes: the outsider cannot name the person, nor find the membership.
        let writes: Vec<(Method, String, Value)> = vec![
            (
                Method::PUT,
                "/tcs/api/programme-memberships".into(),
                patched.clone(),
            ),
            (
                Method::PATCH,
                "/tcs/api/programme-memberships".into(),
                json!([patched.clone()]),
            ),
            (
                Method::PATCH,
                "/tcs/api/curriculum-memberships".into(),
                json!({"id": cm, "intrepidId": "X1"}),
            ),
            (
                Method::POST,
                "/tcs/api/programme-memberships/delete/".into(),
                json!({"curriculumMemberships": [{"id": cm}]}),
            ),
        ];
        for (method, path, b) in &writes {
            let (status, _, _) =
                call(&app, method.clone(), path, &forbidden, Some(b.clone())).await;
            assert_eq!(status, 403, "{method} {path}");
            let (status, _, res) =
                call(&app, method.clone(), path, &outsider, Some(b.clone())).await;
            assert!(
                status == 404 || (status == 400 && res.to_string().contains("does not exist")),
                "{backend:?} {method} {path}: {status} {res}"
            );
        }
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships",
            &outsider,
            Some(new.clone()),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            res["fieldErrors"][0]["message"],
            format!("Person with id {person} does not exist").as_str()
        );
        let (status, _, _) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships",
            &forbidden,
            Some(new.clone()),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _, _) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-programme-membership",
            &forbidden,
            Some(patched.clone()),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-programme-membership",
            &outsider,
            Some(patched.clone()),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(res["messageList"][0], "Programme membership id not found.");
        for path in [format!("/tcs/api/programme-memberships/{cm}")] {
            let (status, _, _) = call(&app, Method::DELETE, &path, &forbidden, None).await;
            assert_eq!(status, 403);
            let (status, _, _) = call(&app, Method::DELETE, &path, &outsider, None).await;
            assert_eq!(status, 404);
        }
        // The permitted caller: each write goes through.
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships",
            &allowed,
            Some(new),
        )
        .await;
        assert_eq!(status, 201, "{res}");
        for (method, path, b) in &writes {
            let (status, _, res) =
                call(&app, method.clone(), path, &allowed, Some(b.clone())).await;
            assert_eq!(status, 200, "{backend:?} {method} {path}: {res}");
        }
        assert!(
            memberships_of(&app, person)
                .await
                .iter()
                .all(|m| m["uuid"] != uuid.as_str())
        );
    }
}

#[tokio::test]
async fn the_list_patch_saves_all_or_nothing_and_refuses_more_than_the_limit() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 4).await;
        let etl = etl();
        let mut items = memberships_of(&app, 3).await;
        assert!(items.len() >= 2, "{backend:?}");
        items[0]["curriculumMemberships"][0]["intrepidId"] = json!("BBBBBBBBBB");
        items[1]["programmeEndDate"] = json!("2099-07-31");
        let mut bad = items.clone();
        bad[1]["programmeStartDate"] = json!("2100-01-01");
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/programme-memberships",
            &etl,
            Some(json!(bad)),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert!(fields(&res).iter().all(|f| f.starts_with("[1].")), "{res}");
        let unchanged = memberships_of(&app, 3).await;
        assert_ne!(
            unchanged[0]["curriculumMemberships"][0]["intrepidId"], "BBBBBBBBBB",
            "{backend:?}: nothing written"
        );

        let (status, headers, saved) = call(
            &app,
            Method::PATCH,
            "/tcs/api/programme-memberships",
            &etl,
            Some(json!(items)),
        )
        .await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(
            headers["x-tcsapp-alert"],
            "tcsApp.programmeMembership.updated"
        );
        assert_eq!(
            saved[0]["curriculumMemberships"][0]["intrepidId"],
            "BBBBBBBBBB"
        );
        assert_eq!(saved[1]["programmeEndDate"], "2099-07-31");

        let many = vec![json!({"programmeId": 1}); 1001];
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/programme-memberships",
            &etl,
            Some(json!(many)),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(res["fieldErrors"][0]["field"], "body");
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/programme-memberships",
            &etl,
            Some(json!([{"programmeId": "abc"}])),
        )
        .await;
        assert_eq!(status, 400);
        assert!(res.to_string().contains("[0].programmeId"), "{res}");
    }
}

#[tokio::test]
async fn the_bulk_patch_checks_reference_and_reports_problems_per_membership() {
    let mut reference = start_reference().await;
    for backend in BACKENDS {
        let app = spawn_with_people_and_reference(backend, 3, vec![reference.addr], |_| {}).await;
        let etl = etl();
        let pm = memberships_of(&app, 1).await[0].clone();
        let uuid = pm["uuid"].as_str().expect("uuid").to_owned();
        // shouldPatchProgrammeMembership: only the fields sent change.
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-programme-membership",
            &etl,
            Some(json!({"uuid": uuid, "trainingPathway": "CCT", "leavingReason": "RESIGNED"})),
        )
        .await;
        assert_eq!(status, 200, "{res}");
        assert_eq!(res["messageList"], json!([]), "{res}");
        let (_, _, stored) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme-memberships/{uuid}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(stored["trainingPathway"], "CCT");
        assert_eq!(stored["leavingReason"], "RESIGNED");
        assert_eq!(stored["programmeStartDate"], pm["programmeStartDate"]);
        // A leaving reason Reference does not know, and a bad pathway: reported, not saved.
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-programme-membership",
            &etl,
            Some(json!({"uuid": uuid, "trainingPathway": "XYZ", "leavingReason": "NOPE"})),
        )
        .await;
        assert_eq!(status, 200);
        let messages = res["messageList"].to_string();
        assert!(
            messages.contains("NOPE") && messages.contains("XYZ"),
            "{res}"
        );
        let (_, _, stored) = call(
            &app,
            Method::GET,
            &format!("/tcs/api/programme-memberships/{uuid}"),
            &etl,
            None,
        )
        .await;
        assert_eq!(stored["leavingReason"], "RESIGNED");
        let (status, _, res) = call(
            &app,
            Method::PATCH,
            "/tcs/api/bulk-programme-membership",
            &etl,
            Some(json!({"uuid": "6f1c1f52-5a4e-4b55-9b1e-000000000000"})),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            res["messageList"],
            json!(["Programme membership id not found."])
        );
        // A PUT naming an unknown leaving reason: a 400 naming it.
        let mut put = stored.clone();
        put["leavingReason"] = json!("NOPE");
        let (status, _, res) = call(
            &app,
            Method::PUT,
            "/tcs/api/programme-memberships",
            &etl,
            Some(put),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["leavingReason"]);
    }
    reference.stop().await;
}

#[tokio::test]
async fn a_curriculum_membership_is_added_to_a_membership_checked_and_patched() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 4).await;
        let person = 1;
        let (mine, other) = dbcs_of(&app, person).await;
        let allowed = Caller::hee(&[mine]).token();
        let memberships = memberships_of(&app, person).await;
        let pm = &memberships[0];
        let uuid = pm["uuid"].as_str().expect("uuid");
        let start = pm["programmeStartDate"].as_str().expect("start");
        let (programme, curriculum) = programme_of(&memberships);
        let foreign = db_value(
            &app,
            &format!(
                "SELECT MIN(curriculum_id) AS n FROM programme_curriculum WHERE curriculum_id NOT IN (SELECT curriculum_id FROM programme_curriculum WHERE programme_id = {programme})"
            ),
        )
        .await;
        let new = json!({
            "programmeMembershipUuid": uuid,
            "curriculumId": curriculum,
            "curriculumStartDate": start,
            "curriculumEndDate": start,
            "intrepidId": "NEW"
        });
        let post = |b: Value, token: String| {
            let app = &app;
            async move {
                call(
                    app,
                    Method::POST,
                    "/tcs/api/curriculum-memberships",
                    &token,
                    Some(b),
                )
                .await
            }
        };
        let (status, _, _) =
            post(new.clone(), Caller::hee(&[mine]).without_policies().token()).await;
        assert_eq!(status, 403);
        let (status, _, res) = post(new.clone(), Caller::hee(&[other]).token()).await;
        assert_eq!(status, 400, "out of scope: {res}");
        assert_eq!(
            res["fieldErrors"][0]["message"],
            "Could not find the programme membership."
        );

        let (status, headers, added) = post(new.clone(), allowed.clone()).await;
        assert_eq!(status, 201, "{backend:?}: {added}");
        let id = added["id"].as_i64().expect("an id");
        assert_eq!(
            headers["location"],
            format!("/tcs/api/curriculum-memberships/{id}").as_str()
        );
        assert_eq!(
            headers["x-tcsapp-alert"],
            "tcsApp.curriculumMembership.created"
        );
        assert_eq!(added["programmeMembershipUuid"], uuid);
        assert_eq!(added["intrepidId"], "NEW");

        // The same again; no or an unknown membership; dates outside; another's curriculum.
        let (status, _, res) = post(new.clone(), allowed.clone()).await;
        assert_eq!(status, 400);
        assert!(res.to_string().contains("already exists"), "{res}");
        let mut b = new.clone();
        b["programmeMembershipUuid"] = Value::Null;
        let (status, _, res) = post(b, allowed.clone()).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["programmeMembershipUuid"]);
        let mut b = new.clone();
        b["programmeMembershipUuid"] = json!("6f1c1f52-5a4e-4b55-9b1e-000000000000");
        let (status, _, _) = post(b, allowed.clone()).await;
        assert_eq!(status, 400);
        let mut b = new.clone();
        b["curriculumStartDate"] = json!("1990-01-01");
        let (status, _, res) = post(b, allowed.clone()).await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["curriculumStartDate"], "{res}");
        let mut b = new.clone();
        b["curriculumId"] = foreign;
        let (status, _, res) = post(b, allowed.clone()).await;
        assert_eq!(status, 400);
        assert!(
            res.to_string()
                .contains("Could not find current curriculum"),
            "{res}"
        );

        // PATCH: only the fields sent change.
        let (status, headers, patched) = call(
            &app,
            Method::PATCH,
            "/tcs/api/curriculum-memberships",
            &allowed,
            Some(json!({"id": id, "intrepidId": "PATCHED"})),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(
            headers["x-tcsapp-alert"],
            "tcsApp.curriculumMembership.updated"
        );
        assert_eq!(patched["intrepidId"], "PATCHED");
        assert_eq!(patched["curriculumStartDate"], start);
        let (status, _, _) = call(
            &app,
            Method::PATCH,
            "/tcs/api/curriculum-memberships",
            &allowed,
            Some(json!({"intrepidId": "X"})),
        )
        .await;
        assert_eq!(status, 400);
        let (status, _, _) = call(
            &app,
            Method::PATCH,
            "/tcs/api/curriculum-memberships",
            &allowed,
            Some(json!({"id": 987654, "intrepidId": "X"})),
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn with_reference_down_a_leaving_reason_seen_before_is_written_marked_stale_and_a_new_one_is_503()
 {
    for backend in BACKENDS {
        let mut reference = start_reference().await;
        let app = spawn_with_people_and_reference(backend, 2, vec![reference.addr], |c| {
            c.reference.fresh_for = std::time::Duration::ZERO;
            c.reference.stale_while_revalidate = std::time::Duration::ZERO;
            c.reference.retry_after_failure = std::time::Duration::ZERO;
        })
        .await;
        let etl = etl();
        let mut pm = memberships_of(&app, 1).await[0].clone();
        let put = |b: Value| {
            let app = &app;
            let etl = etl.clone();
            async move {
                call(
                    app,
                    Method::PUT,
                    "/tcs/api/programme-memberships",
                    &etl,
                    Some(b),
                )
                .await
            }
        };
        for reason in ["CCT", "RESIGNED"] {
            pm["leavingReason"] = json!(reason);
            let (status, headers, _) = put(pm.clone()).await;
            assert_eq!(status, 200, "{backend:?}");
            assert!(headers.get("tis-degraded").is_none());
        }
        reference.stop().await;

        // Unchanged: Reference is not asked.
        pm["leavingDestination"] = json!("GP");
        let (status, headers, _) = put(pm.clone()).await;
        assert_eq!(status, 200, "{backend:?}");
        assert!(headers.get("tis-degraded").is_none(), "{headers:?}");
        // Changed to one seen before: written, marked.
        pm["leavingReason"] = json!("CCT");
        let (status, headers, res) = put(pm.clone()).await;
        assert_eq!(status, 200, "{backend:?}: {res}");
        assert_eq!(headers["tis-degraded"], "reference-stale");
        // Never seen: 503, nothing written.
        pm["leavingReason"] = json!("OTHER");
        pm["leavingDestination"] = json!("ABROAD");
        let (status, _, res) = put(pm.clone()).await;
        assert_eq!(status, 503, "{res}");
        assert_eq!(res["error"]["code"], "dependency_unavailable");
        let (_, _, stored) = call(
            &app,
            Method::GET,
            &format!(
                "/tcs/api/programme-memberships/{}",
                pm["uuid"].as_str().expect("uuid")
            ),
            &etl,
            None,
        )
        .await;
        assert_eq!(stored["leavingReason"], "CCT");
        assert_eq!(stored["leavingDestination"], "GP");

        // A PUT of a membership that is none: 404.
        pm["uuid"] = json!("6f1c1f52-5a4e-4b55-9b1e-000000000000");
        pm["leavingReason"] = Value::Null;
        let (status, _, _) = put(pm).await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn the_api_document_describes_the_membership_and_qualification_routes() {
    for backend in BACKENDS {
        let app = spawn_with(backend, |_| {}).await;
        let doc: Value = app
            .request(Method::GET, "/tcs/api-docs", None)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("json");
        for path in [
            "/tcs/api/programme-memberships",
            "/tcs/api/programme-memberships/{id}",
            "/tcs/api/programme-memberships/delete/",
            "/tcs/api/bulk-programme-membership",
            "/tcs/api/curriculum-memberships",
            "/tcs/api/trainee/{traineeId}/programme-memberships/rolled-up",
            "/tcs/api/qualifications",
            "/tcs/api/people/{personId}/qualifications",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        let text = doc.to_string();
        for reference in text.split("#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{backend:?}: {name} is referenced, not described"
            );
        }
    }
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_writes_once_and_an_empty_delete_deletes_nothing()
 {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 2).await;
        let etl = etl();
        let (programme, curriculum) = programme_of(&memberships_of(&app, 1).await);
        let before = count(&app, "programme_membership").await;
        let send = || {
            app.request(Method::POST, "/tcs/api/programme-memberships", Some(&etl))
                .header("idempotency-key", "pm-create-1")
                .json(&body(1, programme, curriculum, "2040-08-01", "2043-07-31"))
                .send()
        };
        let first = send().await.expect("POST");
        assert_eq!(first.status(), 201, "{backend:?}");
        let first: Value = first.json().await.expect("json");
        let again = send().await.expect("POST");
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let again: Value = again.json().await.expect("json");
        assert_eq!(again["uuid"], first["uuid"]);
        assert_eq!(count(&app, "programme_membership").await, before + 1);

        for empty in [json!({}), json!({"curriculumMemberships": []})] {
            let (status, headers, _) = call(
                &app,
                Method::POST,
                "/tcs/api/programme-memberships/delete/",
                &etl,
                Some(empty),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(headers["x-tcsapp-params"], "");
        }
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships/delete/",
            &etl,
            Some(json!({"curriculumMemberships": [{"id": null}]})),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(fields(&res), ["curriculumMemberships[0].id"]);
        assert_eq!(count(&app, "programme_membership").await, before + 1);
    }
}
