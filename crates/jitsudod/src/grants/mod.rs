//! Just-in-time grants: requests, reviews, grants and their ends.
//!
//! | part | module |
//! |---|---|
//! | what is stored, and how it is shown | [`record`] |
//! | the SQLite store | [`store`] |
//! | the `jitsudoctl` verbs: who may do what, state changes | [`workflow`] |
//! | using a grant from `jitsudo` | [`using`] |
//! | deadlines, warnings and teardown | [`timers`] |
//! | the audit events | [`events`] |
//! | notices to logged-in approvers of a new request | [`notify`] |
//!
//! Every verb is authorized from the caller's kernel identity and runs as
//! one store transaction; the timers task wakes at the next deadline (or
//! when a verb changes one) and ends what is due.

mod events;
mod notify;
pub mod record;
pub mod store;
pub mod teardown;
pub mod timers;
pub mod using;
pub mod workflow;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use jitsudo_audit::Audit;
use jitsudo_policy::{Policy, Timing};
use tokio::sync::Notify;

pub use events::Transition;
use record::Record;
use store::{Store, StoreError};

/// How many changes a slow listener may fall behind (it then misses
/// the oldest).
const CHANGES_QUEUED: usize = 256;

/// A change of a request or grant, for listeners (the D-Bus signals).
#[derive(Debug, Clone)]
pub struct Change {
    /// What happened.
    pub transition: Transition,
    /// The record after it.
    pub record: Record,
}

/// Longest `--reason` (bytes).
pub const MAX_REASON: usize = 512;
/// Longest `--ticket` (bytes).
pub const MAX_TICKET: usize = 64;
/// Most words and bytes of a command grant's command line.
pub const MAX_COMMAND_WORDS: usize = 64;
/// See [`MAX_COMMAND_WORDS`].
pub const MAX_COMMAND_BYTES: usize = 4096;
/// Most requests one user may have pending at once.
pub const MAX_PENDING_PER_USER: u32 = 8;
/// Most grants (approved or active) one user may hold at once.
pub const MAX_LIVE_PER_USER: u32 = 32;

/// The grant machinery the daemon shares between connections.
pub struct Grants {
    /// The store.
    pub store: Store,
    /// Woken when a deadline may have moved.
    pub wake: Notify,
    /// Where the events go.
    pub audit: Audit,
    /// Each grantable rule's warning ahead of the end and grace after
    /// SIGTERM, from the policy in force ([`Grants::follow`]).
    timing: RwLock<TimingTable>,
    /// Every change, as it is logged.
    pub changes: tokio::sync::broadcast::Sender<Change>,
    /// Grants whose teardown runs now (each runs once).
    tearing: Mutex<HashSet<String>>,
}

impl Grants {
    /// Opens the store below `state_dir`.
    pub fn open(state_dir: &Path, audit: Audit) -> Result<Grants, StoreError> {
        Ok(Grants {
            store: Store::open(state_dir)?,
            wake: Notify::new(),
            audit,
            timing: RwLock::new(TimingTable::default()),
            changes: tokio::sync::broadcast::channel(CHANGES_QUEUED).0,
            tearing: Mutex::new(HashSet::new()),
        })
    }

    /// Takes the clockwork of every grantable rule from `policy` (at start
    /// and after each reload).
    pub fn follow(&self, policy: &Policy) {
        let defaults = policy.defaults.grant_timing;
        let by_rule = policy
            .rules
            .iter()
            .filter_map(|rule| Some((rule.id.clone(), rule.grant.as_ref()?.timing(&defaults))))
            .collect();
        let table = TimingTable { defaults, by_rule };
        match self.timing.write() {
            Ok(mut slot) => *slot = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
    }

    /// The clockwork of grants for rule `rule_id` (the defaults' if the
    /// policy no longer has the rule).
    pub fn timing(&self, rule_id: &str) -> Timing {
        let table = match self.timing.read() {
            Ok(table) => table,
            Err(poisoned) => poisoned.into_inner(),
        };
        table
            .by_rule
            .get(rule_id)
            .copied()
            .unwrap_or(table.defaults)
    }

    /// Marks grant `id`'s teardown as running (`start`; false if it
    /// already was) or done.
    pub fn tearing(&self, id: &str, start: bool) -> bool {
        let mut tearing = match self.tearing.lock() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        if start {
            tearing.insert(id.to_owned())
        } else {
            tearing.remove(id)
        }
    }
}

/// The clockwork of the grantable rules of the policy in force.
#[derive(Default)]
struct TimingTable {
    defaults: Timing,
    by_rule: HashMap<String, Timing>,
}

/// Now, in seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A moment for messages: `2026-12-01 15:04:05 UTC`.
pub fn show_time(at: i64) -> String {
    let days = at.div_euclid(86_400);
    let secs = at.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(show_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(show_time(1_772_443_800), "2026-03-02 09:30:00 UTC");
    }
}
