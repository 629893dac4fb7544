//! The metrics tis-auth records, with Prometheus names and base units:
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `tis_auth_jwks_key_age_seconds` | gauge | `issuer` | time since the keys were last confirmed by the IdP |
//! | `tis_auth_jwks_keys` | gauge | `issuer` | number of usable keys |
//! | `tis_auth_jwks_state` | gauge | `issuer`, `state` | 1 for the current state (`ok`, `degraded`, `expired`, `empty`), 0 for the others |
//! | `tis_auth_jwks_refreshes_total` | counter | `issuer`, `result` (`success`, `failure`) | key fetches |
//! | `tis_auth_jwks_unknown_kid_refreshes_total` | counter | `issuer` | fetches triggered by an unknown `kid` |
//! | `tis_auth_jwks_recovery_refreshes_total` | counter | `issuer` | fetches during a failure triggered by a token issued after the last failed fetch (the provider is back) |
//! | `tis_auth_verifications_total` | counter | `token` (`access`, `principal`), `outcome` (`ok`, `cached`, or an error code) | verification results |
//!
//! Label values come from configuration and from the fixed list of error codes, never from a
//! token, so an attacker cannot create series.

use std::sync::Once;
use std::time::Duration;

use crate::jwks::KeyState;

pub const KEY_AGE: &str = "tis_auth_jwks_key_age_seconds";
pub const KEYS: &str = "tis_auth_jwks_keys";
pub const STATE: &str = "tis_auth_jwks_state";
pub const REFRESHES: &str = "tis_auth_jwks_refreshes_total";
pub const UNKNOWN_KID_REFRESHES: &str = "tis_auth_jwks_unknown_kid_refreshes_total";
pub const RECOVERY_REFRESHES: &str = "tis_auth_jwks_recovery_refreshes_total";
pub const VERIFICATIONS: &str = "tis_auth_verifications_total";

/// Registers descriptions with the installed recorder (once per process).
pub fn describe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        metrics::describe_gauge!(
            KEY_AGE,
            metrics::Unit::Seconds,
            "Time since the identity provider's keys were last confirmed by a successful fetch."
        );
        metrics::describe_gauge!(KEYS, "Usable signing keys of the identity provider.");
        metrics::describe_gauge!(
            STATE,
            "1 for the current state of the identity provider's keys (ok, degraded, expired, empty)."
        );
        metrics::describe_counter!(REFRESHES, "Fetches of the identity provider's keys.");
        metrics::describe_counter!(
            UNKNOWN_KID_REFRESHES,
            "Key fetches triggered by a token with an unknown kid."
        );
        metrics::describe_counter!(
            RECOVERY_REFRESHES,
            "Key fetches during a failure, triggered by a token issued after the last failed fetch."
        );
        metrics::describe_counter!(VERIFICATIONS, "Token verifications, by outcome.");
    });
}

pub(crate) fn key_gauges(issuer: &str, state: KeyState, keys: usize, age: Option<Duration>) {
    let issuer = issuer.to_owned();
    metrics::gauge!(KEYS, "issuer" => issuer.clone()).set(keys as f64);
    if let Some(age) = age {
        metrics::gauge!(KEY_AGE, "issuer" => issuer.clone()).set(age.as_secs_f64());
    }
    for s in KeyState::ALL {
        let value = if s == state { 1.0 } else { 0.0 };
        metrics::gauge!(STATE, "issuer" => issuer.clone(), "state" => s.as_str()).set(value);
    }
}

pub(crate) fn refresh_result(issuer: &str, success: bool) {
    let result = if success { "success" } else { "failure" };
    metrics::counter!(REFRESHES, "issuer" => issuer.to_owned(), "result" => result).increment(1);
}

pub(crate) fn unknown_kid_refresh(issuer: &str) {
    metrics::counter!(UNKNOWN_KID_REFRESHES, "issuer" => issuer.to_owned()).increment(1);
}

pub(crate) fn recovery_refresh(issuer: &str) {
    metrics::counter!(RECOVERY_REFRESHES, "issuer" => issuer.to_owned()).increment(1);
}

/// Which kind of token a verification was for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TokenKind {
    Access,
    Principal,
}

pub(crate) fn verification(kind: TokenKind, outcome: &'static str) {
    verifications(kind, outcome).increment(1);
}

/// The counter of one outcome, to keep: the macro builds the key and looks the series up in
/// the recorder's shared registry (two allocations and a lock) on every call, and successful
/// verifications are every request.
pub(crate) fn verifications(kind: TokenKind, outcome: &'static str) -> metrics::Counter {
    let token = match kind {
        TokenKind::Access => "access",
        TokenKind::Principal => "principal",
    };
    metrics::counter!(VERIFICATIONS, "token" => token, "outcome" => outcome)
}
