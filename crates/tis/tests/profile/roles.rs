//! A role removed from a user in Profile stops granting access at the gateway within the
//! fresh window (plus the gateway's per-token principal reuse, scaled down with it here).
//!
//! `GET /profile/api/roles` needs `profile:view:entities`, which `ProfileObserver` grants and
//! `HEE` does not. Profile decides from the `TIS-Principal` the gateway minted from its
//! cached profile, so the test sees the gateway's cache, not Profile's database.

use std::time::Duration;

use tokio::time::Instant;

use crate::support::{System, error_code, short_windows};

const FRESH: Duration = Duration::from_secs(3);
const REUSE: Duration = Duration::from_millis(500);
/// One refresh call, and the poll interval.
const SLACK: Duration = Duration::from_millis(1500);
const GUARDED: &str = "/profile/api/roles?size=1";

#[tokio::test]
async fn a_removed_role_stops_granting_access_at_the_gateway_within_the_fresh_window() {
    let env = short_windows(FRESH, REUSE);
    let user = "role.viewer".to_owned();
    let sys = System::start(std::slice::from_ref(&user), &["ProfileObserver"], &env).await;
    let token = sys.token(&user).await;
    let res = sys.get(GUARDED, &token).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );

    sys.set_roles(&user, &["HEE"]).await;
    let changed = Instant::now();
    let denied = loop {
        let res = sys.get(GUARDED, &token).await;
        match res.status().as_u16() {
            200 => {}
            403 => break Instant::now(),
            other => panic!("{other}: {}", res.text().await.unwrap_or_default()),
        }
        assert!(
            changed.elapsed() < FRESH + REUSE + SLACK * 4,
            "the removed role still grants access after {:?}",
            changed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = denied.duration_since(changed);
    eprintln!(
        "the removed role stopped granting access after {took:?} (fresh window {FRESH:?}, principal reuse {REUSE:?})"
    );
    assert!(
        took <= FRESH + REUSE + SLACK,
        "took {took:?}, more than the fresh window {FRESH:?} + principal reuse {REUSE:?}"
    );
    // And it stays denied, with Profile's permission error.
    for _ in 0..5 {
        let (status, code, _) = error_code(sys.get(GUARDED, &token).await).await;
        assert_eq!(status, 403, "{code}");
    }
}
