//! The tables of the grant store, created when missing.

/// The schema, applied at every opening (`IF NOT EXISTS`).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    requester_uid INTEGER NOT NULL,
    requester TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    command TEXT,
    run_as TEXT,
    duration INTEGER NOT NULL,
    reason TEXT,
    ticket TEXT,
    start TEXT NOT NULL,
    start_at INTEGER,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    quorum INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    deadline_at INTEGER NOT NULL,
    starts_at INTEGER,
    expires_at INTEGER,
    warned INTEGER NOT NULL DEFAULT 0,
    ended_at INTEGER,
    end_reason TEXT,
    killed INTEGER
);
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE INDEX IF NOT EXISTS requests_requester ON requests (requester_uid, state, ended_at);
CREATE TABLE IF NOT EXISTS reviews (
    request_id TEXT NOT NULL REFERENCES requests (id),
    reviewer_uid INTEGER NOT NULL,
    reviewer TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (request_id, reviewer_uid)
);
CREATE TABLE IF NOT EXISTS uses (
    grant_id TEXT NOT NULL REFERENCES requests (id),
    at INTEGER NOT NULL,
    command TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS break_glass (
    grant_id TEXT PRIMARY KEY REFERENCES requests (id),
    requester_uid INTEGER NOT NULL,
    follow_up_at INTEGER NOT NULL,
    cleared_at INTEGER
);
CREATE INDEX IF NOT EXISTS break_glass_uncleared ON break_glass (requester_uid)
    WHERE cleared_at IS NULL;
CREATE TABLE IF NOT EXISTS break_glass_overdue (
    grant_id TEXT PRIMARY KEY REFERENCES break_glass (grant_id),
    logged_at INTEGER NOT NULL
);
";
