-- Data versions of entity tables (postgres), written by
-- tis_service_kit::entity::ddl::data_version; do not edit by hand (see that function).

CREATE TABLE search_site_version (version BIGINT NOT NULL);
INSERT INTO search_site_version (version) VALUES (0);
CREATE FUNCTION search_site_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_site_version SET version = version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_site_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON site
    FOR EACH STATEMENT EXECUTE FUNCTION search_site_version_bump();
