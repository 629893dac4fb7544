CREATE TABLE widget (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    weight DOUBLE PRECISION,
    made_on DATE,
    made_at TIMESTAMPTZ,
    ref UUID,
    extra JSONB
);
