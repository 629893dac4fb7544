-- TCS (postgres): the turn of the day (src/day.rs). One row: the last day whose changes the list rows
-- and owners reflect (NULL: none turned yet; the first turn takes today's changes), and
-- until when (Unix seconds) an instance holds the claim on the running turn.
CREATE TABLE day_turn (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_day DATE,
    running_until BIGINT
);
INSERT INTO day_turn (id, last_day, running_until) VALUES (1, NULL, NULL);
