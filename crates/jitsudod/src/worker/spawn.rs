//! Starting the command child: signals blocked and a signalfd for SIGCHLD,
//! the pty (or, for `-b`, no terminal at all), the cgroup, the clone, and
//! the child's report of how far it got before its exec.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use jitsudo_proto::{Failure, ServerMessage};
use jitsudo_sys::spawn::ExecStrings;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::{pipe2, read, setpgid, ForkResult, Gid, Pid, Uid};

use super::child::{self, ChildSpec, Stage};
use super::pipes::Pipes;
use super::pty::Pty;
use super::received::CallerFds;
use super::record::Pending;
use super::reply::send;
use super::tree::{CommandTree, Prepared};
use crate::request::job::Exec;

/// Who the command's pty belongs to, where the caller was, and where the
/// command's cgroup is made (the daemon's subtree, if cgroup v2 is usable).
pub(super) struct Place<'a> {
    pub(super) caller_uid: u32,
    pub(super) cwd: &'a [u8],
    pub(super) cgroup: Option<&'a Path>,
}

/// A command child whose exec succeeded.
pub(super) struct Started {
    pub(super) child: Pid,
    pub(super) tree: CommandTree,
    pub(super) sigchld: SignalFd,
    pub(super) pty: Option<OwnedFd>,
    /// A recorded command's standard streams that are no terminal.
    pub(super) pipes: Option<Pipes>,
}

/// Forks the command child and waits for its exec to succeed or fail; a
/// `recorded` command's standard streams that are no terminal become
/// pipes to the worker.
pub(super) fn start(
    exec: &Exec,
    place: &Place<'_>,
    caller: CallerFds,
    conn: &OwnedFd,
    recorded: Option<&Pending>,
) -> Result<Started, Failure> {
    let set = blocked_signals();
    set.thread_block()
        .map_err(|e| Failure::new(format!("unable to block signals: {e}")))?;
    let sigchld = sigchld_fd().map_err(|e| Failure::new(format!("signalfd: {}", e.desc())))?;
    let caller = if exec.background {
        detach_terminal(caller)?
    } else {
        caller
    };
    let pty = match caller_terminal(&caller) {
        Some(term) => Some(
            Pty::open_like(term, place.caller_uid)
                .map_err(|e| Failure::new(format!("unable to allocate pty: {}", e.desc())))?,
        ),
        None => None,
    };
    if let Some(pty) = &pty {
        pty.control()
            .map_err(|e| Failure::new(format!("unable to set up the pty: {}", e.desc())))?;
    }
    let tty = pty
        .as_ref()
        .and_then(|p| cstring(p.slave_path.as_os_str().as_encoded_bytes()));
    // A command under a grant makes its group inside the grant's.
    let group = Prepared::new(
        exec.grant_cgroup.as_deref().or(place.cgroup),
        exec.timeout.is_some(),
    )?;
    let (pipes, piped) = match recorded {
        Some(pending) => {
            let (pipes, ends) = Pipes::interpose(&caller, pending.recording.clone(), pending.input)
                .map_err(|e| Failure::new(format!("unable to record the session: {e}")))?;
            (Some(pipes), ends)
        }
        None => Default::default(),
    };
    let stdio =
        [0, 1, 2].map(|i| (piped[i].as_ref().or(caller.stdio[i].as_ref())).map(AsFd::as_fd));
    let (report_rd, report_wr) = pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Failure::new(format!("unable to create pipe: {}", e.desc())))?;
    let mut spec = child_spec(exec, &caller, stdio, tty, report_wr)
        .ok_or_else(|| Failure::new("invalid job: embedded NUL byte or no executable"))?;
    let child = start_child(&group, &mut spec)?;
    if pty.is_some() {
        // The child does the same; whichever runs first (the fork of the
        // fallback), the group exists before the worker signals it.
        let _ = setpgid(child, child);
    }
    // The worker's copy of the error pipe's write end goes with it.
    drop(spec);
    drop(piped);
    drop(caller);
    exec_result(child, &report_rd)
        .map_err(|(stage, errno)| describe_failure(conn, stage, errno, exec, place.cwd))?;
    Ok(Started {
        child,
        tree: group.started(child),
        sigchld,
        pty: pty.map(Pty::into_master),
        pipes,
    })
}

/// Starts the command child, born in its group (if any), sharing the
/// worker's memory until its exec (no copy of the worker's address space
/// to make, fault in and tear down). Where the kernel or the architecture
/// cannot do that, forks it instead ([`fork_child`]). Returns once the
/// child has exec'd or exited.
fn start_child(group: &Prepared, spec: &mut ChildSpec<'_>) -> Result<Pid, Failure> {
    use jitsudo_sys::process::lacks_clone_into_cgroup;
    let dir = group.dir()?;
    match jitsudo_sys::spawn::spawn(dir.as_ref().map(AsFd::as_fd), child::exec, spec) {
        Err(errno) if lacks_clone_into_cgroup(errno) => fork_child(group, dir, spec),
        Err(errno) if dir.is_some() => Err(Failure::new(format!(
            "unable to start the command in its cgroup: {}",
            errno.desc()
        ))),
        Err(errno) => Err(Failure::new(format!("unable to fork: {}", errno.desc()))),
        Ok(child) => Ok(child),
    }
}

/// Forks the command child, born in its group where the kernel can do that
/// (else it enters the group before anything else). The worker is
/// single-threaded, so the child inherits no lock held by another thread;
/// it ends in execve or _exit.
fn fork_child(
    group: &Prepared,
    dir: Option<OwnedFd>,
    spec: &mut ChildSpec<'_>,
) -> Result<Pid, Failure> {
    use jitsudo_sys::process::{fork_into_cgroup, fork_single_threaded, lacks_clone_into_cgroup};
    let forked = match dir {
        Some(dir) => match fork_into_cgroup(dir.as_fd()) {
            Err(errno) if lacks_clone_into_cgroup(errno) => {
                spec.cgroup = group.procs_writer()?;
                fork_single_threaded()
            }
            Err(errno) => {
                return Err(Failure::new(format!(
                    "unable to start the command in its cgroup: {}",
                    errno.desc()
                )))
            }
            forked => forked,
        },
        None => fork_single_threaded(),
    };
    match forked {
        Ok(ForkResult::Child) => child::exec(spec),
        Ok(ForkResult::Parent { child }) => Ok(child),
        Err(e) => Err(Failure::new(format!("unable to fork: {}", e.desc()))),
    }
}

/// `-b`: the command outlives the client, and must not hold the caller's
/// terminal, where it could read what the caller types next or draw a fake
/// prompt. Each stdio descriptor that is a terminal becomes /dev/null; pipes
/// and files are kept.
fn detach_terminal(mut caller: CallerFds) -> Result<CallerFds, Failure> {
    for slot in caller.stdio.iter_mut() {
        if slot.as_ref().is_some_and(|fd| child::is_tty(fd.as_fd())) {
            let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| Failure::new(format!("/dev/null: {}", e.desc())))?;
            *slot = Some(null);
        }
    }
    Ok(caller)
}

fn sigchld_fd() -> nix::Result<SignalFd> {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(Signal::SIGCHLD);
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
}

/// Reads the child's error pipe: EOF means the exec succeeded.
fn exec_result(child: Pid, report: &OwnedFd) -> Result<(), (Option<Stage>, Errno)> {
    let mut buf = [0u8; 5];
    let n = loop {
        match read(report, &mut buf) {
            Err(Errno::EINTR) => continue,
            other => break other.unwrap_or(0),
        }
    };
    if n == 0 {
        return Ok(());
    }
    let _ = waitpid(child, None);
    let errno = Errno::from_raw(i32::from_ne_bytes([buf[1], buf[2], buf[3], buf[4]]));
    Err((Stage::from_byte(buf[0]), errno))
}

/// What the client is told when the command could not be started. Like
/// sudo, a directory that cannot be entered is reported, then the command
/// that therefore did not run.
fn describe_failure(
    conn: &OwnedFd,
    stage: Option<Stage>,
    errno: Errno,
    exec: &Exec,
    cwd: &[u8],
) -> Failure {
    if stage == Some(Stage::Chdir) {
        let mut text = b"unable to change directory to ".to_vec();
        text.extend_from_slice(exec.chdir.as_deref().map_or(cwd, |d| &d[..]));
        text.extend_from_slice(format!(": {}", errno.desc()).as_bytes());
        send(conn, &ServerMessage::Warning(text.into()), None);
    }
    let mut text = match stage {
        Some(Stage::Exec | Stage::Chdir) => b"unable to execute ".to_vec(),
        _ => b"unable to run ".to_vec(),
    };
    text.extend_from_slice(&exec.path);
    text.extend_from_slice(format!(": {}", errno.desc()).as_bytes());
    Failure::new(text)
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

/// Turns the job into what the child needs, `stdio` becoming fds 0-2;
/// `None` if a string holds NUL.
fn child_spec<'a>(
    job: &Exec,
    caller: &'a CallerFds,
    stdio: [Option<BorrowedFd<'a>>; 3],
    tty: Option<CString>,
    report: OwnedFd,
) -> Option<ChildSpec<'a>> {
    let foreground = tty.is_some() && !in_pipeline(caller) && job.terminal_foreground;
    Some(ChildSpec {
        executable: caller.executable.as_ref()?.try_clone().ok()?,
        script: job.script,
        by_path: if job.exec_by_path {
            Some(cstring(&job.path)?)
        } else {
            None
        },
        argv: ExecStrings::new(job.argv.iter().map(|a| cstring(a)).collect::<Option<_>>()?),
        env: ExecStrings::new(job.env.iter().map(|e| cstring(e)).collect::<Option<_>>()?),
        uid: Uid::from_raw(job.uid),
        gid: Gid::from_raw(job.gid),
        groups: job.groups.clone(),
        ambient_caps: job.ambient_caps.clone(),
        umask: Mode::from_bits_truncate(job.umask),
        chdir: match &job.chdir {
            Some(dir) => Some(cstring(dir)?),
            None => None,
        },
        cwd_fd: caller.cwd.try_clone().ok()?,
        stdio,
        kept: (caller.kept.iter())
            .map(|(n, fd)| Some((RawFd::try_from(*n).ok()?, fd.as_fd())))
            .collect::<Option<_>>()?,
        ignored_signals: job.ignored_signals,
        tty,
        cgroup: None,
        foreground,
        report,
    })
}

/// The first of the caller's stdio descriptors that is a terminal.
pub(super) fn caller_terminal(caller: &CallerFds) -> Option<BorrowedFd<'_>> {
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
