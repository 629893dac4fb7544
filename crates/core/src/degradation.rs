//! What a `TIS-Degraded` answer can say: the degradation names, each spelled once.
//!
//! A request served in a degraded way is marked with [`mark_degraded`](crate::context::mark_degraded)
//! and its answer lists every mark in `TIS-Degraded` (and in an error body's `degraded`), so
//! the UI can tell the user what is not quite right, and callers can tell an outage that every
//! instance of a service shares (don't eject the instance, don't retry elsewhere) from a fault
//! of one instance.
//!
//! The names are the wire format: the gateway relays a service's marks, the principal token
//! carries the gateway's, and the status page, chaos reports and the UI read them, so a name
//! never changes once released. Names this build does not know (a newer peer's) are still
//! relayed ([`RequestContext::relay_degraded`](crate::context::RequestContext::relay_degraded)),
//! which is why the outage rule for `dependency-<service>` is a prefix
//! ([`is_shared_outage`]), not a list of variants.

use std::fmt;
use std::str::FromStr;

/// One way a request may have been served degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Degradation {
    /// `idp`: the token was verified with last-good keys while the identity provider is
    /// unreachable (tis-auth, within its grace).
    Idp,
    /// `profile-stale`: the caller's authorisation context came from a stale cache entry
    /// because Profile did not answer (the gateway's Profile client).
    ProfileStale,
    /// `reference-stale`: a look-up in Reference was answered from a stale snapshot because
    /// Reference did not answer (tis-reference-client).
    ReferenceStale,
    /// `dependency-reference`: Reference is unavailable and a value could not be checked at
    /// all; the answer is 503 `dependency_unavailable`, and every instance of the caller
    /// would say the same (tis-reference-client).
    ReferenceUnavailable,
    /// `db-read-only`: the service's database has no primary; reads come from replicas,
    /// writes answer 503 `primary_unavailable` (tis-store).
    DbReadOnly,
    /// `db-stale`: a read came from a replica beyond the lag bound, or short of the asked
    /// position, because nothing fresher answered (tis-store).
    DbStale,
    /// `retried`: the answer came from a second or later try, on another instance
    /// (tis-mesh).
    Retried,
}

/// The prefix of the marks that say "a service this one calls is down"
/// (`dependency-<service>`): an outage that every instance of the caller shares.
pub const DEPENDENCY_PREFIX: &str = "dependency-";

impl Degradation {
    /// Every name, for parsing and tests.
    pub const ALL: [Degradation; 7] = [
        Degradation::Idp,
        Degradation::ProfileStale,
        Degradation::ReferenceStale,
        Degradation::ReferenceUnavailable,
        Degradation::DbReadOnly,
        Degradation::DbStale,
        Degradation::Retried,
    ];

    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Degradation::Idp => "idp",
            Degradation::ProfileStale => "profile-stale",
            Degradation::ReferenceStale => "reference-stale",
            Degradation::ReferenceUnavailable => "dependency-reference",
            Degradation::DbReadOnly => "db-read-only",
            Degradation::DbStale => "db-stale",
            Degradation::Retried => "retried",
        }
    }
}

impl fmt::Display for Degradation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a degradation this build knows")]
pub struct UnknownDegradation(pub String);

impl FromStr for Degradation {
    type Err = UnknownDegradation;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Degradation::ALL
            .into_iter()
            .find(|d| d.as_str() == name)
            .ok_or_else(|| UnknownDegradation(name.to_owned()))
    }
}

/// Whether a mark (from a peer, perhaps one this build does not know) reports an outage of
/// something *every* instance of the marking service shares: its database's primary
/// (`db-read-only`), or a service it depends on (`dependency-<service>`). An error answer so
/// marked is the instance working as designed: callers must not trip its breaker for it, and
/// another instance would answer the same.
pub fn is_shared_outage(name: &str) -> bool {
    name == Degradation::DbReadOnly.as_str() || name.starts_with(DEPENDENCY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_is_a_valid_header_name() {
        for d in Degradation::ALL {
            assert_eq!(d.as_str().parse::<Degradation>(), Ok(d));
            assert_eq!(d.to_string(), d.as_str());
            assert_eq!(
                crate::context::degradation_names(d.as_str()).collect::<Vec<_>>(),
                [d.as_str()],
                "{d} would be dropped when relayed"
            );
        }
        assert!("db_read_only".parse::<Degradation>().is_err());
    }

    #[test]
    fn a_dependency_mark_is_the_prefix_and_the_service_name() {
        assert_eq!(
            Degradation::ReferenceUnavailable.as_str(),
            format!("{DEPENDENCY_PREFIX}{}", crate::service::REFERENCE)
        );
    }

    #[test]
    fn shared_outages_are_the_database_primary_and_any_dependency() {
        let shared: Vec<_> = Degradation::ALL
            .into_iter()
            .filter(|d| is_shared_outage(d.as_str()))
            .collect();
        assert_eq!(
            shared,
            [Degradation::ReferenceUnavailable, Degradation::DbReadOnly]
        );
        assert!(
            is_shared_outage("dependency-tcs"),
            "a name from a newer peer"
        );
        assert!(!is_shared_outage("retried"));
    }
}
