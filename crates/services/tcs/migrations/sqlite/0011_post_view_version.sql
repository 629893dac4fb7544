-- TCS (sqlite): the post list's data version (issue 13). Every insert, update and delete of
-- post_view bumps search_post_view_version in the writing transaction, so a full page's
-- X-Total-Count is kept per instance against it (Repo::count_versioned) and stays exact
-- across instances. post_view is rewritten in the same transaction as every write of what
-- its counts read (a post and its sites, grades, programmes, trusts; a placement's current
-- trainee; a funding's type), and the search structures that count it are written by its
-- triggers. Written by tis_service_kit::entity::ddl::data_version (checked by
-- posts::dto::tests); do not edit below by hand.

CREATE TABLE search_post_view_version (version INTEGER NOT NULL);
INSERT INTO search_post_view_version (version) VALUES (0);
CREATE TRIGGER search_post_view_version_insert AFTER INSERT ON post_view BEGIN
    UPDATE search_post_view_version SET version = version + 1;
END;
CREATE TRIGGER search_post_view_version_update AFTER UPDATE ON post_view BEGIN
    UPDATE search_post_view_version SET version = version + 1;
END;
CREATE TRIGGER search_post_view_version_delete AFTER DELETE ON post_view BEGIN
    UPDATE search_post_view_version SET version = version + 1;
END;
