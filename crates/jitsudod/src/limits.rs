//! What one local user can make the daemon hold: connections, and
//! requests waiting at a password prompt (each a root worker process).
//!
//! Both are counted per uid and in total; a request over a limit is
//! refused with a clear error, and the refusal is logged on the daemon's
//! standard error once per burst, not once per request. The daemon also
//! raises its own descriptor limit so the connection limit, not `EMFILE`,
//! is what a flood runs into.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jitsudo_policy::Limits;
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Connections only root may use: however many other users hold, root
/// can still connect (to look, to reload, to stop the daemon).
const ROOT_RESERVE: u32 = 16;

/// Descriptors one connection may cost: its socket and the most a peer
/// may attach before its request is decided.
const FDS_PER_CONNECTION: u64 = 1 + jitsudo_proto::MAX_FDS_PER_CONNECTION as u64;

/// Descriptors kept for everything else (worker channels, policy files,
/// log sockets).
const FD_HEADROOM: u64 = 256;

/// A refusal this long after the previous one (for the same uid and
/// limit) starts a new burst, and is logged.
const BURST_GAP: Duration = Duration::from_secs(10);

/// Most uids whose last refusal is remembered (older ones are forgotten,
/// which at worst logs one more line).
const MAX_REMEMBERED: usize = 4096;

/// The descriptor limit the daemon started with, restored in the workers
/// so commands do not inherit the raised one.
static ORIGINAL_FD_LIMIT: AtomicU64 = AtomicU64::new(0);

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (best effort) and
/// remembers the original for [`restore_fd_limit_of`].
pub fn raise_fd_limit() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        ORIGINAL_FD_LIMIT.store(soft, Ordering::Relaxed);
        if soft < hard {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                eprintln!("jitsudod: cannot raise the descriptor limit to {hard}: {e}");
            }
        }
    }
}

/// Gives the started process `pid` (a worker, before it gets a job) the
/// descriptor limit the daemon started with (if [`raise_fd_limit`]
/// recorded one), so its commands do not inherit the raised one.
pub fn restore_fd_limit_of(pid: u32) -> nix::Result<()> {
    match ORIGINAL_FD_LIMIT.load(Ordering::Relaxed) {
        0 => Ok(()),
        soft => jitsudo_sys::process::lower_soft_limit_of(pid, Resource::RLIMIT_NOFILE, soft),
    }
}

/// Connections the descriptor limit leaves room for.
fn fd_budget() -> u32 {
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    let budget = soft.saturating_sub(FD_HEADROOM) / FDS_PER_CONNECTION;
    u32::try_from(budget).unwrap_or(u32::MAX).max(1)
}

/// How many of one thing the daemon may hold.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    /// All callers together.
    pub total: u32,
    /// One non-root caller.
    pub per_user: u32,
    /// Part of `total` only root may use.
    pub reserve: u32,
}

impl Cap {
    /// The connection limits of `limits`, within the descriptor budget.
    pub fn connections(limits: &Limits) -> Cap {
        let total = limits.max_connections.min(fd_budget());
        Cap {
            total,
            per_user: limits.max_connections_per_user,
            reserve: ROOT_RESERVE.min(total / 4),
        }
    }

    /// The limits on requests waiting at a password prompt.
    pub fn pending_auth(limits: &Limits) -> Cap {
        Cap {
            total: limits.max_pending_auth,
            per_user: limits.max_pending_auth_per_user,
            reserve: 0,
        }
    }

    /// Why one more for `uid` is refused, if it is.
    fn refuses(&self, uid: u32, held: u32, total: u32) -> Option<Over> {
        if uid == 0 {
            return (total >= self.total).then_some(Over::Total);
        }
        if held >= self.per_user {
            return Some(Over::User);
        }
        (total >= self.total.saturating_sub(self.reserve)).then_some(Over::Total)
    }
}

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The caller's own.
    User,
    /// Everyone's together.
    Total,
}

/// Counts held per uid and in total, for one kind of thing.
pub struct Tally {
    /// What is counted, for the log ("connections").
    what: &'static str,
    held: Mutex<Held>,
    /// When each uid was last refused, to log once per burst.
    refused: Mutex<HashMap<(u32, bool), Instant>>,
}

#[derive(Default)]
struct Held {
    total: u32,
    by_uid: HashMap<u32, u32>,
}

/// One unit held for a uid; given back when dropped.
pub struct Slot {
    tally: Arc<Tally>,
    uid: u32,
}

impl Tally {
    /// An empty tally of `what`.
    pub fn new(what: &'static str) -> Arc<Tally> {
        Arc::new(Tally {
            what,
            held: Mutex::default(),
            refused: Mutex::default(),
        })
    }

    /// Takes one unit for `uid` within `cap`; a refusal is logged (once
    /// per burst) and returned.
    pub fn take(self: &Arc<Self>, uid: u32, cap: Cap) -> Result<Slot, Over> {
        let mut held = lock(&self.held);
        let mine = held.by_uid.get(&uid).copied().unwrap_or(0);
        if let Some(over) = cap.refuses(uid, mine, held.total) {
            drop(held);
            self.log_refusal(uid, over, cap);
            return Err(over);
        }
        held.total += 1;
        held.by_uid.insert(uid, mine + 1);
        Ok(Slot {
            tally: Arc::clone(self),
            uid,
        })
    }

    /// How many units are held, everyone's together.
    pub fn total(&self) -> u32 {
        lock(&self.held).total
    }

    fn give_back(&self, uid: u32) {
        let mut held = lock(&self.held);
        held.total = held.total.saturating_sub(1);
        match held.by_uid.get_mut(&uid) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                held.by_uid.remove(&uid);
            }
        }
    }

    /// Logs the first refusal of a burst for this uid and limit.
    fn log_refusal(&self, uid: u32, over: Over, cap: Cap) {
        let now = Instant::now();
        let mut refused = lock(&self.refused);
        if refused.len() >= MAX_REMEMBERED {
            refused.retain(|_, at| now.duration_since(*at) < BURST_GAP);
        }
        let key = (uid, over == Over::User);
        let new_burst = refused
            .insert(key, now)
            .is_none_or(|last| now.duration_since(last) >= BURST_GAP);
        drop(refused);
        if new_burst {
            let limit = match over {
                Over::User => format!("{} per user", cap.per_user),
                Over::Total => format!("{} in total", cap.total),
            };
            eprintln!(
                "jitsudod: refusing {} from uid {uid}: limit of {limit} reached \
                 (further refusals are not logged until {}s pass without one)",
                self.what,
                BURST_GAP.as_secs()
            );
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.tally.give_back(self.uid);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Cap = Cap {
        total: 10,
        per_user: 3,
        reserve: 2,
    };

    #[test]
    fn one_user_is_held_to_its_share() {
        let tally = Tally::new("things");
        let held: Vec<Slot> = (0..3).map(|_| tally.take(1000, CAP).unwrap()).collect();
        assert_eq!(tally.take(1000, CAP).err(), Some(Over::User));
        assert!(tally.take(1001, CAP).is_ok());
        drop(held);
        assert!(tally.take(1000, CAP).is_ok());
    }

    #[test]
    fn root_keeps_a_reserve() {
        let tally = Tally::new("things");
        let _users: Vec<Slot> = (0..8)
            .map(|i| tally.take(1000 + i / 2, CAP).unwrap())
            .collect();
        assert_eq!(tally.take(2000, CAP).err(), Some(Over::Total));
        let _root: Vec<Slot> = (0..2).map(|_| tally.take(0, CAP).unwrap()).collect();
        assert_eq!(tally.take(0, CAP).err(), Some(Over::Total));
    }
}
