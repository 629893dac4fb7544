//! TCS through the real system (`tis up`: the identity provider, the gateway, Profile,
//! Reference, two TCS instances, the demo data), as each demo user: who sees which trainees,
//! and who sees their sensitive details. The rules are TCS's (`docs/tcs.md` "Who sees which
//! people", "Sensitive data"); here they are checked end to end, with tokens from the
//! identity provider and principals minted by the gateway from Profile's demo users.

use serde_json::Value;
use tis_testkit::up::{TisUp, token};

const TIS: &str = env!("CARGO_BIN_EXE_tis");

/// The observer's programme in the demo data (Profile's `OBSERVER_PROGRAMME`).
const OBSERVER_PROGRAMME: i64 = 1;

struct System {
    gateway: String,
    http: reqwest::Client,
}

impl System {
    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("http://{}{path}", self.gateway))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` that must answer 200: its JSON.
    async fn ok(&self, token: &str, path: &str) -> Value {
        let (status, body) = self.get(token, path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_demo_user_sees_their_trainees_and_only_the_sensitive_user_their_sensitive_details() {
    let up = TisUp::start(TIS, &[]);
    let names = [
        "idp",
        "gateway",
        "profile-1",
        "reference-1",
        "tcs-1",
        "tcs-2",
    ];
    let state = up
        .state_when("the system ready", |s| TisUp::has(s, &names))
        .await;
    let issuer = state["issuer"].as_str().expect("issuer").to_owned();
    let s = System {
        gateway: TisUp::addr_of(&state, "gateway", "addr"),
        http: reqwest::Client::new(),
    };
    let user = |name: &str| token(TIS, &issuer, &["--user", name]);
    let (admin, sensitive, trust_admin, observer) = (
        user("admin"),
        user("sensitive"),
        user("trust.admin"),
        user("observer"),
    );
    let etl = token(TIS, &issuer, &["--client", "etl"]);

    // The status page names TCS for what it is.
    let status = s.ok(&admin, "/api/status").await;
    let tcs = status["capabilities"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "service:tcs"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(tcs["name"], "Trainee records", "{status}");

    // An HEE admin of every designated body sees the demo trainees, without their sensitive
    // details; the sensitive user sees those too.
    let people = s.ok(&admin, "/tcs/api/people?size=50").await;
    let rows = people.as_array().expect("a list");
    assert_eq!(rows.len(), 50, "{people}");
    let first = rows[0]["id"].as_i64().expect("id");
    let record = s.ok(&admin, &format!("/tcs/api/people/{first}")).await;
    let personal = &record["personalDetails"];
    assert!(personal.is_object(), "{record}");
    for field in [
        "dateOfBirth",
        "religiousBelief",
        "sexualOrientation",
        "disability",
    ] {
        assert!(personal[field].is_null(), "admin sees {field}: {personal}");
    }
    let full = s.ok(&sensitive, &format!("/tcs/api/people/{first}")).await;
    assert!(
        full["personalDetails"]["dateOfBirth"].is_string(),
        "the sensitive user sees the date of birth: {full}"
    );
    assert_eq!(full["contactDetails"], record["contactDetails"]);

    // The programme observer sees only the people with a membership of their programme (the
    // list row shows a person's current, next or last membership, which may be another one
    // of theirs); anyone else is not found (404, not 403: no existence leaks).
    let theirs = s.ok(&observer, "/tcs/api/people?size=100").await;
    let theirs = theirs.as_array().expect("a list");
    assert!(!theirs.is_empty(), "the observer's programme has trainees");
    for row in theirs
        .iter()
        .filter(|p| p["programmeId"].as_i64() != Some(OBSERVER_PROGRAMME))
    {
        let id = row["id"].as_i64().expect("id");
        let record = s.ok(&etl, &format!("/tcs/api/people/{id}")).await;
        let memberships = record["programmeMemberships"].as_array().cloned();
        assert!(
            memberships
                .unwrap_or_default()
                .iter()
                .any(|m| m["programmeId"].as_i64() == Some(OBSERVER_PROGRAMME)),
            "the observer sees {id}, who has no membership of their programme: {record}"
        );
    }
    // The demo trainees of other local offices have no membership of an East Midlands
    // programme.
    let outsider = rows
        .iter()
        .find(|p| p["currentOwner"] != "East Midlands")
        .and_then(|p| p["id"].as_i64())
        .expect("someone of another local office");
    let (code, body) = s
        .get(&observer, &format!("/tcs/api/people/{outsider}"))
        .await;
    assert_eq!(code, 404, "{body}");
    let mine = theirs[0]["id"].as_i64().expect("id");
    s.ok(&observer, &format!("/tcs/api/people/{mine}")).await;

    // The trust admin sees the people placed at their trusts (the demo placements put some of
    // London's trainees there), each with placements; anyone else is not found.
    let placed = s.ok(&trust_admin, "/tcs/api/people?size=100").await;
    let placed = placed.as_array().expect("a list");
    assert!(!placed.is_empty(), "the demo trusts have trainees placed");
    let placed_ids: Vec<i64> = placed.iter().filter_map(|p| p["id"].as_i64()).collect();
    for id in placed_ids.iter().take(3) {
        let theirs = s
            .ok(&etl, &format!("/tcs/api/people/{id}/placements"))
            .await;
        assert!(
            theirs.as_array().is_some_and(|a| !a.is_empty()),
            "the trust admin sees {id}, who has no placement: {theirs}"
        );
        s.ok(&trust_admin, &format!("/tcs/api/people/{id}")).await;
    }
    let unplaced = rows
        .iter()
        .filter_map(|p| p["id"].as_i64())
        .find(|id| !placed_ids.contains(id))
        .expect("someone the trust admin does not see");
    let (code, body) = s
        .get(&trust_admin, &format!("/tcs/api/people/{unplaced}"))
        .await;
    assert_eq!(code, 404, "{body}");

    // The ETL client sees everyone.
    s.ok(&etl, &format!("/tcs/api/people/{outsider}")).await;
    s.ok(&etl, &format!("/tcs/api/people/{mine}")).await;

    // The API is described where the gateway routes it.
    let doc = s.ok(&admin, "/tcs/api-docs").await;
    assert!(doc["paths"]["/tcs/api/people"].is_object(), "{doc}");
}
