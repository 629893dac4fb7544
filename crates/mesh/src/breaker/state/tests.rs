use super::*;

const S: Duration = Duration::from_secs(1);

fn breaker(now: Instant) -> BreakerState {
    BreakerState::new(BreakerConfig::default(), &BalancerConfig::default(), S, now)
}

fn until(b: &BreakerState) -> Instant {
    match b.phase {
        Phase::Open { until } => until,
        other => panic!("expected open, got {other:?}"),
    }
}

#[test]
fn three_failures_in_a_row_trip_the_breaker_and_a_success_between_resets_the_count() {
    let t = Instant::now();
    let mut b = breaker(t);
    // Enough successes that the success rate stays above 80 % throughout.
    for _ in 0..20 {
        b.record(t, Outcome::Success, false, None);
    }
    b.record(t, Outcome::Failure, false, None);
    b.record(t, Outcome::Failure, false, None);
    b.record(t, Outcome::Success, false, None);
    b.record(t, Outcome::Failure, false, None);
    b.record(t, Outcome::Failure, false, None);
    assert_eq!(b.state(), EndpointState::Ready);
    b.record(t, Outcome::Failure, false, None);
    assert_eq!(b.state(), EndpointState::Ejected);
    assert_eq!(b.admit(t), Admit::No(Some(until(&b))));
}

#[test]
fn a_success_rate_under_80_percent_over_five_responses_trips_the_breaker() {
    let t = Instant::now();
    let mut b = breaker(t);
    // 3 successes and 2 failures, never two failures in a row: 60 %.
    for ok in [true, false, true, false] {
        let outcome = if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        b.record(t, outcome, false, None);
    }
    assert_eq!(b.state(), EndpointState::Ready, "only 4 responses so far");
    b.record(t, Outcome::Success, false, None);
    b.record(t, Outcome::Failure, false, None);
    assert_eq!(b.state(), EndpointState::Ejected);
}

#[test]
fn probation_starts_near_one_second_and_doubles_after_each_failed_probe_up_to_a_minute() {
    let t = Instant::now();
    let mut b = breaker(t);
    for _ in 0..3 {
        b.record(t, Outcome::Failure, false, None);
    }
    let mut now = t;
    let mut expected = 1.0f64;
    for _ in 0..10 {
        let wait = until(&b).duration_since(now).as_secs_f64();
        assert!(
            wait >= expected * 0.9 - 1e-9 && wait <= (expected * 1.1).min(60.0) + 1e-9,
            "waited {wait}, expected about {expected}"
        );
        now = until(&b);
        assert_eq!(b.admit(now), Admit::Probe);
        assert!(b.start_probe());
        b.record(now, Outcome::Failure, true, None);
        expected = (expected * 2.0).min(60.0);
    }
    assert!(until(&b).duration_since(now) <= Duration::from_secs(60));
}

#[test]
fn half_open_lets_exactly_one_probe_through_and_its_success_closes_the_breaker() {
    let t = Instant::now();
    let mut b = breaker(t);
    for _ in 0..3 {
        b.record(t, Outcome::Failure, false, None);
    }
    let later = until(&b);
    assert_eq!(b.admit(later), Admit::Probe);
    assert_eq!(b.admit(later), Admit::No(None), "one probe only");
    assert!(
        b.is_available(later),
        "a reserved probe counts as available: its holder will send it"
    );
    assert!(b.start_probe());
    assert!(!b.is_available(later));
    assert!(!b.allows_unprobed());
    b.record(later, Outcome::Success, true, None);
    assert_eq!(b.state(), EndpointState::Ready);
    assert_eq!(b.admit(later), Admit::Yes);
}

#[test]
fn a_cancelled_probe_frees_the_slot_for_another() {
    let t = Instant::now();
    let mut b = breaker(t);
    for _ in 0..3 {
        b.record(t, Outcome::Failure, false, None);
    }
    let later = until(&b);
    assert_eq!(b.admit(later), Admit::Probe);
    assert!(b.start_probe());
    b.record(later, Outcome::Ignored, true, None);
    assert_eq!(b.admit(later), Admit::Probe);
}

#[test]
fn health_checks_confirm_both_ways() {
    let t = Instant::now();
    let mut b = breaker(t);
    b.on_check(t, false, "503".into());
    assert_eq!(b.state(), EndpointState::Ejected, "a failed check trips");
    // Still failing: kept out at least until the next check.
    let near_end = until(&b) - Duration::from_millis(1);
    b.on_check(near_end, false, "503".into());
    assert!(until(&b) >= near_end + S);
    // Passing: probation early, then closed by the next pass.
    b.on_check(near_end, true, "200".into());
    assert_eq!(b.state(), EndpointState::Probation);
    b.on_check(near_end, true, "200".into());
    assert_eq!(b.state(), EndpointState::Ready);
    assert_eq!(b.last_check.as_ref().map(|c| c.ok), Some(true));
}

#[test]
fn a_passing_check_sent_before_the_breaker_tripped_does_not_reopen_it() {
    let t = Instant::now();
    let mut b = breaker(t);
    let sent = t;
    let tripped = t + Duration::from_millis(5);
    for _ in 0..3 {
        b.record(tripped, Outcome::Failure, false, None);
    }
    assert_eq!(b.state(), EndpointState::Ejected);
    // The check's 200 was on its way when the failures tripped the breaker.
    b.on_check_reporting(tripped + S / 10, sent, true, "200".into(), Vec::new());
    assert_eq!(
        b.state(),
        EndpointState::Ejected,
        "stale news moves nothing"
    );
    assert_eq!(b.last_check.as_ref().map(|c| c.ok), Some(true));
    // A check sent after the trip still lets it into probation early.
    b.on_check_reporting(tripped + S, tripped + S / 2, true, "200".into(), Vec::new());
    assert_eq!(b.state(), EndpointState::Probation);
}
