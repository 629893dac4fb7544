-- Browser sessions of the web application. The cookie holds a random 256-bit value; only its
-- SHA-256 (hex) is stored, so a copy of this table signs nobody in. Times are Unix seconds.
CREATE TABLE web_session (
    id_hash         TEXT    NOT NULL PRIMARY KEY,
    csrf            TEXT    NOT NULL,
    user_name       TEXT    NOT NULL,
    access_token    TEXT    NOT NULL,
    access_expires  BIGINT  NOT NULL,
    refresh_token   TEXT,
    refresh_expires BIGINT,
    id_token        TEXT    NOT NULL,
    created         BIGINT  NOT NULL,
    expires         BIGINT  NOT NULL
);
CREATE INDEX web_session_expires ON web_session (expires);

-- Sign-ins under way: the browser's TIS_LOGIN cookie (hashed here) binds the state, nonce
-- and PKCE verifier to the browser that started the sign-in.
CREATE TABLE web_login (
    id_hash   TEXT   NOT NULL PRIMARY KEY,
    state     TEXT   NOT NULL,
    nonce     TEXT   NOT NULL,
    verifier  TEXT   NOT NULL,
    return_to TEXT   NOT NULL,
    expires   BIGINT NOT NULL
);
CREATE INDEX web_login_expires ON web_login (expires);
