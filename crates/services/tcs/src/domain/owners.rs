//! Owners: the local offices that own programmes, posts and (through them) people, by name,
//! and the designated bodies each maps to, as the original's `DesignatedBodyMapper` mapped
//! them (TIS-TCS `tcs-service/.../service/mapper/DesignatedBodyMapper.java`; see
//! docs/tcs-original.md §5.1).
//!
//! The original stored owners as local-office *names* and compared them with the names a
//! user's designated body codes map to; "London LETBs" is an owner of every London designated
//! body. Its map changed over time: the latest (HEAD) one keys short names ("North West
//! London") by the `1-1R…` codes, an earlier one spelled the names "Health Education England
//! North West London" and keyed them by `1-AIID…` codes. We keep one spelling, the latest, and
//! accept both eras' codes for it, so that users and data of either era line up (a deliberate
//! union, written down in docs/tcs.md).

use std::collections::BTreeSet;

/// Designated body code → the owner names it matches: the latest codes first, then the
/// earlier era's codes for the same owners.
pub const DBC_OWNERS: &[(&str, &[&str])] = &[
    ("1-1RUZV1D", &[KSS, LONDON_LETBS]),
    ("1-1RUZV6H", &[NWL, LONDON_LETBS]),
    ("1-1RUZV4H", &[NCEL, LONDON_LETBS]),
    ("1-1RSSQ5L", &[SL, LONDON_LETBS]),
    ("1-1RSSPZ7", &["East Midlands"]),
    ("1-1RSSQ05", &["East of England"]),
    ("1-1RSSQ1B", &["North East"]),
    ("1-1RSSQ6R", &["Thames Valley"]),
    ("1-1RSG4X0", &["Yorkshire and the Humber"]),
    ("1-1RUZUYF", &["West Midlands"]),
    ("1-1RUZUVB", &["South West"]),
    ("1-1RUZUSF", &["Wessex"]),
    ("1-1RSSQ2H", &["North West"]),
    ("1-25U-830", &[NIMDTA]),
    // The earlier era's codes.
    ("1-AIIDR8", &[KSS, LONDON_LETBS]),
    ("1-AIIDWA", &[NWL, LONDON_LETBS]),
    ("1-AIIDVS", &[NCEL, LONDON_LETBS]),
    ("1-AIIDWI", &[SL, LONDON_LETBS]),
    ("1-AIIDSA", &["East Midlands"]),
    ("1-AIIDWT", &["East of England"]),
    ("1-AIIDSI", &["North East"]),
    ("1-AIIDH1", &["Thames Valley"]),
    ("1-1P9Y9QH", &["Yorkshire and the Humber"]),
    ("1-AIIDQQ", &["Yorkshire and the Humber"]),
    ("1-AIIDMY", &["West Midlands"]),
    ("1-AIIDMQ", &["South West"]),
    ("1-AIIDHJ", &["Wessex"]),
    ("1-1P9Y9R1", &["North West"]),
    ("1-AIIDNQ", &["North West"]),
];

const KSS: &str = "Kent, Surrey and Sussex";
const NWL: &str = "North West London";
const NCEL: &str = "North Central and East London";
const SL: &str = "South London";
const NIMDTA: &str = "Northern Ireland Medical and Dental Training Agency";

/// The owner every London designated body also matches.
pub const LONDON_LETBS: &str = "London LETBs";

/// The owners that `dbcs` match (unknown codes match nothing).
pub fn owners_of<'a>(dbcs: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for dbc in dbcs {
        if let Some((_, owners)) = DBC_OWNERS.iter().find(|(code, _)| *code == dbc) {
            out.extend(owners.iter().copied());
        }
    }
    out
}

/// Every owner known.
pub fn all_owners() -> BTreeSet<&'static str> {
    DBC_OWNERS
        .iter()
        .flat_map(|(_, owners)| owners.iter().copied())
        .collect()
}

/// Whether `name` is a known owner.
pub fn is_owner(name: &str) -> bool {
    DBC_OWNERS.iter().any(|(_, owners)| owners.contains(&name))
}

/// The designated body an owner name belongs to (the first that matches it), for showing who
/// owns a record; `London LETBs` belongs to several and has none.
pub fn dbc_of(owner: &str) -> Option<&'static str> {
    if owner == LONDON_LETBS {
        return None;
    }
    DBC_OWNERS
        .iter()
        .find(|(_, owners)| owners.contains(&owner))
        .map(|(code, _)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_codes_also_match_london_letbs_and_unknown_codes_match_nothing() {
        let owners = owners_of(["1-1RUZV6H", "1-1RUZUSF", "NOPE"]);
        assert_eq!(
            owners.into_iter().collect::<Vec<_>>(),
            [LONDON_LETBS, "North West London", "Wessex"]
        );
        assert_eq!(
            owners_of(["1-AIIDWA"]),
            owners_of(["1-1RUZV6H"]),
            "both eras' codes name the same owners"
        );
        assert_eq!(all_owners().len(), 15);
        assert!(is_owner(LONDON_LETBS));
        assert!(!is_owner("Health Education England Wessex"));
        assert_eq!(dbc_of("Wessex"), Some("1-1RUZUSF"));
        assert_eq!(dbc_of(LONDON_LETBS), None);
    }
}
