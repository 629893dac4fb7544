//! The Person aggregate and its one-to-one records: `GET/POST/PUT/DELETE /people…`,
//! `/contact-details`, `/personal-details`, `/gmc-details`, `/gdc-details`,
//! `/right-to-works`, the history, masking, duplicates, bad input and Reference down
//! (the original's `PersonResourceIntTest`, `ContactDetailsResourceIntTest`, … and issue 12
//! items 1, 3 and 5).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Wessex (`1-1RUZUSF`): the office the tests' people are created in.
pub const WESSEX: &str = "1-1RUZUSF";
/// East Midlands: another office, which does not see Wessex's people.
pub const EAST_MIDLANDS: &str = "1-1RSSPZ7";
const SENSITIVE: &[&str] = &[
    "personsensitive:view:entities",
    "personsensitive:add:modify:entities",
];

/// A request's status, headers and JSON body (`Null` when none).
pub async fn call(
    app: &TestApp,
    who: &Caller,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.request(method, path, Some(&who.token()));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// The same with a JSON value as the body.
pub async fn send(
    app: &TestApp,
    who: &Caller,
    method: Method,
    path: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(app, who, method, path, Some(&body.to_string())).await
}

/// The field names of a validation error.
pub fn fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A new trainee as the original's `PersonDTO`, with records naming demo Reference data.
pub fn trainee(surname: &str, gmc: &str) -> Value {
    json!({
        "status": "CURRENT",
        "role": "DR in Training",
        "publicHealthNumber": null,
        "contactDetails": {"surname": surname, "forenames": "Asha", "title": "DR", "email": "asha@nhs.net",
                           "address1": "1 Road", "postCode": "SO1 1AA"},
        "personalDetails": {"gender": "F", "dateOfBirth": "1990-04-01", "religiousBelief": "ATHEISM",
                            "disability": "NO", "nationalInsuranceNumber": "QQ123456C"},
        "gmcDetails": {"gmcNumber": gmc, "gmcStartDate": "2015-08-01"},
        "rightToWork": {"eeaResident": "YES", "settled": "YES"}
    })
}

/// TCS with a real Reference that is asked on every check (no fresh window), and the
/// Reference to stop.
pub async fn with_reference(backend: Backend) -> (TestApp, TestReference) {
    let reference = start_reference().await;
    let app = spawn_with_reference(backend, vec![reference.addr], |c| {
        c.reference.fresh_for = Duration::ZERO;
        c.reference.stale_while_revalidate = Duration::ZERO;
    })
    .await;
    (app, reference)
}

/// A Wessex admin with the sensitive authorities and deletion.
pub fn admin() -> Caller {
    Caller::hee(&[WESSEX]).granted(SENSITIVE)
}

/// Creates `person` as `who`: its id.
pub async fn create(app: &TestApp, who: &Caller, person: &Value) -> i64 {
    let (status, headers, body) = send(app, who, Method::POST, "/tcs/api/people", person).await;
    assert_eq!(status, 201, "{:?}: {body}", app.backend);
    let id = body["id"].as_i64().expect("an id");
    assert_eq!(headers["location"], format!("/api/people/{id}").as_str());
    id
}

#[tokio::test]
async fn a_person_is_created_read_updated_and_deleted_with_their_records_and_history() {
    for backend in BACKENDS {
        let (app, _reference) = with_reference(backend).await;
        let who = admin();
        let (status, headers, created) = send(
            &app,
            &who,
            Method::POST,
            "/tcs/api/people",
            &trainee("Okafor", "1234567"),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {created}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.person.created");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["contactDetails"]["surname"], "Okafor");
        assert_eq!(created["gmcDetails"]["gmcNumber"], "1234567");
        assert_eq!(
            created["currentOwner"], "Wessex",
            "P9: the creator's office"
        );
        assert_eq!(created["currentOwnerRule"], "P9");
        assert_eq!(
            created["gdcDetails"]["id"], id,
            "every record exists, empty when not given"
        );
        assert!(created["gdcDetails"]["gdcNumber"].is_null());
        assert_eq!(created["qualifications"], json!([]));
        assert_eq!(created["programmeMemberships"], json!([]));
        assert!(created["addedDate"].is_string() && created["amendedDate"].is_string());

        // Each record by the person's id.
        for plural in [
            "contact-details",
            "personal-details",
            "gmc-details",
            "gdc-details",
            "right-to-works",
        ] {
            let (status, _, rec) = call(
                &app,
                &who,
                Method::GET,
                &format!("/tcs/api/{plural}/{id}"),
                None,
            )
            .await;
            assert_eq!(
                (status, rec["id"].as_i64()),
                (200, Some(id)),
                "{backend:?} {plural}"
            );
        }
        let (status, _, person) = call(
            &app,
            &who,
            Method::GET,
            &format!("/tcs/api/people/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(person["personalDetails"]["religiousBelief"], "ATHEISM");

        // PUT /people: the person and the records given; the list row follows.
        let mut changed = person.clone();
        changed["contactDetails"]["surname"] = json!("Okafor-Hale");
        changed["comments"] = json!("moved");
        let (status, headers, updated) =
            send(&app, &who, Method::PUT, "/tcs/api/people", &changed).await;
        assert_eq!(status, 200, "{backend:?}: {updated}");
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.person.updated");
        assert_eq!(updated["contactDetails"]["surname"], "Okafor-Hale");
        assert_eq!(updated["comments"], "moved");
        let (_, _, list) = call(
            &app,
            &who,
            Method::GET,
            "/tcs/api/people?searchQuery=okafor-hale",
            None,
        )
        .await;
        assert_eq!(list[0]["id"], id, "{backend:?}: {list}");

        // PUT of one record, PATCH of one record's non-null fields.
        let (status, _, cd) = send(
            &app,
            &who,
            Method::PUT,
            "/tcs/api/contact-details",
            &json!({"id": id, "surname": "Hale", "forenames": "Asha", "title": "DR"}),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {cd}");
        assert!(cd["email"].is_null(), "PUT replaces the whole record");
        let (status, _, cd) = send(
            &app,
            &who,
            Method::PATCH,
            &format!("/tcs/api/contact-details/{id}"),
            &json!({"mobileNumber": "07700 900123"}),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {cd}");
        assert_eq!(
            (cd["surname"].as_str(), cd["mobileNumber"].as_str()),
            (Some("Hale"), Some("07700 900123"))
        );

        // POST of a record: an upsert by the person's id, 201 + Location.
        let (status, headers, gdc) = send(
            &app,
            &who,
            Method::POST,
            "/tcs/api/gdc-details",
            &json!({"id": id, "gdcNumber": "D12345"}),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {gdc}");
        assert_eq!(
            headers["location"],
            format!("/api/gdc-details/{id}").as_str()
        );
        let (status, _, found) = call(
            &app,
            &who,
            Method::GET,
            "/tcs/api/gdc-details/in/D12345,NOPE",
            None,
        )
        .await;
        assert_eq!(status, 302, "as the original");
        assert_eq!(found.as_array().unwrap().len(), 1);

        // The history: who, when, which record and field, old → new; newest first.
        let (status, headers, history) = call(
            &app,
            &who,
            Method::GET,
            &format!("/tcs/api/people/{id}/history?size=50"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {history}");
        assert!(headers.contains_key("x-total-count"));
        let entries = history.as_array().unwrap();
        let surname: Vec<(&str, &str)> = entries
            .iter()
            .filter(|e| e["record"] == "contactDetails" && e["field"] == "surname")
            .map(|e| {
                (
                    e["oldValue"].as_str().unwrap_or("-"),
                    e["newValue"].as_str().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(
            surname,
            [
                ("Okafor-Hale", "Hale"),
                ("Okafor", "Okafor-Hale"),
                ("-", "Okafor")
            ]
        );
        assert!(
            entries
                .iter()
                .all(|e| e["userName"] == "hee.admin" && e["changedAt"].is_string())
        );
        assert!(
            entries
                .iter()
                .any(|e| e["record"] == "person" && e["field"] == "comments")
        );

        // DELETE needs tcs:delete:entities.
        let (status, _, _) = call(
            &app,
            &who,
            Method::DELETE,
            &format!("/tcs/api/people/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 403);
        let deleter = admin().granted(&["tcs:delete:entities"]);
        let (status, headers, _) = call(
            &app,
            &deleter,
            Method::DELETE,
            &format!("/tcs/api/people/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-tcsapp-alert"], "tcsApp.person.deleted");
        for path in [
            format!("/tcs/api/people/{id}"),
            format!("/tcs/api/contact-details/{id}"),
        ] {
            let (status, _, _) = call(&app, &who, Method::GET, &path, None).await;
            assert_eq!(status, 404, "{backend:?} {path}");
        }
    }
}

#[tokio::test]
async fn every_route_has_its_guard_and_a_person_out_of_scope_is_not_found() {
    for backend in BACKENDS {
        let (app, _reference) = with_reference(backend).await;
        let id = create(&app, &admin(), &trainee("Shah", "2345678")).await;
        let mut nobody = Caller::hee(&[WESSEX]);
        nobody.profile.permission_policies.clear();
        let elsewhere = Caller::hee(&[EAST_MIDLANDS]).granted(&["tcs:delete:entities"]);
        let body = json!({"id": id, "surname": "X", "forenames": "Y"});
        let person = json!({"id": id, "status": "CURRENT", "role": "DR in Training"});
        let routes: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/tcs/api/people/v2/{id}"), None),
            (Method::GET, format!("/tcs/api/people/{id}/history"), None),
            (Method::GET, format!("/tcs/api/contact-details/{id}"), None),
            (Method::GET, format!("/tcs/api/right-to-works/{id}"), None),
            (
                Method::PUT,
                "/tcs/api/contact-details".into(),
                Some(body.clone()),
            ),
            (
                Method::PATCH,
                format!("/tcs/api/personal-details/{id}"),
                Some(json!({"maritalStatus": "SINGLE"})),
            ),
            (
                Method::POST,
                "/tcs/api/gmc-details".into(),
                Some(json!({"id": id})),
            ),
            (Method::PUT, "/tcs/api/people".into(), Some(person.clone())),
        ];
        for (method, path, body) in &routes {
            let b = body.as_ref().map(Value::to_string);
            let (status, _, res) = call(&app, &nobody, method.clone(), path, b.as_deref()).await;
            assert_eq!(
                status, 403,
                "{backend:?} {method} {path} without the permission: {res}"
            );
            let (status, _, res) = call(&app, &elsewhere, method.clone(), path, b.as_deref()).await;
            assert_eq!(
                status, 404,
                "{backend:?} {method} {path} out of scope: {res}"
            );
            let (status, _, res) = call(&app, &admin(), method.clone(), path, b.as_deref()).await;
            assert!(
                status == 200 || status == 201,
                "{backend:?} {method} {path} permitted: {status} {res}"
            );
        }
        // A trust admin (no placements yet) and a programme observer (no membership) do not
        // see the person either.
        for other in [Caller::trust_admin(3), Caller::observer(1)] {
            let (status, _, _) = call(
                &app,
                &other,
                Method::GET,
                &format!("/tcs/api/people/{id}"),
                None,
            )
            .await;
            assert_eq!(status, 404, "{backend:?}");
        }
        // The lists and id lists leave out-of-scope people out.
        let (status, _, list) = call(
            &app,
            &elsewhere,
            Method::GET,
            "/tcs/api/contact-details",
            None,
        )
        .await;
        assert_eq!((status, list), (200, json!([])));
        let (status, _, found) = call(
            &app,
            &elsewhere,
            Method::GET,
            &format!("/tcs/api/people/in/{id}"),
            None,
        )
        .await;
        assert_eq!((status, found), (302, json!([])));
        let (status, _, found) = call(
            &app,
            &admin(),
            Method::GET,
            &format!("/tcs/api/people/in/{id},999999"),
            None,
        )
        .await;
        assert_eq!(status, 302);
        assert_eq!(found.as_array().unwrap().len(), 1);
        // `hasRole('ETL') or …` by id; v2 has no ETL clause.
        let mut etl = Caller::etl();
        etl.profile.permission_policies.clear();
        let (status, _, _) = call(
            &app,
            &etl,
            Method::GET,
            &format!("/tcs/api/people/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: the ETL role");
        let (status, _, _) = call(
            &app,
            &etl,
            Method::GET,
            &format!("/tcs/api/people/v2/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 403);
        // DELETE: its authority, then scope.
        let (status, _, _) = call(
            &app,
            &elsewhere,
            Method::DELETE,
            &format!("/tcs/api/contact-details/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) = call(
            &app,
            &elsewhere,
            Method::DELETE,
            &format!("/tcs/api/people/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 404);
        // PATCH /people needs consolidated_etl (a person policy's resource covers it).
        let (status, _, _) = send(
            &app,
            &nobody,
            Method::PATCH,
            "/tcs/api/people",
            &json!([person]),
        )
        .await;
        assert_eq!(status, 403);
    }
}

#[tokio::test]
async fn sensitive_details_are_masked_without_the_authority_and_kept_when_written_without_it() {
    for backend in BACKENDS {
        let (app, _reference) = with_reference(backend).await;
        let id = create(&app, &admin(), &trainee("Nowak", "3456789")).await;
        let plain = Caller::hee(&[WESSEX]);
        let viewer = Caller::hee(&[WESSEX]).granted(&["personsensitive:view:entities"]);
        let sensitive = [
            "religiousBelief",
            "disability",
            "dateOfBirth",
            "nationalInsuranceNumber",
            "gender",
        ];

        for path in [
            format!("/tcs/api/people/{id}"),
            format!("/tcs/api/people/v2/{id}"),
            format!("/tcs/api/personal-details/{id}"),
            format!("/tcs/api/people/in/{id}"),
        ] {
            let (_, _, body) = call(&app, &plain, Method::GET, &path, None).await;
            let body = if body.is_array() {
                body[0].clone()
            } else {
                body
            };
            let pd = if body["personalDetails"].is_object() {
                &body["personalDetails"]
            } else {
                &body
            };
            for f in sensitive {
                assert!(pd[f].is_null(), "{backend:?} {path}: {f} shown: {pd}");
            }
            let (_, _, body) = call(&app, &viewer, Method::GET, &path, None).await;
            let body = if body.is_array() {
                body[0].clone()
            } else {
                body
            };
            let pd = if body["personalDetails"].is_object() {
                &body["personalDetails"]
            } else {
                &body
            };
            assert_eq!(pd["religiousBelief"], "ATHEISM", "{backend:?} {path}");
        }
        let (_, _, v2) = call(
            &app,
            &viewer,
            Method::GET,
            &format!("/tcs/api/people/v2/{id}"),
            None,
        )
        .await;
        assert!(
            v2["personalDetails"]["nationalInsuranceNumber"].is_null(),
            "v2 never shows it"
        );
        assert!(v2.get("qualifications").is_none() && v2.get("programmeMemberships").is_none());

        // Written without the edit authority: the sensitive values stay as they were.
        let (status, _, pd) = send(
            &app,
            &viewer,
            Method::PUT,
            "/tcs/api/personal-details",
            &json!({"id": id, "religiousBelief": "ISLAM", "maritalStatus": "SINGLE"}),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {pd}");
        assert_eq!(
            (pd["religiousBelief"].as_str(), pd["maritalStatus"].as_str()),
            (Some("ATHEISM"), Some("SINGLE"))
        );
        let (status, _, pd) = send(
            &app,
            &admin(),
            Method::PUT,
            "/tcs/api/personal-details",
            &json!({"id": id, "religiousBelief": "ISLAM"}),
        )
        .await;
        assert_eq!(
            (status, pd["religiousBelief"].as_str()),
            (200, Some("ISLAM"))
        );

        // The history masks the same fields.
        let (_, _, history) = call(
            &app,
            &plain,
            Method::GET,
            &format!("/tcs/api/people/{id}/history?size=50"),
            None,
        )
        .await;
        let religion: Vec<&Value> = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["field"] == "religiousBelief")
            .collect();
        assert_eq!(religion.len(), 2, "{backend:?}: {history}");
        assert!(
            religion
                .iter()
                .all(|e| e["oldValue"].is_null() && e["newValue"].is_null() && e["masked"] == true)
        );
        let (_, _, history) = call(
            &app,
            &viewer,
            Method::GET,
            &format!("/tcs/api/people/{id}/history?size=50"),
            None,
        )
        .await;
        assert!(
            history
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == "religiousBelief" && e["newValue"] == "ISLAM")
        );
    }
}

#[tokio::test]
async fn a_possible_duplicate_is_refused_with_its_candidates_unless_allowed() {
    for backend in BACKENDS {
        let (app, _reference) = with_reference(backend).await;
        let first = create(&app, &admin(), &trainee("Kowalski", "4567890")).await;

        // The same GMC number.
        let (status, _, body) = send(
            &app,
            &admin(),
            Method::POST,
            "/tcs/api/people",
            &trainee("Other", "4567890"),
        )
        .await;
        assert_eq!(status, 409, "{backend:?}: {body}");
        assert_eq!(body["error"]["code"], "possible_duplicate");
        assert_eq!(body["error"]["candidates"][0]["id"], first);
        assert_eq!(body["error"]["candidates"][0]["surname"], "Kowalski");
        // The same surname and date of birth.
        let (status, _, body) = send(
            &app,
            &admin(),
            Method::POST,
            "/tcs/api/people",
            &trainee("kowalski", "5678901"),
        )
        .await;
        assert_eq!(
            (status, body["error"]["candidates"][0]["id"].as_i64()),
            (409, Some(first)),
            "{body}"
        );
        // A caller who cannot see the candidate is refused without it.
        let elsewhere = Caller::hee(&[EAST_MIDLANDS]).granted(SENSITIVE);
        let (status, _, body) = send(
            &app,
            &elsewhere,
            Method::POST,
            "/tcs/api/people",
            &trainee("Other", "4567890"),
        )
        .await;
        assert_eq!(
            (status, body["error"]["candidates"].clone()),
            (409, json!([]))
        );
        // Overridden explicitly.
        let (status, _, body) = send(
            &app,
            &admin(),
            Method::POST,
            "/tcs/api/people?allowDuplicate=true",
            &trainee("Kowalski", "5678901"),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {body}");
        // A GMC number is still unique among records: 409 on a record's write.
        let second = body["id"].as_i64().unwrap();
        let (status, _, body) = send(
            &app,
            &admin(),
            Method::PUT,
            "/tcs/api/gmc-details",
            &json!({"id": second, "gmcNumber": "4567890"}),
        )
        .await;
        assert_eq!(status, 409, "{backend:?}: {body}");
    }
}

#[tokio::test]
async fn bad_input_is_a_clear_400_naming_the_field_and_writes_nothing() {
    for backend in BACKENDS {
        let (app, _reference) = with_reference(backend).await;
        let who = admin();
        let id = create(&app, &who, &trainee("Brown", "6789012")).await;
        let cases: Vec<(Method, &str, String, &str)> = vec![
            (Method::POST, "/tcs/api/people", "{}".into(), "status"),
            (
                Method::POST,
                "/tcs/api/people",
                json!({"id": 5, "status": "CURRENT", "role": "DR in Training"}).to_string(),
                "id",
            ),
            (
                Method::PUT,
                "/tcs/api/people",
                json!({"status": "CURRENT", "role": "DR in Training"}).to_string(),
                "id",
            ),
            (
                Method::POST,
                "/tcs/api/people",
                json!({"status": "BOGUS", "role": "x"}).to_string(),
                "status",
            ),
            (
                Method::POST,
                "/tcs/api/people",
                json!({"status": "CURRENT", "role": "x", "nickname": "y"}).to_string(),
                "nickname",
            ),
            (
                Method::POST,
                "/tcs/api/people",
                json!({"status": "CURRENT", "role": "x", "gmcDetails": {"gmcNumber": 1234567}})
                    .to_string(),
                "gmcDetails.gmcNumber",
            ),
            (
                Method::PUT,
                "/tcs/api/gmc-details",
                json!({"id": id, "gmcNumber": "123456"}).to_string(),
                "gmcNumber",
            ),
            (
                Method::PUT,
                "/tcs/api/gmc-details",
                json!({"id": id, "gmcNumber": "12345678"}).to_string(),
                "gmcNumber",
            ),
            (
                Method::PUT,
                "/tcs/api/gmc-details",
                json!({"id": id, "gmcStartDate": "2020-01-01", "gmcEndDate": "2019-01-01"})
                    .to_string(),
                "gmcEndDate",
            ),
            (
                Method::PUT,
                "/tcs/api/gmc-details",
                json!({"id": id, "gmcStartDate": "2020-02-31"}).to_string(),
                "gmcStartDate",
            ),
            (
                Method::PUT,
                "/tcs/api/right-to-works",
                json!({"id": id, "visaIssued": "2020-01-01", "visaValidTo": "2019-01-01"})
                    .to_string(),
                "visaValidTo",
            ),
            (
                Method::PUT,
                "/tcs/api/right-to-works",
                json!({"id": id, "settled": "MAYBE"}).to_string(),
                "settled",
            ),
            (
                Method::PUT,
                "/tcs/api/contact-details",
                json!({"id": id, "forenames": "A"}).to_string(),
                "surname",
            ),
            (
                Method::PUT,
                "/tcs/api/contact-details",
                json!({"id": id, "surname": "B@d", "forenames": "A"}).to_string(),
                "surname",
            ),
            (
                Method::PUT,
                "/tcs/api/contact-details",
                json!({"surname": "B", "forenames": "A"}).to_string(),
                "id",
            ),
            (
                Method::PUT,
                "/tcs/api/personal-details",
                json!({"id": id, "disability": "MAYBE"}).to_string(),
                "disability",
            ),
            (
                Method::PUT,
                "/tcs/api/gdc-details",
                json!({"id": id, "gdcNumber": "D 1"}).to_string(),
                "gdcNumber",
            ),
        ];
        for (method, path, body, field) in &cases {
            let (status, _, res) = call(&app, &who, method.clone(), path, Some(body)).await;
            assert_eq!(status, 400, "{backend:?} {method} {path} {body}: {res}");
            assert!(
                fields(&res).iter().any(|f| f == field),
                "{backend:?} {body}: {res}"
            );
            assert_eq!(
                res["message"], "error.validation",
                "the original's body too: {res}"
            );
        }
        // The original's IntTest: `{}` is 400 with only `status` on create, `id` and
        // `status` on update; then the validator's "Role is required.".
        for (method, body, want) in [
            (Method::POST, json!({}), vec!["status"]),
            (Method::PUT, json!({}), vec!["id", "status"]),
            (Method::POST, json!({"status": "CURRENT"}), vec!["role"]),
        ] {
            let (status, _, res) = send(&app, &who, method.clone(), "/tcs/api/people", &body).await;
            assert_eq!(
                (status, fields(&res)),
                (400, want.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                "{method} {body}"
            );
        }
        // Malformed and trailing garbage.
        for body in ["{\"id\": ", "{\"id\": 1} trailing", "[1,2"] {
            let (status, _, res) = call(
                &app,
                &who,
                Method::PUT,
                "/tcs/api/contact-details",
                Some(body),
            )
            .await;
            assert_eq!(
                (status, res["error"]["code"].as_str()),
                (400, Some("malformed_json")),
                "{body}: {res}"
            );
        }
        // A 10 MB body.
        let huge = format!(
            "{{\"id\": {id}, \"surname\": \"{}\"}}",
            "a".repeat(10 << 20)
        );
        let (status, _, res) = call(
            &app,
            &who,
            Method::PUT,
            "/tcs/api/contact-details",
            Some(&huge),
        )
        .await;
        assert_eq!(status, 413, "{res}");
        // 1,001 items in a bulk body.
        let many: Vec<Value> = (0..1001)
            .map(|_| json!({"id": id, "surname": "A", "forenames": "B"}))
            .collect();
        let (status, _, res) = send(
            &app,
            &who,
            Method::PATCH,
            "/tcs/api/contact-details",
            &json!(many),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["body"]);
        // A bulk list is all or nothing: one bad item writes none.
        let (status, _, res) = send(
            &app,
            &who,
            Method::PATCH,
            "/tcs/api/contact-details",
            &json!([{"id": id, "surname": "Changed", "forenames": "B"}, {"id": 999999, "surname": "A", "forenames": "B"}]),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["[1].id"]);
        let (_, _, cd) = call(
            &app,
            &who,
            Method::GET,
            &format!("/tcs/api/contact-details/{id}"),
            None,
        )
        .await;
        assert_eq!(cd["surname"], "Brown");
        // Unknown and non-numeric ids.
        let (status, _, _) = send(
            &app,
            &who,
            Method::PUT,
            "/tcs/api/people",
            &json!({"id": 999999, "status": "CURRENT", "role": "DR in Training"}),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, res) = call(&app, &who, Method::GET, "/tcs/api/people/abc", None).await;
        assert_eq!(status, 400, "{res}");
        // An unknown Reference value is a 400 naming the field.
        let (status, _, res) = send(
            &app,
            &who,
            Method::PUT,
            "/tcs/api/contact-details",
            &json!({"id": id, "surname": "B", "forenames": "A", "title": "EMPEROR"}),
        )
        .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(fields(&res), ["title"]);
        // Nothing of it reached the history.
        let (_, _, history) = call(
            &app,
            &who,
            Method::GET,
            &format!("/tcs/api/people/{id}/history?size=50"),
            None,
        )
        .await;
        assert!(
            !history
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == "title" && e["newValue"] == "EMPEROR")
        );
    }
}

#[tokio::test]
async fn with_reference_down_a_value_seen_before_is_written_marked_and_a_new_one_is_refused() {
    for backend in BACKENDS {
        let (app, mut reference) = with_reference(backend).await;
        let who = admin();
        let id = create(&app, &who, &trainee("Evans", "7890123")).await; // asks about DR, F, ATHEISM…
        let (status, _, _) = send(
            &app,
            &who,
            Method::PUT,
            "/tcs/api/contact-details",
            &json!({"id": id, "surname": "Evans", "forenames": "A", "title": "MR"}),
        )
        .await;
        assert_eq!(status, 200);
        reference.stop().await;

        // DR was seen: written, marked.
        let (status, headers, body) = send(
            &app,
            &who,
            Method::PUT,
            "/tcs/api/contact-details",
            &json!({"id": id, "surname": "Evans", "forenames": "A", "title": "DR"}),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        let degraded = headers
            .get("tis-degraded")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            degraded.contains("reference-stale"),
            "{backend:?}: {degraded:?}"
        );
        // PROF never was: 503, nothing written.
        let (status, _, body) = send(
            &app,
            &who,
            Method::PUT,
            "/tcs/api/contact-details",
            &json!({"id": id, "surname": "Changed", "forenames": "A", "title": "PROF"}),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (503, Some("dependency_unavailable")),
            "{body}"
        );
        let (_, _, cd) = call(
            &app,
            &who,
            Method::GET,
            &format!("/tcs/api/contact-details/{id}"),
            None,
        )
        .await;
        assert_eq!(
            (cd["surname"].as_str(), cd["title"].as_str()),
            (Some("Evans"), Some("DR"))
        );
        // Reads never need Reference.
        let (status, _, _) = call(
            &app,
            &who,
            Method::GET,
            &format!("/tcs/api/people/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn bulk_people_reports_per_item_and_patch_people_creates_and_updates() {
    for backend in BACKENDS {
        let (app, _reference) = with_reference(backend).await;
        let id = create(&app, &admin(), &trainee("Patel", "8901234")).await;
        let (status, _, res) = send(
            &app,
            &admin(),
            Method::PATCH,
            "/tcs/api/bulk-people",
            &json!([
                {"id": id, "contactDetails": {"knownAs": "Pat"}, "gmcDetails": {"gmcNumber": "8901235"}},
                {"id": 999999, "comments": "x"},
                {"id": id, "gmcDetails": {"gmcNumber": "12"}}
            ]),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {res}");
        assert_eq!(res[0]["messageList"], json!([]), "{res}");
        assert_eq!(res[0]["contactDetails"]["knownAs"], "Pat");
        assert_eq!(
            res[0]["contactDetails"]["surname"], "Patel",
            "the other fields stay"
        );
        assert_eq!(res[0]["gmcDetails"]["gmcNumber"], "8901235");
        assert!(
            res[1]["messageList"][0]
                .as_str()
                .unwrap()
                .contains("not found"),
            "{res}"
        );
        assert!(
            res[2]["messageList"][0]
                .as_str()
                .unwrap()
                .contains("7 digits"),
            "{res}"
        );

        let etl = Caller::etl().granted(SENSITIVE);
        let mut etl = etl;
        etl.profile.permission_policies.push(
            serde_json::from_value(json!({"name": "etl", "principal": "tis:profile::user:", "resource": "tis:people::person:consolidated_etl", "actions": ["Update"], "effect": "Allow"})).unwrap(),
        );
        let (status, _, res) = send(
            &app,
            &etl,
            Method::PATCH,
            "/tcs/api/people",
            &json!([
                {"id": id, "status": "INACTIVE", "role": "DR in Training"},
                {"status": "CURRENT", "role": "DR in Training", "contactDetails": {"surname": "Newman", "forenames": "Ola"}}
            ]),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {res}");
        assert_eq!(res[0]["status"], "INACTIVE");
        assert_eq!(res[1]["contactDetails"]["surname"], "Newman");
        assert!(res[1]["id"].as_i64().unwrap() > id);

        // /people/phn/in and ownership.
        let (status, _, _) = send(&app, &admin(), Method::PUT, "/tcs/api/people", &json!({"id": id, "status": "CURRENT", "role": "DR in Training", "publicHealthNumber": "PHN-77"})).await;
        assert_eq!(status, 200);
        let (status, _, found) = call(
            &app,
            &admin(),
            Method::GET,
            "/tcs/api/people/phn/in/phn-77,none",
            None,
        )
        .await;
        assert_eq!(
            (status, found[0]["id"].as_i64()),
            (302, Some(id)),
            "{found}"
        );
        let (status, headers, _) = call(
            &app,
            &admin(),
            Method::POST,
            "/tcs/api/people/ownership",
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-tcsapp-params"], "procedure is underway");
    }
}

#[tokio::test]
async fn people_are_found_by_the_roles_of_a_reference_role_category() {
    for backend in BACKENDS {
        let (app, reference) = with_reference(backend).await;
        let id = create(&app, &admin(), &trainee("Lite", "9012345")).await;
        let res = reference
            .request(
                Method::GET,
                "/reference/api/role-categories?size=50",
                Some(&admin().token()),
            )
            .send()
            .await
            .expect("categories");
        let categories: Value = res.json().await.expect("json");
        let category = |name: &str| {
            categories
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .and_then(|c| c["id"].as_i64())
                .unwrap_or_else(|| panic!("{name} in {categories}"))
        };
        let (status, headers, people) = call(
            &app,
            &admin(),
            Method::GET,
            &format!("/tcs/api/people/roles/categories/{}", category("Trainee")),
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {people}");
        assert!(headers.contains_key("x-total-count"));
        assert_eq!(
            people,
            json!([{"id": id, "name": "Asha Lite", "publicHealthNumber": null, "gmcNumber": "9012345", "gdcNumber": null}])
        );
        let (_, _, people) = call(
            &app,
            &admin(),
            Method::GET,
            &format!(
                "/tcs/api/people/roles/categories/{}?searchQuery=lite",
                category("Trainee")
            ),
            None,
        )
        .await;
        assert_eq!(people.as_array().unwrap().len(), 1);
        let (_, _, people) = call(
            &app,
            &admin(),
            Method::GET,
            &format!(
                "/tcs/api/people/roles/categories/{}?searchQuery=nobody",
                category("Trainee")
            ),
            None,
        )
        .await;
        assert_eq!(people, json!([]));
        let (_, _, people) = call(
            &app,
            &admin(),
            Method::GET,
            &format!("/tcs/api/people/roles/categories/{}", category("Trainer")),
            None,
        )
        .await;
        assert_eq!(people, json!([]));
        let (status, _, people) = call(
            &app,
            &Caller::hee(&[EAST_MIDLANDS]),
            Method::GET,
            &format!("/tcs/api/people/roles/categories/{}", category("Trainee")),
            None,
        )
        .await;
        assert_eq!((status, people), (200, json!([])), "scoped");
    }
}

#[tokio::test]
async fn a_demo_person_read_and_written_back_unchanged_passes_and_a_retry_with_its_key_writes_once()
{
    for backend in BACKENDS {
        let reference = start_reference().await;
        let app = spawn_with_reference(backend, vec![reference.addr], |_| {}).await;
        tis_tcs::demo::seed_with(&app.db, 30)
            .await
            .expect("demo data");
        let etl = Caller::etl().granted(SENSITIVE);
        let mut memberships = 0;
        for id in 1..=30 {
            let (status, _, person) = call(
                &app,
                &etl,
                Method::GET,
                &format!("/tcs/api/people/{id}"),
                None,
            )
            .await;
            assert_eq!(status, 200, "{backend:?}: {person}");
            memberships += person["programmeMemberships"]
                .as_array()
                .map_or(0, Vec::len);
            assert!(person["currentOwner"].is_string(), "{person}");
            let (status, _, res) = send(&app, &etl, Method::PUT, "/tcs/api/people", &person).await;
            assert_eq!(status, 200, "{backend:?} person {id} written back: {res}");
            let (_, _, cd) = call(
                &app,
                &etl,
                Method::GET,
                &format!("/tcs/api/contact-details/{id}"),
                None,
            )
            .await;
            let (status, _, res) =
                send(&app, &etl, Method::PUT, "/tcs/api/contact-details", &cd).await;
            assert_eq!(
                status, 200,
                "{backend:?} contact details {id} written back: {res}"
            );
        }
        assert!(memberships > 0, "the demo people's memberships are read");
        // A retry with the same Idempotency-Key answers the first response and writes once.
        let who = admin();
        let post = |key: &'static str| {
            app.request(Method::POST, "/tcs/api/people", Some(&who.token()))
                .header("content-type", "application/json")
                .header("Idempotency-Key", key)
                .body(trainee("Retry", "1122334").to_string())
                .send()
        };
        let first = post("create-retry-1").await.expect("POST");
        assert_eq!(first.status(), 201, "{backend:?}");
        let first: Value = first.json().await.unwrap();
        let again = post("create-retry-1").await.expect("POST");
        assert_eq!(again.status(), 201);
        assert_eq!(
            again
                .headers()
                .get("idempotent-replayed")
                .map(|v| v.to_str().unwrap()),
            Some("true")
        );
        let again: Value = again.json().await.unwrap();
        assert_eq!(first["id"], again["id"]);
        let (_, _, found) = call(
            &app,
            &who,
            Method::GET,
            "/tcs/api/people/basic?searchQuery=retry",
            None,
        )
        .await;
        assert_eq!(
            found.as_array().unwrap().len(),
            1,
            "{backend:?}: written once: {found}"
        );
    }
}
