//! `jitsudod --worker`: one process per accepted request.
//!
//! The daemon fork+execs a fresh, single-threaded worker and hands it the
//! decided [`Job`] and the client's connection over a socketpair on fd 0.
//! The worker starts the command child, supervises it (signals from the
//! client, job control, the client going away), reports the exit to the
//! client and logs it. The daemon is not involved any more, so restarting
//! it never disturbs a running command.

mod auth;
mod child;
mod edit;
mod pty;
mod reply;
mod session;
mod spawn;
mod supervise;
pub mod title;
mod tree;
mod watch;

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::process::ExitCode;

use jitsudo_proto::{decode, FrameReader, PassedFds, MAX_MESSAGE_LEN};
use jitsudo_sys::fd::Std;
use jitsudo_sys::process;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::stat::Mode;
use nix::unistd::{setsid, Gid, Uid};

use crate::error::Error;
use crate::request::job::{Exec, Job};
use child::ChildSpec;

/// The worker's entry point; fd 0 is the socketpair from the daemon.
/// `cgroup`: the daemon's cgroup subtree, if cgroup v2 is usable.
pub fn main(cgroup: Option<std::path::PathBuf>) -> ExitCode {
    title::set(title::IDLE);
    let _ = setsid();
    // Started ahead of the job, at a low priority so that getting ready
    // never slows a request in flight: PAM's configuration and modules are
    // loaded while the worker waits in the pool.
    let priority = Priority::lower();
    let pam = match auth::Transaction::prepare() {
        Ok(pam) => pam,
        Err(e) => {
            eprintln!("jitsudod worker: pam_start: {}", e.text);
            return ExitCode::FAILURE;
        }
    };
    let job = receive_job();
    // The command must run at the priority the daemon had, not ours.
    priority.restore();
    match job {
        Ok((job, received)) => {
            title::set(&title::busy(&job));
            // Fd 0 stays the daemon's channel for the worker's life.
            let daemon = Std::In.borrow();
            supervise::run(
                pam,
                job,
                received.conn,
                received.caller,
                daemon,
                cgroup.as_deref(),
            )
        }
        // The daemon stopped.
        Err(Error::NoJob) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitsudod worker: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The worker's scheduling priority while it waits for a job.
struct Priority {
    original: Option<i32>,
}

/// How much lower an idle worker runs (nice increment).
const IDLE_NICENESS: i32 = 10;

impl Priority {
    fn lower() -> Priority {
        let original = process::priority().ok();
        if let Some(original) = original {
            let _ = process::set_priority(original + IDLE_NICENESS);
        }
        Priority { original }
    }

    fn restore(self) {
        // Root may raise its priority back.
        if let Some(original) = self.original {
            let _ = process::set_priority(original);
        }
    }
}

/// The job's descriptors, as received.
pub struct Received {
    /// The client connection.
    pub conn: OwnedFd,
    /// The caller's descriptors, for the command.
    pub caller: CallerFds,
}

/// The caller's descriptors that the command inherits.
pub struct CallerFds {
    /// The caller's stdio descriptors, by slot.
    pub stdio: [Option<OwnedFd>; 3],
    /// The caller's working directory.
    pub cwd: OwnedFd,
    /// The executable the daemon opened and decided on (with a command).
    pub executable: Option<OwnedFd>,
    /// The caller's descriptors above 2 that `-C` keeps open, by number.
    pub kept: Vec<(u32, OwnedFd)>,
}

fn receive_job() -> Result<(Job, Received), Error> {
    // Fd 0 is the socketpair the daemon gave us.
    let channel = Std::In.borrow();
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    let frame = reader
        .read_frame(channel)
        .map_err(|e| Error::Job("reading job", e))?
        .ok_or(Error::NoJob)?;
    let job: Job = decode(&frame).map_err(|e| Error::Job("decoding job", e))?;
    let mut fds = reader.take_fds();
    let executable = if job.has_executable() {
        Some(fds.pop().ok_or(Error::JobWithout("executable"))?)
    } else {
        None
    };
    let mut fds = fds.into_iter();
    let conn = fds.next().ok_or(Error::JobWithout("client connection"))?;
    let passed = PassedFds::receive(job.fds, fds.collect()).map_err(|e| Error::Job("job", e))?;
    let PassedFds {
        stdio,
        cwd: Some(cwd),
        kept,
    } = passed
    else {
        return Err(Error::JobWithout("working directory"));
    };
    let caller = CallerFds {
        stdio,
        cwd,
        executable,
        kept,
    };
    Ok((job, Received { conn, caller }))
}

/// Signals the worker itself must not die of while it supervises.
fn blocked_signals() -> SigSet {
    let mut set = SigSet::empty();
    for sig in [
        Signal::SIGCHLD,
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGPIPE,
        Signal::SIGTSTP,
        Signal::SIGTTIN,
        Signal::SIGTTOU,
    ] {
        set.add(sig);
    }
    set
}

fn cstring(bytes: &[u8]) -> Option<CString> {
    CString::new(bytes.to_vec()).ok()
}

/// Turns the job into what the child needs; `None` if a string holds NUL.
fn child_spec<'a>(
    job: &Exec,
    caller: &'a CallerFds,
    tty: Option<CString>,
    cgroup: Option<OwnedFd>,
) -> Option<ChildSpec<'a>> {
    let foreground = tty.is_some() && !in_pipeline(caller) && job.terminal_foreground;
    Some(ChildSpec {
        executable: caller.executable.as_ref()?.try_clone().ok()?,
        script: job.script,
        argv: job.argv.iter().map(|a| cstring(a)).collect::<Option<_>>()?,
        env: job.env.iter().map(|e| cstring(e)).collect::<Option<_>>()?,
        uid: Uid::from_raw(job.uid),
        gid: Gid::from_raw(job.gid),
        groups: job.groups.iter().copied().map(Gid::from_raw).collect(),
        umask: Mode::from_bits_truncate(job.umask),
        chdir: match &job.chdir {
            Some(dir) => Some(cstring(dir)?),
            None => None,
        },
        cwd_fd: caller.cwd.try_clone().ok()?,
        stdio: [0, 1, 2].map(|i| caller.stdio[i].as_ref().map(AsFd::as_fd)),
        kept: (caller.kept.iter())
            .map(|(n, fd)| Some((RawFd::try_from(*n).ok()?, fd.as_fd())))
            .collect::<Option<_>>()?,
        ignored_signals: job.ignored_signals,
        tty,
        cgroup,
        foreground,
    })
}

/// The first of the caller's stdio descriptors that is a terminal.
fn caller_terminal(caller: &CallerFds) -> Option<BorrowedFd<'_>> {
    caller
        .stdio
        .iter()
        .flatten()
        .find(|fd| child::is_tty(fd.as_fd()))
        .map(|fd| fd.as_fd())
}

/// Whether one of the caller's stdio descriptors is a pipe (`jitsudo cmd |
/// less`). As under sudo, the command then starts in the background of its
/// pty: it takes the terminal only when it asks for it (SIGTTIN/SIGTTOU).
fn in_pipeline(caller: &CallerFds) -> bool {
    caller
        .stdio
        .iter()
        .flatten()
        .any(|fd| jitsudo_sys::fd::is_pipe(fd.as_fd()))
}
