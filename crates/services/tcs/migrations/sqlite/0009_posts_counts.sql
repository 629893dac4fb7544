-- The post list's totals (X-Total-Count of a full page) without reading each matched post
-- (issue 13's numbers; docs/benchmarks.md "TCS posts and placements").
--
-- 1. `columnFilters` of a site or a grade (with the owner every HEE user's scope adds): the
--    site's (grade's) rows with their owner and id in one index, counted from it alone
--    (an office's posts at one site: 15 ms reading each post for its owner, 0.14 ms).
--
-- 2. `searchQuery`:
-- 0007's FTS5 table found the posts whose search_text holds a term without reading them, but
-- the owners' scope (`owner IN (…)`, every HEE user's) was then checked by reading each
-- matched post: a full page's X-Total-Count of a specialty's first letters (4,000–10,000
-- posts) cost 8–20 ms, the page itself up to 8 ms. Here the FTS5 table also indexes each
-- post's owner as a code of three letters (`owner_code`, one trigram: a code matches only
-- itself), so that the scope is part of the MATCH (`… AND {owner_code} : ("aab" OR …)`):
-- the count is the search structure's, and a page sorted by id reads the structure in rowid
-- order and stops (crates/services/tcs/src/posts/read.rs, `page`).
--
-- search_post_view_owner gives each owner its code (the n-th owner seen gets the n-th code,
-- 'aaa', 'aab', …; an owner keeps its code). Contentless (content = ''): the triggers supply
-- the values, and a row is removed with its old values ('delete').
--
-- `search_…` objects are engine-specific; the schema parity test leaves them out.
CREATE INDEX ix_post_view_site_owner ON post_view (primary_site_id, owner, id);
CREATE INDEX ix_post_view_grade_owner ON post_view (approved_grade_id, owner, id);

DROP TRIGGER search_post_view_insert;
DROP TRIGGER search_post_view_delete;
DROP TRIGGER search_post_view_update;
DROP TABLE search_post_view;

CREATE TABLE search_post_view_owner (
    owner TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE search_post_view USING fts5(
    search_text,
    owner_code,
    content = '',
    tokenize = 'trigram'
);

-- The code of the n-th owner (n from 0): three letters. A 17,577th owner would repeat a
-- code and is refused (UNIQUE) rather than mixed with another owner's posts.
CREATE TRIGGER search_post_view_insert AFTER INSERT ON post_view BEGIN
    INSERT INTO search_post_view_owner (owner, code)
    SELECT new.owner, char(97 + (n / 676) % 26, 97 + (n / 26) % 26, 97 + n % 26)
    FROM (SELECT COUNT(*) AS n FROM search_post_view_owner)
    WHERE new.owner IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM search_post_view_owner WHERE owner = new.owner);
    INSERT INTO search_post_view (rowid, search_text, owner_code)
    VALUES (new.id, new.search_text, (SELECT code FROM search_post_view_owner WHERE owner = new.owner));
END;

CREATE TRIGGER search_post_view_delete AFTER DELETE ON post_view BEGIN
    INSERT INTO search_post_view (search_post_view, rowid, search_text, owner_code)
    VALUES ('delete', old.id, old.search_text,
        (SELECT code FROM search_post_view_owner WHERE owner = old.owner));
END;

CREATE TRIGGER search_post_view_update AFTER UPDATE OF id, search_text, owner ON post_view BEGIN
    INSERT INTO search_post_view (search_post_view, rowid, search_text, owner_code)
    VALUES ('delete', old.id, old.search_text,
        (SELECT code FROM search_post_view_owner WHERE owner = old.owner));
    INSERT INTO search_post_view_owner (owner, code)
    SELECT new.owner, char(97 + (n / 676) % 26, 97 + (n / 26) % 26, 97 + n % 26)
    FROM (SELECT COUNT(*) AS n FROM search_post_view_owner)
    WHERE new.owner IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM search_post_view_owner WHERE owner = new.owner);
    INSERT INTO search_post_view (rowid, search_text, owner_code)
    VALUES (new.id, new.search_text, (SELECT code FROM search_post_view_owner WHERE owner = new.owner));
END;

INSERT INTO search_post_view_owner (owner, code)
SELECT owner, char(97 + (n / 676) % 26, 97 + (n / 26) % 26, 97 + n % 26)
FROM (SELECT owner, ROW_NUMBER() OVER (ORDER BY owner) - 1 AS n
      FROM (SELECT DISTINCT owner FROM post_view WHERE owner IS NOT NULL));

INSERT INTO search_post_view (rowid, search_text, owner_code)
SELECT p.id, p.search_text, c.code
FROM post_view p LEFT JOIN search_post_view_owner c ON c.owner = p.owner;
