//! The daemon's subtree: the cgroup under which each command's group is
//! made, set up once at start.
//!
//! - Configured (`jitsudod --cgroup-root /path`): that cgroup, made if
//!   missing.
//! - Under systemd (`INVOCATION_ID` set, our cgroup a `.service`): the
//!   unit's own cgroup, delegated with `Delegate=yes`. The daemon moves
//!   itself into the leaf `<unit>/daemon` (its workers follow it), so the
//!   unit's cgroup only holds groups and controllers stay possible (the
//!   cgroup v2 no-internal-process rule).
//! - Otherwise: `<our cgroup>/jitsudo`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::group::Group;
use super::hierarchy::{own_cgroup, Hierarchy};
use crate::error::{at, Error};

/// Prefix of a command's group name: `cmd-<worker pid>[-n]`.
pub const COMMAND_PREFIX: &str = "cmd-";

/// Where the groups of this daemon's commands are made.
#[derive(Debug)]
pub struct Subtree {
    /// Its directory in the cgroup2 mount.
    pub dir: PathBuf,
    /// Configured for this daemon alone (`--cgroup-root`): the daemon
    /// removes it at exit when it is empty.
    made: bool,
}

static SUBTREE: OnceLock<Option<Subtree>> = OnceLock::new();

/// The subtree established at start, if cgroup v2 is usable.
pub fn subtree() -> Option<&'static Subtree> {
    SUBTREE.get().and_then(Option::as_ref)
}

/// Sets the subtree up (call once, before any thread or worker starts).
/// Without a usable cgroup v2 the daemon runs on, having said so once, and
/// commands run without a group of their own (rules with a `timeout` are
/// then refused); a configured `--cgroup-root` that cannot be used is an
/// error instead.
pub fn establish(configured: Option<&Path>) -> Result<(), Error> {
    let found = match (set_up(configured), configured) {
        (Ok(subtree), _) => Some(subtree),
        (Err(e), Some(_)) => return Err(Error::CgroupRoot(Box::new(e))),
        (Err(e), None) => {
            eprintln!(
                "jitsudod: warning: cgroup v2 is not usable ({e}): commands run without a \
                 cgroup of their own, and rules with a timeout are refused"
            );
            None
        }
    };
    if let Some(subtree) = &found {
        remove_stale(&subtree.dir);
    }
    SUBTREE.set(found).map_err(|_| Error::SubtreeTwice)
}

/// How long [`release`] waits for idle workers to remove the groups they
/// made ahead of a job (each does once its channel to the daemon closes).
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Pause between two looks at the subtree in [`release`].
const RELEASE_PAUSE: Duration = Duration::from_millis(5);

/// At daemon exit: removes the subtree the daemon made if it is empty
/// (best effort; commands still running keep it). Groups without processes
/// are those idle workers made ahead of a job and are removing as they
/// leave: they are waited for, a bounded time.
pub fn release() {
    let Some(subtree) = subtree().filter(|s| s.made) else {
        return;
    };
    let until = Instant::now() + RELEASE_WAIT;
    while std::fs::remove_dir(&subtree.dir).is_err()
        && has_empty_groups(&subtree.dir)
        && Instant::now() < until
    {
        std::thread::sleep(RELEASE_PAUSE);
    }
}

/// Whether a command group without processes is below `dir`.
fn has_empty_groups(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        name.to_str().and_then(worker_of).is_some()
            && matches!(Group::at(entry.path()).populated(), Ok(false))
    })
}

fn set_up(configured: Option<&Path>) -> Result<Subtree, Error> {
    let hierarchy = Hierarchy::find()?;
    let subtree = match configured {
        Some(path) => Subtree {
            dir: hierarchy.dir_of(path)?,
            made: true,
        },
        None => default_subtree(&hierarchy)?,
    };
    only_root_moves(&hierarchy, &subtree.dir)?;
    make_dir(&subtree.dir)?;
    probe(&subtree.dir)?;
    Ok(subtree)
}

/// Refuses a subtree inside a cgroup delegated to someone else: whoever may
/// write the `cgroup.procs` of an ancestor may move their own processes
/// between groups below it, out of a command's group included. (Missing
/// levels are made by root next.)
fn only_root_moves(hierarchy: &Hierarchy, dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    for ancestor in dir.ancestors().take_while(|a| hierarchy.contains(a)) {
        let procs = ancestor.join("cgroup.procs");
        let meta = match std::fs::metadata(&procs) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            other => other.map_err(at(&procs))?,
        };
        if meta.uid() != 0 || meta.mode() & 0o022 != 0 {
            return Err(Error::Delegated(procs));
        }
    }
    Ok(())
}

fn default_subtree(hierarchy: &Hierarchy) -> Result<Subtree, Error> {
    let own = own_cgroup()?;
    let unit = std::env::var_os("INVOCATION_ID").is_some()
        && own.extension().is_some_and(|e| e == "service");
    if !unit {
        // Other daemons started from the same cgroup (an overlapping
        // restart, a second instance) use this directory too: it stays at
        // exit, so none of them loses it under running requests. An empty
        // cgroup costs nothing and is reused.
        return Ok(Subtree {
            dir: hierarchy.dir_of(&own.join("jitsudo"))?,
            made: false,
        });
    }
    let dir = hierarchy.dir_of(&own)?;
    let leaf = dir.join("daemon");
    make_dir(&leaf)?;
    let mine = std::process::id().to_string();
    std::fs::write(leaf.join("cgroup.procs"), mine)
        .map_err(|e| Error::MovingInto(leaf.clone(), e))?;
    Ok(Subtree { dir, made: false })
}

fn make_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(at(dir))
}

/// Makes and removes a group, so that a read-only or foreign hierarchy is
/// found out at start, not at the first command.
fn probe(dir: &Path) -> Result<(), Error> {
    let name = format!("probe-{}", std::process::id());
    let group = Group::create(dir, &name).map_err(at(dir))?;
    group.remove().map_err(at(&dir.join(&name)))
}

/// Removes the empty groups of commands whose worker is gone (a crashed
/// worker, a reboot-less restart). A group that still has processes is
/// left running — commands outlive daemon restarts by design — and named
/// in the log; a group whose worker still exists is that worker's.
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(worker) = name.to_str().and_then(worker_of) else {
            continue;
        };
        if Path::new("/proc").join(worker.to_string()).exists() {
            continue;
        }
        let group = Group::at(entry.path());
        match group.populated() {
            Ok(false) => {
                if let Err(e) = group.remove() {
                    eprintln!("jitsudod: stale cgroup {}: {e}", entry.path().display());
                }
            }
            Ok(true) => eprintln!(
                "jitsudod: cgroup {} still has processes of a command whose worker is gone; \
                 they keep running",
                entry.path().display()
            ),
            Err(e) => eprintln!("jitsudod: stale cgroup {}: {e}", entry.path().display()),
        }
    }
}

/// The worker pid in a command group's name.
fn worker_of(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(COMMAND_PREFIX)?;
    rest.split('-').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::worker_of;

    #[test]
    fn command_group_names_carry_the_worker_pid() {
        assert_eq!(worker_of("cmd-42"), Some(42));
        assert_eq!(worker_of("cmd-42-3"), Some(42));
        assert_eq!(worker_of("grant-7"), None);
        assert_eq!(worker_of("cmd-x"), None);
    }
}
