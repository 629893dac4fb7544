-- Search structures of entity descriptors (sqlite), written by
-- tis_service_kit::entity::ddl::search; do not edit by hand (see that function).

CREATE VIRTUAL TABLE search_site USING fts5(
    site_code,
    site_name,
    site_known_as,
    address,
    post_code,
    local_office,
    trust_code,
    content = 'site',
    content_rowid = 'id',
    tokenize = 'trigram'
);
CREATE TRIGGER search_site_insert AFTER INSERT ON site BEGIN
    INSERT INTO search_site (rowid, site_code, site_name, site_known_as, address, post_code, local_office, trust_code) VALUES (new.id, new.site_code, new.site_name, new.site_known_as, new.address, new.post_code, new.local_office, new.trust_code);
END;
CREATE TRIGGER search_site_delete AFTER DELETE ON site BEGIN
    INSERT INTO search_site (search_site, rowid, site_code, site_name, site_known_as, address, post_code, local_office, trust_code) VALUES ('delete', old.id, old.site_code, old.site_name, old.site_known_as, old.address, old.post_code, old.local_office, old.trust_code);
END;
CREATE TRIGGER search_site_update AFTER UPDATE OF site_code, site_name, site_known_as, address, post_code, local_office, trust_code ON site BEGIN
    INSERT INTO search_site (search_site, rowid, site_code, site_name, site_known_as, address, post_code, local_office, trust_code) VALUES ('delete', old.id, old.site_code, old.site_name, old.site_known_as, old.address, old.post_code, old.local_office, old.trust_code);
    INSERT INTO search_site (rowid, site_code, site_name, site_known_as, address, post_code, local_office, trust_code) VALUES (new.id, new.site_code, new.site_name, new.site_known_as, new.address, new.post_code, new.local_office, new.trust_code);
END;
INSERT INTO search_site (search_site) VALUES ('rebuild');
