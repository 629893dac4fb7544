//! 1,000 concurrent first requests from one user the gateway has never seen make exactly one
//! `/userinfo` call to Profile, counted by Profile itself (`http_server_requests_total` of
//! both instances) and by the gateway's profile client (`profile_fetches_total`).
//!
//! So that the requests are really concurrent at the cache (not most of them arriving after
//! the one call has answered), both Profile instances are frozen (SIGSTOP) while the burst
//! comes in, and thawed once all 1,000 requests are waiting for the profile.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tis_testkit::up::TisUp;
use tis_testkit::wait;
use tokio::sync::Barrier;

use crate::support::{READ_PATH, System};

const CONCURRENT: usize = 1000;

/// Processes stopped with SIGSTOP, continued when dropped (also when the test fails).
struct Frozen(Vec<i32>);

impl Frozen {
    fn freeze(pids: Vec<i32>) -> Frozen {
        for &pid in &pids {
            kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("SIGSTOP");
        }
        Frozen(pids)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
        }
    }
}

#[tokio::test]
async fn a_thousand_concurrent_first_requests_of_one_user_make_one_userinfo_call() {
    let env = [
        // The gateway's bulkhead for Reference (256 calls in flight by default) would shed
        // part of the burst with 503 `overloaded` after authorisation: widen it, so that every
        // one of the 1,000 requests is answered by Reference.
        (
            "TIS_GATEWAY__SERVICES__REFERENCE__MESH__MAX_CONCURRENCY",
            CONCURRENT.to_string(),
        ),
        // The one call waits while Profile is frozen: give it time for the burst to arrive.
        ("TIS_GATEWAY__PROFILES__CLIENT__TIMEOUT", "30s".to_owned()),
        (
            "TIS_GATEWAY__PROFILES__CLIENT__MESH__PER_TRY_TIMEOUT",
            "30s".to_owned(),
        ),
    ];
    let user = "first.timer".to_owned();
    let sys = System::start(std::slice::from_ref(&user), &["HEE Admin"], &env).await;
    let token = sys.token(&user).await;

    let calls_before = sys.userinfo_calls().await;
    let fetches_before = sys
        .gateway_metric("profile_fetches_total", &["outcome=\"profile\""])
        .await;
    let joins_before = sys
        .gateway_metric("profile_cache_singleflight_joins_total", &[])
        .await;
    let state = sys.state().await;
    let frozen = Frozen::freeze(vec![
        TisUp::pid_of(&state, "profile-1"),
        TisUp::pid_of(&state, "profile-2"),
    ]);

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENT)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let barrier = Arc::new(Barrier::new(CONCURRENT));
    let url = sys.url(READ_PATH);
    let tasks: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let (http, barrier, url, token) =
                (http.clone(), barrier.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                match http.get(&url).bearer_auth(&token).send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let body = res.text().await.unwrap_or_default();
                        (status, body)
                    }
                    Err(e) => (0, e.to_string()),
                }
            })
        })
        .collect();
    // Every request but the one that called is waiting on that call.
    wait::until(
        "every request waiting for the one /userinfo call",
        Duration::from_secs(20),
        Duration::from_millis(25),
        || async {
            let joins = sys
                .gateway_metric("profile_cache_singleflight_joins_total", &[])
                .await;
            (joins - joins_before >= (CONCURRENT - 1) as f64).then_some(())
        },
    )
    .await
    .expect("the burst arrived");
    drop(frozen);

    let mut bad = Vec::new();
    for t in tasks {
        let (status, body) = t.await.expect("request task");
        if status != 200 {
            bad.push(format!("{status} {body}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {CONCURRENT} failed: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );

    let calls = sys.userinfo_calls().await - calls_before;
    let fetches = sys
        .gateway_metric("profile_fetches_total", &["outcome=\"profile\""])
        .await
        - fetches_before;
    let joins = sys
        .gateway_metric("profile_cache_singleflight_joins_total", &[])
        .await
        - joins_before;
    eprintln!(
        "{CONCURRENT} concurrent first requests: {calls} /userinfo call(s) at Profile, {fetches} \
         fetch(es) by the gateway, {joins} requests joined the call in flight"
    );
    assert_eq!(calls, 1, "/userinfo calls Profile served");
    assert_eq!(fetches, 1.0, "profile fetches the gateway made");
}
