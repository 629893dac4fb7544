//! The fixed part of the demo data: specialty groups, specialties, curricula and programmes
//! for every owner. Programme 1 is the one the demo programme observer is assigned in Profile
//! (`OBSERVER_PROGRAMME`: "General Practice East Midlands", `EMD-GP-01`).

/// An owner (local office, by its name as programmes store it), its deanery code (the
/// first part of a National Training Number), and towns for addresses.
pub struct Office {
    pub owner: &'static str,
    pub deanery: &'static str,
    pub short: &'static str,
    pub towns: &'static [(&'static str, &'static str)],
}

/// Every owner with training programmes in the demo data (not "London LETBs", which owns
/// nothing of its own).
pub const OFFICES: &[Office] = &[
    Office {
        owner: "East Midlands",
        deanery: "EMD",
        short: "EMD",
        towns: &[("Nottingham", "NG"), ("Leicester", "LE"), ("Derby", "DE")],
    },
    Office {
        owner: "North West London",
        deanery: "LDN",
        short: "NWL",
        towns: &[("London", "W"), ("Harrow", "HA"), ("Hounslow", "TW")],
    },
    Office {
        owner: "North Central and East London",
        deanery: "LDN",
        short: "NCEL",
        towns: &[("London", "E"), ("London", "N"), ("Romford", "RM")],
    },
    Office {
        owner: "South London",
        deanery: "LDN",
        short: "SL",
        towns: &[("London", "SE"), ("Croydon", "CR"), ("Bromley", "BR")],
    },
    Office {
        owner: "Kent, Surrey and Sussex",
        deanery: "KSS",
        short: "KSS",
        towns: &[
            ("Brighton", "BN"),
            ("Guildford", "GU"),
            ("Canterbury", "CT"),
        ],
    },
    Office {
        owner: "Wessex",
        deanery: "WES",
        short: "WX",
        towns: &[
            ("Southampton", "SO"),
            ("Portsmouth", "PO"),
            ("Bournemouth", "BH"),
        ],
    },
    Office {
        owner: "Thames Valley",
        deanery: "OXF",
        short: "TV",
        towns: &[("Oxford", "OX"), ("Reading", "RG"), ("Milton Keynes", "MK")],
    },
    Office {
        owner: "East of England",
        deanery: "EOE",
        short: "EOE",
        towns: &[("Cambridge", "CB"), ("Norwich", "NR"), ("Ipswich", "IP")],
    },
    Office {
        owner: "West Midlands",
        deanery: "WMD",
        short: "WM",
        towns: &[
            ("Birmingham", "B"),
            ("Coventry", "CV"),
            ("Stoke-on-Trent", "ST"),
        ],
    },
    Office {
        owner: "North West",
        deanery: "NWE",
        short: "NW",
        towns: &[("Manchester", "M"), ("Liverpool", "L"), ("Preston", "PR")],
    },
    Office {
        owner: "North East",
        deanery: "NTH",
        short: "NE",
        towns: &[
            ("Newcastle upon Tyne", "NE"),
            ("Sunderland", "SR"),
            ("Middlesbrough", "TS"),
        ],
    },
    Office {
        owner: "Yorkshire and the Humber",
        deanery: "YHD",
        short: "YH",
        towns: &[("Leeds", "LS"), ("Sheffield", "S"), ("Hull", "HU")],
    },
    Office {
        owner: "South West",
        deanery: "SWP",
        short: "SW",
        towns: &[("Bristol", "BS"), ("Exeter", "EX"), ("Plymouth", "PL")],
    },
];

/// A specialty group: name.
pub const GROUPS: &[&str] = &[
    "Medicine",
    "Surgery",
    "General Practice",
    "Psychiatry",
    "Paediatrics",
    "Anaesthetics",
    "Foundation",
    "Dental",
];

/// A specialty: (name, code, group index, college, short code in programme numbers).
pub const SPECIALTIES: &[(&str, &str, usize, &str, &str)] = &[
    (
        "General Practice",
        "610",
        2,
        "Royal College of General Practitioners",
        "GP",
    ),
    ("Foundation", "F00", 6, "UK Foundation Programme", "FND"),
    (
        "General Internal Medicine",
        "300",
        0,
        "Royal College of Physicians",
        "GIM",
    ),
    ("Cardiology", "320", 0, "Royal College of Physicians", "CAR"),
    (
        "Respiratory Medicine",
        "340",
        0,
        "Royal College of Physicians",
        "RES",
    ),
    (
        "Gastroenterology",
        "301",
        0,
        "Royal College of Physicians",
        "GAS",
    ),
    (
        "General Surgery",
        "100",
        1,
        "Royal College of Surgeons",
        "GS",
    ),
    (
        "Trauma and Orthopaedic Surgery",
        "110",
        1,
        "Royal College of Surgeons",
        "TO",
    ),
    (
        "General Psychiatry",
        "710",
        3,
        "Royal College of Psychiatrists",
        "PSY",
    ),
    (
        "Paediatrics",
        "420",
        4,
        "Royal College of Paediatrics and Child Health",
        "PAE",
    ),
    (
        "Anaesthetics",
        "600",
        5,
        "Royal College of Anaesthetists",
        "ANA",
    ),
    (
        "Emergency Medicine",
        "180",
        0,
        "Royal College of Emergency Medicine",
        "EM",
    ),
    (
        "Obstetrics and Gynaecology",
        "501",
        1,
        "Royal College of Obstetricians and Gynaecologists",
        "OG",
    ),
    (
        "Dental Core Training",
        "D10",
        7,
        "Faculty of Dental Surgery",
        "DCT",
    ),
];

/// The specialties every office runs a programme of, by index into [`SPECIALTIES`]: the
/// first is General Practice, so the first programme (id 1, East Midlands) is the observer's.
pub const PROGRAMMES_PER_OFFICE: &[usize] = &[0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13];

/// The index of the foundation and dental specialties in [`SPECIALTIES`].
pub const FOUNDATION: usize = 1;
pub const DENTAL: usize = 13;

/// A programme's name and number: "General Practice East Midlands", `EMD-GP-01`.
pub fn programme(office: &Office, specialty: usize) -> (String, String) {
    let (name, _, _, _, short) = SPECIALTIES[specialty];
    (
        format!("{name} {}", office.owner),
        format!("{}-{short}-01", office.short),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_programme_is_the_observers_and_owners_are_known() {
        let (name, number) = programme(&OFFICES[0], PROGRAMMES_PER_OFFICE[0]);
        assert_eq!(
            (name.as_str(), number.as_str()),
            ("General Practice East Midlands", "EMD-GP-01")
        );
        for office in OFFICES {
            assert!(
                crate::domain::owners::is_owner(office.owner),
                "{}",
                office.owner
            );
        }
        assert_eq!(SPECIALTIES[FOUNDATION].0, "Foundation");
        assert_eq!(SPECIALTIES[DENTAL].2, 7);
    }
}
