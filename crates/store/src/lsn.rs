//! Log sequence numbers and the consistency a read asks for.
//!
//! # Why an LSN gives read-your-writes
//!
//! PostgreSQL writes every change to its write-ahead log (WAL) before it is visible, and a
//! standby applies that log in order. An LSN is a position in the log. After a write commits,
//! the primary's insert position (`pg_current_wal_insert_lsn()`) is at or past the end of that
//! commit's record. A standby whose `pg_last_wal_replay_lsn()` has reached that position has
//! replayed the commit record, so every snapshot it takes from then on sees the write. So the
//! write's response carries the position read *after* the commit (`TIS-Consistency`), and a
//! later read that sends it back may be served by any replica whose replay position is at or
//! past it, and by the primary otherwise. Reading the position inside the transaction, before
//! `COMMIT`, would be wrong: the commit record comes after it, and a replica could reach that
//! position without having applied the commit.
//!
//! LSNs only grow: across a promotion the new timeline continues from the switch point, so a
//! token from before a failover is still comparable with positions after it.

use std::fmt;
use std::str::FromStr;

/// A WAL position, `X/Y` in PostgreSQL's text form (two 32-bit hex halves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

/// A text that is not `X/Y` with hexadecimal halves of at most eight digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a log sequence number (expected X/Y in hexadecimal)")]
pub struct InvalidLsn(pub String);

impl FromStr for Lsn {
    type Err = InvalidLsn;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidLsn(s.chars().take(40).collect());
        let (hi, lo) = s.trim().split_once('/').ok_or_else(bad)?;
        let half = |h: &str| {
            if h.is_empty() || h.len() > 8 {
                return Err(bad());
            }
            u32::from_str_radix(h, 16).map_err(|_| bad())
        };
        Ok(Lsn((u64::from(half(hi)?) << 32) | u64::from(half(lo)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl Lsn {
    /// How many WAL bytes `self` is behind `ahead` (zero when it is not behind).
    pub fn bytes_behind(self, ahead: Lsn) -> u64 {
        ahead.0.saturating_sub(self.0)
    }
}

/// What a read needs to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// Any replica within the maximum lag will do (the default for reads).
    #[default]
    Any,
    /// At least everything up to this WAL position: a replica that has replayed it, else the
    /// primary (read-your-writes).
    AtLeast(Lsn),
    /// The primary only.
    Primary,
}

impl Consistency {
    /// The stronger of two requirements.
    pub fn max(self, other: Consistency) -> Consistency {
        use Consistency::*;
        match (self, other) {
            (Primary, _) | (_, Primary) => Primary,
            (AtLeast(a), AtLeast(b)) => AtLeast(a.max(b)),
            (AtLeast(a), Any) | (Any, AtLeast(a)) => AtLeast(a),
            (Any, Any) => Any,
        }
    }

    /// From a `TIS-Consistency` header: an LSN, or `primary`. Anything else asks for the
    /// primary: a client that sent a token wants its writes, and a garbled token must not
    /// quietly become a possibly stale read.
    pub fn from_header(value: &str) -> Consistency {
        let v = value.trim();
        if v.eq_ignore_ascii_case("any") {
            return Consistency::Any;
        }
        v.parse().map_or(Consistency::Primary, Consistency::AtLeast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_parse_print_and_compare_like_postgresql() {
        let a: Lsn = "0/16B3748".parse().expect("lsn");
        assert_eq!(a, Lsn(0x16B_3748));
        assert_eq!(a.to_string(), "0/16B3748");
        let b: Lsn = "1/0".parse().expect("lsn");
        assert!(b > a);
        assert_eq!(b.to_string(), "1/0");
        assert_eq!(a.bytes_behind(b), (1u64 << 32) - 0x16B_3748);
        assert_eq!(b.bytes_behind(a), 0);
        for bad in ["", "0", "x/1", "/1", "123456789/0", "0/-1"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_garbled_consistency_header_asks_for_the_primary() {
        assert_eq!(
            Consistency::from_header(" 0/10 "),
            Consistency::AtLeast(Lsn(0x10))
        );
        assert_eq!(Consistency::from_header("nonsense"), Consistency::Primary);
        assert_eq!(Consistency::from_header("primary"), Consistency::Primary);
        assert_eq!(Consistency::from_header("any"), Consistency::Any);
    }

    #[test]
    fn the_stronger_requirement_wins() {
        let a = Consistency::AtLeast(Lsn(5));
        assert_eq!(a.max(Consistency::Any), a);
        assert_eq!(
            a.max(Consistency::AtLeast(Lsn(9))),
            Consistency::AtLeast(Lsn(9))
        );
        assert_eq!(a.max(Consistency::Primary), Consistency::Primary);
    }
}
