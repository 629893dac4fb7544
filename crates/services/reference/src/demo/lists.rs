//! The code/label lists a person record needs, and the other small lookups.

use crate::domain::Descriptor;
use crate::routes::dto::*;

pub(super) const GENDERS: &[(&str, &str)] = &[
    ("M", "Male"),
    ("F", "Female"),
    ("NB", "Non-binary"),
    ("X", "Prefer not to say"),
    ("U", "Unknown"),
];
pub(super) const TITLES: &[(&str, &str)] = &[
    ("DR", "Dr"),
    ("MR", "Mr"),
    ("MRS", "Mrs"),
    ("MISS", "Miss"),
    ("MS", "Ms"),
    ("MX", "Mx"),
    ("PROF", "Prof"),
    ("SIR", "Sir"),
    ("DAME", "Dame"),
    ("REV", "Rev"),
];
pub(super) const MARITAL: &[(&str, &str)] = &[
    ("SINGLE", "Single"),
    ("MARRIED", "Married"),
    ("CIVIL", "Civil Partnership"),
    ("DIVORCED", "Divorced"),
    ("WIDOWED", "Widowed"),
    ("SEPARATED", "Separated"),
    ("UNDISCLOSED", "Prefer not to say"),
];
pub(super) const RELIGIONS: &[(&str, &str)] = &[
    ("ATHEISM", "Atheism"),
    ("BUDDHISM", "Buddhism"),
    ("CHRISTIANITY", "Christianity"),
    ("HINDUISM", "Hinduism"),
    ("ISLAM", "Islam"),
    ("JAINISM", "Jainism"),
    ("JUDAISM", "Judaism"),
    ("SIKHISM", "Sikhism"),
    ("OTHER", "Other"),
    (
        "UNDISCLOSED",
        "I do not wish to disclose my religion/belief",
    ),
];
pub(super) const ORIENTATIONS: &[(&str, &str)] = &[
    ("BISEXUAL", "Bisexual"),
    ("GAY_MAN", "Gay man"),
    ("GAY_WOMAN", "Gay woman/lesbian"),
    ("HETEROSEXUAL", "Heterosexual/straight"),
    ("OTHER", "Other"),
    (
        "UNDISCLOSED",
        "I do not wish to disclose my sexual orientation",
    ),
];
pub(super) const ETHNIC_ORIGINS: &[&str] = &[
    "White - British",
    "White - Irish",
    "White - Any other White background",
    "Mixed - White and Black Caribbean",
    "Mixed - White and Black African",
    "Mixed - White and Asian",
    "Mixed - Any other mixed background",
    "Asian or Asian British - Indian",
    "Asian or Asian British - Pakistani",
    "Asian or Asian British - Bangladeshi",
    "Asian or Asian British - Any other Asian background",
    "Black or Black British - Caribbean",
    "Black or Black British - African",
    "Black or Black British - Any other Black background",
    "Chinese",
    "Any other ethnic group",
    "Not stated",
];
pub(super) const COUNTRIES: &[(&str, &str)] = &[
    ("826", "United Kingdom"),
    ("372", "Ireland"),
    ("356", "India"),
    ("586", "Pakistan"),
    ("566", "Nigeria"),
    ("818", "Egypt"),
    ("760", "Syria"),
    ("50", "Bangladesh"),
    ("144", "Sri Lanka"),
    ("710", "South Africa"),
    ("36", "Australia"),
    ("554", "New Zealand"),
    ("124", "Canada"),
    ("840", "United States"),
    ("276", "Germany"),
    ("380", "Italy"),
    ("724", "Spain"),
    ("300", "Greece"),
    ("616", "Poland"),
    ("729", "Sudan"),
    ("368", "Iraq"),
    ("458", "Malaysia"),
];
pub(super) const NATIONALITIES: &[(&str, &str)] = &[
    ("826", "British"),
    ("372", "Irish"),
    ("356", "Indian"),
    ("586", "Pakistani"),
    ("566", "Nigerian"),
    ("818", "Egyptian"),
    ("760", "Syrian"),
    ("50", "Bangladeshi"),
    ("144", "Sri Lankan"),
    ("710", "South African"),
    ("36", "Australian"),
    ("124", "Canadian"),
    ("276", "German"),
    ("380", "Italian"),
    ("724", "Spanish"),
    ("300", "Greek"),
    ("616", "Polish"),
    ("729", "Sudanese"),
    ("368", "Iraqi"),
    ("458", "Malaysian"),
];
pub(super) const MEDICAL_SCHOOLS: &[(&str, &str)] = &[
    (
        "BARTS",
        "Barts and The London School of Medicine and Dentistry",
    ),
    ("BRIGHTON", "Brighton and Sussex Medical School"),
    ("BRISTOL", "University of Bristol"),
    ("CAMBRIDGE", "University of Cambridge"),
    ("CARDIFF", "Cardiff University"),
    ("EDINBURGH", "University of Edinburgh"),
    ("GLASGOW", "University of Glasgow"),
    ("HULLYORK", "Hull York Medical School"),
    ("IMPERIAL", "Imperial College London"),
    ("KCL", "King's College London"),
    ("LEEDS", "University of Leeds"),
    ("LEICESTER", "University of Leicester"),
    ("LIVERPOOL", "University of Liverpool"),
    ("MANCHESTER", "University of Manchester"),
    ("NEWCASTLE", "Newcastle University"),
    ("NOTTINGHAM", "University of Nottingham"),
    ("OXFORD", "University of Oxford"),
    ("SHEFFIELD", "University of Sheffield"),
    ("SOUTHAMPTON", "University of Southampton"),
    ("SGUL", "St George's, University of London"),
    ("UCL", "UCL Medical School"),
    ("BIRMINGHAM", "University of Birmingham"),
    ("QUB", "Queen's University Belfast"),
];
pub(super) const COLLEGES: &[(&str, &str)] = &[
    ("RCP", "Royal College of Physicians"),
    ("RCS", "Royal College of Surgeons of England"),
    ("RCGP", "Royal College of General Practitioners"),
    ("RCOG", "Royal College of Obstetricians and Gynaecologists"),
    ("RCPCH", "Royal College of Paediatrics and Child Health"),
    ("RCPSYCH", "Royal College of Psychiatrists"),
    ("RCR", "Royal College of Radiologists"),
    ("RCOA", "Royal College of Anaesthetists"),
    ("RCPATH", "Royal College of Pathologists"),
    ("RCOPHTH", "Royal College of Ophthalmologists"),
    ("RCEM", "Royal College of Emergency Medicine"),
    ("FOM", "Faculty of Occupational Medicine"),
    ("FPH", "Faculty of Public Health"),
    ("FICM", "Faculty of Intensive Care Medicine"),
    ("FDS", "Faculty of Dental Surgery"),
];
/// Person roles: (category, code, label).
pub(super) const ROLES: &[(&str, &str, &str)] = &[
    ("Trainee", "DR in Training", "Doctor in Training"),
    ("Trainee", "Foundation Trainee", "Foundation Trainee"),
    ("Trainee", "Dental Trainee", "Dental Trainee"),
    ("Trainee", "Public Health Trainee", "Public Health Trainee"),
    (
        "Trainer",
        "Educational Supervisor",
        "Educational Supervisor",
    ),
    ("Trainer", "Clinical Supervisor", "Clinical Supervisor"),
    (
        "Trainer",
        "Training Programme Director",
        "Training Programme Director",
    ),
    ("Trainer", "Head of School", "Head of School"),
    (
        "Trainer",
        "Director of Medical Education",
        "Director of Medical Education",
    ),
    ("Trainer", "Postgraduate Dean", "Postgraduate Dean"),
    (
        "Administrator",
        "Programme Administrator",
        "Programme Administrator",
    ),
    (
        "Administrator",
        "Medical Staffing",
        "Medical Staffing Officer",
    ),
    ("Other", "Other", "Other"),
];
pub(super) const FUNDING_TYPES: &[(&str, &str, bool)] = &[
    ("TARIFF", "Tariff", false),
    ("TRUST", "Trust funded", false),
    ("HEE", "HEE funded - Non-tariff", false),
    ("ACADEMIC_NIHR", "Academic - NIHR", false),
    ("ACADEMIC_HEI", "Academic - HEI", false),
    ("SUPERNUMERARY", "Supernumerary", false),
    ("OTHER", "Other", true),
];
/// Funding sub-types: (funding type code, code, label).
pub(super) const FUNDING_SUB_TYPES: &[(&str, &str, &str)] = &[
    ("TARIFF", "FULL", "Full tariff"),
    ("TARIFF", "PARTIAL", "Partial tariff"),
    ("ACADEMIC_NIHR", "ACF", "NIHR Academic Clinical Fellowship"),
    ("ACADEMIC_NIHR", "ACL", "NIHR Academic Clinical Lectureship"),
];
pub(super) const FUNDING_REASONS: &[&str] = &[
    "Change of funding body",
    "Post re-banded",
    "Establishment expansion",
    "Tariff review",
];
pub(super) const CONTACT_TYPES: &[(&str, &str)] = &[
    ("TSS_SUPPORT", "Trainee self-service support"),
    ("LTFT", "Less than full time"),
    ("DEFERRAL", "Deferral"),
    ("SPONSORSHIP", "Visa sponsorship"),
];

pub(super) type CodeLabels = &'static [(&'static str, &'static str)];

/// The plain code/label lists.
pub(super) fn code_labels() -> Vec<(&'static Descriptor, CodeLabels)> {
    vec![
        (&GENDER, GENDERS),
        (&TITLE, TITLES),
        (&MARITAL_STATUS, MARITAL),
        (&RELIGIOUS_BELIEF, RELIGIONS),
        (&SEXUAL_ORIENTATION, ORIENTATIONS),
        (&MEDICAL_SCHOOL, MEDICAL_SCHOOLS),
        (
            &ASSESSMENT_TYPE,
            &[("ARCP", "ARCP"), ("RITA", "RITA"), ("ACADEMIC", "Academic")],
        ),
        (
            &CURRICULUM_SUB_TYPE,
            &[
                ("MEDICAL_CURRICULUM", "Medical Curriculum"),
                ("DENTAL_CURRICULUM", "Dental Curriculum"),
                ("SUB_SPECIALTY", "Sub-specialty"),
                ("ACL", "Academic Clinical Lecturer"),
                ("ACF", "Academic Clinical Fellow"),
                ("MEDICAL_SPR", "Medical SpR"),
                ("DENTAL_POST_CCST", "Dental Post-CCST"),
            ],
        ),
        (
            &PLACEMENT_TYPE,
            &[
                ("IN_POST", "In Post"),
                ("IN_POST_ACTING_UP", "In Post - Acting Up"),
                ("IN_POST_EXTENSION", "In Post - Extension"),
                ("PARENTAL_LEAVE", "Parental Leave"),
                ("LONG_TERM_SICK", "Long-term sick"),
                ("SUSPENDED", "Suspended"),
                ("PHASED_RETURN", "Phased Return"),
                ("OOPT", "Out of Programme - Training"),
                ("OOPE", "Out of Programme - Experience"),
                ("OOPR", "Out of Programme - Research"),
                ("OOPC", "Out of Programme - Career Break"),
            ],
        ),
        (
            &PROGRAMME_MEMBERSHIP_TYPE,
            &[
                ("SUBSTANTIVE", "Substantive"),
                ("LAT", "Locum Appointment for Training"),
                ("FTSTA", "Fixed Term Specialty Training Appointment"),
                ("MILITARY", "Military"),
                ("VISITOR", "Visitor"),
                ("ACADEMIC", "Academic"),
            ],
        ),
        (
            &STATUS_LOOKUP,
            &[
                ("CURRENT", "Current"),
                ("INACTIVE", "Inactive"),
                ("DELETE", "Delete"),
            ],
        ),
        (
            &GMC_STATUS,
            &[
                ("REGISTERED_WITH_LICENCE", "Registered with Licence"),
                ("REGISTERED_WITHOUT_LICENCE", "Registered without a Licence"),
                (
                    "PROVISIONAL_WITH_LICENCE",
                    "Provisionally registered with Licence",
                ),
                ("NOT_REGISTERED", "Not Registered"),
                ("SUSPENDED", "Suspended"),
            ],
        ),
        (
            &GDC_STATUS,
            &[
                ("REGISTERED", "Registered"),
                ("NOT_REGISTERED", "Not Registered"),
                ("SUSPENDED", "Suspended"),
            ],
        ),
        (
            &INACTIVE_REASON,
            &[
                ("LEFT_PROGRAMME", "Left programme"),
                ("DECEASED", "Deceased"),
                ("DUPLICATE", "Duplicate record"),
                ("RETIRED", "Retired"),
            ],
        ),
        (
            &LEAVING_DESTINATION,
            &[
                ("CONSULTANT", "Consultant post"),
                ("GP", "General Practice"),
                ("ABROAD", "Working abroad"),
                ("NON_TRAINING", "Non-training post"),
                ("UNKNOWN", "Unknown"),
            ],
        ),
        (
            &LEAVING_REASON,
            &[
                ("CCT", "CCT/CESR awarded"),
                ("RESIGNED", "Resigned"),
                ("DISMISSED", "Dismissed"),
                ("TRANSFERRED", "Inter-deanery transfer"),
                ("OTHER", "Other"),
            ],
        ),
        (
            &PERMIT_TO_WORK,
            &[
                ("SKILLED_WORKER", "Skilled Worker visa"),
                ("HEALTH_CARE_WORKER", "Health and Care Worker visa"),
                ("DEPENDANT", "Dependant visa"),
                ("REFUGEE", "Refugee status"),
                ("EU_SETTLED", "EU Settlement Scheme"),
                ("NOT_REQUIRED", "Not required"),
            ],
        ),
        (
            &SETTLED,
            &[("YES", "Yes"), ("NO", "No"), ("PRE_SETTLED", "Pre-settled")],
        ),
        (
            &QUALIFICATION_TYPE,
            &[
                ("PRIMARY", "Primary qualification"),
                ("POSTGRADUATE", "Postgraduate qualification"),
                ("OTHER", "Other"),
            ],
        ),
        (
            &QUALIFICATION_REFERENCE,
            &[
                ("MBBS", "Bachelor of Medicine, Bachelor of Surgery"),
                ("MBCHB", "MBChB"),
                ("BDS", "Bachelor of Dental Surgery"),
                ("MRCP", "MRCP(UK)"),
                ("MRCS", "MRCS"),
                ("FRCA", "FRCA"),
                ("MRCGP", "MRCGP"),
            ],
        ),
        (
            &RECORD_TYPE,
            &[
                ("TRAINEE", "Trainee"),
                ("TRAINER", "Trainer"),
                ("OTHER", "Other"),
            ],
        ),
        (
            &TRAINING_NUMBER_TYPE,
            &[
                ("NTN", "National Training Number"),
                ("DRN", "Deanery Reference Number"),
            ],
        ),
        (
            &ORGANIZATION_TYPE,
            &[
                ("NHS_TRUST", "NHS Trust"),
                ("NHS_FT", "NHS Foundation Trust"),
                ("GP_PRACTICE", "GP Practice"),
                ("INDEPENDENT", "Independent sector"),
                ("HOSPICE", "Hospice"),
            ],
        ),
        (
            &FUNDING_ISSUE,
            &[
                ("NOT_FUNDED", "Post not funded"),
                ("PART_FUNDED", "Post part funded"),
                ("UNDER_REVIEW", "Funding under review"),
            ],
        ),
        (
            &CONCERN_SOURCE,
            &[
                ("EMPLOYER", "Employer"),
                ("GMC", "GMC"),
                ("TRAINEE", "Trainee"),
                ("PUBLIC", "Member of the public"),
            ],
        ),
        (
            &CONCERN_TYPE,
            &[
                ("CONDUCT", "Conduct"),
                ("PERFORMANCE", "Performance"),
                ("HEALTH", "Health"),
            ],
        ),
        (
            &CONNECTION_SOURCE,
            &[("GMC", "GMC Connect"), ("TIS", "TIS")],
        ),
    ]
}
