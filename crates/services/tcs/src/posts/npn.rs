//! National Post Numbers: the original's format, checked, and made for a new post that has
//! none (`NationalPostNumberServiceImpl`).
//!
//! `LO/SITE/SPECIALTY/GRADE/NNN[/S]`: the owner's local office abbreviation (`LDN`, `EMD`…),
//! the primary site's code, the primary specialty's code, the approved grade's abbreviation,
//! a counter of at least three digits, and optionally the suffix letter (`S` supernumerary,
//! `M` military, `A` academic), e.g. `LDN/RJ122/076/ST1/001` or `NWN/R0A01/300/F1/012/A`.
//! The original generated numbers of this shape but stored whatever a client sent with
//! `bypassNPNGeneration`; we check every number written (a malformed one is a 400 naming
//! `nationalPostNumber`) and keep them unique (409).

/// The original's `PostSuffix` names and their letters.
pub const SUFFIXES: &[(&str, &str)] = &[("SUPERNUMERY", "S"), ("MILITARY", "M"), ("ACADEMIC", "A")];

/// The suffix names, for the field's enumeration.
pub const SUFFIX_NAMES: &[&str] = &["SUPERNUMERY", "MILITARY", "ACADEMIC"];

/// Why a number is not a National Post Number (the field error's message).
pub fn check(npn: &str) -> Result<(), String> {
    let parts: Vec<&str> = npn.split('/').collect();
    let wrong = |why: &str| {
        Err(format!(
            "`{}` is not a National Post Number (LO/SITE/SPECIALTY/GRADE/NNN[/SUFFIX]): {why}",
            npn.chars().take(64).collect::<String>()
        ))
    };
    if !(5..=6).contains(&parts.len()) {
        return wrong("it needs five or six parts separated by /");
    }
    let code = |p: &str| {
        !p.is_empty()
            && p.len() <= 12
            && p.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    if !(2..=4).contains(&parts[0].len()) || !parts[0].chars().all(|c| c.is_ascii_uppercase()) {
        return wrong("the local office is 2 to 4 capital letters");
    }
    for (part, what) in parts[1..4].iter().zip(["site", "specialty", "grade"]) {
        if !code(part) {
            return wrong(&format!(
                "the {what} code is 1 to 12 capital letters or digits"
            ));
        }
    }
    if !(3..=5).contains(&parts[4].len()) || !parts[4].chars().all(|c| c.is_ascii_digit()) {
        return wrong("the counter is 3 to 5 digits");
    }
    if let Some(suffix) = parts.get(5)
        && !SUFFIXES.iter().any(|(_, letter)| letter == suffix)
    {
        return wrong("the suffix is S, M or A");
    }
    Ok(())
}

/// The local office abbreviation of an owner, as the original's map (by designated body)
/// gave them; the London owners are all `LDN`.
pub fn abbreviation(owner: &str) -> Option<&'static str> {
    Some(match owner {
        "Kent, Surrey and Sussex"
        | "North West London"
        | "North Central and East London"
        | "South London"
        | "London LETBs" => "LDN",
        "East Midlands" => "EMD",
        "East of England" => "EOE",
        "North East" => "NTH",
        "Thames Valley" => "OXF",
        "Yorkshire and the Humber" => "YHD",
        "West Midlands" => "WMD",
        "South West" => "SW",
        "Wessex" => "WES",
        "North West" => "NWN",
        "Northern Ireland Medical and Dental Training Agency" => "NI",
        _ => return None,
    })
}

/// The prefix a new number is counted under: `LO/SITE/SPECIALTY/GRADE`.
pub fn prefix(lo: &str, site: &str, specialty: &str, grade: &str) -> String {
    format!("{lo}/{site}/{specialty}/{grade}")
}

/// The next number under `prefix`, given the numbers already taken under it: the highest
/// counter of those with the same suffix (or none) plus one, at least three digits.
pub fn next(prefix: &str, suffix: Option<&str>, taken: &[String]) -> String {
    let letter = suffix.and_then(|s| SUFFIXES.iter().find(|(n, _)| *n == s).map(|(_, l)| *l));
    let highest = taken
        .iter()
        .filter_map(|npn| npn.strip_prefix(prefix)?.strip_prefix('/'))
        .filter_map(|rest| {
            let mut parts = rest.split('/');
            let counter = parts.next()?;
            (parts.next() == letter && parts.next().is_none()).then_some(counter)
        })
        .filter_map(|c| c.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    let mut npn = format!("{prefix}/{:03}", highest + 1);
    if let Some(l) = letter {
        npn.push('/');
        npn.push_str(l);
    }
    npn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_originals_numbers_pass_and_malformed_ones_say_why() {
        for ok in [
            "LDN/RJ122/076/ST1/001",
            "NWN/R0A01/300/F1/012/A",
            "EMD/RX101/C10/CT2/1234/S",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("LDN-RJ122-076-ST1-001", "five or six parts"),
            ("LDN/RJ122/076/ST1", "five or six parts"),
            ("ldn/RJ122/076/ST1/001", "local office"),
            ("LDN//076/ST1/001", "site"),
            ("LDN/RJ122/07 6/ST1/001", "specialty"),
            ("LDN/RJ122/076/ST1/01", "counter"),
            ("LDN/RJ122/076/ST1/001/X", "suffix"),
        ] {
            let err = check(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_new_number_counts_on_from_the_highest_with_the_same_suffix() {
        let p = prefix("LDN", "RJ122", "076", "ST1");
        assert_eq!(next(&p, None, &[]), "LDN/RJ122/076/ST1/001");
        let taken = [
            "LDN/RJ122/076/ST1/001".to_owned(),
            "LDN/RJ122/076/ST1/007".to_owned(),
            "LDN/RJ122/076/ST1/009/A".to_owned(),
            "LDN/RJ122/076/ST10/050".to_owned(),
        ];
        assert_eq!(next(&p, None, &taken), "LDN/RJ122/076/ST1/008");
        assert_eq!(
            next(&p, Some("ACADEMIC"), &taken),
            "LDN/RJ122/076/ST1/010/A"
        );
        assert_eq!(abbreviation("North West London"), Some("LDN"));
        assert_eq!(abbreviation("Nowhere"), None);
    }
}
