-- The people search's contains-match (sqlite): an FTS5 table with the trigram tokenizer over
-- person_view.search_text (external content: it stores only the index), kept in step by
-- triggers, so that a MATCH of a term of three characters or more finds the rows without
-- scanning every person. PostgreSQL gets a trigram index instead (../postgres/0002…): the two
-- are engine-specific search structures, named `search_…`, which the schema parity test
-- leaves out.
CREATE VIRTUAL TABLE search_person USING fts5(
    search_text,
    content = 'person_view',
    content_rowid = 'id',
    tokenize = 'trigram'
);

CREATE TRIGGER search_person_insert AFTER INSERT ON person_view BEGIN
    INSERT INTO search_person (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER search_person_delete AFTER DELETE ON person_view BEGIN
    INSERT INTO search_person (search_person, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;

CREATE TRIGGER search_person_update AFTER UPDATE OF search_text ON person_view BEGIN
    INSERT INTO search_person (search_person, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO search_person (rowid, search_text) VALUES (new.id, new.search_text);
END;
