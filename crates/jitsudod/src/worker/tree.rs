//! The command's process tree as the worker ends it: the command's own
//! cgroup when there is one, else its process group.
//!
//! The group `cmd-<worker pid>` is made below the daemon's subtree while
//! the worker waits for its job ([`Ready`]; else, e.g. under a grant or if
//! that failed, when the command starts), and the child is born in it (`clone3` with
//! `CLONE_INTO_CGROUP`; on kernels before 5.7 the child enters it first
//! thing, writing "0" to its `cgroup.procs`, while still root), before
//! anything of the command runs, so every process the command ever starts
//! is born inside. The worker stays outside and survives to report the
//! exit.

use std::io::ErrorKind;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use jitsudo_proto::Failure;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::cgroup::{Group, COMMAND_PREFIX};

/// Names tried for the group when `cmd-<pid>` is still taken (a worker of
/// the same pid whose leftovers still run).
const NAME_ATTEMPTS: u32 = 16;

/// The command's group (if cgroup v2 is usable), made before the fork.
pub struct Prepared {
    group: Option<Group>,
}

impl Prepared {
    /// Makes the group below `subtree`. Without a subtree (no usable cgroup
    /// v2) only a command without a `timeout` may run, as before: a
    /// timeout that could miss a double-forked process is refused.
    pub fn new(subtree: Option<&Path>, timeout: bool) -> Result<Prepared, Failure> {
        let Some(subtree) = subtree else {
            if timeout {
                return Err(Failure::new(
                    "this rule has a timeout, which needs cgroup v2, and cgroup v2 is not \
                     usable by jitsudod on this host (see its log); ask your administrator",
                ));
            }
            return Ok(Prepared { group: None });
        };
        take_ready(subtree)
            .map_or_else(|| create(subtree), Ok)
            .map(|group| Prepared { group: Some(group) })
            .map_err(|e| Failure::new(format!("unable to create the command's cgroup: {e}")))
    }

    /// The group's directory, open: where the child is born.
    pub fn dir(&self) -> Result<Option<OwnedFd>, Failure> {
        self.group
            .as_ref()
            .map(Group::open_dir)
            .transpose()
            .map_err(|e| Failure::new(format!("unable to open the command's cgroup: {e}")))
    }

    /// The `cgroup.procs` the child writes itself into where it cannot be
    /// born in the group (kernels before 5.7).
    pub fn procs_writer(&self) -> Result<Option<OwnedFd>, Failure> {
        self.group
            .as_ref()
            .map(Group::procs_writer)
            .transpose()
            .map_err(|e| Failure::new(format!("unable to open the command's cgroup: {e}")))
    }

    /// The command started as `leader` (the leader of its process group).
    pub fn started(mut self, leader: Pid) -> CommandTree {
        CommandTree {
            leader,
            group: self.group.take(),
        }
    }
}

/// The command did not start: its (empty) group goes.
impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(group) = &self.group {
            let _ = group.remove();
        }
    }
}

/// The group made while the worker waited ([`Ready::make`]), until a
/// command takes it. The worker is single-threaded; the lock only makes the
/// static sound.
static READY: Mutex<Option<Group>> = Mutex::new(None);

/// The worker's group made ahead of its job; removed when this drops unless
/// a command took it (see [`Prepared::new`]).
pub struct Ready(());

impl Ready {
    /// Makes `cmd-<worker pid>` below `subtree` (if cgroup v2 is usable),
    /// best effort: the command makes its group itself if this failed.
    pub fn make(subtree: Option<&Path>) -> Ready {
        if let Some(group) = subtree.and_then(|subtree| create(subtree).ok()) {
            *READY.lock().unwrap_or_else(PoisonError::into_inner) = Some(group);
        }
        Ready(())
    }
}

impl Drop for Ready {
    fn drop(&mut self) {
        let left = READY.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(group) = left {
            report(&group, group.remove());
        }
    }
}

/// The group made ahead, if it is below `subtree`.
fn take_ready(subtree: &Path) -> Option<Group> {
    let mut ready = READY.lock().unwrap_or_else(PoisonError::into_inner);
    ready.take_if(|group| group.dir().parent() == Some(subtree))
}

fn create(subtree: &Path) -> std::io::Result<Group> {
    let pid = std::process::id();
    for n in 0..NAME_ATTEMPTS {
        let name = match n {
            0 => format!("{COMMAND_PREFIX}{pid}"),
            n => format!("{COMMAND_PREFIX}{pid}-{n}"),
        };
        match Group::create(subtree, &name) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            other => return other,
        }
    }
    Err(ErrorKind::AlreadyExists.into())
}

/// A started command: what the worker signals and kills.
pub struct CommandTree {
    leader: Pid,
    group: Option<Group>,
}

impl CommandTree {
    /// SIGTERM to every process of the command.
    pub fn terminate(&self) {
        match &self.group {
            Some(group) => report(group, group.signal_all(Signal::SIGTERM).map(drop)),
            None => drop(killpg(self.leader, Signal::SIGTERM)),
        }
    }

    /// SIGKILL to every process of the command (the whole cgroup).
    pub fn kill(&self) {
        match &self.group {
            Some(group) => report(group, group.kill().map(drop)),
            None => drop(killpg(self.leader, Signal::SIGKILL)),
        }
    }

    /// Deadlines still pending when the command's own process ended.
    pub fn leftovers(self, ends_at: Option<Instant>, kill_at: Option<Instant>) -> Leftovers {
        Leftovers {
            group: self.group,
            ends_at,
            kill_at,
        }
    }
}

/// What a command may have left running in its group after its own process
/// ended, with the deadlines still pending for it.
pub struct Leftovers {
    group: Option<Group>,
    ends_at: Option<Instant>,
    kill_at: Option<Instant>,
}

impl Leftovers {
    /// Leftovers run on, as under sudo, except past a pending deadline: the
    /// rule's `timeout` (`ends_at`: SIGTERM, SIGKILL after `grace`) or the
    /// kill after a vanished client hung up a terminal command (`kill_at`).
    /// Blocks until the group is empty, then removes it.
    pub fn finish(self, grace: Duration) {
        let Some(group) = self.group else { return };
        let (ends_at, kill_at) = (self.ends_at, self.kill_at);
        let outcome = (|| {
            if let Some(at) = ends_at {
                if !group.wait_empty(Some(at))? {
                    group.terminate(grace)?;
                }
            }
            if let Some(at) = kill_at {
                if !group.wait_empty(Some(at))? {
                    group.kill()?;
                }
            }
            group.wait_empty(None)
        })();
        match outcome {
            Ok(_) => report(&group, group.remove()),
            Err(e) => report(&group, Err(e)),
        }
    }
}

fn report(group: &Group, outcome: std::io::Result<()>) {
    if let Err(e) = outcome {
        eprintln!("jitsudod worker: cgroup {}: {e}", group.dir().display());
    }
}
