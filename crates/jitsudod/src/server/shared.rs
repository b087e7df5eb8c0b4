//! What all connections share: the policy in force (reloaded atomically),
//! the credential cache, the worker pool, the failure rate limit and the
//! connection and prompt tallies.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jitsudo_audit::{Audit, Checkpointer, Event, EventKind};

use crate::cache::CredentialCache;
use crate::grants::{workflow, Grants};
use crate::handoff::WorkerPool;
use crate::limits::Tally;
use crate::policy_store::{self, Loaded};
use crate::request::Context;

/// Failed password attempts per uid allowed within [`FAILURE_WINDOW`].
const MAX_RECENT_FAILURES: usize = 30;
/// The window over which failed attempts are counted.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// State shared by all connections.
pub struct Shared {
    policy: RwLock<Arc<Loaded>>,
    pub(super) policy_path: PathBuf,
    pub(super) audit: Audit,
    /// The trail's checkpoints.
    pub(super) checkpoints: Checkpointer,
    pub(super) host: String,
    pub(super) cache: CredentialCache,
    pub(super) workers: Arc<WorkerPool>,
    /// Recent failed password attempts per uid: past a limit, new prompts
    /// are refused for a while, so parallel connections cannot multiply
    /// the guessing speed PAM's failure delay allows one terminal.
    pub(super) failures: Mutex<HashMap<u32, VecDeque<Instant>>>,
    /// Connections held, before they are answered or handed to a worker.
    pub(super) connections: Arc<Tally>,
    /// Requests whose worker waits at a password prompt.
    pub(super) pending_auth: Arc<Tally>,
    /// Requests and grants.
    pub(super) grants: Arc<Grants>,
    /// When the daemon started.
    pub(super) started: Instant,
    /// When the last reload happened and, if it was refused, why.
    pub(super) last_reload: Mutex<Option<(Instant, Option<String>)>>,
}

impl Shared {
    /// Shared state around a loaded policy.
    pub fn new(policy: Loaded, policy_path: PathBuf, audit: Audit, grants: Arc<Grants>) -> Shared {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        grants.follow(&policy.policy);
        Shared {
            policy: RwLock::new(Arc::new(policy)),
            policy_path,
            audit,
            checkpoints: crate::audit::checkpointer(),
            host,
            cache: CredentialCache::default(),
            workers: Arc::default(),
            failures: Mutex::new(HashMap::new()),
            connections: Tally::new("connections"),
            pending_auth: Tally::new("password prompts"),
            grants,
            started: Instant::now(),
            last_reload: Mutex::new(None),
        }
    }

    fn with_failures<T>(&self, uid: u32, f: impl FnOnce(&mut VecDeque<Instant>) -> T) -> T {
        let mut map = match self.failures.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        let recent = map.entry(uid).or_default();
        while recent
            .front()
            .is_some_and(|at| at.elapsed() > FAILURE_WINDOW)
        {
            recent.pop_front();
        }
        let result = f(recent);
        if recent.is_empty() {
            map.remove(&uid);
        }
        result
    }

    /// Whether `uid` failed too often lately to be asked again now.
    pub(super) fn too_many_failures(&self, uid: u32) -> bool {
        self.with_failures(uid, |recent| recent.len() >= MAX_RECENT_FAILURES)
    }

    pub(super) fn record_failure(&self, uid: u32) {
        self.with_failures(uid, |recent| recent.push_back(Instant::now()));
    }

    /// What every step of a request shares, with `policy` in force.
    pub(super) fn context<'a>(&'a self, policy: &'a Loaded) -> Context<'a> {
        Context {
            policy: &policy.policy,
            policy_hash: &policy.hash,
            audit: &self.audit,
            host: &self.host,
            cache: &self.cache,
            grants: &self.grants,
            at: None,
        }
    }

    pub(super) fn policy(&self) -> Arc<Loaded> {
        match self.policy.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-reads the policy atomically: an invalid one is refused (its
    /// errors returned and logged) and the old one stays in force.
    pub(super) fn reload(&self) -> Result<(), policy_store::LoadError> {
        let loaded = policy_store::load(&self.policy_path);
        let outcome = loaded.as_ref().err().map(ToString::to_string);
        match self.last_reload.lock() {
            Ok(mut last) => *last = Some((Instant::now(), outcome)),
            Err(poisoned) => *poisoned.into_inner() = Some((Instant::now(), outcome)),
        }
        match loaded {
            Ok(policy) => {
                let event = Event::new(EventKind::PolicyReload)
                    .policy_hash(Some(&policy.hash))
                    .reason("policy reloaded");
                let policy = Arc::new(policy);
                let old = match self.policy.write() {
                    Ok(mut slot) => std::mem::replace(&mut *slot, Arc::clone(&policy)),
                    Err(poisoned) => {
                        std::mem::replace(&mut *poisoned.into_inner(), Arc::clone(&policy))
                    }
                };
                // The old policy is freed (unless a request still holds it)
                // once the lock is released: requests reading the policy
                // never wait for the tens of thousands of frees of a large one.
                drop(old);
                jitsudo_sys::malloc::give_back();
                crate::audit::enable(
                    &policy.policy.defaults.audit_log,
                    &policy.policy.defaults.audit_sinks,
                );
                self.audit.emit(&event);
                self.grants.follow(&policy.policy);
                workflow::revoke_disallowed(&self.grants, &policy.policy);
                Ok(())
            }
            Err(errors) => {
                eprintln!("jitsudod: policy reload refused, keeping the old policy:\n{errors}");
                self.audit.emit(
                    &Event::new(EventKind::PolicyReload)
                        .with_priority(jitsudo_audit::Priority::Error)
                        .reason(format!("reload refused: {errors}")),
                );
                Err(errors)
            }
        }
    }
}
