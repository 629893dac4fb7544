-- TCS part 2, placements (postgres): where each trainee works and when, with the placement's
-- specialties, other sites, supervisors and comments. Keep in step with
-- ../sqlite/0005_placements.sql (the schema parity test compares them).
--
-- Sites and grades are Reference's: ids and the codes the client sent, never foreign keys.
-- The trainee, the post, specialties and supervisors are TCS's own: foreign keys. A
-- placement without date_to is open-ended. The whole time equivalent is 0..1 with two
-- decimals (none: whole time). lifecycle_state is HEAD's: DRAFT until someone with
-- placement:approve approves it.

CREATE TABLE placement (
    id BIGSERIAL PRIMARY KEY,
    intrepid_id TEXT,
    trainee_id BIGINT NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES post (id),
    site_id BIGINT NOT NULL,
    site_code TEXT,
    grade_id BIGINT NOT NULL,
    grade_abbreviation TEXT,
    date_from DATE NOT NULL,
    date_to DATE,
    placement_type TEXT NOT NULL,
    whole_time_equivalent DOUBLE PRECISION,
    training_description TEXT,
    local_post_number TEXT,
    lifecycle_state TEXT NOT NULL CHECK (lifecycle_state IN ('DRAFT', 'APPROVED')),
    added_date TIMESTAMPTZ,
    amended_date TIMESTAMPTZ
);
CREATE INDEX ix_placement_trainee ON placement (trainee_id, date_from);
CREATE INDEX ix_placement_post ON placement (post_id, date_from);
CREATE INDEX ix_placement_draft ON placement (lifecycle_state, post_id);

CREATE TABLE placement_specialty (
    placement_id BIGINT NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    specialty_id BIGINT NOT NULL REFERENCES specialty (id),
    placement_specialty_type TEXT NOT NULL CHECK (placement_specialty_type IN ('PRIMARY', 'OTHER', 'SUB_SPECIALTY')),
    PRIMARY KEY (placement_id, specialty_id)
);
CREATE INDEX ix_placement_specialty_specialty ON placement_specialty (specialty_id);

-- HEAD's other sites of a placement.
CREATE TABLE placement_site (
    id BIGSERIAL PRIMARY KEY,
    placement_id BIGINT NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL,
    placement_site_type TEXT NOT NULL CHECK (placement_site_type IN ('PRIMARY', 'OTHER'))
);
CREATE INDEX ix_placement_site_placement ON placement_site (placement_id);

-- The original's PlacementSupervisor: (placement, person, type) is the key; the type is the
-- original's integer.
CREATE TABLE placement_supervisor (
    placement_id BIGINT NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    person_id BIGINT NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    type BIGINT NOT NULL,
    PRIMARY KEY (placement_id, person_id, type)
);
CREATE INDEX ix_placement_supervisor_person ON placement_supervisor (person_id);

-- The original's Comment of a placement.
CREATE TABLE placement_comment (
    id BIGSERIAL PRIMARY KEY,
    placement_id BIGINT NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    author TEXT,
    body TEXT NOT NULL,
    source TEXT CHECK (source IN ('INTREPID', 'GENERIC_UPLOAD', 'TIS')),
    added_date TIMESTAMPTZ,
    amended_date TIMESTAMPTZ
);
CREATE INDEX ix_placement_comment_placement ON placement_comment (placement_id, id);
