-- Search structures of entity descriptors (postgres), written by
-- tis_service_kit::entity::ddl::search; do not edit by hand (see that function).
-- pg_trgm ships with PostgreSQL (contrib); PostgreSQL 13+ lets a database owner
-- create it (an operator may create it beforehand instead).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX search_site_site_code ON site USING gin (LOWER(site_code) gin_trgm_ops);
CREATE INDEX search_site_site_name ON site USING gin (LOWER(site_name) gin_trgm_ops);
CREATE INDEX search_site_site_known_as ON site USING gin (LOWER(site_known_as) gin_trgm_ops);
CREATE INDEX search_site_address ON site USING gin (LOWER(address) gin_trgm_ops);
CREATE INDEX search_site_post_code ON site USING gin (LOWER(post_code) gin_trgm_ops);
CREATE INDEX search_site_local_office ON site USING gin (LOWER(local_office) gin_trgm_ops);
CREATE INDEX search_site_trust_code ON site USING gin (LOWER(trust_code) gin_trgm_ops);
