-- TCS part 2 (sqlite): a post's currentReconciledEvents read each ESR position's events
-- (whichever post they are of) to find the position's latest; this index finds them.
-- Keep in step with ../postgres/0010_esr_positions.sql.

CREATE INDEX ix_post_esr_event_position ON post_esr_event (position_id, position_number);
