//! The grant store: requests, reviews, grants and uses in SQLite under the
//! state directory (`grants.db`). Every verb is one transaction; the
//! journal is WAL with `synchronous = FULL`, so a SIGKILL at any moment
//! loses no committed change. A store that cannot be opened or fails its
//! integrity check stops the daemon (fail closed).
//!
//! [`schema`] holds the tables; [`requests`] the queries on requests,
//! reviews and uses; [`break_glass`] those on break-glass grants.
//!
//! Next to the connection the store keeps who holds grants
//! ([`Holders`]), recomputed after every transaction that changed a row,
//! under the same lock: a caller it does not name holds none, so a plain
//! `jitsudo COMMAND` of a user without grants costs no query.

mod break_glass;
mod requests;
mod schema;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, Transaction};

use schema::SCHEMA;

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

/// The open store.
pub struct Store {
    inner: Mutex<Inner>,
}

/// The connection, and who holds grants as of its last commit.
struct Inner {
    conn: Connection,
    holders: Holders,
}

/// The requesters with grants in the store as of the last commit: those
/// with a grant approved or active (`live`, exact), and those that may
/// hold one that ended (`ended`: every uid with an expired, revoked or
/// ended request when the store was opened, and every uid seen live since:
/// a grant that started was approved or active at some commit). Only the
/// live set is read after a commit (few rows, through the state index);
/// reading every ended request again would cost a scan of the whole
/// history, under the store's lock, on every grant use.
#[derive(Default)]
struct Holders {
    live: HashSet<u32>,
    ended: HashSet<u32>,
    /// They could not be read: anyone may hold any.
    unknown: bool,
}

/// Which of a requester's grants a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// Approved or active ones.
    Live,
    /// Approved, active, or ended (expired, revoked, ended) ones.
    LiveOrEnded,
}

impl Holders {
    /// Reads who holds what from the store.
    fn read(conn: &Connection) -> Result<Holders, rusqlite::Error> {
        let mut statement = conn.prepare(
            "SELECT DISTINCT requester_uid, state IN ('approved', 'active') FROM requests \
             WHERE state IN ('approved', 'active', 'expired', 'revoked', 'ended')",
        )?;
        let mut holders = Holders::default();
        let rows = statement.query_map([], |row| Ok((row.get::<_, u32>(0)?, row.get(1)?)))?;
        for row in rows {
            let (uid, live): (u32, bool) = row?;
            if live {
                holders.live.insert(uid);
            } else {
                holders.ended.insert(uid);
            }
        }
        Ok(holders)
    }

    /// After a commit: the live set read again; those who were live and
    /// are no more may hold an ended grant now. After a failed read (in
    /// which a transition may have been missed), everything is read again.
    fn refresh(&mut self, conn: &Connection) {
        let read = if self.unknown {
            Holders::read(conn)
        } else {
            Holders::read_live(conn).map(|live| {
                let mut ended = std::mem::take(&mut self.ended);
                ended.extend(self.live.difference(&live));
                Holders {
                    live,
                    ended,
                    unknown: false,
                }
            })
        };
        *self = read.unwrap_or_else(|_| Holders::everyone());
    }

    /// The uids with a grant approved or active.
    fn read_live(conn: &Connection) -> Result<HashSet<u32>, rusqlite::Error> {
        let mut statement = conn.prepare_cached(
            "SELECT DISTINCT requester_uid FROM requests WHERE state IN ('approved', 'active')",
        )?;
        let uids = statement.query_map([], |row| row.get::<_, u32>(0))?;
        uids.collect()
    }

    /// Anyone may hold any grant (they could not be read).
    fn everyone() -> Holders {
        Holders {
            unknown: true,
            ..Holders::default()
        }
    }

    fn may_hold(&self, uid: u32, held: Holding) -> bool {
        self.unknown
            || self.live.contains(&uid)
            || (held == Holding::LiveOrEnded && self.ended.contains(&uid))
    }
}

impl Store {
    /// Opens (or creates) `dir/grants.db` and checks it.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(FILE);
        let at_path = |e: rusqlite::Error| StoreError(format!("{}: {e}", path.display()));
        let conn = Connection::open(&path).map_err(at_path)?;
        let checked: String = conn
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(at_path)?;
        if checked != "ok" {
            return Err(StoreError(format!(
                "{} is corrupt ({checked}); move it aside to start with no grants",
                path.display()
            )));
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA).map_err(at_path)?;
        let holders = Holders::read(&conn).map_err(at_path)?;
        Ok(Store {
            inner: Mutex::new(Inner { conn, holders }),
        })
    }

    /// The connection; a panic in another transaction (rolled back) does
    /// not keep it locked.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Runs `f` in one transaction, committed if it returns `Ok`. A
    /// transaction that changed rows updates who holds grants before the
    /// store is let go; if that fails, the store claims everyone may hold
    /// some, until a later commit reads them all again.
    pub fn transact<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut inner = self.lock();
        let before = inner.conn.total_changes();
        let tx = inner.conn.transaction().map_err(StoreError::from)?;
        let result = f(&Tx(&tx))?;
        tx.commit().map_err(StoreError::from)?;
        if inner.conn.total_changes() != before {
            let Inner { conn, holders } = &mut *inner;
            holders.refresh(conn);
        }
        Ok(result)
    }

    /// Whether `uid` may hold `held` grants: false only if the store (as of
    /// its last commit) has none of them for `uid`.
    pub fn may_hold(&self, uid: u32, held: Holding) -> bool {
        self.lock().holders.may_hold(uid, held)
    }
}

/// A transaction on the store.
pub struct Tx<'a>(&'a Transaction<'a>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::record::{Record, State};
    use jitsudo_policy::GrantKind;

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

    /// A started command grant of `uid`, `state`, ended at `ended_at`.
    fn grant(id: u32, uid: u32, state: State, ended_at: Option<i64>) -> Record {
        Record {
            id: id.to_string(),
            state,
            requester_uid: uid,
            requester: format!("user{uid}"),
            rule_id: "rule".into(),
            kind: "command".into(),
            command: Some(vec!["/usr/bin/true".into()]),
            run_as: None,
            duration: 60,
            reason: None,
            ticket: None,
            start: "on-approval".into(),
            start_at: None,
            max_uses: None,
            uses: 0,
            quorum: 1,
            created_at: 0,
            deadline_at: 0,
            starts_at: Some(0),
            expires_at: None,
            warned: false,
            ended_at,
            end_reason: None,
            killed: None,
            reviews: Vec::new(),
        }
    }

    #[test]
    fn lately_ended_reads_only_grants_ended_since_or_used_up_newest_first() {
        let dir = dir("lately-ended");
        let store = Store::open(&dir).unwrap();
        let (uid, now) = (1000, 10_000_000);
        let since = now - 24 * 3600;
        let ended = [State::Expired, State::Revoked, State::Ended];
        let mut records: Vec<Record> = (1..=500)
            .map(|id| {
                grant(
                    id,
                    uid,
                    ended[id as usize % 3],
                    Some(since - 3600 - i64::from(id)),
                )
            })
            .collect();
        records.push(grant(501, uid, State::Expired, Some(now - 60)));
        let used_up = Record {
            max_uses: Some(2),
            uses: 2,
            ..grant(502, uid, State::Active, None)
        };
        let uses_left = Record {
            max_uses: Some(2),
            uses: 1,
            ..grant(503, uid, State::Active, None)
        };
        let shell = Record {
            kind: "shell".into(),
            ..grant(504, uid, State::Ended, Some(now - 60))
        };
        let never_started = Record {
            starts_at: None,
            ..grant(505, uid, State::Revoked, Some(now - 60))
        };
        records.extend([used_up, uses_left, shell, never_started]);
        records.push(grant(506, uid + 1, State::Ended, Some(now - 60)));
        records.push(grant(507, uid, State::Ended, Some(since)));
        records.push(grant(508, uid, State::Ended, Some(since + 1)));
        store
            .transact(|tx| records.iter().try_for_each(|r| tx.insert(r)))
            .unwrap();
        let kinds = [GrantKind::Rule, GrantKind::Command];
        let ids = |limit| -> Vec<String> {
            store
                .transact(|tx| tx.lately_ended(uid, &kinds, since, limit))
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(ids(64), ["508", "502", "501"]);
        assert_eq!(ids(2), ["508", "502"]);
        // Each way of having ended is an index search: the 500 old grants
        // are not walked.
        let plan: Vec<String> = store
            .transact(|tx| tx.plan_of_lately_ended(&kinds))
            .unwrap();
        assert!(
            plan.iter().any(|step| step
                .contains("requests_requester (requester_uid=? AND state=? AND ended_at>?)")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN")
                || step.ends_with("requests_requester (requester_uid=?)")),
            "{plan:?}"
        );
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
