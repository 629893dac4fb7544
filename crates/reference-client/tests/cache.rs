//! The cache's timeline on tokio's paused clock, against a scripted Reference: freshness,
//! stale-while-revalidate, stale-if-error and its bound, single-flight across overlapping
//! batches, batching, negative answers, the caller's deadline, invalidation, and the rule
//! writes follow (`settle`).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::json;
use tis_core::context::RequestContext;
use tis_core::trace_context::TraceContext;
use tis_reference_client::cache::{Known, Want};
use tis_reference_client::{
    Answer, Answers, By, Credential, Fetch, FetchFailure, Fetched, Lookup, Question, RefType,
    ReferenceClient, ReferenceClientConfig,
};
use tokio::time::{Instant, advance};

/// A scripted Reference: the codes it has, whether it is up, how long a call takes, and
/// every call it got (the keys asked, in order).
#[derive(Default)]
struct Script {
    codes: Mutex<BTreeSet<String>>,
    down: AtomicBool,
    delay: Mutex<Duration>,
    calls: Mutex<Vec<Vec<String>>>,
    credentials: Mutex<Vec<Option<Credential>>>,
}

impl Script {
    fn with(codes: &[&str]) -> Arc<Self> {
        let s = Script::default();
        s.codes
            .lock()
            .expect("lock")
            .extend(codes.iter().map(|c| (*c).to_owned()));
        Arc::new(s)
    }

    fn add(&self, code: &str) {
        self.codes.lock().expect("lock").insert(code.to_owned());
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn set_delay(&self, d: Duration) {
        *self.delay.lock().expect("lock") = d;
    }

    fn calls(&self) -> Vec<Vec<String>> {
        self.calls.lock().expect("lock").clone()
    }
}

impl Fetch for Script {
    fn fetch(
        &self,
        q: Question,
        keys: Vec<Arc<str>>,
        credential: Option<Credential>,
    ) -> BoxFuture<'static, Result<Answers, FetchFailure>> {
        self.calls
            .lock()
            .expect("lock")
            .push(keys.iter().map(|k| k.to_string()).collect());
        self.credentials.lock().expect("lock").push(credential);
        let down = self.down.load(Ordering::SeqCst);
        let codes = self.codes.lock().expect("lock").clone();
        let delay = *self.delay.lock().expect("lock");
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            if down {
                return Err(FetchFailure("connection refused".into()));
            }
            let answers: HashMap<Arc<str>, Fetched> = keys
                .into_iter()
                .map(|k| {
                    let known = match (codes.contains(&*k), q.want) {
                        (false, _) => Known::Missing,
                        (true, Want::Exists) => Known::Exists,
                        (true, Want::Record) => {
                            Known::Record(Arc::new(json!({"code": &*k, "label": "L"})))
                        }
                    };
                    (k, Fetched { known, bytes: 30 })
                })
                .collect();
            Ok(answers)
        })
    }
}

fn client_with(
    script: &Arc<Script>,
    tweak: impl FnOnce(&mut ReferenceClientConfig),
) -> ReferenceClient {
    let mut cfg = ReferenceClientConfig::default();
    tweak(&mut cfg);
    ReferenceClient::with_fetch(&cfg, script.clone()).expect("client")
}

fn client(script: &Arc<Script>) -> ReferenceClient {
    client_with(script, |_| {})
}

async fn answer(c: &ReferenceClient, code: &str) -> Answer {
    *c.codes_exist(RefType::DBCS, [code], None)
        .await
        .get(code)
        .expect("asked")
}

/// Lets every spawned task (calls, background refreshes) run as far as it can.
async fn run_tasks() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

const FRESH: Answer = Answer::Exists { stale: false };
const STALE: Answer = Answer::Exists { stale: true };

/// Runs `f` inside a request context, and returns its output and the request's marks.
async fn in_request<F: Future>(deadline: Option<Instant>, f: F) -> (F::Output, Vec<String>) {
    let ctx = RequestContext::new("req".into(), TraceContext::new_root(), deadline);
    let out = ctx.clone().scope(f).await;
    (out, ctx.degraded())
}

#[tokio::test(start_paused = true)]
async fn a_confirmed_code_is_answered_from_memory_for_sixty_seconds() {
    let script = Script::with(&["1-A"]);
    let c = client(&script);
    assert_eq!(answer(&c, "1-A").await, FRESH);
    advance(Duration::from_secs(59)).await;
    assert_eq!(answer(&c, "1-A").await, FRESH);
    assert_eq!(script.calls().len(), 1);
    let stats = c.stats();
    assert_eq!((stats.misses, stats.hits, stats.calls), (1, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn after_sixty_seconds_it_is_answered_at_once_and_refreshed_once_in_the_background() {
    let script = Script::with(&["1-A"]);
    let c = client(&script);
    answer(&c, "1-A").await;
    script.set_delay(Duration::from_secs(1));
    advance(Duration::from_secs(61)).await;
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(answer(&c, "1-A").await, FRESH, "not degraded");
    }
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "nobody waited for Reference"
    );
    run_tasks().await;
    assert_eq!(
        script.calls().len(),
        2,
        "one background refresh for five questions"
    );
    advance(Duration::from_secs(2)).await;
    run_tasks().await;
    assert_eq!(answer(&c, "1-A").await, FRESH);
    assert_eq!(script.calls().len(), 2, "the refresh made it fresh again");
    assert_eq!(c.stats().revalidations, 5);
}

#[tokio::test(start_paused = true)]
async fn while_reference_is_down_a_confirmed_code_is_used_stale_for_twelve_hours_then_unknown() {
    let script = Script::with(&["1-A"]);
    let c = client(&script);
    answer(&c, "1-A").await;
    script.set_down(true);

    advance(Duration::from_secs(12 * 60)).await;
    assert_eq!(answer(&c, "1-A").await, STALE, "asked first, failed: stale");
    assert_eq!(
        answer(&c, "1-A").await,
        STALE,
        "right after a failure: not asked"
    );
    assert_eq!(script.calls().len(), 2);

    advance(Duration::from_secs(12 * 3600 - 12 * 60 - 1)).await;
    assert_eq!(answer(&c, "1-A").await, STALE, "still within the bound");
    advance(Duration::from_secs(1)).await;
    assert_eq!(answer(&c, "1-A").await, Answer::Unknown, "past the bound");

    script.set_down(false);
    advance(Duration::from_secs(2)).await;
    assert_eq!(answer(&c, "1-A").await, FRESH, "Reference is back");
}

#[tokio::test(start_paused = true)]
async fn a_failed_background_refresh_makes_the_next_answers_stale_until_one_succeeds() {
    let script = Script::with(&["1-A"]);
    let c = client(&script);
    answer(&c, "1-A").await;
    script.set_down(true);
    advance(Duration::from_secs(61)).await;
    assert_eq!(answer(&c, "1-A").await, FRESH, "used while it is refreshed");
    run_tasks().await;
    assert_eq!(answer(&c, "1-A").await, STALE, "the refresh failed");
    script.set_down(false);
    advance(Duration::from_secs(2)).await;
    assert_eq!(
        answer(&c, "1-A").await,
        STALE,
        "used at once, refreshed again"
    );
    run_tasks().await;
    assert_eq!(answer(&c, "1-A").await, FRESH);
}

#[tokio::test(start_paused = true)]
async fn a_code_never_confirmed_is_unknown_while_reference_is_down_and_settling_refuses_it() {
    let script = Script::with(&["1-A", "1-B"]);
    let c = client(&script);
    answer(&c, "1-A").await;
    script.set_down(true);
    let (checked, marks) = in_request(None, async {
        let checked = c.codes_exist(RefType::DBCS, ["1-A", "1-B"], None).await;
        let err = checked.settle().expect_err("1-B is unknown");
        let http = tis_core::HttpError::from(err.clone());
        (checked, (err, http))
    })
    .await;
    let (checked, (err, http)) = checked;
    assert_eq!(checked.get("1-A"), Some(&FRESH));
    assert_eq!(checked.get("1-B"), Some(&Answer::Unknown));
    assert_eq!(checked.unknown(), ["1-B"]);
    assert!(err.what.contains("dbcs codes 1-B"), "{err}");
    assert!(err.cause.contains("connection refused"), "{err}");
    assert_eq!(
        (http.status.as_u16(), http.code.as_ref()),
        (503, "dependency_unavailable")
    );
    assert_eq!(marks, ["dependency-reference"]);
}

#[tokio::test(start_paused = true)]
async fn settling_on_a_stale_snapshot_works_and_marks_the_request_reference_stale() {
    let script = Script::with(&["1-A"]);
    let c = client(&script);
    c.codes_exist(RefType::DBCS, ["1-A", "NOPE"], None).await;
    script.set_down(true);
    advance(Duration::from_secs(20 * 60)).await;
    let (missing, marks) = in_request(None, async {
        let checked = c.codes_exist(RefType::DBCS, ["1-A"], None).await;
        checked.settle().map(|m| m.len())
    })
    .await;
    assert_eq!(missing, Ok(0));
    assert_eq!(marks, ["reference-stale"]);

    let (fresh, marks) = in_request(None, async {
        script.set_down(false);
        advance(Duration::from_secs(2)).await;
        let checked = c.codes_exist(RefType::DBCS, ["1-A", "NOPE"], None).await;
        checked.settle().map(|m| m.join(","))
    })
    .await;
    assert_eq!(fresh.as_deref(), Ok("NOPE"));
    assert!(marks.is_empty(), "{marks:?}");
}

#[tokio::test(start_paused = true)]
async fn a_no_is_not_remembered_so_a_code_created_a_moment_later_is_found() {
    let script = Script::with(&[]);
    let c = client(&script);
    assert_eq!(answer(&c, "NEW").await, Answer::Missing);
    script.add("NEW");
    assert_eq!(answer(&c, "NEW").await, FRESH);
    script.set_down(true);
    advance(Duration::from_secs(3600)).await;
    assert_eq!(answer(&c, "NEW").await, STALE);
}

#[tokio::test(start_paused = true)]
async fn a_no_is_remembered_for_negative_for_when_set_and_never_used_stale() {
    let script = Script::with(&[]);
    let c = client_with(&script, |c| c.negative_for = Duration::from_secs(5));
    assert_eq!(answer(&c, "X").await, Answer::Missing);
    assert_eq!(answer(&c, "X").await, Answer::Missing);
    assert_eq!(script.calls().len(), 1);
    script.set_down(true);
    advance(Duration::from_secs(5)).await;
    assert_eq!(answer(&c, "X").await, Answer::Unknown);
}

#[tokio::test(start_paused = true)]
async fn a_yes_that_turns_into_a_no_is_forgotten() {
    let script = Script::with(&["GONE"]);
    let c = client(&script);
    answer(&c, "GONE").await;
    script.codes.lock().expect("lock").clear();
    advance(Duration::from_secs(11 * 60)).await;
    assert_eq!(answer(&c, "GONE").await, Answer::Missing);
    script.set_down(true);
    advance(Duration::from_secs(2)).await;
    assert_eq!(
        answer(&c, "GONE").await,
        Answer::Unknown,
        "the old yes is not used stale"
    );
}

#[tokio::test(start_paused = true)]
async fn overlapping_questions_share_one_call_per_code() {
    let script = Script::with(&["A", "B", "C"]);
    script.set_delay(Duration::from_secs(1));
    let c = client(&script);
    let first = tokio::spawn({
        let c = c.clone();
        async move { c.codes_exist(RefType::DBCS, ["A", "B"], None).await }
    });
    run_tasks().await;
    let second = tokio::spawn({
        let c = c.clone();
        async move { c.codes_exist(RefType::DBCS, ["B", "C", "C"], None).await }
    });
    run_tasks().await;
    let many: Vec<_> = (0..50)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.codes_exist(RefType::DBCS, ["A"], None).await })
        })
        .collect();
    run_tasks().await;
    advance(Duration::from_secs(2)).await;
    let first = first.await.expect("first");
    let second = second.await.expect("second");
    for m in many {
        assert_eq!(m.await.expect("joined").get("A"), Some(&FRESH));
    }
    assert_eq!(first.get("B"), Some(&FRESH));
    assert_eq!(second.get("B"), Some(&FRESH));
    assert_eq!(second.iter().count(), 2, "asked once each");
    assert_eq!(script.calls(), [vec!["A", "B"], vec!["C"]]);
    assert_eq!(c.stats().singleflight_joins, 51);
}

#[tokio::test(start_paused = true)]
async fn a_large_question_is_asked_in_batches_of_max_batch() {
    let codes: Vec<String> = (0..25).map(|i| format!("C{i:02}")).collect();
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let script = Script::with(&refs);
    let c = client_with(&script, |c| c.max_batch = 10);
    let checked = c.codes_exist(RefType::GRADES, &codes, None).await;
    assert!(checked.missing().is_empty() && checked.unknown().is_empty());
    let sizes: Vec<usize> = script.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5]);
}

#[tokio::test(start_paused = true)]
async fn a_caller_waits_no_longer_than_its_deadline_and_the_call_still_fills_the_cache() {
    let script = Script::with(&["A"]);
    script.set_delay(Duration::from_secs(3));
    let c = client(&script);
    let deadline = Instant::now() + Duration::from_secs(1);
    let (got, _) = in_request(Some(deadline), async {
        c.codes_exist(RefType::DBCS, ["A"], None).await
    })
    .await;
    assert_eq!(got.get("A"), Some(&Answer::Unknown));
    assert_eq!(Instant::now(), deadline);
    advance(Duration::from_secs(3)).await;
    run_tasks().await;
    script.set_delay(Duration::ZERO);
    assert_eq!(answer(&c, "A").await, FRESH);
    assert_eq!(
        script.calls().len(),
        1,
        "the abandoned call's answer was kept"
    );
}

#[tokio::test(start_paused = true)]
async fn the_forwarded_credential_is_the_one_of_the_question_that_started_the_call() {
    let script = Script::with(&["A"]);
    let c = client(&script);
    let cred = Credential::Principal(Arc::from("signed.principal"));
    c.codes_exist(RefType::DBCS, ["A"], Some(&cred)).await;
    assert_eq!(
        script.credentials.lock().expect("lock").clone(),
        vec![Some(cred)]
    );
}

#[tokio::test(start_paused = true)]
async fn records_are_cached_apart_from_existence_and_used_stale_like_it() {
    let script = Script::with(&["F1"]);
    let c = client(&script);
    let found = c.record_by_code(RefType::GRADES, "F1", None).await;
    assert_eq!(
        found,
        Lookup::Found {
            record: Arc::new(json!({"code": "F1", "label": "L"})),
            stale: false
        }
    );
    assert_eq!(
        c.record_by_code(RefType::GRADES, "ST9", None).await,
        Lookup::Missing
    );
    script.set_down(true);
    advance(Duration::from_secs(3600)).await;
    let stale = c.record_by_code(RefType::GRADES, "F1", None).await;
    assert_eq!(stale.answer(), STALE);
    assert_eq!(stale.record().map(|r| r["code"].clone()), Some(json!("F1")));
    assert_eq!(
        answer(&c, "F1").await,
        Answer::Unknown,
        "existence of a dbc is another question"
    );
    let by_id = c.records(RefType::GRADES, By::Id, ["7"], None).await;
    assert_eq!(by_id.get("7"), Some(&Lookup::Unknown));
}

#[tokio::test(start_paused = true)]
async fn invalidating_a_type_makes_its_next_question_ask_reference() {
    let script = Script::with(&["A"]);
    let c = client(&script);
    answer(&c, "A").await;
    c.codes_exist(RefType::GRADES, ["A"], None).await;
    c.invalidate(RefType::DBCS);
    answer(&c, "A").await;
    c.codes_exist(RefType::GRADES, ["A"], None).await;
    assert_eq!(script.calls().len(), 3, "only dbcs were asked again");
}
