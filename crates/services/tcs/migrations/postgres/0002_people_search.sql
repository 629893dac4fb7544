-- The people search's contains-match (postgres): a trigram index over person_view.search_text,
-- so that `search_text LIKE '%term%'` (three characters or more) is an index scan, not a
-- scan of every person. SQLite gets an FTS5 trigram table instead (../sqlite/0002…): the two
-- are engine-specific search structures, named `search_…`, which the schema parity test
-- leaves out.
--
-- pg_trgm ships with PostgreSQL (contrib). Creating it needs the CREATE privilege on the
-- database (PostgreSQL 13+ trusts pg_trgm); an operator may create it beforehand instead.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX search_person_view_text ON person_view USING gin (search_text gin_trgm_ops);
