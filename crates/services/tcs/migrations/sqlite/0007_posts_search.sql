-- The post list at 50,000 posts (issue 13's numbers; EXPLAIN QUERY PLAN on the generated
-- data, docs/benchmarks.md "TCS posts and placements"):
--
-- - `searchQuery`: an FTS5 table with the trigram tokenizer over post_view.search_text
--   (external content: only the index), kept in step by triggers, the shape
--   tis_service_kit::entity::ddl::search writes for a descriptor with `search_index`
--   (PostViewDto has it): a term of three characters or more is a MATCH, not a
--   `LIKE '%term%'` over every post (~100 ms a page and as much again for the count);
-- - `columnFilters` of an owner with a status, or sorted by number: the owner's rows in that
--   order, and counted from the index alone.
--
-- `search_…` objects are engine-specific; the schema parity test leaves them out.
CREATE VIRTUAL TABLE search_post_view USING fts5(
    search_text,
    content = 'post_view',
    content_rowid = 'id',
    tokenize = 'trigram'
);

CREATE TRIGGER search_post_view_insert AFTER INSERT ON post_view BEGIN
    INSERT INTO search_post_view (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER search_post_view_delete AFTER DELETE ON post_view BEGIN
    INSERT INTO search_post_view (search_post_view, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;

CREATE TRIGGER search_post_view_update AFTER UPDATE OF search_text ON post_view BEGIN
    INSERT INTO search_post_view (search_post_view, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO search_post_view (rowid, search_text) VALUES (new.id, new.search_text);
END;

INSERT INTO search_post_view (search_post_view) VALUES ('rebuild');

CREATE INDEX ix_post_view_owner_status ON post_view (owner, status, id);
CREATE INDEX ix_post_view_owner_number ON post_view (owner, national_post_number, id);
