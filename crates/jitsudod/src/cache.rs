//! The credential cache: who authenticated recently, and where.
//!
//! Scoped like sudo's `timestamp_type=tty`: the same uid in the same
//! terminal session (tty device, session id and the session leader's start
//! time, so a new login on the same tty or a reused pid never inherits it);
//! without a terminal, the parent process (pid and start time), if it is in
//! the caller's session and not a pid namespace's init — an orphan's adoptive
//! parent is shared by every orphan, so orphans get no cache (see
//! `peer::parent_scope`). It lives in the daemon's memory only: a
//! restart forgets everything.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where an authentication counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A terminal session.
    Terminal {
        /// The controlling terminal's device number.
        tty: u64,
        /// The session id.
        session: i32,
        /// The session leader's start time (clock ticks after boot).
        leader_start: u64,
    },
    /// The caller's parent process, when there is no terminal (and the
    /// parent is not one orphans are handed to).
    Parent {
        /// The parent's pid.
        pid: i32,
        /// Its start time.
        start: u64,
    },
}

/// A cache entry's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The caller.
    pub uid: u32,
    /// Where.
    pub scope: Scope,
}

/// Recent successful authentications.
#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<CacheKey, Instant>>,
}

impl CredentialCache {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<CacheKey, Instant>) -> T) -> T {
        match self.entries.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Whether `key` authenticated less than `timeout` ago. A zero timeout
    /// means always ask.
    pub fn is_fresh(&self, key: &CacheKey, timeout: Duration) -> bool {
        !timeout.is_zero()
            && self.with(|entries| entries.get(key).is_some_and(|at| at.elapsed() < timeout))
    }

    /// Records a successful authentication now (also drops stale entries,
    /// so the map cannot grow without bound).
    pub fn remember(&self, key: CacheKey, timeout: Duration) {
        self.with(|entries| {
            entries.retain(|_, at| at.elapsed() < timeout);
            entries.insert(key, Instant::now());
        });
    }

    /// `-k`: forgets this scope.
    pub fn forget(&self, key: &CacheKey) {
        self.with(|entries| entries.remove(key));
    }

    /// `-K`: forgets every scope of `uid`.
    pub fn forget_user(&self, uid: u32) {
        self.with(|entries| entries.retain(|key, _| key.uid != uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(uid: u32, session: i32) -> CacheKey {
        CacheKey {
            uid,
            scope: Scope::Terminal {
                tty: 34816,
                session,
                leader_start: 7,
            },
        }
    }

    #[test]
    fn remembers_per_scope_and_forgets() {
        let cache = CredentialCache::default();
        let minute = Duration::from_secs(60);
        cache.remember(key(1000, 5), minute);
        assert!(cache.is_fresh(&key(1000, 5), minute));
        assert!(!cache.is_fresh(&key(1000, 6), minute));
        assert!(!cache.is_fresh(&key(1001, 5), minute));
        assert!(!cache.is_fresh(&key(1000, 5), Duration::ZERO));
        cache.forget(&key(1000, 5));
        assert!(!cache.is_fresh(&key(1000, 5), minute));
        cache.remember(key(1000, 5), minute);
        cache.remember(key(1000, 6), minute);
        cache.forget_user(1000);
        assert!(!cache.is_fresh(&key(1000, 6), minute));
    }

    #[test]
    fn entries_expire() {
        let cache = CredentialCache::default();
        cache.remember(key(1, 1), Duration::from_secs(60));
        assert!(!cache.is_fresh(&key(1, 1), Duration::from_nanos(1)));
    }
}
