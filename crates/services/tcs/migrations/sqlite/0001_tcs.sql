-- The TCS schema, part 1 (sqlite): people and their records, programmes, curricula,
-- specialties, memberships, training numbers, rotations. Keep in step with
-- ../postgres/0001_tcs.sql: the same tables, columns, nullability and indexes (the schema parity
-- test compares them), with each backend's own types.
--
-- The original (TIS-TCS, MySQL) keyed a person's one-to-one records by the person's id, and so
-- do we. References to Reference data are ids and codes (site_id, gmc_status…), never foreign
-- keys: Reference owns them. Dates are DATE; the original's LocalDateTime columns are
-- TEXT (RFC 3339, UTC) here, TEXT on PostgreSQL.

CREATE TABLE person (
    id INTEGER PRIMARY KEY,
    intrepid_id TEXT,
    added_date TEXT,
    amended_date TEXT,
    role TEXT,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE', 'DELETE')),
    comments TEXT,
    inactive_date TEXT,
    inactive_notes TEXT,
    public_health_number TEXT,
    regulator TEXT,
    -- Who owns the record (docs/tcs.md "Ownership"): rules P1…P8 over the person's memberships
    -- (and placements, part 2), else P9, the owner of the designated body it was created in.
    current_owner TEXT,
    current_owner_rule TEXT,
    created_owner TEXT
);
CREATE INDEX ix_person_current_owner ON person (current_owner);
CREATE INDEX ix_person_public_health_number ON person (lower(public_health_number));
CREATE INDEX ix_person_status ON person (status);

CREATE TABLE contact_details (
    id INTEGER PRIMARY KEY REFERENCES person (id) ON DELETE CASCADE,
    surname TEXT,
    legal_surname TEXT,
    forenames TEXT,
    legal_forenames TEXT,
    known_as TEXT,
    maiden_name TEXT,
    initials TEXT,
    title TEXT,
    telephone_number TEXT,
    mobile_number TEXT,
    email TEXT,
    work_email TEXT,
    address1 TEXT,
    address2 TEXT,
    address3 TEXT,
    address4 TEXT,
    post_code TEXT,
    country TEXT,
    amended_date TEXT
);
CREATE INDEX ix_contact_details_surname ON contact_details (lower(surname), lower(forenames));
CREATE INDEX ix_contact_details_forenames ON contact_details (lower(forenames));

CREATE TABLE personal_details (
    id INTEGER PRIMARY KEY REFERENCES person (id) ON DELETE CASCADE,
    marital_status TEXT,
    date_of_birth DATE,
    gender TEXT,
    nationality TEXT,
    dual_nationality TEXT,
    sexual_orientation TEXT,
    religious_belief TEXT,
    ethnic_origin TEXT,
    disability TEXT,
    disability_details TEXT,
    national_insurance_number TEXT,
    amended_date TEXT
);
CREATE INDEX ix_personal_details_date_of_birth ON personal_details (date_of_birth);

CREATE TABLE gmc_details (
    id INTEGER PRIMARY KEY REFERENCES person (id) ON DELETE CASCADE,
    gmc_number TEXT,
    gmc_status TEXT,
    gmc_start_date DATE,
    gmc_end_date DATE,
    amended_date TEXT
);
CREATE INDEX ix_gmc_details_gmc_number ON gmc_details (gmc_number);

CREATE TABLE gdc_details (
    id INTEGER PRIMARY KEY REFERENCES person (id) ON DELETE CASCADE,
    gdc_number TEXT,
    gdc_status TEXT,
    gdc_start_date DATE,
    gdc_end_date DATE,
    amended_date TEXT
);
CREATE INDEX ix_gdc_details_gdc_number ON gdc_details (gdc_number);

CREATE TABLE right_to_work (
    id INTEGER PRIMARY KEY REFERENCES person (id) ON DELETE CASCADE,
    eea_resident TEXT,
    permit_to_work TEXT,
    settled TEXT,
    visa_issued DATE,
    visa_valid_to DATE,
    visa_details TEXT,
    amended_date TEXT
);

CREATE TABLE qualification (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    intrepid_id TEXT,
    qualification TEXT NOT NULL,
    qualification_type TEXT,
    qualification_attained_date DATE,
    medical_school TEXT NOT NULL,
    country_of_qualification TEXT NOT NULL,
    amended_date TEXT
);
CREATE INDEX ix_qualification_person ON qualification (person_id);

CREATE TABLE specialty_group (
    id INTEGER PRIMARY KEY,
    uuid TEXT,
    intrepid_id TEXT,
    name TEXT NOT NULL
);
CREATE INDEX ix_specialty_group_name ON specialty_group (lower(name));

CREATE TABLE specialty (
    id INTEGER PRIMARY KEY,
    uuid TEXT,
    intrepid_id TEXT,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE', 'DELETE')),
    college TEXT,
    specialty_code TEXT,
    name TEXT NOT NULL,
    specialty_group_id INTEGER REFERENCES specialty_group (id) ON DELETE SET NULL,
    -- The original's Set<SpecialtyType>, comma-separated.
    specialty_types TEXT,
    block_indemnity BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX ix_specialty_name ON specialty (lower(name));
CREATE INDEX ix_specialty_group ON specialty (specialty_group_id);

CREATE TABLE curriculum (
    id INTEGER PRIMARY KEY,
    uuid TEXT,
    intrepid_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('CURRENT', 'INACTIVE', 'DELETE')),
    name TEXT NOT NULL,
    curriculum_sub_type TEXT,
    length INTEGER NOT NULL,
    assessment_type TEXT NOT NULL,
    does_this_curriculum_lead_to_cct BOOLEAN NOT NULL,
    eligible_for_period_of_grace BOOLEAN NOT NULL DEFAULT FALSE,
    period_of_grace INTEGER NOT NULL,
    specialty_id INTEGER NOT NULL REFERENCES specialty (id)
);
CREATE INDEX ix_curriculum_name ON curriculum (lower(name));
CREATE INDEX ix_curriculum_status ON curriculum (status);
CREATE INDEX ix_curriculum_specialty ON curriculum (specialty_id);

CREATE TABLE programme (
    id INTEGER PRIMARY KEY,
    intrepid_id TEXT,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE', 'DELETE')),
    owner TEXT,
    programme_name TEXT,
    programme_number TEXT
);
CREATE INDEX ix_programme_owner ON programme (owner);
CREATE INDEX ix_programme_name ON programme (lower(programme_name));
CREATE INDEX ix_programme_number ON programme (lower(programme_number));

CREATE TABLE programme_curriculum (
    id INTEGER PRIMARY KEY,
    programme_id INTEGER NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    curriculum_id INTEGER NOT NULL REFERENCES curriculum (id),
    gmc_programme_code TEXT
);
CREATE UNIQUE INDEX ux_programme_curriculum ON programme_curriculum (programme_id, curriculum_id);
CREATE INDEX ix_programme_curriculum_curriculum ON programme_curriculum (curriculum_id);

CREATE TABLE rotation (
    id INTEGER PRIMARY KEY,
    programme_id INTEGER NOT NULL REFERENCES programme (id),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('CURRENT', 'INACTIVE', 'DELETE'))
);
CREATE INDEX ix_rotation_programme ON rotation (programme_id);

CREATE TABLE training_number (
    id INTEGER PRIMARY KEY,
    training_number_type TEXT NOT NULL CHECK (training_number_type IN ('NTN', 'DRN')),
    training_number TEXT,
    number INTEGER NOT NULL,
    appointment_year INTEGER NOT NULL,
    type_of_contract TEXT NOT NULL,
    suffix TEXT,
    programme_id INTEGER REFERENCES programme (id),
    intrepid_id TEXT
);
CREATE UNIQUE INDEX ux_training_number_number ON training_number (number);
CREATE INDEX ix_training_number_text ON training_number (training_number);
CREATE INDEX ix_training_number_programme ON training_number (programme_id);

-- HEAD's programme membership: keyed by a TEXT, its curricula in curriculum_membership (whose
-- numeric ids are what the API calls "programme membership ids").
CREATE TABLE programme_membership (
    uuid TEXT PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    programme_id INTEGER NOT NULL REFERENCES programme (id),
    programme_membership_type TEXT NOT NULL,
    programme_start_date DATE NOT NULL,
    programme_end_date DATE NOT NULL,
    leaving_destination TEXT,
    leaving_reason TEXT,
    training_pathway TEXT,
    rotation_id INTEGER REFERENCES rotation (id) ON DELETE SET NULL,
    training_number_id INTEGER REFERENCES training_number (id) ON DELETE SET NULL,
    intrepid_id TEXT,
    amended_date TEXT
);
CREATE INDEX ix_programme_membership_person ON programme_membership (person_id);
CREATE INDEX ix_programme_membership_programme ON programme_membership (programme_id, person_id);

CREATE TABLE curriculum_membership (
    id INTEGER PRIMARY KEY,
    programme_membership_uuid TEXT NOT NULL REFERENCES programme_membership (uuid) ON DELETE CASCADE,
    curriculum_id INTEGER NOT NULL REFERENCES curriculum (id),
    curriculum_start_date DATE NOT NULL,
    curriculum_end_date DATE NOT NULL,
    period_of_grace INTEGER,
    curriculum_completion_date DATE,
    intrepid_id TEXT,
    amended_date TEXT
);
CREATE INDEX ix_curriculum_membership_pm ON curriculum_membership (programme_membership_uuid);

-- The trusts a person is placed in (derived from their placements' posts, part 2): what a
-- trust admin's scope is made of.
CREATE TABLE person_trust (
    person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    trust_id INTEGER NOT NULL,
    trust_code TEXT,
    trust_name TEXT,
    PRIMARY KEY (person_id, trust_id)
);
CREATE INDEX ix_person_trust_trust ON person_trust (trust_id);

-- Each person's row of the people list (PersonViewDTO), kept up to date in the transaction of
-- every write that changes it, so that a search is one indexed query over one table.
-- `search_text` is what `searchQuery` matches (lower case): public health number, surname,
-- forenames, GMC and GDC numbers, role.
CREATE TABLE person_view (
    id INTEGER PRIMARY KEY REFERENCES person (id) ON DELETE CASCADE,
    intrepid_id TEXT,
    surname TEXT,
    forenames TEXT,
    gmc_number TEXT,
    gdc_number TEXT,
    public_health_number TEXT,
    programme_id INTEGER,
    programme_name TEXT,
    programme_number TEXT,
    programme_membership_status TEXT,
    training_number TEXT,
    grade_id INTEGER,
    grade_abbreviation TEXT,
    site_id INTEGER,
    site_code TEXT,
    placement_type TEXT,
    specialty TEXT,
    role TEXT,
    status TEXT,
    current_owner TEXT,
    current_owner_rule TEXT,
    search_text TEXT NOT NULL
);
CREATE INDEX ix_person_view_surname ON person_view (lower(surname), id);
CREATE INDEX ix_person_view_gmc ON person_view (gmc_number);
CREATE INDEX ix_person_view_owner ON person_view (current_owner, id);
CREATE INDEX ix_person_view_programme_name ON person_view (programme_name);
CREATE INDEX ix_person_view_programme ON person_view (programme_id);
CREATE INDEX ix_person_view_training_number ON person_view (training_number);
CREATE INDEX ix_person_view_status ON person_view (status);

-- Every change to a person's records: who, when, which field, old → new (sensitive values
-- are stored as written and masked on read by the same rule as the records).
CREATE TABLE person_history (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX ix_person_history_person ON person_history (person_id, id);
