//! The command child: from the worker's clone to `execve` as the target.
//!
//! The child shares the worker's memory until its exec
//! (`jitsudo_sys::spawn::spawn`; a fork where the kernel or architecture
//! cannot do that), so it follows that function's rules: it allocates and
//! frees nothing (everything, down to the exec's argument arrays, is
//! prepared in [`ChildSpec`] before the clone), changes nothing of the
//! worker's, sets its ids with raw system calls, and ends in its exec or
//! `_exit`. A failure before the exec is reported through a close-on-exec
//! pipe as (stage, errno).

use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};

use jitsudo_proto::{KEPT_FDS_BELOW, MAX_KEPT_FDS};
use jitsudo_sys::fd::{self as fds, Std};
use jitsudo_sys::process::exit_immediately;
use jitsudo_sys::signal::{set_disposition, Disposition};
use jitsudo_sys::spawn::{exec_fd, exec_path, set_ids, ExecStrings};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::signal::{SigSet, SigmaskHow};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{chdir, fchdir, getpid, setpgid, setsid, tcsetpgrp, write, Gid, Pid, Uid};

/// Where a command child failed before its exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Becoming a session or process group leader, or taking the pty's
    /// foreground.
    Terminal = 1,
    /// Installing fds 0-2.
    Stdio = 2,
    /// Dropping to the target's groups and user.
    Credentials = 3,
    /// Changing to the working directory.
    Chdir = 4,
    /// The exec itself.
    Exec = 5,
    /// Entering the command's cgroup.
    Cgroup = 6,
}

impl Stage {
    /// Decodes a stage byte from the error pipe.
    pub fn from_byte(b: u8) -> Option<Stage> {
        [
            Stage::Terminal,
            Stage::Stdio,
            Stage::Credentials,
            Stage::Chdir,
            Stage::Exec,
            Stage::Cgroup,
        ]
        .into_iter()
        .find(|s| *s as u8 == b)
    }
}

/// Everything the child needs, prepared before the clone: the child
/// allocates nothing.
pub struct ChildSpec<'a> {
    /// The executable the daemon decided on (`O_PATH`).
    pub executable: OwnedFd,
    /// It is a `#!` script: its descriptor must stay open across the exec,
    /// for the interpreter opens it as `/dev/fd/N`.
    pub script: bool,
    /// Execute this path as the target instead of `executable` (a group,
    /// caps or shell grant's command: the kernel checks it as the target).
    pub by_path: Option<CString>,
    /// argv.
    pub argv: ExecStrings,
    /// envp.
    pub env: ExecStrings,
    /// Target ids.
    pub uid: Uid,
    /// Target primary group.
    pub gid: Gid,
    /// Target supplementary groups.
    pub groups: Vec<libc::gid_t>,
    /// Capabilities (kernel numbers) the command holds as ambient: a caps
    /// grant's. Empty: none (the target keeps none, root all).
    pub ambient_caps: Vec<u8>,
    /// umask.
    pub umask: Mode,
    /// Explicit directory, else `cwd_fd`.
    pub chdir: Option<CString>,
    /// The caller's working directory.
    pub cwd_fd: OwnedFd,
    /// What becomes fd 0, 1, 2 (`None`: the caller had it closed).
    pub stdio: [Option<BorrowedFd<'a>>; 3],
    /// The caller's descriptors above 2 kept open (`-C`): each goes to its
    /// number (below [`KEPT_FDS_BELOW`]), lowest first.
    pub kept: Vec<(RawFd, BorrowedFd<'a>)>,
    /// The pty slave (the worker's controlling terminal), if any.
    pub tty: Option<CString>,
    /// The command's `cgroup.procs`, open for writing, where the child
    /// could not be born in its group (kernels before 5.7): it enters the
    /// group first thing (`None`: born there, or no cgroup v2).
    pub cgroup: Option<OwnedFd>,
    /// The command takes the pty's foreground (it is not in a pipeline).
    pub foreground: bool,
    /// Signals the caller had ignored (bit n-1 for signal n): they stay
    /// ignored in the command, as under sudo (`nohup jitsudo …` works).
    pub ignored_signals: u64,
    /// The write end of the error pipe (close-on-exec): (stage, errno) of
    /// a failure before the exec; end of file once the exec succeeded.
    pub report: OwnedFd,
}

/// Runs in the command child: never returns. On failure writes (stage,
/// errno) to `spec.report` and exits 127.
pub fn exec(spec: &ChildSpec<'_>) -> ! {
    let report = &spec.report;
    // Moved above every number the command's descriptors may take.
    let moved = fds::dup_at_least(report.as_fd(), ABOVE_PLACED);
    let Err((stage, errno)) = setup_and_exec(spec);
    let mut msg = [stage as u8, 0, 0, 0, 0];
    msg[1..].copy_from_slice(&(errno as i32).to_ne_bytes());
    let report = moved.as_ref().map_or(report.as_fd(), AsFd::as_fd);
    let _ = write(report, &msg);
    // No atexit handlers, no flushing of buffers that are the worker's.
    exit_immediately(127)
}

fn setup_and_exec(spec: &ChildSpec<'_>) -> Result<Infallible, (Stage, Errno)> {
    // Still root and nothing of the command has run: all it ever starts is
    // born in its group, and the target cannot move back out.
    if let Some(procs) = &spec.cgroup {
        crate::cgroup::enter(procs).map_err(|e| (Stage::Cgroup, e))?;
    }
    let tty = join_terminal(spec).map_err(|e| (Stage::Terminal, e))?;
    install_stdio(spec, tty.as_ref()).map_err(|e| (Stage::Stdio, e))?;
    drop(tty);
    // The caller's own directory is entered before dropping privileges: the
    // command inherits it even where the target could not enter it (as a
    // command started by sudo inherits sudo's). An explicit directory (-D,
    // the target's home for -i) is entered as the target.
    fchdir(&spec.cwd_fd).map_err(|e| (Stage::Chdir, e))?;
    drop_privileges(spec).map_err(|e| (Stage::Credentials, e))?;
    umask(spec.umask);
    if let Some(dir) = &spec.chdir {
        chdir(dir.as_c_str()).map_err(|e| (Stage::Chdir, e))?;
    }
    // The command gets exactly fds 0, 1 and 2 and those `-C` keeps (the
    // error pipe stays usable until the exec).
    fds::cloexec_from(3).map_err(|e| (Stage::Exec, e))?;
    let executable =
        fds::dup_at_least(spec.executable.as_fd(), ABOVE_PLACED).map_err(|e| (Stage::Exec, e))?;
    place_kept(&spec.kept).map_err(|e| (Stage::Exec, e))?;
    if let Some(path) = &spec.by_path {
        reset_signals(spec.ignored_signals);
        return Err((Stage::Exec, exec_path(path, &spec.argv, &spec.env)));
    }
    let executable = if spec.script {
        let script_fd = spec.kept.last().map_or(3, |(n, _)| n + 1);
        // This child's from here on: nothing it still needs is below
        // ABOVE_PLACED, and it execs or exits next.
        fds::install_for_exec(executable.as_fd(), script_fd).map_err(|e| (Stage::Exec, e))?
    } else {
        executable.as_fd()
    };
    reset_signals(spec.ignored_signals);
    Err((Stage::Exec, exec_fd(executable, &spec.argv, &spec.env)))
}

/// Where a standard stream the caller had closed points (see
/// [`install_stdio`]).
const DEV_NULL: &CStr = c"/dev/null";

/// The lowest number of the child's own descriptors while it places the
/// command's: above the kept ones (below [`KEPT_FDS_BELOW`]) and the
/// `#!` script's, which its interpreter reads as `/dev/fd/N`, N one above
/// the highest kept descriptor (3 without any).
const ABOVE_PLACED: RawFd = KEPT_FDS_BELOW as RawFd + 1;

/// Puts each kept descriptor on its number, open across the exec. Every
/// source is first copied above [`ABOVE_PLACED`], so placing one never
/// replaces another still to be placed. No allocation: this runs in the
/// forked child.
fn place_kept(kept: &[(RawFd, BorrowedFd<'_>)]) -> nix::Result<()> {
    if kept.len() > MAX_KEPT_FDS {
        return Err(Errno::EMFILE);
    }
    let mut copies: [Option<OwnedFd>; MAX_KEPT_FDS] = Default::default();
    for (slot, (_, source)) in copies.iter_mut().zip(kept) {
        *slot = Some(fds::dup_at_least(*source, ABOVE_PLACED)?);
    }
    for (copy, (target, _)) in copies.iter().flatten().zip(kept) {
        // The targets are this child's from here on (see place_kept's
        // caller): it execs or exits next.
        fds::install_for_exec(copy.as_fd(), *target)?;
    }
    Ok(())
}

/// Without a pty the command gets a session of its own. With one, the
/// worker is the pty's session leader (it took the pty as its controlling
/// terminal) and the command becomes a process group of its own in that
/// session, as under sudo's monitor: its parent is in the same session, so
/// the group is not orphaned and ^Z, SIGTTIN and SIGTTOU stop it. Unless
/// it runs in a pipeline, it takes the pty's foreground (SIGTTOU is still
/// blocked here, so a background group may do that).
fn join_terminal(spec: &ChildSpec<'_>) -> nix::Result<Option<OwnedFd>> {
    let Some(path) = &spec.tty else {
        setsid()?;
        return Ok(None);
    };
    setpgid(Pid::from_raw(0), Pid::from_raw(0))?;
    let tty = open(
        path.as_c_str(),
        OFlag::O_RDWR | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    if spec.foreground {
        tcsetpgrp(&tty, getpid())?;
    }
    Ok(Some(tty))
}

/// Puts the pty slave or the caller's descriptors on 0-2. A descriptor the
/// caller had closed becomes an `O_PATH` handle on /dev/null: the slot is
/// taken (nothing the command opens lands there by surprise) yet reading or
/// writing it fails with EBADF, as a closed descriptor would.
fn install_stdio(spec: &ChildSpec<'_>, tty: Option<&OwnedFd>) -> nix::Result<()> {
    // Opened only when a slot needs it.
    let closed = (spec.stdio.iter().any(Option::is_none))
        .then(|| open(DEV_NULL, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()))
        .transpose()?;
    for (target, source) in Std::ALL.into_iter().zip(spec.stdio) {
        let source = match (source, tty) {
            (Some(fd), Some(tty)) if is_tty(fd) => tty.as_fd(),
            (Some(fd), _) => fd,
            (None, _) => closed.as_ref().ok_or(Errno::EBADF)?.as_fd(),
        };
        fds::install_std(source, target)?;
    }
    Ok(())
}

/// Whether the caller's descriptor is a terminal (and so replaced by the pty).
pub fn is_tty(fd: BorrowedFd<'_>) -> bool {
    jitsudo_sys::tty::is_terminal(fd)
}

/// The target's groups and uid; with ambient capabilities, the permitted
/// set is kept across the uid change and then narrowed to exactly them.
fn drop_privileges(spec: &ChildSpec<'_>) -> nix::Result<()> {
    let caps = !spec.ambient_caps.is_empty();
    if caps {
        jitsudo_sys::caps::keep_across_setuid(true)?;
    }
    set_ids(&spec.groups, spec.gid.as_raw(), spec.uid.as_raw())?;
    if caps {
        jitsudo_sys::caps::hold_exactly(&spec.ambient_caps)?;
        jitsudo_sys::caps::keep_across_setuid(false)?;
    }
    Ok(())
}

/// Default dispositions (or SIG_IGN where the caller ignored the signal)
/// for every signal, real-time ones included, and an empty signal mask.
fn reset_signals(ignored: u64) {
    for signo in 1..=libc::SIGRTMAX() {
        if signo == libc::SIGKILL || signo == libc::SIGSTOP {
            continue;
        }
        let disposition = if signo <= 64 && ignored & (1u64 << (signo - 1)) != 0 {
            Disposition::Ignore
        } else {
            Disposition::Default
        };
        let _ = set_disposition(signo, disposition);
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}
