//! The grant store: requests, reviews, grants and uses in SQLite under the
//! state directory (`grants.db`). Every verb is one transaction; the
//! journal is WAL with `synchronous = FULL`, so a SIGKILL at any moment
//! loses no committed change. A store that cannot be opened or fails its
//! integrity check stops the daemon (fail closed).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row as SqlRow, Transaction};

use super::record::{Record, Review, State};

/// The database file below the state directory.
pub const FILE: &str = "grants.db";

/// Why the store failed.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "grant store: {}", self.0)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

const SCHEMA: &str = "
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
";

/// The open store.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (or creates) `dir/grants.db` and checks it.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(FILE);
        let conn =
            Connection::open(&path).map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        let checked: String = conn
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        if checked != "ok" {
            return Err(StoreError(format!(
                "{} is corrupt ({checked}); move it aside to start with no grants",
                path.display()
            )));
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        match self.conn.lock() {
            Ok(conn) => conn,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Runs `f` in one transaction, committed if it returns `Ok`.
    pub fn transact<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::from)?;
        let result = f(&Tx(&tx))?;
        tx.commit().map_err(StoreError::from)?;
        Ok(result)
    }
}

/// A transaction on the store.
pub struct Tx<'a>(&'a Transaction<'a>);

const COLUMNS: &str = "id, state, requester_uid, requester, rule_id, kind, command, run_as, \
    duration, reason, ticket, start, start_at, max_uses, uses, quorum, created_at, deadline_at, \
    starts_at, expires_at, warned, ended_at, end_reason, killed";

impl Tx<'_> {
    /// A fresh id: the next value of a counter that only grows, so an id is
    /// never used twice.
    pub fn next_id(&self) -> Result<String, StoreError> {
        self.0.execute(
            "INSERT INTO counter (name, value) VALUES ('request', 1) \
             ON CONFLICT (name) DO UPDATE SET value = value + 1",
            [],
        )?;
        let value: i64 = self.0.query_row(
            "SELECT value FROM counter WHERE name = 'request'",
            [],
            |r| r.get(0),
        )?;
        Ok(value.to_string())
    }

    /// Stores a new record.
    pub fn insert(&self, record: &Record) -> Result<(), StoreError> {
        self.0.execute(
            &format!(
                "INSERT INTO requests ({COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                  ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
            ),
            params![
                record.id,
                record.state.name(),
                record.requester_uid,
                record.requester,
                record.rule_id,
                record.kind,
                record.command_json(),
                record.run_as,
                record.duration,
                record.reason,
                record.ticket,
                record.start,
                record.start_at,
                record.max_uses,
                record.uses,
                record.quorum,
                record.created_at,
                record.deadline_at,
                record.starts_at,
                record.expires_at,
                record.warned,
                record.ended_at,
                record.end_reason,
                record.killed,
            ],
        )?;
        Ok(())
    }

    /// Writes back the mutable fields of `record`.
    pub fn update(&self, record: &Record) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE requests SET state = ?2, uses = ?3, starts_at = ?4, expires_at = ?5, \
             warned = ?6, ended_at = ?7, end_reason = ?8, killed = ?9, deadline_at = ?10, \
             duration = ?11 WHERE id = ?1",
            params![
                record.id,
                record.state.name(),
                record.uses,
                record.starts_at,
                record.expires_at,
                record.warned,
                record.ended_at,
                record.end_reason,
                record.killed,
                record.deadline_at,
                record.duration,
            ],
        )?;
        Ok(())
    }

    /// The record `id`, with its reviews.
    pub fn get(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let record = self
            .0
            .query_row(
                &format!("SELECT {COLUMNS} FROM requests WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?;
        record.map(|r| self.with_reviews(r)).transpose()
    }

    /// Records in these states (of one requester, if given), oldest
    /// first, with their reviews.
    pub fn in_states(
        &self,
        states: &[State],
        requester: Option<u32>,
    ) -> Result<Vec<Record>, StoreError> {
        let names: Vec<String> = states.iter().map(|s| format!("'{}'", s.name())).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM requests WHERE state IN ({}) \
             AND (?1 IS NULL OR requester_uid = ?1) ORDER BY CAST(id AS INTEGER)",
            names.join(", ")
        );
        let mut statement = self.0.prepare(&sql)?;
        let rows = statement.query_map([requester], from_row)?;
        let mut records = Vec::new();
        for row in rows {
            records.push(self.with_reviews(row?)?);
        }
        Ok(records)
    }

    /// What the timers look at: live records, and ended ones not torn
    /// down yet (`killed` unset).
    pub fn unfinished(&self) -> Result<Vec<Record>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM requests WHERE state IN ('pending', 'approved', 'active') \
             OR (killed IS NULL AND state IN ('expired', 'ended', 'revoked'))"
        );
        let mut statement = self.0.prepare(&sql)?;
        let rows = statement.query_map([], from_row)?;
        let mut records = Vec::new();
        for row in rows {
            records.push(self.with_reviews(row?)?);
        }
        Ok(records)
    }

    /// How many requests `uid` has waiting, and how many live grants.
    pub fn counts_of(&self, uid: u32) -> Result<(u32, u32), StoreError> {
        Ok(self.0.query_row(
            "SELECT COALESCE(SUM(state = 'pending'), 0), \
             COALESCE(SUM(state IN ('approved', 'active')), 0) \
             FROM requests WHERE requester_uid = ?1",
            [uid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// How many requests `uid` made at or after `since`.
    pub fn created_since(&self, uid: u32, since: i64) -> Result<u32, StoreError> {
        Ok(self.0.query_row(
            "SELECT COUNT(*) FROM requests WHERE requester_uid = ?1 AND created_at >= ?2",
            params![uid, since],
            |r| r.get(0),
        )?)
    }

    /// Keeps a review.
    pub fn add_review(&self, id: &str, review: &Review) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO reviews (request_id, reviewer_uid, reviewer, decision, reason, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                review.reviewer_uid,
                review.reviewer,
                review.decision,
                review.reason,
                review.at
            ],
        )?;
        Ok(())
    }

    /// Keeps one use of a grant.
    pub fn add_use(&self, id: &str, at: i64, command: &str) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO uses (grant_id, at, command) VALUES (?1, ?2, ?3)",
            params![id, at, command],
        )?;
        Ok(())
    }

    fn with_reviews(&self, mut record: Record) -> Result<Record, StoreError> {
        let mut statement = self.0.prepare(
            "SELECT reviewer_uid, reviewer, decision, reason, at FROM reviews \
             WHERE request_id = ?1 ORDER BY at, rowid",
        )?;
        let reviews = statement.query_map([&record.id], |r| {
            Ok(Review {
                reviewer_uid: r.get(0)?,
                reviewer: r.get(1)?,
                decision: r.get(2)?,
                reason: r.get(3)?,
                at: r.get(4)?,
            })
        })?;
        record.reviews = reviews.collect::<Result<_, _>>()?;
        Ok(record)
    }
}

fn from_row(r: &SqlRow<'_>) -> rusqlite::Result<Record> {
    let state: String = r.get(1)?;
    let command: Option<String> = r.get(6)?;
    Ok(Record {
        id: r.get(0)?,
        state: State::parse(&state).ok_or_else(|| bad_value(1, &state))?,
        requester_uid: r.get(2)?,
        requester: r.get(3)?,
        rule_id: r.get(4)?,
        kind: r.get(5)?,
        command: command
            .map(|c| serde_json::from_str(&c).map_err(|_| bad_value(6, &c)))
            .transpose()?,
        run_as: r.get(7)?,
        duration: r.get(8)?,
        reason: r.get(9)?,
        ticket: r.get(10)?,
        start: r.get(11)?,
        start_at: r.get(12)?,
        max_uses: r.get(13)?,
        uses: r.get(14)?,
        quorum: r.get(15)?,
        created_at: r.get(16)?,
        deadline_at: r.get(17)?,
        starts_at: r.get(18)?,
        expires_at: r.get(19)?,
        warned: r.get(20)?,
        ended_at: r.get(21)?,
        end_reason: r.get(22)?,
        killed: r.get(23)?,
        reviews: Vec::new(),
    })
}

fn bad_value(column: usize, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unexpected value `{value}`").into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("jitsudo-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn ids_only_grow_across_reopenings() {
        let dir = dir("ids");
        let store = Store::open(&dir).unwrap();
        let next = |store: &Store| store.transact(|tx| tx.next_id()).unwrap();
        assert_eq!(next(&store), "1");
        assert_eq!(next(&store), "2");
        drop(store);
        let store = Store::open(&dir).unwrap();
        assert_eq!(next(&store), "3");
        // A transaction that fails takes its id back with it, never gives it twice.
        let failed: Result<String, StoreError> = store.transact(|tx| {
            tx.next_id()?;
            Err(StoreError("abort".into()))
        });
        assert!(failed.is_err());
        assert_eq!(next(&store), "4");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_corrupt_store_is_refused_with_its_path() {
        let dir = dir("corrupt");
        std::fs::write(dir.join(FILE), vec![0x5a; 8192]).unwrap();
        let error = Store::open(&dir)
            .err()
            .expect("a corrupt store opened")
            .to_string();
        assert!(error.contains("grants.db"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A break-glass grant still to be cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncleared {
    /// The grant.
    pub id: String,
    /// Its rule.
    pub rule_id: String,
    /// When it must be cleared by.
    pub follow_up_at: i64,
}

/// Break-glass grants: self-approved, to be cleared by an approver's
/// approval or the holder's justification before `follow_up_at`.
impl Tx<'_> {
    /// Marks grant `id` as break-glass, to be cleared by `follow_up_at`.
    pub fn add_break_glass(&self, id: &str, uid: u32, follow_up_at: i64) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO break_glass (grant_id, requester_uid, follow_up_at) VALUES (?1, ?2, ?3)",
            params![id, uid, follow_up_at],
        )?;
        Ok(())
    }

    /// The break-glass grants of `uid` not cleared yet, oldest first.
    pub fn uncleared_of(&self, uid: u32) -> Result<Vec<Uncleared>, StoreError> {
        let mut statement = self.0.prepare(
            "SELECT b.grant_id, r.rule_id, b.follow_up_at FROM break_glass b \
             JOIN requests r ON r.id = b.grant_id \
             WHERE b.requester_uid = ?1 AND b.cleared_at IS NULL ORDER BY b.follow_up_at",
        )?;
        let rows = statement.query_map([uid], |r| {
            Ok(Uncleared {
                id: r.get(0)?,
                rule_id: r.get(1)?,
                follow_up_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Grant `id`'s follow-up time, if it is a break-glass grant not
    /// cleared yet.
    pub fn uncleared(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT follow_up_at FROM break_glass WHERE grant_id = ?1 AND cleared_at IS NULL",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Whether grant `id` is a break-glass grant (cleared or not).
    pub fn is_break_glass(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT 1 FROM break_glass WHERE grant_id = ?1",
                [id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Clears break-glass grant `id` at `at`.
    pub fn clear_break_glass(&self, id: &str, at: i64) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE break_glass SET cleared_at = ?2 WHERE grant_id = ?1 AND cleared_at IS NULL",
            params![id, at],
        )?;
        Ok(())
    }
}
