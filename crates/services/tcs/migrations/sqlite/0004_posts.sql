-- TCS part 2, posts (sqlite): the establishment of posts, their sites, grades, specialties,
-- programmes and fundings, the trusts they are at, their rows of the post list, and the
-- rotations they belong to. Keep in step with ../postgres/0004_posts.sql (the schema parity
-- test compares them).
--
-- Sites, grades and trusts are Reference's: ids (and the codes and names the post list
-- shows), never foreign keys. Specialties and programmes are TCS's own: foreign keys.
-- Placements (0005) refer to post (id) and are scoped through post.owner and post_trust.

CREATE TABLE post (
    id INTEGER PRIMARY KEY,
    intrepid_id TEXT,
    -- The original's format, LO/SITE/SPECIALTY/GRADE/NNN[/SUFFIX] (posts/npn.rs); unique.
    national_post_number TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE', 'DELETE')),
    suffix TEXT CHECK (suffix IN ('ACADEMIC', 'MILITARY', 'SUPERNUMERY')),
    -- A local office name (domain/owners.rs), as programme.owner: what HEE staff are scoped by.
    owner TEXT,
    post_family TEXT,
    old_post_id INTEGER REFERENCES post (id) ON DELETE SET NULL,
    new_post_id INTEGER REFERENCES post (id) ON DELETE SET NULL,
    employing_body_id INTEGER,
    training_body_id INTEGER,
    training_description TEXT,
    local_post_number TEXT,
    bypass_npn_generation BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX ux_post_national_post_number ON post (national_post_number);
CREATE INDEX ix_post_owner ON post (owner, id);
CREATE INDEX ix_post_old_post ON post (old_post_id);
CREATE INDEX ix_post_new_post ON post (new_post_id);

CREATE TABLE post_site (
    id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    site_id INTEGER NOT NULL,
    post_site_type TEXT CHECK (post_site_type IN ('PRIMARY', 'OTHER'))
);
CREATE INDEX ix_post_site_post ON post_site (post_id);
CREATE INDEX ix_post_site_site ON post_site (site_id);

CREATE TABLE post_grade (
    id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    grade_id INTEGER NOT NULL,
    post_grade_type TEXT CHECK (post_grade_type IN ('APPROVED', 'OTHER'))
);
CREATE INDEX ix_post_grade_post ON post_grade (post_id);

CREATE TABLE post_specialty (
    id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    specialty_id INTEGER NOT NULL REFERENCES specialty (id),
    post_specialty_type TEXT CHECK (post_specialty_type IN ('PRIMARY', 'OTHER', 'SUB_SPECIALTY'))
);
CREATE INDEX ix_post_specialty_post ON post_specialty (post_id);
CREATE INDEX ix_post_specialty_specialty ON post_specialty (specialty_id);

CREATE TABLE post_programme (
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    programme_id INTEGER NOT NULL REFERENCES programme (id),
    PRIMARY KEY (post_id, programme_id)
);
CREATE INDEX ix_post_programme_programme ON post_programme (programme_id, post_id);

CREATE TABLE post_funding (
    id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    intrepid_id TEXT,
    funding_type TEXT,
    info TEXT,
    start_date DATE,
    end_date DATE,
    funding_body_id TEXT
);
CREATE INDEX ix_post_funding_post ON post_funding (post_id);

-- The trusts of a post's sites (each site's trust, from Reference, written with the post):
-- what a trust admin's scope over posts, and over the placements in them, is made of.
CREATE TABLE post_trust (
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    trust_id INTEGER NOT NULL,
    trust_code TEXT,
    PRIMARY KEY (post_id, trust_id)
);
CREATE INDEX ix_post_trust_trust ON post_trust (trust_id, post_id);

-- Each post's row of the post list (PostViewDTO), written in the transaction of every write
-- to the post. `search_text` is what `searchQuery` matches (lower case): the national post
-- number, the primary site's code and name, the primary specialty's name, the programmes'
-- names. The current trainee's columns are the placements' (0005) to keep.
CREATE TABLE post_view (
    id INTEGER PRIMARY KEY REFERENCES post (id) ON DELETE CASCADE,
    intrepid_id TEXT,
    national_post_number TEXT NOT NULL,
    status TEXT,
    owner TEXT,
    primary_site_id INTEGER,
    primary_site_code TEXT,
    primary_site_name TEXT,
    primary_site_known_as TEXT,
    approved_grade_id INTEGER,
    approved_grade_code TEXT,
    approved_grade_name TEXT,
    primary_specialty_id INTEGER,
    primary_specialty_code TEXT,
    primary_specialty_name TEXT,
    programme_names TEXT,
    funding_type TEXT,
    current_trainee_id INTEGER,
    current_trainee_gmc_number TEXT,
    current_trainee_surname TEXT,
    current_trainee_forenames TEXT,
    search_text TEXT NOT NULL
);
CREATE INDEX ix_post_view_owner ON post_view (owner, id);
CREATE INDEX ix_post_view_npn ON post_view (lower(national_post_number));
CREATE INDEX ix_post_view_site ON post_view (primary_site_id);
CREATE INDEX ix_post_view_grade ON post_view (approved_grade_id);
CREATE INDEX ix_post_view_specialty ON post_view (primary_specialty_id);

-- A rotation's posts (the original's RotationPost).
CREATE TABLE rotation_post (
    id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    rotation_id INTEGER NOT NULL REFERENCES rotation (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX ux_rotation_post ON rotation_post (post_id, rotation_id);
CREATE INDEX ix_rotation_post_rotation ON rotation_post (rotation_id);
