//! The queries on requests (and grants, which are approved requests),
//! their reviews and their uses.

use jitsudo_policy::GrantKind;
use rusqlite::{params, OptionalExtension, Params, Row as SqlRow};

use super::{StoreError, Tx};
use crate::grants::record::{Record, Review, State};

/// The columns of `requests`, in the order [`from_row`] reads them.
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
        self.records(&sql, params![requester])
    }

    /// `uid`'s grants of these kinds that started and then either ended
    /// after `since` (expired, revoked, ended) or are active with all their
    /// uses taken: newest first, at most `limit`, with their reviews. Only
    /// those rows are read (through `requests_requester`), however many
    /// older grants `uid` holds.
    pub fn lately_ended(
        &self,
        uid: u32,
        kinds: &[GrantKind],
        since: i64,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        self.records(&lately_ended_sql(kinds), params![uid, since, limit])
    }

    /// How SQLite runs [`Tx::lately_ended`]: the `detail` of each step.
    #[cfg(test)]
    pub fn plan_of_lately_ended(&self, kinds: &[GrantKind]) -> Result<Vec<String>, StoreError> {
        let sql = format!("EXPLAIN QUERY PLAN {}", lately_ended_sql(kinds));
        let mut statement = self.0.prepare(&sql)?;
        let steps = statement.query_map(params![0, 0, 0], |row| row.get::<_, String>(3))?;
        Ok(steps.collect::<Result<_, _>>()?)
    }

    /// What the timers look at: live records, and ended ones not torn
    /// down yet (`killed` unset).
    pub fn unfinished(&self) -> Result<Vec<Record>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM requests WHERE state IN ('pending', 'approved', 'active') \
             OR (killed IS NULL AND state IN ('expired', 'ended', 'revoked'))"
        );
        self.records(&sql, params![])
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

    /// The records `sql` (selecting [`COLUMNS`]) finds, with their reviews.
    fn records(&self, sql: &str, params: impl Params) -> Result<Vec<Record>, StoreError> {
        let mut statement = self.0.prepare(sql)?;
        let rows = statement.query_map(params, from_row)?;
        let mut records = Vec::new();
        for row in rows {
            records.push(self.with_reviews(row?)?);
        }
        Ok(records)
    }

    /// `record` with its reviews, in the order they were made.
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

/// The query of [`Tx::lately_ended`] (`?1` the uid, `?2` since when,
/// `?3` how many). The two ways of having ended are asked apart, each an
/// index search (the first a range on `ended_at`), so that the planner
/// never walks all of a requester's rows; the kind names are the policy's
/// own, never input.
fn lately_ended_sql(kinds: &[GrantKind]) -> String {
    let kinds: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.name())).collect();
    format!(
        "SELECT {COLUMNS} FROM requests WHERE id IN (\
             SELECT id FROM requests WHERE requester_uid = ?1 \
             AND state IN ('expired', 'revoked', 'ended', 'active') AND ended_at > ?2 \
             UNION ALL SELECT id FROM requests WHERE requester_uid = ?1 AND state = 'active' \
             AND max_uses IS NOT NULL AND uses >= max_uses) \
         AND starts_at IS NOT NULL AND kind IN ({}) \
         ORDER BY CAST(id AS INTEGER) DESC LIMIT ?3",
        kinds.join(", ")
    )
}

/// The record in a row of [`COLUMNS`] (without its reviews).
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

/// The error of a column holding a value no record has.
fn bad_value(column: usize, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unexpected value `{value}`").into(),
    )
}
