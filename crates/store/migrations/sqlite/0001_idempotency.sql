-- tis-store's own table: idempotency keys and the responses they produced.
-- A committed row always holds a final response: the row is inserted in the same transaction
-- as the request's writes, and updated with the response before that transaction commits.
CREATE TABLE IF NOT EXISTS tis_idempotency (
    scope       TEXT    NOT NULL,   -- the caller (user name), so keys of different callers never meet
    idem_key    TEXT    NOT NULL,   -- the Idempotency-Key header
    fingerprint TEXT    NOT NULL,   -- SHA-256 of method, path and body
    status      INTEGER NOT NULL,   -- the response status (0 only inside the open transaction)
    headers     TEXT,               -- the stored response headers, a JSON object
    body        TEXT,               -- the response body
    created_at  INTEGER NOT NULL,   -- Unix seconds
    expires_at  INTEGER NOT NULL,   -- Unix seconds; an expired key is ignored and later deleted
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX IF NOT EXISTS tis_idempotency_expires ON tis_idempotency (expires_at);
