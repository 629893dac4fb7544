-- Tables of entity descriptors (postgres), written by tis_service_kit::entity::ddl;
-- do not edit by hand (see that module).

CREATE TABLE json_patch (
    id BIGSERIAL PRIMARY KEY,
    table_dto_name TEXT NOT NULL,
    patch_id TEXT,
    patch TEXT,
    date_added TIMESTAMPTZ,
    enabled BOOLEAN
);
CREATE INDEX ix_json_patch_table_dto_name ON json_patch (table_dto_name);
CREATE INDEX ix_json_patch_table_dto_name_ci ON json_patch (LOWER(table_dto_name));
CREATE INDEX ix_json_patch_patch_id ON json_patch (patch_id);
CREATE INDEX ix_json_patch_date_added ON json_patch (date_added);
CREATE INDEX ix_json_patch_enabled ON json_patch (enabled);
