//! Break-glass grants: self-approved, to be cleared by an approver's
//! approval or the holder's justification before their follow-up time.

use rusqlite::{params, OptionalExtension};

use super::{StoreError, Tx};

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

    /// The break-glass grants not cleared whose `grant.overdue` is not
    /// logged yet: their ids and follow-up times.
    pub fn overdue_unlogged(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut statement = self.0.prepare(
            "SELECT grant_id, follow_up_at FROM break_glass b WHERE cleared_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM break_glass_overdue o WHERE o.grant_id = b.grant_id)",
        )?;
        let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Notes that break-glass grant `id`'s `grant.overdue` was logged at `at`.
    pub fn overdue_logged(&self, id: &str, at: i64) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT OR IGNORE INTO break_glass_overdue (grant_id, logged_at) VALUES (?1, ?2)",
            params![id, at],
        )?;
        Ok(())
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
