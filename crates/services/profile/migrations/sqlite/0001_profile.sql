-- The Profile schema (sqlite). Keep in step with ../postgres/0001_profile.sql: the same
-- tables, columns and constraints, with each backend's own types.
--
-- The original (TIS-PROFILE, MySQL) keyed users, roles and permissions by name and so do we.
-- MySQL's default collation made user names unique regardless of case; the unique index on
-- lower(name) keeps that, so `/hee-users/{name}/ignore-case` finds at most one user.

CREATE TABLE hee_user (
    name TEXT PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    gmc_id TEXT,
    phone_number TEXT,
    email_address TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE UNIQUE INDEX ux_hee_user_lower_name ON hee_user (lower(name));
CREATE INDEX ix_hee_user_first_name ON hee_user (first_name);

-- A permission and its IAM-style policy (V4.1__Permission_migration.sql). `actions` is
-- comma-separated, as the original stored it.
CREATE TABLE permission (
    name TEXT PRIMARY KEY,
    permission_type TEXT NOT NULL,
    description TEXT,
    principal TEXT NOT NULL,
    resource TEXT NOT NULL,
    actions TEXT NOT NULL,
    effect TEXT NOT NULL CHECK (effect IN ('Allow', 'Deny'))
);
CREATE INDEX ix_permission_principal ON permission (principal);

-- `restricted`: roles that user administrators may not hand out (UMS hid them through
-- /restricted-roles and /roles?excludeRestricted=true).
CREATE TABLE role (
    name TEXT PRIMARY KEY,
    restricted BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE role_permission (
    role_name TEXT NOT NULL REFERENCES role (name) ON DELETE CASCADE,
    permission_name TEXT NOT NULL REFERENCES permission (name),
    PRIMARY KEY (role_name, permission_name)
);
CREATE INDEX ix_role_permission_permission ON role_permission (permission_name);

CREATE TABLE user_role (
    user_name TEXT NOT NULL REFERENCES hee_user (name) ON DELETE CASCADE,
    role_name TEXT NOT NULL REFERENCES role (name),
    PRIMARY KEY (user_name, role_name)
);
CREATE INDEX ix_user_role_role ON user_role (role_name);

CREATE TABLE user_designated_body (
    user_name TEXT NOT NULL REFERENCES hee_user (name) ON DELETE CASCADE,
    designated_body_code TEXT NOT NULL,
    PRIMARY KEY (user_name, designated_body_code)
);
CREATE INDEX ix_user_designated_body_code ON user_designated_body (designated_body_code);

-- Copies of Reference trusts and TCS programmes (ids plus denormalised names).
CREATE TABLE user_trust (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name TEXT NOT NULL REFERENCES hee_user (name) ON DELETE CASCADE,
    trust_id INTEGER NOT NULL,
    trust_code TEXT,
    trust_name TEXT,
    CONSTRAINT ux_user_trust UNIQUE (user_name, trust_id)
);

CREATE TABLE user_programme (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name TEXT NOT NULL REFERENCES hee_user (name) ON DELETE CASCADE,
    programme_id INTEGER NOT NULL,
    programme_name TEXT,
    programme_number TEXT,
    CONSTRAINT ux_user_programme UNIQUE (user_name, programme_id)
);

-- GMC number → TIS trainee id, for revalidation.
CREATE TABLE trainee_profile (
    tis_id INTEGER PRIMARY KEY AUTOINCREMENT,
    gmc_number TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    designated_body_code TEXT,
    date_added DATE,
    CONSTRAINT ux_trainee_profile_gmc_number UNIQUE (gmc_number)
);
CREATE INDEX ix_trainee_profile_dbc ON trainee_profile (designated_body_code);
