-- TCS part 2 (sqlite): placement funders and the ESR interface's events. Keep in step with
-- ../postgres/0008_fundings_esr.sql (the schema parity test compares them).
--
-- placement_funder is the original's PlacementFunder (a local office and a trust, both
-- names): a list of its own that nothing refers to.
--
-- The ESR events are what the ESR interface told TCS: a placement exported to ESR
-- (POST /placements/{id}/esr-exported, HEAD's PlacementEsrEvent) and a post's ESR position
-- reconciled or deleted (POST /posts/{id}/esr-changed, HEAD's PostEsrEvent). A placement's
-- events are its `esrEvents`; a post's latest RECONCILED event per position would be its
-- `currentReconciledEvents` (not answered yet). Both go with their placement or post.

CREATE TABLE placement_funder (
    id INTEGER PRIMARY KEY,
    local_office TEXT,
    trust TEXT
);

CREATE TABLE placement_esr_event (
    id INTEGER PRIMARY KEY,
    placement_id INTEGER NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    event_date_time TEXT,
    filename TEXT,
    position_number INTEGER,
    position_id INTEGER,
    status TEXT NOT NULL CHECK (status IN ('EXPORTED', 'EXPORTED_AND_PROCESSED', 'EXPORTED_PROCESSED_WITH_ERRORS'))
);
CREATE INDEX ix_placement_esr_event_placement ON placement_esr_event (placement_id, id);

CREATE TABLE post_esr_event (
    id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    event_date_time TEXT,
    filename TEXT,
    position_number INTEGER,
    position_id INTEGER,
    status TEXT NOT NULL CHECK (status IN ('RECONCILED', 'DELETED'))
);
CREATE INDEX ix_post_esr_event_post ON post_esr_event (post_id, position_number, id);
