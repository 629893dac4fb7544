//! The steady load: an open model. Requests start at a fixed rate whatever the answers take
//! (a slow system does not slow the load down, as with real people), each one a journey
//! chosen by weight, as one of the demo users.
//!
//! | journey | request | as | group |
//! |---|---|---|---|
//! | `list` | `GET /reference/api/{grades,sites,trusts}?page=…&size=20&sort=…` | a reader | `reference.read` |
//! | `search` | `GET /reference/api/sites?searchQuery=…` | a reader | `reference.read` |
//! | `filter` | `GET /reference/api/grades?columnFilters={"status":["CURRENT"]}` | a reader | `reference.read` |
//! | `read` | `GET /reference/api/grades/{id}` | a reader | `reference.read` |
//! | `userinfo` | `GET /profile/api/userinfo` | a reader | `profile.read` |
//! | `create` | `POST /reference/api/grades` + `Idempotency-Key` | `etl` | `reference.write` |
//! | `update` | `PUT /reference/api/grades` + `Idempotency-Key`, on a grade we created | `etl` | `reference.write` |
//! | `login` | `POST {issuer}/protocol/openid-connect/token` | a reader | `idp.login` |
//! | `people` | `GET /tcs/api/people?searchQuery=…&size=20` (a surname's first letters) | a TCS reader | `tcs.read` |
//! | `person` | `GET /tcs/api/people/{id}` (the whole record) | `admin` or `sensitive` | `tcs.read` |
//! | `contact` | `GET /tcs/api/contact-details/{id}`, then `PUT /tcs/api/contact-details` with a new email and title (`DR` ⇄ `MR`, checked with Reference) + `Idempotency-Key` | `etl` | `tcs.write` |
//! | `postplacements` | `GET /tcs/api/posts/{id}/placements` (a demo post's) | `admin` or `sensitive` | `tcs.read` |
//! | `place` | `POST /tcs/api/placements` + `Idempotency-Key`: a demo trainee in a demo post for a day of its own after 2060; 1 in 4 sent again with the same key once answered, which must answer the same placement | `etl` | `tcs.write` |
//! | `close` | `PUT /tcs/api/placements/{id}/close` + `Idempotency-Key`, a current demo placement (each once) | `etl` | `tcs.write` |
//!
//! The TCS journeys work on `tis up`'s demo trainees (ids 1 to 3,000), posts and placements
//! (read before the load: [`placements::Placements::prepare`]); their weights are zero in the
//! default mix, so that scenarios written before TCS judge the same requests. Every
//! acknowledged placement create is read back at the end, as the grades are ([`placements`]).
//!
//! Retries, as a careful client does them: a request that never reached a server (a refused
//! or reset connection) is retried for `connect_retry_for` (a login for 300 ms); a keyed write is retried with
//! the same key on a connection error, 429, 502, 503 or 504 for `write_retry_for`. A
//! request's latency is the whole time, retries included.

pub mod ledger;
pub mod placements;
pub mod tokens;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::scenario::{Mix, WorkloadSpec};
use ledger::Ledger;
use tokens::{READERS, Tokens, WRITER};

/// How long a login is retried on a connection error.
const LOGIN_RETRY_FOR: Duration = Duration::from_millis(300);

/// One kind of user journey (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Journey {
    List,
    Search,
    Filter,
    Read,
    Userinfo,
    Create,
    Update,
    Login,
    People,
    Person,
    Contact,
    PostPlacements,
    Place,
    Close,
}

impl Journey {
    pub const ALL: [Journey; 14] = [
        Journey::List,
        Journey::Search,
        Journey::Filter,
        Journey::Read,
        Journey::Userinfo,
        Journey::Create,
        Journey::Update,
        Journey::Login,
        Journey::People,
        Journey::Person,
        Journey::Contact,
        Journey::PostPlacements,
        Journey::Place,
        Journey::Close,
    ];

    /// The request group expectations select on (`<service>.<kind>`).
    pub fn group(self) -> &'static str {
        match self {
            Journey::List | Journey::Search | Journey::Filter | Journey::Read => "reference.read",
            Journey::Userinfo => "profile.read",
            Journey::Create | Journey::Update => "reference.write",
            Journey::Login => "idp.login",
            Journey::People | Journey::Person | Journey::PostPlacements => "tcs.read",
            Journey::Contact | Journey::Place | Journey::Close => "tcs.write",
        }
    }

    fn weight(self, mix: &Mix) -> u32 {
        match self {
            Journey::List => mix.list,
            Journey::Search => mix.search,
            Journey::Filter => mix.filter,
            Journey::Read => mix.read,
            Journey::Userinfo => mix.userinfo,
            Journey::Create => mix.create,
            Journey::Update => mix.update,
            Journey::Login => mix.login,
            Journey::People => mix.people,
            Journey::Person => mix.person,
            Journey::Contact => mix.contact,
            Journey::PostPlacements => mix.post_placements,
            Journey::Place => mix.place,
            Journey::Close => mix.close,
        }
    }

    /// The journey that `roll` (in `0..mix.total()`) lands on.
    pub fn pick(mix: &Mix, roll: u32) -> Journey {
        let mut left = roll;
        for j in Journey::ALL {
            let w = j.weight(mix);
            if left < w {
                return j;
            }
            left -= w;
        }
        Journey::List
    }
}

/// What became of one request (with its retries).
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// The phase in which it started or, if another phase began while it was in flight,
    /// the latest one (the fault injected at that phase's start hit it).
    pub phase: usize,
    /// When it started, from that phase's start (zero when it started in an earlier one).
    pub offset: Duration,
    /// When it started, from the run's start (the time axis of the report's charts).
    #[serde(serialize_with = "crate::report::ms", rename = "at_ms")]
    pub at: Duration,
    pub journey: Journey,
    pub group: &'static str,
    pub user: &'static str,
    pub ok: bool,
    /// The final HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why it failed: the JSON error code, `http_<status>`, `connect`, `timeout`,
    /// `client_backlog`.
    pub code: Option<String>,
    pub message: Option<String>,
    /// `TIS-Degraded` names of the answer.
    pub degraded: Vec<String>,
    pub latency: Duration,
    pub attempts: u32,
    /// Safe to retry (a GET or a keyed write): failing one is what `max_failed_idempotent` counts.
    pub idempotent: bool,
    /// Started in an earlier phase and was still in flight when `phase` began: it counts for
    /// `phase`, but the time it spent before is not that phase's (not judged for latency).
    pub crossed: bool,
    /// How late it started against the fixed schedule (the load generator's own health).
    pub lag: Duration,
}

/// Which phase the run is in, for the samples.
pub struct Clock {
    phase: AtomicUsize,
    started: Mutex<Instant>,
    /// The run's start: the time axis of the report.
    origin: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        let now = Instant::now();
        Clock {
            phase: AtomicUsize::new(0),
            started: Mutex::new(now),
            origin: now,
        }
    }
}

impl Clock {
    pub fn enter(&self, phase: usize) {
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.phase.store(phase, Ordering::SeqCst);
    }

    /// The current phase and the time since it started.
    pub fn now(&self) -> (usize, Duration) {
        let started = *self.started.lock().unwrap_or_else(|p| p.into_inner());
        (self.phase.load(Ordering::SeqCst), started.elapsed())
    }

    /// The time since the run's start.
    pub fn since_start(&self) -> Duration {
        self.origin.elapsed()
    }

    pub fn phase_started(&self) -> Instant {
        *self.started.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Everything a request needs.
pub struct Workload {
    pub http: reqwest::Client,
    pub entry: String,
    pub issuer: String,
    pub tokens: Arc<Tokens>,
    pub ledger: Arc<Ledger>,
    pub spec: WorkloadSpec,
    pub clock: Arc<Clock>,
    rng: Mutex<fastrand::Rng>,
    in_flight: AtomicU64,
}

/// How a request may be retried.
#[derive(Debug, Clone, Copy)]
enum Retry {
    /// Only when it never reached a server, for this long.
    Connect(Duration),
    /// A keyed write: connection errors, 429, 502, 503, 504, for this long.
    Keyed(Duration),
}

impl Workload {
    pub fn new(
        http: reqwest::Client,
        entry: String,
        issuer: String,
        tokens: Arc<Tokens>,
        ledger: Arc<Ledger>,
        spec: WorkloadSpec,
        clock: Arc<Clock>,
    ) -> Workload {
        let rng = match spec.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Workload {
            http,
            entry,
            issuer,
            tokens,
            ledger,
            spec,
            clock,
            rng: Mutex::new(rng),
            in_flight: AtomicU64::new(0),
        }
    }

    fn rng<T>(&self, f: impl FnOnce(&mut fastrand::Rng) -> T) -> T {
        f(&mut self.rng.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Starts `rate` requests a second until `stop`, then waits (at most `grace`) for those
    /// in flight. Every outcome goes to `samples`.
    pub async fn drive(
        self: Arc<Self>,
        rate: f64,
        mut stop: watch::Receiver<bool>,
        samples: mpsc::UnboundedSender<Sample>,
        grace: Duration,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        // Open model: a late tick is caught up, not skipped.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = JoinSet::new();
        loop {
            let due = tokio::select! {
                biased;
                _ = stop.changed() => break,
                due = tick.tick() => due,
            };
            // How late this request starts: seconds of it mean the machine stalled us.
            let lag = due.elapsed();
            while tasks.try_join_next().is_some() {}
            let journey =
                self.rng(|r| Journey::pick(&self.spec.mix, r.u32(0..self.spec.mix.total())));
            let (phase, offset) = self.clock.now();
            let at = self.clock.since_start();
            if self.in_flight.load(Ordering::SeqCst) >= self.spec.max_in_flight as u64 {
                let _ = samples.send(Sample {
                    phase,
                    offset,
                    at,
                    journey,
                    group: journey.group(),
                    user: "",
                    ok: false,
                    status: None,
                    code: Some("client_backlog".into()),
                    message: Some(format!(
                        "{} requests already in flight",
                        self.spec.max_in_flight
                    )),
                    degraded: Vec::new(),
                    latency: Duration::ZERO,
                    attempts: 0,
                    idempotent: journey != Journey::Login,
                    crossed: false,
                    lag,
                });
                continue;
            }
            let me = self.clone();
            let out = samples.clone();
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            tasks.spawn(async move {
                let mut sample = me.run(journey, phase, offset).await;
                sample.lag = lag;
                sample.at = at;
                me.in_flight.fetch_sub(1, Ordering::SeqCst);
                let _ = out.send(sample);
            });
        }
        let _ =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        tasks.abort_all();
    }

    fn reader(&self) -> &'static str {
        self.rng(|r| READERS[r.usize(0..READERS.len())])
    }

    async fn run(&self, journey: Journey, phase: usize, offset: Duration) -> Sample {
        let started = Instant::now();
        let connect = Retry::Connect(self.spec.connect_retry_for);
        let keyed = Retry::Keyed(self.spec.write_retry_for);
        let api = format!("{}/reference/api", self.entry);
        let (user, idempotent, result) = match journey {
            Journey::List => {
                let user = self.reader();
                let (table, sort) = self.rng(|r| {
                    [
                        ("grades", "name,asc"),
                        ("sites", "siteName,asc"),
                        ("trusts", "trustName,desc"),
                    ][r.usize(0..3)]
                });
                let page = self.rng(|r| r.u32(0..2));
                let url = format!("{api}/{table}?page={page}&size=20&sort={sort}");
                (user, true, self.get(user, &url, connect).await)
            }
            Journey::Search => {
                let user = self.reader();
                let term =
                    self.rng(|r| ["hosp", "royal", "general", "st", "clinic"][r.usize(0..5)]);
                let url = format!("{api}/sites?searchQuery={term}&size=20");
                (user, true, self.get(user, &url, connect).await)
            }
            Journey::Filter => {
                let user = self.reader();
                let filter = percent_encoding::utf8_percent_encode(
                    r#"{"status":["CURRENT"]}"#,
                    percent_encoding::NON_ALPHANUMERIC,
                );
                let url = format!("{api}/grades?size=50&columnFilters={filter}");
                (user, true, self.get(user, &url, connect).await)
            }
            Journey::Read => {
                let user = self.reader();
                let id = self.rng(|r| r.u32(1..=27));
                let url = format!("{api}/grades/{id}");
                (user, true, self.get(user, &url, connect).await)
            }
            Journey::Userinfo => {
                let user = self.reader();
                let url = format!("{}/profile/api/userinfo", self.entry);
                (user, true, self.get(user, &url, connect).await)
            }
            Journey::Create | Journey::Update => {
                let target = if journey == Journey::Update {
                    self.rng(|r| self.ledger.pick(r))
                } else {
                    None
                };
                let (method, body, abbreviation) = match target {
                    Some((id, abbreviation)) => {
                        let n = self.rng(|r| r.u32(..));
                        (
                            reqwest::Method::PUT,
                            grade_body(Some(id), &abbreviation, &format!("Chaos grade v{n}")),
                            None,
                        )
                    }
                    None => {
                        let abbreviation = self.ledger.next_abbreviation();
                        (
                            reqwest::Method::POST,
                            grade_body(None, &abbreviation, "Chaos grade"),
                            Some(abbreviation),
                        )
                    }
                };
                let key = uuid::Uuid::new_v4().to_string();
                let url = format!("{api}/grades");
                let result = self.keyed(method, &url, &key, Some(&body), keyed).await;
                if let Some(abbreviation) = abbreviation {
                    let id = result
                        .ok
                        .then(|| serde_json::from_slice::<serde_json::Value>(&result.body).ok())
                        .flatten()
                        .and_then(|v| v["id"].as_i64());
                    match id {
                        Some(id) => self.ledger.acknowledged(abbreviation, id),
                        None => self.ledger.unacknowledged(abbreviation),
                    }
                }
                (WRITER, true, result)
            }
            Journey::People => {
                let user = self.rng(|r| TCS_READERS[r.usize(0..TCS_READERS.len())]);
                let term = self.rng(|r| PEOPLE_TERMS[r.usize(0..PEOPLE_TERMS.len())]);
                let url = format!("{}/tcs/api/people?searchQuery={term}&size=20", self.entry);
                (user, true, self.get(user, &url, connect).await)
            }
            Journey::Person => {
                let user = self.rng(|r| TCS_READERS[r.usize(0..2)]);
                let id = self.rng(|r| r.u32(1..=DEMO_PEOPLE));
                let url = format!("{}/tcs/api/people/{id}", self.entry);
                (user, true, self.get(user, &url, connect).await)
            }
            Journey::Contact => {
                let id = self.rng(|r| r.u32(1..=DEMO_PEOPLE));
                let n = self.rng(|r| r.u32(..));
                (WRITER, true, self.update_contact(id, n, keyed).await)
            }
            Journey::PostPlacements => {
                let user = self.rng(|r| TCS_READERS[r.usize(0..2)]);
                let post = self.rng(|r| self.ledger.placements.post(r));
                let id = post.map_or(1, |p| p.id);
                let url = format!("{}/tcs/api/posts/{id}/placements", self.entry);
                (user, true, self.get(user, &url, connect).await)
            }
            Journey::Place => (WRITER, true, self.place(keyed).await),
            Journey::Close => (WRITER, true, self.close(keyed).await),
            Journey::Login => {
                let user = self.reader();
                let url = tokens::token_endpoint(&self.issuer);
                let form = tokens::login_form(user);
                // A login is not repeated for long (a person sees the error), but one sent
                // on a pooled connection the provider closed while idle is, at once, as
                // browsers do.
                let result = self
                    .send(
                        || self.http.post(&url).form(&form),
                        Retry::Connect(LOGIN_RETRY_FOR),
                    )
                    .await;
                (user, false, result)
            }
        };
        // A phase that began while the request was in flight (its fault hit it) gets it.
        let (now, _) = self.clock.now();
        let crossed = now > phase;
        let (phase, offset) = if crossed {
            (now, Duration::ZERO)
        } else {
            (phase, offset)
        };
        Sample {
            phase,
            offset,
            // Set by the caller, who knows when it was due.
            at: Duration::ZERO,
            journey,
            group: journey.group(),
            user,
            ok: result.ok,
            status: result.status,
            code: result.code,
            message: result.message,
            degraded: result.degraded,
            latency: started.elapsed(),
            attempts: result.attempts,
            idempotent,
            crossed,
            lag: Duration::ZERO,
        }
    }

    /// A person's contact details, read and written back with a new email and title: what an
    /// admin does in the person's record. One journey: its latency is both requests'.
    async fn update_contact(&self, id: u32, n: u32, retry: Retry) -> Answer {
        let api = format!("{}/tcs/api/contact-details", self.entry);
        let read = self
            .get(
                WRITER,
                &format!("{api}/{id}"),
                Retry::Connect(self.spec.connect_retry_for),
            )
            .await;
        if !read.ok {
            return read;
        }
        let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&read.body) else {
            return Answer::failed(
                read.attempts,
                read.status,
                "bad_body",
                "contact details are not JSON".into(),
            );
        };
        body["email"] = format!("chaos.{n}@example.nhs.uk").into();
        // A coded value that always changes (TCS asks Reference only about changed ones),
        // between two titles every TCS instance sees within seconds of the start.
        let title = if body["title"] == "DR" { "MR" } else { "DR" };
        body["title"] = title.into();
        let key = uuid::Uuid::new_v4().to_string();
        let mut written = self
            .keyed(reqwest::Method::PUT, &api, &key, Some(&body), retry)
            .await;
        written.attempts += read.attempts;
        written
    }

    /// A keyed write of `body` with `method` to `url` as the writer (retried as `retry` says,
    /// with the same key).
    async fn keyed(
        &self,
        method: reqwest::Method,
        url: &str,
        key: &str,
        body: Option<&serde_json::Value>,
        retry: Retry,
    ) -> Answer {
        self.send(
            || {
                let req = self
                    .http
                    .request(method.clone(), url)
                    .bearer_auth(self.tokens.get(WRITER))
                    .header("Idempotency-Key", key);
                match body {
                    Some(b) => req.json(b),
                    None => req,
                }
            },
            retry,
        )
        .await
    }

    /// A new placement of a demo trainee in a demo post, on a day of its own; recorded for
    /// the read-back. One in four, once answered, is sent again with the same key (as a
    /// client whose answer was lost would): it must answer the same placement.
    async fn place(&self, retry: Retry) -> Answer {
        let Some(post) = self.rng(|r| self.ledger.placements.post(r)) else {
            return Answer::failed(0, None, "no_posts", "no demo posts were read".into());
        };
        let trainee = self.rng(|r| r.u32(1..=DEMO_PEOPLE));
        let (tag, day) = self.ledger.placements.next();
        let body = serde_json::json!({
            "traineeId": trainee,
            "postId": post.id,
            "siteId": post.site_id,
            "siteCode": post.site_code,
            "gradeId": post.grade_id,
            "gradeAbbreviation": post.grade_code,
            "placementType": "IN_POST",
            "dateFrom": day,
            "dateTo": day,
            "wholeTimeEquivalent": 1.0,
            "trainingDescription": tag,
        });
        let key = uuid::Uuid::new_v4().to_string();
        let url = format!("{}/tcs/api/placements", self.entry);
        let mut answer = self
            .keyed(reqwest::Method::POST, &url, &key, Some(&body), retry)
            .await;
        let id_of = |a: &Answer| {
            a.ok.then(|| serde_json::from_slice::<serde_json::Value>(&a.body).ok())
                .flatten()
                .and_then(|v| v["id"].as_i64())
        };
        let Some(id) = id_of(&answer) else {
            self.ledger.placements.unacknowledged(tag);
            return answer;
        };
        self.ledger.placements.acknowledged(tag.clone(), id);
        if self.rng(|r| r.u8(0..4)) == 0 {
            let again = self
                .keyed(reqwest::Method::POST, &url, &key, Some(&body), retry)
                .await;
            answer.attempts += again.attempts;
            match id_of(&again) {
                Some(other) if other != id => self.ledger.placements.replayed_elsewhere(format!(
                    "placement {tag}: sent again with its key, answered id {other}, not {id}"
                )),
                Some(_) => {}
                // The second answer failed: the request counts as failed, the placement
                // stays acknowledged (the first answer said so).
                None => return again,
            }
        }
        answer
    }

    /// A current demo placement closed (each once; without one left, a post's placements
    /// are read instead).
    async fn close(&self, retry: Retry) -> Answer {
        let Some(id) = self.rng(|r| self.ledger.placements.to_close(r)) else {
            let url = format!("{}/tcs/api/posts/1/placements", self.entry);
            return self.get(WRITER, &url, retry).await;
        };
        let key = uuid::Uuid::new_v4().to_string();
        let url = format!("{}/tcs/api/placements/{id}/close", self.entry);
        self.keyed(reqwest::Method::PUT, &url, &key, None, retry)
            .await
    }

    async fn get(&self, user: &'static str, url: &str, retry: Retry) -> Answer {
        self.send(
            || self.http.get(url).bearer_auth(self.tokens.get(user)),
            retry,
        )
        .await
    }

    async fn send(&self, make: impl Fn() -> reqwest::RequestBuilder, retry: Retry) -> Answer {
        let started = Instant::now();
        let mut attempts = 0;
        let mut pause = Duration::from_millis(50);
        loop {
            attempts += 1;
            let window = match retry {
                Retry::Connect(d) | Retry::Keyed(d) => d,
            };
            let may_retry = started.elapsed() + pause < window;
            match make().send().await {
                Err(e) if e.is_timeout() => {
                    return Answer::failed(attempts, None, "timeout", e.to_string());
                }
                Err(e) => {
                    if !may_retry {
                        return Answer::failed(attempts, None, "connect", error_chain(&e));
                    }
                }
                Ok(res) => {
                    let status = res.status().as_u16();
                    let retryable = matches!(status, 429 | 502 | 503 | 504);
                    if !(retryable && may_retry && matches!(retry, Retry::Keyed(_))) {
                        return Answer::from_response(attempts, res).await;
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// Who reads trainee records: the first two see every demo trainee, the trust admin and the
/// observer only theirs.
const TCS_READERS: &[&str] = &["admin", "sensitive", "trust.admin", "observer"];
/// How many trainees `tis up`'s demo data has (`tis_tcs::demo::DEMO_PEOPLE`), ids from 1.
const DEMO_PEOPLE: u32 = 3_000;
/// What people search for: the first letters of common surnames of the demo data.
const PEOPLE_TERMS: &[&str] = &[
    "smi", "jon", "pat", "kha", "wil", "bro", "tay", "ali", "sha", "dav",
];

/// A grade of ours (`abbreviation` is unique per create).
fn grade_body(id: Option<i64>, abbreviation: &str, name: &str) -> serde_json::Value {
    let mut body = serde_json::json!({
        "abbreviation": abbreviation,
        "name": name,
        "label": "Chaos",
        "trainingGrade": true,
        "postGrade": false,
        "placementGrade": false,
        "status": "CURRENT",
    });
    if let Some(id) = id {
        body["id"] = id.into();
    }
    body
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One request's final answer.
struct Answer {
    ok: bool,
    status: Option<u16>,
    code: Option<String>,
    message: Option<String>,
    degraded: Vec<String>,
    attempts: u32,
    body: Vec<u8>,
}

impl Answer {
    fn failed(attempts: u32, status: Option<u16>, code: &str, message: String) -> Answer {
        Answer {
            ok: false,
            status,
            code: Some(code.to_owned()),
            message: Some(message),
            degraded: Vec::new(),
            attempts,
            body: Vec::new(),
        }
    }

    async fn from_response(attempts: u32, res: reqwest::Response) -> Answer {
        let status = res.status();
        let degraded = parse_degraded(
            res.headers()
                .get("tis-degraded")
                .and_then(|v| v.to_str().ok()),
        );
        let body = match res.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => {
                return Answer::failed(attempts, Some(status.as_u16()), "connect", error_chain(&e));
            }
        };
        if status.is_success() {
            return Answer {
                ok: true,
                status: Some(status.as_u16()),
                code: None,
                message: None,
                degraded,
                attempts,
                body,
            };
        }
        let (code, message) = error_code(status.as_u16(), &body);
        Answer {
            ok: false,
            status: Some(status.as_u16()),
            code: Some(code),
            message: Some(message),
            degraded,
            attempts,
            body,
        }
    }
}

/// The names in a `TIS-Degraded` header.
pub fn parse_degraded(header: Option<&str>) -> Vec<String> {
    header
        .map(|h| {
            h.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The error code and message of a failed answer: TIS's `{"error":{"code","message"}}`, an
/// OAuth `{"error","error_description"}`, or `http_<status>`.
pub fn error_code(status: u16, body: &[u8]) -> (String, String) {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if let Some(code) = json["error"]["code"].as_str() {
        let message = json["error"]["message"].as_str().unwrap_or_default();
        return (code.to_owned(), message.to_owned());
    }
    if let Some(code) = json["error"].as_str() {
        let message = json["error_description"].as_str().unwrap_or_default();
        return (code.to_owned(), message.to_owned());
    }
    let text = String::from_utf8_lossy(body);
    (
        format!("http_{status}"),
        text.chars().take(200).collect::<String>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journeys_are_picked_by_weight() {
        let mix = Mix {
            list: 2,
            search: 0,
            filter: 0,
            read: 1,
            userinfo: 0,
            create: 0,
            update: 0,
            login: 1,
            people: 0,
            person: 1,
            contact: 0,
            post_placements: 0,
            place: 0,
            close: 0,
        };
        let picked: Vec<Journey> = (0..mix.total()).map(|r| Journey::pick(&mix, r)).collect();
        assert_eq!(
            picked,
            [
                Journey::List,
                Journey::List,
                Journey::Read,
                Journey::Login,
                Journey::Person
            ]
        );
    }

    #[test]
    fn error_codes_come_from_the_body_or_the_status() {
        let tis = br#"{"error":{"code":"service_unavailable","message":"no instance","requestId":"x","degraded":[]}}"#;
        assert_eq!(
            error_code(503, tis),
            ("service_unavailable".into(), "no instance".into())
        );
        let oauth = br#"{"error":"invalid_grant","error_description":"bad password"}"#;
        assert_eq!(error_code(400, oauth).0, "invalid_grant");
        assert_eq!(error_code(502, b"<html>bad gateway</html>").0, "http_502");
    }

    #[test]
    fn degraded_names_are_split_and_trimmed() {
        assert_eq!(
            parse_degraded(Some("idp, profile-stale")),
            ["idp", "profile-stale"]
        );
        assert!(parse_degraded(None).is_empty());
        assert!(parse_degraded(Some(" ")).is_empty());
    }
}
