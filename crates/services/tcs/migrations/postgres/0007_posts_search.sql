-- The post list at 50,000 posts (issue 13's numbers; docs/benchmarks.md "TCS posts and
-- placements"):
--
-- - `searchQuery`: a trigram index on LOWER(search_text), so that the
--   `LOWER(search_text) LIKE '%term%'` the kit writes (three characters or more) is an index
--   scan, not a scan of every post; the shape tis_service_kit::entity::ddl::search writes
--   for a descriptor with `search_index` (PostViewDto has it). SQLite gets an FTS5 trigram
--   table instead (../sqlite/0007…); `search_…` objects are left out of the parity test;
-- - `columnFilters` of an owner with a status, or sorted by number: the owner's rows in that
--   order, and counted from the index alone.
--
-- pg_trgm ships with PostgreSQL (contrib), created by 0002 already.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX search_post_view_search_text ON post_view USING gin (LOWER(search_text) gin_trgm_ops);

CREATE INDEX ix_post_view_owner_status ON post_view (owner, status, id);
CREATE INDEX ix_post_view_owner_number ON post_view (owner, national_post_number, id);
