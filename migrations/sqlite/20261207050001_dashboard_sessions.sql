-- Dashboard logins in the database (issue 15: logout ends the session on
-- the server; a restart does not clear the login lockout). SQLite dialect;
-- the PostgreSQL twin has the same name under migrations/postgres/.

-- One row per logged-in dashboard session; logging out deletes it, and
-- every `presswire serve` process sharing the database knows it. The
-- cookie holds a random token; only its SHA-256 is kept here. `password`
-- is a fingerprint of the password hash the session was opened with:
-- changing the password ends every session.
CREATE TABLE dashboard_sessions (
    token_hash  TEXT    PRIMARY KEY,
    password    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);

-- Login attempts that did not succeed, by client address, for the limit on
-- failed logins (per address and overall, within a window). An attempt is
-- written before its password is checked and deleted if it was right.
CREATE TABLE login_failures (
    id  INTEGER PRIMARY KEY,
    ip  TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_ip ON login_failures (ip, at);
CREATE INDEX login_failures_at ON login_failures (at);
