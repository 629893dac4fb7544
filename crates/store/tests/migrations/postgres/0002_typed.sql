-- One nullable column of each type a NULL can be bound as (tis_store::SqlType).
CREATE TABLE typed (
    id BIGSERIAL PRIMARY KEY,
    b BOOLEAN,
    i BIGINT,
    f DOUBLE PRECISION,
    t TEXT,
    d DATE,
    ts TIMESTAMPTZ,
    u UUID,
    j JSONB
);
