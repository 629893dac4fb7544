//! What is asked of Reference: a type of record ([`RefType`]), keys of it by code or by id
//! ([`By`]), and what can be said about each key ([`Answer`], [`Lookup`]).

/// A type of Reference record, named as Reference's paths name it.
///
/// The constants cover what Profile and TCS point at; [`RefType::new`] names any other.
/// `code_field` is the JSON name of the type's code in its records (`siteCode`,
/// `abbreviation`…): records are looked up by filtering the type's list on it, and so are
/// codes and ids whenever Reference has no batched look-up for them. `codes_exists` says that
/// Reference's `POST /{plural}/exists/` takes a list of codes and answers a map (for some
/// types it takes one code, as the original did); `ids_exists` that it serves
/// `POST /{plural}/ids/exists`. Both are checked against the real Reference in this crate's
/// tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefType {
    /// The path segment: `grades`, `local-offices`.
    pub plural: &'static str,
    /// The JSON name of the code in the type's records.
    pub code_field: &'static str,
    /// Whether `POST /{plural}/exists/` takes a list of codes.
    pub codes_exists: bool,
    /// Whether `POST /{plural}/ids/exists` is served.
    pub ids_exists: bool,
}

impl RefType {
    /// A type whose codes and ids are checked through its list, filtered.
    pub const fn new(plural: &'static str, code_field: &'static str) -> RefType {
        RefType {
            plural,
            code_field,
            codes_exists: false,
            ids_exists: false,
        }
    }

    /// The type's codes are checked with `POST /{plural}/exists/`.
    pub const fn with_codes_exists(mut self) -> RefType {
        self.codes_exists = true;
        self
    }

    /// The type's ids are checked with `POST /{plural}/ids/exists`.
    pub const fn with_ids_exists(mut self) -> RefType {
        self.ids_exists = true;
        self
    }

    /// Designated bodies (`1-AIIDWA`), by `dbc`.
    pub const DBCS: RefType = RefType::new("dbcs", "dbc").with_codes_exists();
    pub const GRADES: RefType = RefType::new("grades", "abbreviation")
        .with_codes_exists()
        .with_ids_exists();
    pub const SITES: RefType = RefType::new("sites", "siteCode")
        .with_codes_exists()
        .with_ids_exists();
    pub const TRUSTS: RefType = RefType::new("trusts", "code")
        .with_codes_exists()
        .with_ids_exists();
    pub const LOCAL_OFFICES: RefType =
        RefType::new("local-offices", "abbreviation").with_codes_exists();
    pub const GMC_STATUSES: RefType = RefType::new("gmc-statuses", "code");
    pub const GDC_STATUSES: RefType = RefType::new("gdc-statuses", "code");
    pub const CURRICULUM_SUB_TYPES: RefType =
        RefType::new("curriculum-sub-types", "code").with_codes_exists();
    pub const ASSESSMENT_TYPES: RefType =
        RefType::new("assessment-types", "code").with_codes_exists();
    pub const COLLEGES: RefType = RefType::new("colleges", "abbreviation").with_codes_exists();
    pub const COUNTRIES: RefType = RefType::new("countries", "nationality").with_codes_exists();
    pub const NATIONALITIES: RefType = RefType::new("nationalities", "nationality");
    pub const ETHNIC_ORIGINS: RefType = RefType::new("ethnic-origins", "code");
    pub const GENDERS: RefType = RefType::new("genders", "code");
    pub const TITLES: RefType = RefType::new("titles", "code");
    pub const MARITAL_STATUSES: RefType = RefType::new("marital-statuses", "code");
    pub const RELIGIOUS_BELIEFS: RefType = RefType::new("religious-beliefs", "code");
    pub const SEXUAL_ORIENTATIONS: RefType = RefType::new("sexual-orientations", "code");
    pub const PERMIT_TO_WORKS: RefType = RefType::new("permit-to-works", "code");
    pub const SETTLEDS: RefType = RefType::new("settleds", "code").with_codes_exists();
    pub const RECORD_TYPES: RefType = RefType::new("record-types", "code").with_codes_exists();
    pub const INACTIVE_REASONS: RefType =
        RefType::new("inactive-reasons", "code").with_codes_exists();
    pub const LEAVING_REASONS: RefType =
        RefType::new("leaving-reasons", "code").with_codes_exists();
    pub const LEAVING_DESTINATIONS: RefType =
        RefType::new("leaving-destinations", "code").with_codes_exists();
    pub const MEDICAL_SCHOOLS: RefType =
        RefType::new("medical-schools", "code").with_codes_exists();
    pub const QUALIFICATION_TYPES: RefType = RefType::new("qualification-types", "code");
    pub const PLACEMENT_TYPES: RefType =
        RefType::new("placement-types", "code").with_codes_exists();
    pub const PROGRAMME_MEMBERSHIP_TYPES: RefType =
        RefType::new("programme-membership-types", "code").with_codes_exists();
    pub const TRAINING_NUMBER_TYPES: RefType =
        RefType::new("training-number-types", "code").with_codes_exists();
    pub const ROLES: RefType = RefType::new("roles", "code").with_codes_exists();
    pub const FUNDING_TYPES: RefType = RefType::new("funding-types", "code").with_codes_exists();
    pub const ROTATIONS: RefType = RefType::new("rotations", "code").with_codes_exists();

    /// Every named type (checked against Reference's own descriptors in this crate's tests).
    pub const ALL: &'static [RefType] = &[
        RefType::DBCS,
        RefType::GRADES,
        RefType::SITES,
        RefType::TRUSTS,
        RefType::LOCAL_OFFICES,
        RefType::GMC_STATUSES,
        RefType::GDC_STATUSES,
        RefType::CURRICULUM_SUB_TYPES,
        RefType::ASSESSMENT_TYPES,
        RefType::COLLEGES,
        RefType::COUNTRIES,
        RefType::NATIONALITIES,
        RefType::ETHNIC_ORIGINS,
        RefType::GENDERS,
        RefType::TITLES,
        RefType::MARITAL_STATUSES,
        RefType::RELIGIOUS_BELIEFS,
        RefType::SEXUAL_ORIENTATIONS,
        RefType::PERMIT_TO_WORKS,
        RefType::SETTLEDS,
        RefType::RECORD_TYPES,
        RefType::INACTIVE_REASONS,
        RefType::LEAVING_REASONS,
        RefType::LEAVING_DESTINATIONS,
        RefType::MEDICAL_SCHOOLS,
        RefType::QUALIFICATION_TYPES,
        RefType::PLACEMENT_TYPES,
        RefType::PROGRAMME_MEMBERSHIP_TYPES,
        RefType::TRAINING_NUMBER_TYPES,
        RefType::ROLES,
        RefType::FUNDING_TYPES,
        RefType::ROTATIONS,
    ];
}

impl std::fmt::Display for RefType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.plural)
    }
}

/// How records are named in a question: by their code, or by their id (a number, or a UUID
/// for the types keyed by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum By {
    Code,
    Id,
}

impl By {
    pub fn label(self) -> &'static str {
        match self {
            By::Code => "code",
            By::Id => "id",
        }
    }
}

/// What is known about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Reference has it. `stale`: Reference could not be asked just now, and this is what it
    /// said last (within `stale_if_error`): the caller should mark its answer
    /// `reference-stale`.
    Exists { stale: bool },
    /// Reference said, within `negative_for` (or just now), that it has no such record.
    /// Never stale: an absence is not remembered through an outage.
    Missing,
    /// Reference could not be asked and nothing usable is remembered: the caller must not
    /// decide (a write is refused with 503 `dependency_unavailable`).
    Unknown,
}

impl Answer {
    pub fn is_stale(self) -> bool {
        matches!(self, Answer::Exists { stale: true })
    }
}

/// A record looked up, and how fresh it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<T> {
    /// The record; `stale` as for [`Answer::Exists`].
    Found {
        record: T,
        stale: bool,
    },
    Missing,
    Unknown,
}

impl<T> Lookup<T> {
    /// The same answer without the record.
    pub fn answer(&self) -> Answer {
        match self {
            Lookup::Found { stale, .. } => Answer::Exists { stale: *stale },
            Lookup::Missing => Answer::Missing,
            Lookup::Unknown => Answer::Unknown,
        }
    }

    /// The record, if found.
    pub fn record(&self) -> Option<&T> {
        match self {
            Lookup::Found { record, .. } => Some(record),
            _ => None,
        }
    }
}
