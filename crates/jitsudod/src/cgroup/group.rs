//! One cgroup: a command's (and later a grant's) processes.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long ending a group may take once everything in it got SIGKILL.
const KILL_BOUND: Duration = Duration::from_secs(5);

/// Pause between rounds of the SIGKILL loop used where `cgroup.kill` is
/// missing (kernels before 5.14).
const KILL_ROUND: Duration = Duration::from_millis(10);

/// A cgroup directory, root's (mode 0755: nobody else may move processes in
/// or out of it).
#[derive(Debug)]
pub struct Group {
    dir: PathBuf,
}

impl Group {
    /// Makes the group `name` below `parent`; fails if it exists.
    pub fn create(parent: &Path, name: &str) -> io::Result<Group> {
        let dir = parent.join(name);
        DirBuilder::new().mode(0o755).create(&dir)?;
        Ok(Group { dir })
    }

    /// An existing group.
    pub fn at(dir: PathBuf) -> Group {
        Group { dir }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its directory, open (`O_PATH`, close-on-exec): where a child is
    /// born with `CLONE_INTO_CGROUP`.
    pub fn open_dir(&self) -> io::Result<OwnedFd> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(&self.dir)?;
        Ok(dir.into())
    }

    /// Its `cgroup.procs`, open for writing (close-on-exec): a process
    /// writes "0" to it to enter the group (see [`enter`]).
    pub fn procs_writer(&self) -> io::Result<OwnedFd> {
        let file = OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.procs"))?;
        Ok(file.into())
    }

    /// The processes in it and in the groups below it (a grant's group
    /// holds its commands' groups), now.
    pub fn pids(&self) -> io::Result<Vec<Pid>> {
        let mut pids = Vec::new();
        collect_pids(&self.dir, &mut pids)?;
        Ok(pids)
    }

    /// Whether any process is in it or below it (`cgroup.events`).
    pub fn populated(&self) -> io::Result<bool> {
        let text = std::fs::read_to_string(self.dir.join("cgroup.events"))?;
        Ok(text.lines().any(|l| l == "populated 1"))
    }

    /// Sends `sig` to every process in it and below it (one pass:
    /// processes forked meanwhile are caught by [`Group::kill`]).
    pub fn signal_all(&self, sig: Signal) -> io::Result<()> {
        for pid in self.pids()? {
            let _ = kill(pid, sig);
        }
        Ok(())
    }

    /// SIGKILLs everything in it and waits (bounded) until it is empty:
    /// `cgroup.kill` where the kernel has it, else rounds of SIGKILL to
    /// every listed process until none is left. `Ok(false)`: still not
    /// empty after [`KILL_BOUND`].
    pub fn kill(&self) -> io::Result<bool> {
        let until = Instant::now() + KILL_BOUND;
        match std::fs::write(self.dir.join("cgroup.kill"), "1") {
            Ok(()) => self.wait_empty(Some(until)),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                while self.populated()? && Instant::now() < until {
                    self.signal_all(Signal::SIGKILL)?;
                    std::thread::sleep(KILL_ROUND);
                }
                Ok(!self.populated()?)
            }
            Err(e) => Err(e),
        }
    }

    /// SIGTERM to everything, then [`Group::kill`] what is left after
    /// `grace`. `Ok(true)` once it is empty.
    pub fn terminate(&self, grace: Duration) -> io::Result<bool> {
        self.signal_all(Signal::SIGTERM)?;
        if self.wait_empty(Some(Instant::now() + grace))? {
            return Ok(true);
        }
        self.kill()
    }

    /// Waits until it is empty (`populated 0`, watched with inotify) or
    /// `until` passes: `Ok(true)` if it is empty.
    pub fn wait_empty(&self, until: Option<Instant>) -> io::Result<bool> {
        // Mostly it already is: an inotify instance costs a grace period of
        // the kernel's (milliseconds) when it is closed.
        if !self.populated()? {
            return Ok(true);
        }
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
        inotify.add_watch(&self.dir.join("cgroup.events"), AddWatchFlags::IN_MODIFY)?;
        loop {
            if !self.populated()? {
                return Ok(true);
            }
            let timeout = match until {
                None => PollTimeout::NONE,
                Some(at) => match at.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        PollTimeout::try_from(left.as_millis().clamp(1, 60_000) as i32)
                            .unwrap_or(PollTimeout::ZERO)
                    }
                    _ => return Ok(false),
                },
            };
            let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            while let Ok(events) = inotify.read_events() {
                if events.is_empty() {
                    break;
                }
            }
        }
    }

    /// Removes the (empty) group.
    pub fn remove(&self) -> io::Result<()> {
        std::fs::remove_dir(&self.dir)
    }
}

/// Adds the processes of the cgroup `dir` and of every group below it.
fn collect_pids(dir: &Path, pids: &mut Vec<Pid>) -> io::Result<()> {
    let text = std::fs::read_to_string(dir.join("cgroup.procs"))?;
    pids.extend(
        text.lines()
            .filter_map(|l| l.parse().ok())
            .map(Pid::from_raw),
    );
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            match collect_pids(&entry.path(), pids) {
                // A group removed meanwhile has no processes left.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                other => other?,
            }
        }
    }
    Ok(())
}

/// Moves the calling process into the group whose `cgroup.procs` is open
/// as `procs` (from [`Group::procs_writer`]). Meant for a forked child
/// before its exec: everything it starts afterwards is born in the group.
pub fn enter(procs: &OwnedFd) -> nix::Result<()> {
    nix::unistd::write(procs, b"0").map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::hierarchy::{own_cgroup, Hierarchy};
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};

    /// A group below the test's own cgroup; `None` (with a note) where
    /// cgroups cannot be made: not root, or no cgroup v2.
    fn scratch_group(name: &str) -> Option<Group> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root");
            return None;
        }
        let hierarchy = Hierarchy::find().ok()?;
        let own = own_cgroup().ok()?;
        let parent = hierarchy.dir_of(&own).ok()?;
        let name = format!("jitsudo-unit-{}-{name}", std::process::id());
        Some(Group::create(&parent, &name).expect("make a scratch group"))
    }

    /// A process that ignores SIGTERM, started in `group` (the shell moves
    /// itself there, and says so once it has).
    fn stubborn_in(group: &Group) -> Child {
        let mut child = Command::new("sh")
            .args([
                "-c",
                "echo $$ > \"$1/cgroup.procs\" && echo in && trap '' TERM && exec sleep 1000",
                "sh",
            ])
            .arg(group.dir())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start sh");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read sh");
        assert_eq!(line, "in\n", "sh could not enter {}", group.dir().display());
        child
    }

    /// A grant-like group holding a command's group: terminating the outer
    /// one reaches the processes of both (SIGTERM, then SIGKILL for those
    /// that ignore it), after which both groups can be removed.
    #[test]
    fn terminate_reaches_nested_groups() {
        let Some(outer) = scratch_group("outer") else {
            return;
        };
        let inner = Group::create(outer.dir(), "cmd-1").expect("nested group");
        let mut children = [stubborn_in(&outer), stubborn_in(&inner)];
        assert_eq!(outer.pids().expect("pids").len(), 2);
        assert!(outer.populated().expect("populated"));
        let start = Instant::now();
        let empty = outer.terminate(Duration::from_millis(200));
        for child in &mut children {
            let _ = child.wait();
        }
        let emptied = outer.wait_empty(Some(Instant::now() + KILL_BOUND));
        let removed = inner.remove().and_then(|()| outer.remove());
        assert!(matches!(empty, Ok(true)), "{empty:?}");
        assert!(matches!(emptied, Ok(true)), "{emptied:?}");
        assert!(removed.is_ok(), "{removed:?}");
        assert!(start.elapsed() < KILL_BOUND, "{:?}", start.elapsed());
    }
}
