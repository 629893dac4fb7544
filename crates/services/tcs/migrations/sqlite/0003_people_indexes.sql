-- The people list's indexes for its lists by owner and by programme (issue 12's numbers,
-- docs/benchmarks.md "TCS people (issue 12)"). Keep in step with ../postgres/0003_people_indexes.sql
-- (the schema parity test compares them).
--
-- A page by owner (the admin user's scope, a currentOwner filter) is one branch per owner
-- (people/search.rs), each walking an index in the page's order and stopping at the page's
-- end: (current_owner, id) exists (0001) for the default order; (current_owner, surname,
-- id) serves the list sorted by surname. status and programme_membership_status are checked
-- on the rows read (three values each: an index on either alone finds a third of the
-- people or more, and SQLite's planner chose ix_person_view_status over the owner's index,
-- then sorted; so it goes).
DROP INDEX ix_person_view_status;
CREATE INDEX ix_person_view_owner_surname ON person_view (current_owner, surname, id);

-- A programme's people (columnFilters programmeName), newest first: the id in the index
-- lets PostgreSQL walk it backwards and stop, as SQLite does with the rowid every index holds.
DROP INDEX ix_person_view_programme_name;
CREATE INDEX ix_person_view_programme_name ON person_view (programme_name, id);
