-- Data versions of entity tables (sqlite), written by
-- tis_service_kit::entity::ddl::data_version; do not edit by hand (see that function).

CREATE TABLE search_site_version (version INTEGER NOT NULL);
INSERT INTO search_site_version (version) VALUES (0);
CREATE TRIGGER search_site_version_insert AFTER INSERT ON site BEGIN
    UPDATE search_site_version SET version = version + 1;
END;
CREATE TRIGGER search_site_version_update AFTER UPDATE ON site BEGIN
    UPDATE search_site_version SET version = version + 1;
END;
CREATE TRIGGER search_site_version_delete AFTER DELETE ON site BEGIN
    UPDATE search_site_version SET version = version + 1;
END;
