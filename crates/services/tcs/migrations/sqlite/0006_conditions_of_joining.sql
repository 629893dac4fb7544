-- TCS: a programme membership's Conditions of Joining (sqlite). Keep in step with
-- ../postgres/0006_conditions_of_joining.sql (the schema parity test compares them).
--
-- HEAD's ConditionsOfJoiningDto: the Gold Guide version the trainee signed and when; the
-- original received it from the trainee self-service. synced_at is when TCS recorded it.
-- At most one per membership; it goes with its membership.

CREATE TABLE conditions_of_joining (
    programme_membership_uuid TEXT PRIMARY KEY REFERENCES programme_membership (uuid) ON DELETE CASCADE,
    signed_at TEXT NOT NULL,
    version TEXT NOT NULL,
    synced_at TEXT NOT NULL
);
