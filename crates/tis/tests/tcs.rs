//! TCS through the real system (`tis up`: the identity provider, the gateway, Profile,
//! Reference, two TCS instances, the demo data), as each demo user: who sees which trainees,
//! posts and placements, who sees their sensitive details, and that a write out of the
//! caller's scope is refused. The rules are TCS's (`docs/tcs.md` "Who sees which people",
//! "Who sees which posts", "Who sees which placements", "Sensitive data"); here they are
//! checked end to end, with tokens from the identity provider and principals minted by the
//! gateway from Profile's demo users.

use reqwest::Method;
use serde_json::{Value, json};
use tis_testkit::up::{TisUp, token};

const TIS: &str = env!("CARGO_BIN_EXE_tis");

/// The observer's programme in the demo data (Profile's `OBSERVER_PROGRAMME`).
const OBSERVER_PROGRAMME: i64 = 1;
/// The trust admin's trust in the demo data (Profile's `TRUST_ADMIN_TRUST`): RYJ.
const TRUST_ADMIN_TRUST: (i64, &str) = (3, "RYJ");

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

    /// `method path` with a JSON body: the status and the JSON answer.
    async fn send(&self, token: &str, method: Method, path: &str, body: &Value) -> (u16, Value) {
        let res = self
            .http
            .request(method, format!("http://{}{path}", self.gateway))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The ids of a list answer's rows.
    /// Every id of a paged list, page after page of the most a page may hold (500).
    async fn all_ids(&self, token: &str, path: &str) -> Vec<i64> {
        let mut all = Vec::new();
        for page in 0.. {
            let ids = self
                .ids(token, &format!("{path}&size=500&page={page}"))
                .await;
            let last = ids.len() < 500;
            all.extend(ids);
            if last {
                return all;
            }
        }
        unreachable!()
    }

    async fn ids(&self, token: &str, path: &str) -> Vec<i64> {
        let rows = self.ok(token, path).await;
        rows.as_array()
            .unwrap_or_else(|| panic!("GET {path}: a list: {rows}"))
            .iter()
            .filter_map(|r| r["id"].as_i64())
            .collect()
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

    posts_and_placements_are_scoped(&s, &admin, &trust_admin, &observer, &etl).await;

    // The API is described where the gateway routes it.
    let doc = s.ok(&admin, "/tcs/api-docs").await;
    assert!(doc["paths"]["/tcs/api/people"].is_object(), "{doc}");
}

/// Posts and placements through the gateway: the trust admin sees the posts at their trust's
/// sites (Reference says which trust a site is of) and the placements in them, the observer
/// the posts of their programme, the ETL and the admin everything; another post or placement
/// is 404 to them, and their writes naming one are refused without writing anything.
async fn posts_and_placements_are_scoped(
    s: &System,
    admin: &str,
    trust_admin: &str,
    observer: &str,
    etl: &str,
) {
    let all_posts = s.all_ids(admin, "/tcs/api/posts?sort=id,asc").await;
    assert!(all_posts.len() > 100, "the demo posts: {}", all_posts.len());
    assert_eq!(
        s.all_ids(etl, "/tcs/api/posts?sort=id,asc").await,
        all_posts,
        "the ETL sees what the admin of every office sees"
    );

    // The trust admin: some posts, each at a site of their trust.
    let (trust_id, trust_code) = TRUST_ADMIN_TRUST;
    let theirs = s.all_ids(trust_admin, "/tcs/api/posts?sort=id,asc").await;
    assert!(
        !theirs.is_empty() && theirs.len() < all_posts.len(),
        "the trust admin sees {} of {} posts",
        theirs.len(),
        all_posts.len()
    );
    for id in theirs.iter().take(5) {
        let post = s.ok(trust_admin, &format!("/tcs/api/posts/{id}")).await;
        let sites: Vec<i64> = post["sites"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["siteId"].as_i64())
            .collect();
        let mut at_their_trust = false;
        for site in sites {
            let site = s.ok(admin, &format!("/reference/api/sites/{site}")).await;
            at_their_trust |=
                site["trustId"].as_i64() == Some(trust_id) || site["trustCode"] == trust_code;
        }
        assert!(
            at_their_trust,
            "post {id} is not at a {trust_code} site: {post}"
        );
    }
    let elsewhere = *all_posts
        .iter()
        .find(|id| !theirs.contains(id))
        .expect("a post elsewhere");
    let (code, body) = s
        .get(trust_admin, &format!("/tcs/api/posts/{elsewhere}"))
        .await;
    assert_eq!(code, 404, "another trust's post: {body}");

    // The observer: the posts of their programme.
    let observed = s.all_ids(observer, "/tcs/api/posts?sort=id,asc").await;
    assert!(
        !observed.is_empty() && observed.len() < all_posts.len(),
        "the observer sees {} posts",
        observed.len()
    );
    for id in observed.iter().take(5) {
        let post = s.ok(admin, &format!("/tcs/api/posts/{id}")).await;
        assert!(
            post["programmes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["id"].as_i64() == Some(OBSERVER_PROGRAMME)),
            "the observer sees post {id}, not of their programme: {post}"
        );
    }
    let (code, _) = s
        .get(observer, &format!("/tcs/api/posts/{elsewhere}"))
        .await;
    let observed_elsewhere = observed.contains(&elsewhere);
    assert_eq!(code, if observed_elsewhere { 200 } else { 404 });

    // Placements follow their post and their trainee: each placement the trust admin sees is
    // in one of their posts or of a person they see; one in a post elsewhere, of a person
    // they do not see, is 404.
    let placements = s.ok(trust_admin, "/tcs/api/placements?size=200").await;
    let placements = placements.as_array().expect("a list").clone();
    assert!(!placements.is_empty(), "the trust admin sees placements");
    for p in placements.iter().take(10) {
        let post = p["postId"].as_i64().expect("postId");
        let trainee = p["traineeId"].as_i64().expect("traineeId");
        let (person, _) = s
            .get(trust_admin, &format!("/tcs/api/people/{trainee}"))
            .await;
        assert!(
            theirs.contains(&post) || person == 200,
            "the trust admin sees placement {} of post {post} and person {trainee}",
            p["id"]
        );
    }
    let seen: Vec<i64> = placements.iter().filter_map(|p| p["id"].as_i64()).collect();
    let mut foreign = None;
    for post in all_posts.iter().filter(|id| !theirs.contains(id)).take(20) {
        let rows = s
            .ok(admin, &format!("/tcs/api/posts/{post}/placements"))
            .await;
        for row in rows.as_array().into_iter().flatten() {
            let (Some(id), Some(trainee)) = (row["id"].as_i64(), row["traineeId"].as_i64()) else {
                continue;
            };
            let (person, _) = s
                .get(trust_admin, &format!("/tcs/api/people/{trainee}"))
                .await;
            if person == 404 && !seen.contains(&id) {
                foreign = Some((id, trainee, *post));
                break;
            }
        }
        if foreign.is_some() {
            break;
        }
    }
    let (foreign, foreign_trainee, foreign_post) = foreign.expect("a placement out of scope");
    let (code, body) = s
        .get(trust_admin, &format!("/tcs/api/placements/{foreign}"))
        .await;
    assert_eq!(
        code, 404,
        "a placement out of the trust admin's scope: {body}"
    );

    // Their writes naming it, its post or its trainee are refused, and nothing changes.
    let before = s.ok(admin, &format!("/tcs/api/placements/{foreign}")).await;
    let (code, body) = s
        .send(trust_admin, Method::PUT, "/tcs/api/placements", &before)
        .await;
    assert_eq!(code, 404, "an update of another trust's placement: {body}");
    let (code, body) = s
        .send(
            trust_admin,
            Method::DELETE,
            &format!("/tcs/api/placements/{foreign}"),
            &Value::Null,
        )
        .await;
    assert_eq!(code, 404, "a delete of another trust's placement: {body}");
    let mut new = before.clone();
    for key in ["id", "comments", "supervisors", "specialties", "sites"] {
        new.as_object_mut().expect("an object").remove(key);
    }
    new["dateFrom"] = json!("2090-08-01");
    new["dateTo"] = json!("2091-07-31");
    let (code, body) = s
        .send(trust_admin, Method::POST, "/tcs/api/placements", &new)
        .await;
    assert_eq!(
        code, 400,
        "a placement of another trust's trainee in its post: {body}"
    );
    let named: Vec<&str> = body["error"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(
        named,
        ["traineeId", "postId"],
        "trainee {foreign_trainee} and post {foreign_post} are named as not existing: {body}"
    );
    let (code, body) = s
        .send(
            trust_admin,
            Method::PUT,
            &format!("/tcs/api/placements/{foreign}/close"),
            &Value::Null,
        )
        .await;
    assert_eq!(code, 404, "closing another trust's placement: {body}");
    let after = s.ok(admin, &format!("/tcs/api/placements/{foreign}")).await;
    assert_eq!(after, before, "nothing changed");
    let (code, body) = s
        .send(observer, Method::PUT, "/tcs/api/placements", &before)
        .await;
    assert_eq!(
        code, 403,
        "the observer may not write placements at all: {body}"
    );
}
