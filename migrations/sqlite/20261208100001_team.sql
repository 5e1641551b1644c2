-- Team accounts, API tokens and the audit log (issue 18). SQLite dialect;
-- the PostgreSQL twin has the same name under migrations/postgres/.

-- One row per person of the press office. `email_key` is the address in
-- lower case: one account per address whatever its case. `role` is one of
-- viewer < editor < sender < admin (team::Role). `password_hash` is an
-- Argon2id PHC string, NULL for an account that only uses API tokens.
-- A disabled account is kept (the audit log names it) but opens nothing.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL,
    email_key      TEXT    NOT NULL UNIQUE,
    name           TEXT,
    role           TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'sender', 'admin')),
    password_hash  TEXT,
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER,
    disabled_at    INTEGER
);

-- API tokens: only the SHA-256 of a token is kept, so a copy of the
-- database opens nothing. A revoked token stays listed.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    label         TEXT,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Every write, from the web, the API or the command line: who (a user's
-- address, or cli:UNIX_USER), what, which object, when, and a summary.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    object_kind  TEXT    NOT NULL,
    object_id    TEXT,
    summary      TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

-- A dashboard session belongs to a user; NULL for a session opened with
-- the single `[serve] password_hash` (valid only while no user exists).
ALTER TABLE dashboard_sessions ADD COLUMN user_id INTEGER REFERENCES users (id);
