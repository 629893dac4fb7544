//! Every Profile instance killed (`kill -9`, held down) under a steady load from 50 users the
//! gateway has seen: all their requests still succeed, marked `TIS-Degraded: profile-stale`
//! once their cached profiles are past the fresh window; a user never seen gets 503
//! `authorisation_unavailable`; once Profile is back, answers are fresh again within the
//! fresh window.

use std::time::Duration;

use tis_testkit::up::TisUp;
use tokio::time::Instant;

use crate::support::{Load, READ_PATH, System, error_code, failures, short_windows};

/// The gateway's fresh window for profiles, short so that the test walks past it.
const FRESH: Duration = Duration::from_secs(3);
/// The gateway's reuse of a resolved principal per token (10 s by default), scaled down with
/// the fresh window: it adds to how long an old answer can be handed out.
const REUSE: Duration = Duration::from_millis(500);
/// Time for the one background refresh per user that discovers the outage.
const GRACE: Duration = Duration::from_secs(2);
const USERS: usize = 50;
/// Each user's pause between requests: 50 users, about 250 requests a second in all.
const EVERY: Duration = Duration::from_millis(200);

#[tokio::test]
async fn profile_down_seen_users_are_served_stale_a_new_user_gets_503_and_fresh_answers_return() {
    let env = short_windows(FRESH, REUSE);
    let names: Vec<String> = (0..=USERS).map(|i| format!("load.user.{i:02}")).collect();
    let sys = System::start(&names, &["HEE Admin"], &env).await;
    let tokens = sys.tokens(&names).await;
    let (seen, unseen) = tokens.split_at(USERS);

    let load = Load::start(&sys, seen, EVERY);
    let start = Instant::now();
    load.until_each(USERS, "every user answered once", |s| {
        s.at >= start && s.status == 200
    })
    .await;

    // Every Profile instance down, and kept down.
    let state = sys.state().await;
    for name in ["profile-1", "profile-2"] {
        sys.up.hold(name);
        TisUp::kill9(TisUp::pid_of(&state, name));
    }
    let killed = Instant::now();
    sys.up
        .state_when("the supervisor to see Profile down", |s| {
            !s["processes"]["profile-1"].is_object() && !s["processes"]["profile-2"].is_object()
        })
        .await;

    // A user the gateway never saw cannot be authorised: 503, not a 403, never a 500.
    let (status, code, retry_after) = error_code(sys.get(READ_PATH, &unseen[0]).await).await;
    assert_eq!((status, code.as_str()), (503, "authorisation_unavailable"));
    assert!(retry_after.is_some(), "a 503 says when to retry");

    // The outage lasts until every user has been served stale well past the fresh window.
    let settled = killed + FRESH + REUSE + GRACE;
    load.until_each(USERS, "stale answers for every user", |s| {
        s.at >= settled + Duration::from_secs(2) && s.stale()
    })
    .await;
    let released = Instant::now();
    for name in ["profile-1", "profile-2"] {
        sys.up.release(name);
    }
    sys.up
        .state_when("Profile restarted", |s| {
            TisUp::has(s, &["profile-1", "profile-2"])
        })
        .await;
    sys.registered(2).await;
    let back = Instant::now();
    load.until_each(USERS, "answers after the fresh window", |s| {
        s.at >= back + FRESH
    })
    .await;
    let samples = load.stop().await;

    let all: Vec<_> = samples.iter().collect();
    assert!(
        all.iter().all(|s| s.status == 200),
        "every request of a user seen before succeeds; failures: {:?}\n{}",
        failures(&all),
        sys.log_matching(&["warn"])
    );
    let outage: Vec<_> = all
        .iter()
        .filter(|s| s.at >= settled && s.at < released)
        .collect();
    let unmarked = outage.iter().filter(|s| !s.stale()).count();
    assert_eq!(
        unmarked,
        0,
        "{unmarked} of {} answers during the outage were not marked profile-stale",
        outage.len()
    );
    let after: Vec<_> = all.iter().filter(|s| s.at >= back + FRESH).collect();
    let still_stale = after.iter().filter(|s| s.stale()).count();
    assert_eq!(
        still_stale,
        0,
        "{still_stale} of {} answers a fresh window after Profile came back were still stale",
        after.len()
    );
    let recovered = all
        .iter()
        .filter(|s| s.at >= back && s.stale())
        .map(|s| s.at.duration_since(back))
        .max()
        .unwrap_or_default();
    eprintln!(
        "{} requests from {USERS} users; {} during the outage ({:.1}s held down), all 200 and \
         marked profile-stale; last stale answer {:.2}s after Profile was back (fresh window {:?})",
        all.len(),
        outage.len(),
        released.duration_since(killed).as_secs_f64(),
        recovered.as_secs_f64(),
        FRESH
    );
}
