-- TCS part 2, placements (sqlite): where each trainee works and when, with the placement's
-- specialties, other sites, supervisors and comments. Keep in step with
-- ../postgres/0005_placements.sql (the schema parity test compares them).
--
-- Sites and grades are Reference's: ids and the codes the client sent, never foreign keys.
-- The trainee, the post, specialties and supervisors are TCS's own: foreign keys. A
-- placement without date_to is open-ended. The whole time equivalent is 0..1 with two
-- decimals (none: whole time). lifecycle_state is HEAD's: DRAFT until someone with
-- placement:approve approves it.

CREATE TABLE placement (
    id INTEGER PRIMARY KEY,
    intrepid_id TEXT,
    trainee_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    post_id INTEGER NOT NULL REFERENCES post (id),
    site_id INTEGER NOT NULL,
    site_code TEXT,
    grade_id INTEGER NOT NULL,
    grade_abbreviation TEXT,
    date_from DATE NOT NULL,
    date_to DATE,
    placement_type TEXT NOT NULL,
    whole_time_equivalent REAL,
    training_description TEXT,
    local_post_number TEXT,
    lifecycle_state TEXT NOT NULL CHECK (lifecycle_state IN ('DRAFT', 'APPROVED')),
    added_date TEXT,
    amended_date TEXT
);
CREATE INDEX ix_placement_trainee ON placement (trainee_id, date_from);
CREATE INDEX ix_placement_post ON placement (post_id, date_from);
CREATE INDEX ix_placement_draft ON placement (lifecycle_state, post_id);

CREATE TABLE placement_specialty (
    placement_id INTEGER NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    specialty_id INTEGER NOT NULL REFERENCES specialty (id),
    placement_specialty_type TEXT NOT NULL CHECK (placement_specialty_type IN ('PRIMARY', 'OTHER', 'SUB_SPECIALTY')),
    PRIMARY KEY (placement_id, specialty_id)
);
CREATE INDEX ix_placement_specialty_specialty ON placement_specialty (specialty_id);

-- HEAD's other sites of a placement.
CREATE TABLE placement_site (
    id INTEGER PRIMARY KEY,
    placement_id INTEGER NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    site_id INTEGER NOT NULL,
    placement_site_type TEXT NOT NULL CHECK (placement_site_type IN ('PRIMARY', 'OTHER'))
);
CREATE INDEX ix_placement_site_placement ON placement_site (placement_id);

-- The original's PlacementSupervisor: (placement, person, type) is the key; the type is the
-- original's integer.
CREATE TABLE placement_supervisor (
    placement_id INTEGER NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    type INTEGER NOT NULL,
    PRIMARY KEY (placement_id, person_id, type)
);
CREATE INDEX ix_placement_supervisor_person ON placement_supervisor (person_id);

-- The original's Comment of a placement.
CREATE TABLE placement_comment (
    id INTEGER PRIMARY KEY,
    placement_id INTEGER NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    author TEXT,
    body TEXT NOT NULL,
    source TEXT CHECK (source IN ('INTREPID', 'GENERIC_UPLOAD', 'TIS')),
    added_date TEXT,
    amended_date TEXT
);
CREATE INDEX ix_placement_comment_placement ON placement_comment (placement_id, id);
